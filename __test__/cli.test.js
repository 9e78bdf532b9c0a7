// The command-line tool (bin/cli.js) against dynoxide: table administration, class counts,
// JSON-lines export/import round trip, and migrating a table the old JS adapter wrote.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startDynamo } = require('../scripts/dynamo-local');
const { DynamoDB } = require('..');

const cli = path.join(__dirname, '..', 'bin', 'cli.js');
let dynamo;
let dir;

function run(...args) {
  return new Promise(resolve => {
    execFile(process.execPath, [cli, ...args, '--endpoint', dynamo.endpoint], { env: { ...process.env, AWS_EC2_METADATA_DISABLED: 'true' } }, (error, stdout, stderr) =>
      resolve({ code: error ? error.code : 0, stdout, stderr })
    );
  });
}

// Calls the DynamoDB HTTP API straight (as another program would).
async function raw(op, body) {
  const res = await fetch(dynamo.endpoint, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-amz-json-1.0',
      'X-Amz-Target': `DynamoDB_20120810.${op}`,
      'X-Amz-Date': '20260101T000000Z',
      Authorization: 'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
    },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 200, await res.text());
}
const putRaw = (table, item) => raw('PutItem', { TableName: table, Item: item });

before(async () => {
  dynamo = await startDynamo();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'psd-cli-'));
});
after(async () => {
  await dynamo.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('create, describe and delete a table', async () => {
  const created = await run('create-table', 'clitable', '--provisioned', '5,7');
  assert.equal(created.code, 0, created.stderr);
  const d = JSON.parse((await run('describe-table', 'clitable')).stdout);
  assert.equal(d.status, 'ACTIVE');
  assert.deepEqual(d.keySchema.map(k => k.name), ['_pk_className', '_sk_id']);
  assert.equal(d.billingMode, 'PROVISIONED');
  assert.equal(d.writeCapacityUnits, 7);
  const refused = await run('delete-table', 'clitable');
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /add --yes/);
  assert.equal((await run('delete-table', 'clitable', '--yes')).code, 0);
  const gone = await run('describe-table', 'clitable');
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /clitable|not found|ResourceNotFound/i);
});

test('export and import round-trip a class as JSON lines, with counts', async () => {
  const adapter = new DynamoDB('source', { endpoint: dynamo.endpoint, region: 'us-east-1' }).getAdapter();
  const schema = { className: 'Score', fields: { n: { type: 'Number' }, at: { type: 'Date' }, who: { type: 'Pointer', targetClass: '_User' } } };
  await adapter.createClass('Score', schema);
  for (let i = 0; i < 1200; i++) {
    await adapter.createObject('Score', schema, { objectId: `s${i}`, n: i, at: { __type: 'Date', iso: '2026-01-01T00:00:00.000Z' }, who: { __type: 'Pointer', className: '_User', objectId: 'u1' }, _rperm: ['*'] });
  }
  const classes = await run('classes', 'source');
  assert.equal(classes.code, 0, classes.stderr);
  assert.match(classes.stdout, /^Score\t1200$/m);
  const file = path.join(dir, 'score.jsonl');
  const exported = await run('export', 'source', 'Score', '--out', file);
  assert.equal(exported.code, 0, exported.stderr);
  assert.match(exported.stderr, /export Score: 1200\/1200/);
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
  assert.equal(lines.length, 1200);
  const imported = await run('import', 'target', 'Score', file);
  assert.equal(imported.code, 0, imported.stderr);
  assert.match(imported.stdout, /imported 1200 objects/);
  const target = new DynamoDB('target', { endpoint: dynamo.endpoint, region: 'us-east-1' }).getAdapter();
  const rows = await target.find('Score', schema, { n: { $gte: 1190 } }, { sort: { n: 1 } });
  assert.deepEqual(rows.map(r => r.n), [1190, 1191, 1192, 1193, 1194, 1195, 1196, 1197, 1198, 1199]);
  assert.deepEqual(rows[0].who, { __type: 'Pointer', className: '_User', objectId: 'u1' });
  // Importing again creates nothing twice.
  assert.match((await run('import', 'target', 'Score', file)).stdout, /imported 0 objects .*1200 already there/);
});

test('indexes lists declared, unique and kept indexes; shard-index shards one; drop-index removes one', async () => {
  const adapter = new DynamoDB('idx', { endpoint: dynamo.endpoint, region: 'us-east-1' }).getAdapter();
  const schema = { className: 'Ranked', fields: { n: { type: 'Number' }, tag: { type: 'String' } }, indexes: { by_n: { n: 1 } } };
  await adapter.createClass('Ranked', schema);
  await adapter.ensureIndex('Ranked', schema, ['tag']);
  await adapter.ensureUniqueness('Ranked', schema, ['code']);
  const listed = await run('indexes', 'idx', 'Ranked');
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /^_id_\t\{"_id":1\}$/m);
  assert.match(listed.stdout, /^by_n\t\{"n":1\}$/m);
  assert.match(listed.stdout, /^tag_kept\t\{"tag":1\}$/m);
  assert.match(listed.stdout, /^code_1\t\{"code":1\}\tunique$/m);
  // shard-index spreads one over 16 partitions (the registry is re-read every 0.3 s here).
  process.env.PSD_REGISTRY_TTL_MS = '300';
  const sharded = await run('shard-index', 'idx', 'Ranked', 'n');
  delete process.env.PSD_REGISTRY_TTL_MS;
  assert.equal(sharded.code, 0, sharded.stderr);
  assert.match((await run('indexes', 'idx', 'Ranked')).stdout, /^by_n\t\{"n":1\}\tshards=16$/m);
  const dropped = await run('drop-index', 'idx', 'Ranked', 'tag');
  assert.equal(dropped.code, 0, dropped.stderr);
  assert.match(dropped.stdout, /dropped the index on Ranked\.tag/);
  assert.doesNotMatch((await run('indexes', 'idx', 'Ranked')).stdout, /tag_kept/);
  assert.match((await run('drop-index', 'idx', 'Ranked', 'tag')).stdout, /Ranked keeps no index on tag/);
});

