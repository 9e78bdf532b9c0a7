// Requests AWS refuses and the emulator takes (issue: DynamoDB's own rules), through Parse
// Server and the JS SDK, with every request checked by DynamoDB's rules (helpers.js puts the
// rules proxy in front of each store, and `stop()` fails on any refusal): sorted index reads
// from the first entry, long and compound values that save and are found, a request DynamoDB
// refuses that fails at once instead of being retried as a conflict, and a clear error for a
// transaction over 4 MB.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startStack, masterKey } = require('./helpers');
const { startDynamo } = require('../scripts/dynamo-local');
const { RulesProxy } = require('../scripts/dynamo-rules');
const { FaultProxy } = require('./fault-proxy');

let s;
const m = () => ({ 'X-Parse-Master-Key': masterKey });
const opts = { useMasterKey: true };

before(async () => {
  s = await startStack({ allowCustomObjectId: true, adapterOptions: { autoIndex: false } });
});
after(async () => {
  await s.stop();
});

test('sorted pages read an index from its first entry, both ways, and natural order from the createdAt index', async () => {
  const created = await s.rest('POST', '/schemas/Ranked', {
    className: 'Ranked',
    fields: { score: { type: 'Number' } },
    indexes: { by_score: { score: 1 }, by_created: { _created_at: 1 } },
  }, m());
  assert.equal(created.status, 200, JSON.stringify(created.body));
  const scores = [41, 7, 93, 18, 65, 2, 77, 30, 54, 12, 88, 25];
  const ids = [];
  for (const score of scores) ids.push((await new s.Parse.Object('Ranked').save({ score }, opts)).id);
  const sorted = [...scores].sort((a, b) => a - b);
  const up = await new s.Parse.Query('Ranked').ascending('score').limit(5).find(opts);
  assert.deepEqual(up.map(o => o.get('score')), sorted.slice(0, 5));
  const down = await new s.Parse.Query('Ranked').descending('score').limit(3).find(opts);
  assert.deepEqual(down.map(o => o.get('score')), sorted.slice(-3).reverse());
  const plan = await s.rest('GET', '/classes/Ranked?explain=queryPlanner&order=score&limit=5', undefined, m());
  assert.equal(plan.body.results.queryPlanner.access.partition, '~i:Ranked:score');
  // No sort: creation order, read in order from the createdAt index.
  const natural = await new s.Parse.Query('Ranked').limit(4).find(opts);
  assert.deepEqual(natural.map(o => o.id), ids.slice(0, 4));
  const page = await s.rest('GET', '/classes/Ranked?explain=queryPlanner&limit=4', undefined, m());
  assert.equal(page.body.results.queryPlanner.access.partition, '~i:Ranked:createdAt');
});

test('long values, in single-field and compound indexes and as unique values, save and are found', async () => {
  const created = await s.rest('POST', '/schemas/Long', {
    className: 'Long',
    fields: { a: { type: 'String' }, b: { type: 'String' }, c: { type: 'String' } },
    indexes: { ab: { a: 1, b: 1 }, by_c: { c: 1 } },
  }, m());
  assert.equal(created.status, 200, JSON.stringify(created.body));
  // 700 characters each: a compound entry of two of them is ~1,400 bytes; 700 × U+0001 is
  // escaped to 1,400 bytes in a single-field entry. Two values share their first 600 characters.
  const a1 = 'x'.repeat(700);
  const a2 = `${'x'.repeat(600)}${'z'.repeat(100)}`;
  const b = 'y'.repeat(700);
  const c1 = '\u0001'.repeat(700);
  const c2 = `${'\u0001'.repeat(699)}\u0002`;
  const one = await new s.Parse.Object('Long').save({ a: a1, b, c: c1, n: 1 }, opts);
  const two = await new s.Parse.Object('Long').save({ a: a2, b, c: c2, n: 2 }, opts);
  const ids = q => q.find(opts).then(rows => rows.map(r => r.id).sort());
  const Q = () => new s.Parse.Query('Long');
  assert.deepEqual(await ids(Q().equalTo('a', a1).equalTo('b', b)), [one.id]);
  assert.deepEqual(await ids(Q().equalTo('a', a2)), [two.id]);
  assert.deepEqual(await ids(Q().equalTo('c', c1)), [one.id]);
  assert.deepEqual(await ids(Q().equalTo('c', c2)), [two.id]);
  assert.deepEqual((await Q().ascending('c').find(opts)).map(r => r.get('n')), [1, 2]);
  assert.deepEqual((await Q().descending('c').find(opts)).map(r => r.get('n')), [2, 1]);
  assert.deepEqual((await Q().equalTo('a', a2).descending('b').find(opts)).map(r => r.get('n')), [2]);
  // Two objects: the planner may read the partition instead (it bills less); the index c path
  // is among its candidates and answers the same row.
  const plan = await s.rest('GET', `/classes/Long?explain=allPlansExecution&where=${encodeURIComponent(JSON.stringify({ c: c1 }))}`, undefined, m());
  const runs = plan.body.results.executionStats.allPlansExecution;
  const byIndex = runs.find(r => r.access.via === 'index c');
  assert.ok(byIndex, JSON.stringify(plan.body));
  assert.equal(byIndex.nReturned, 1, JSON.stringify(plan.body));
  // An update moves the entries of a long value too.
  one.set('c', c2);
  await one.save(null, opts);
  assert.deepEqual(await ids(Q().equalTo('c', c2)), [one.id, two.id].sort());
  assert.deepEqual(await ids(Q().equalTo('c', c1)), []);

  // A username of 1,500 characters: unique (its sentinel holds a hash), and logs in.
  const name = 'u'.repeat(1500);
  await s.signUp(name, 'pw');
  const again = await s.rest('POST', '/users', { username: name, password: 'pw' });
  assert.equal(again.body.code, 202, JSON.stringify(again.body));
  const login = await s.rest('POST', '/login', { username: name, password: 'pw' });
  assert.equal(login.status, 200, JSON.stringify(login.body));
  const other = await s.rest('POST', '/users', { username: `${'u'.repeat(1499)}v`, password: 'pw' });
  assert.equal(other.status, 201, 'a different long name is free');
});

test('keys that cannot exist answer nothing; objectIds too long for a key and values nested too deep are refused clearly', async () => {
  const a = await new s.Parse.Object('Keyed').save({ n: 1 }, opts);
  const b = await new s.Parse.Object('Keyed').save({ n: 2 }, opts);
  const Q = () => new s.Parse.Query('Keyed');
  // The same objectId twice in $in: each object once (DynamoDB refuses a batch naming a key twice).
  const twice = await Q().containedIn('objectId', [a.id, b.id, a.id, b.id]).find(opts);
  assert.deepEqual(twice.map(o => o.id).sort(), [a.id, b.id].sort());
  assert.deepEqual(await Q().equalTo('objectId', '').find(opts), []);
  assert.deepEqual(await Q().containedIn('objectId', ['', 'x'.repeat(1100), a.id]).find(opts).then(r => r.map(o => o.id)), [a.id]);
  const missing = await s.rest('GET', `/classes/Keyed/${'k'.repeat(1100)}`, undefined, m());
  assert.equal(missing.body.code, 101, JSON.stringify(missing.body));
  // A custom objectId longer than a key can hold: a clear error, nothing written.
  const long = await s.rest('POST', '/classes/Keyed', { objectId: 'o'.repeat(111), n: 3 }, m());
  assert.equal(long.body.code, 107, JSON.stringify(long.body));
  assert.match(long.body.error, /objectId/);
  const fits = await s.rest('POST', '/classes/Keyed', { objectId: 'o'.repeat(110), n: 4 }, m());
  assert.equal(fits.status, 201, JSON.stringify(fits.body));
  assert.equal(await Q().count(opts), 3);
  // 31 objects around a value is 32 levels with the field: stored; one more is refused.
  const nest = n => {
    let v = 'leaf';
    for (let i = 0; i < n; i++) v = { k: v };
    return v;
  };
  const ok = await s.rest('POST', '/classes/Deep', { d: nest(31) }, m());
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
  const deep = await s.rest('POST', '/classes/Deep', { d: nest(32) }, m());
  assert.equal(deep.body.code, 107, JSON.stringify(deep.body));
  assert.match(deep.body.error, /levels deep/);
  const back = await s.rest('GET', `/classes/Deep/${ok.body.objectId}`, undefined, m());
  assert.deepEqual(back.body.d, nest(31));
});

test('a transaction over 4 MB fails clearly before anything is written', async () => {
  const big = 'x'.repeat(350 * 1024);
  const r = await s.rest('POST', '/batch', {
    transaction: true,
    requests: Array.from({ length: 12 }, (_, i) => ({ method: 'POST', path: '/parse/classes/Heavy', body: { i, big } })),
  }, m());
  assert.notEqual(r.status, 200, JSON.stringify(r.body).slice(0, 300));
  const err = Array.isArray(r.body) ? r.body.find(x => x.error).error : r.body;
  assert.equal(err.code, 108, JSON.stringify(err));
  assert.match(err.error, /at most 4 MB/);
  assert.match(err.error, /nothing was written/);
  assert.equal(await new s.Parse.Query('Heavy').count(opts), 0);
  // Eleven fit.
  const ok = await s.rest('POST', '/batch', {
    transaction: true,
    requests: Array.from({ length: 11 }, (_, i) => ({ method: 'POST', path: '/parse/classes/Heavy', body: { i, big } })),
  }, m());
  assert.equal(ok.status, 200);
  assert.equal(await new s.Parse.Query('Heavy').count(opts), 11);
});