test('migrate a table written by the old JS adapter', async () => {
  const { items } = require('../tests/fixtures/legacy-table.json');
  const old = new DynamoDB('legacy', { endpoint: dynamo.endpoint, region: 'us-east-1' }).getAdapter();
  await old._call('admin.createTable', {});
  for (const item of items) await putRaw('legacy', item);
  const migrated = await run('migrate', 'legacy', 'migrated');
  assert.equal(migrated.code, 0, migrated.stderr);
  assert.match(migrated.stdout, /^GameScore\t1 copied/m);
  assert.match(migrated.stdout, /^_Join:friends:GameScore\t1 copied/m);
  const a = new DynamoDB('migrated', { endpoint: dynamo.endpoint, region: 'us-east-1' }).getAdapter();
  const schema = await a.getClass('GameScore');
  assert.deepEqual(schema.fields.player, { type: 'Pointer', targetClass: '_User' });
  assert.deepEqual(schema.fields.friends, { type: 'Relation', targetClass: '_User' });
  const [g] = await a.find('GameScore', schema, { objectId: 'g1' }, {});
  assert.equal(g.score, 42);
  assert.deepEqual(g.player, { __type: 'Pointer', className: '_User', objectId: 'u1' });
  assert.deepEqual(g.where, { __type: 'GeoPoint', latitude: 40.5, longitude: -73.25 });
  assert.deepEqual(g.when, { __type: 'Date', iso: '2025-05-05T05:05:05.005Z' });
  assert.deepEqual(g.pic, { __type: 'File', name: 'f.png' });
  assert.deepEqual(g._rperm, ['*', 'u1']);
  const [u] = await a.find('_User', await a.getClass('_User'), { username: 'alice' }, {});
  assert.equal(u._hashed_password, '$2a$10$abc');
  const friends = await a.find('_Join:friends:GameScore', { fields: {} }, { owningId: 'g1' }, {});
  assert.deepEqual(friends.map(f => f.relatedId), ['u1']);
});

test('check: a lost claim is a leftover that blocks nothing past the grace, a lost sentinel is damage --fix repairs (fsck exit codes)', async () => {
  // A claim whose owner lacks its value stands this long (a write may be under way); short here.
  process.env.PSD_CLAIM_GRACE_MS = '4000';
  try {
    const adapter = new DynamoDB('fsck', { endpoint: dynamo.endpoint, region: 'us-east-1' }).getAdapter();
    const schema = { className: '_User', fields: { username: { type: 'String' } } };
    await adapter.createClass('_User', schema);
    await adapter.ensureUniqueness('_User', schema, ['username']);
    await adapter.createObject('_User', schema, { objectId: 'u3', username: 'bob' });
    const clean = await run('check', 'fsck');
    assert.equal(clean.code, 0, clean.stderr);
    assert.match(clean.stdout, /0 problems/);
    await adapter.createObject('_User', schema, { objectId: 'u1', username: 'alice' });
    const claimed = Date.now();
    // The user's object is deleted by another tool; the name's claim stays, young enough to be
    // a write under way: it holds the name, and is no damage.
    await raw('DeleteItem', { TableName: 'fsck', Key: { _pk_className: { S: '_User' }, _sk_id: { S: 'u1' } } });
    await assert.rejects(adapter.createObject('_User', schema, { objectId: 'u2', username: 'alice' }), e => e.code === 137);
    const young = await run('check', 'fsck');
    assert.equal(young.code, 0, young.stdout);
    assert.match(young.stdout, /^leftover\tclaim-underway\t_User\tusername\t/m);
    assert.match(young.stderr, /check: class 1\/1: _User/, 'progress on stderr');
    // bob's sentinel lost: damage (another bob could sign up).
    await raw('DeleteItem', { TableName: 'fsck', Key: { _pk_className: { S: '~u:_User:username' }, _sk_id: { S: '=bob' } } });
    await new Promise(r => setTimeout(r, Math.max(0, claimed + 4100 - Date.now())));
    const found = await run('check', 'fsck');
    assert.equal(found.code, 4, `damage left: ${found.stdout}${found.stderr}`);
    assert.match(found.stdout, /^FOUND\tmissing-sentinel\t_User\tusername\t/m);
    assert.match(found.stdout, /^leftover\torphaned-sentinel\t_User\tusername\t/m);
    const fixed = await run('check', 'fsck', '--fix');
    assert.equal(fixed.code, 1, `damage found and fixed: ${fixed.stdout}${fixed.stderr}`);
    assert.match(fixed.stdout, /^fixed\tmissing-sentinel/m);
    assert.match(fixed.stdout, /^removed\torphaned-sentinel/m);
    assert.equal((await run('check', 'fsck')).code, 0);
    await adapter.createObject('_User', schema, { objectId: 'u2', username: 'alice' });
    await assert.rejects(adapter.createObject('_User', schema, { objectId: 'u4', username: 'bob' }), e => e.code === 137);
    const json = JSON.parse((await run('check', 'fsck', '--json')).stdout);
    assert.deepEqual(json.problems, []);
    assert.deepEqual(json.leftovers, []);
    const missing = await run('check', 'no-such-table');
    assert.equal(missing.code, 8, 'the check could not finish');
  } finally {
    delete process.env.PSD_CLAIM_GRACE_MS;
  }
});