test('a write DynamoDB refuses as invalid fails at once, not retried as a conflict; a throttled transaction is sent again', async () => {
  // Rules with a 3,000-byte item limit: the adapter's own 400 KB check lets the object through,
  // DynamoDB's answer (a ValidationException) refuses it.
  const dynamo = await startDynamo({ rules: false });
  const strict = await new RulesProxy({ target: dynamo.endpoint, log: null, limits: { itemBytes: 3000 } }).start();
  const faults = await new FaultProxy({ target: dynamo.endpoint, seed: 5, rate: 0.5, kinds: ['cancelThrottled'] }).start();
  const table = `lim${Date.now().toString(36)}`;
  // Parse Server's schema cache is one per process: a server on a new table starts it anew.
  const clearSchemas = () => require('parse-server/lib/Adapters/Cache/SchemaCache').default.clear();
  clearSchemas();
  const t1 = await startStack({ appId: 'strict-app', adapterOptions: { autoIndex: false } }, { dynamo: { endpoint: strict.endpoint }, table });
  try {
    const m1 = { 'X-Parse-Master-Key': masterKey };
    await t1.rest('POST', '/schemas/Indexed', { className: 'Indexed', fields: { tag: { type: 'String' } }, indexes: { by_tag: { tag: 1 } } }, m1);
    const started = Date.now();
    // An indexed object: its entry goes first, the object is refused, the entry is withdrawn.
    const refused = await t1.rest('POST', '/classes/Indexed', { tag: 't', text: 'x'.repeat(4000) }, m1);
    assert.equal(refused.body.code, 1, JSON.stringify(refused.body));
    assert.match(refused.body.error, /ValidationException/);
    const tries = strict.violations.filter(v => v.op === 'PutItem').length;
    assert.ok(tries <= 2, `the refused write was sent ${tries} times`);
    assert.ok(Date.now() - started < 10_000);
    const report = await t1.db.getAdapter()._call('check', false);
    assert.deepEqual([report.problems, report.leftovers], [[], []], 'the entry was withdrawn');
    // With a unique value (a sign-up): the name's claim goes first, the object is refused, the
    // claim is withdrawn: the name is free at once.
    const user = await t1.rest('POST', '/users', { username: 'big', password: 'pw', text: 'x'.repeat(4000) }, m1);
    assert.equal(user.body.code, 1, JSON.stringify(user.body));
    assert.match(user.body.error, /ValidationException/);
    const userTries = strict.violations.filter(v => v.op === 'PutItem').length - tries;
    assert.ok(userTries <= 2, `the refused sign-up was sent ${userTries} times`);
    const after = await t1.db.getAdapter()._call('check', false);
    assert.deepEqual([after.problems, after.leftovers], [[], []], 'the claim was withdrawn');
    const small = await t1.rest('POST', '/users', { username: 'big', password: 'pw' }, m1);
    assert.ok(small.body.objectId, JSON.stringify(small.body));
    const plain = await t1.rest('POST', '/classes/Plain', { text: 'x'.repeat(4000) }, m1);
    assert.equal(plain.body.code, 1, JSON.stringify(plain.body));
    assert.match(plain.body.error, /ValidationException/);
    assert.equal((await t1.rest('GET', '/classes/Indexed?count=1&limit=0', undefined, m1)).body.count, 0);
  } finally {
    await t1.stop();
  }
  // Half the transactions (log-outs: a session and its token's sentinel, which holds a copy of
  // it) cancelled for throttling: every sign-up lands once, every log-out deletes its session.
  clearSchemas();
  const t2 = await startStack({ appId: 'throttled-app', adapterOptions: { autoIndex: false } }, { dynamo: { endpoint: faults.endpoint }, table });
  try {
    for (let i = 0; i < 12; i++) {
      await new t2.Parse.User({ username: `user${i}`, password: 'pw' }).signUp();
      await t2.Parse.User.logOut();
    }
    assert.ok(faults.counts.cancelThrottled > 0, JSON.stringify(faults.counts));
    assert.equal(await new t2.Parse.Query('_User').startsWith('username', 'user').count(opts), 12);
    assert.equal(await new t2.Parse.Query('_Session').count(opts), 0);
    assert.equal((await new t2.Parse.Query('_User').equalTo('username', 'user7').find(opts)).length, 1);
  } finally {
    await t2.stop();
    await faults.stop();
    await strict.stop();
    await dynamo.stop();
  }
});
