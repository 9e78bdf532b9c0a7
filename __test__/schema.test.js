// The schema REST API and the schema store behind it.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startStack } = require('./helpers');

let s;
const logged = [];
before(async () => {
  const logger = { info: m => logged.push(m), warn: m => logged.push(m), error: m => logged.push(m) };
  s = await startStack({ adapterOptions: { logger } });
});
after(async () => {
  await s.stop();
});

const master = () => ({ 'X-Parse-Master-Key': s.masterKey });

test('create, read, update and delete a class through /schemas', async () => {
  const created = await s.rest('POST', '/schemas/Game', { className: 'Game', fields: { score: { type: 'Number' }, player: { type: 'Pointer', targetClass: '_User' } } }, master());
  assert.equal(created.status, 200, JSON.stringify(created.body));
  assert.deepEqual(created.body.fields.score, { type: 'Number' });

  const dup = await s.rest('POST', '/schemas/Game', { className: 'Game' }, master());
  assert.equal(dup.body.code, 103);

  const put = await s.rest('PUT', '/schemas/Game', { fields: { title: { type: 'String' } }, classLevelPermissions: { find: { '*': true }, get: { '*': true }, count: {}, create: { '*': true }, update: {}, delete: {}, addField: {}, protectedFields: {} } }, master());
  assert.equal(put.status, 200, JSON.stringify(put.body));
  assert.deepEqual(put.body.fields.title, { type: 'String' });

  const all = await s.rest('GET', '/schemas', undefined, master());
  assert.ok(all.body.results.some(c => c.className === 'Game'));

  const wrongType = await s.rest('POST', '/classes/Game', { score: 'not a number' });
  assert.equal(wrongType.body.code, 111);

  const ok = await s.rest('POST', '/classes/Game', { score: 3, title: 't' });
  assert.equal(ok.status, 201);
  const forbidden = await s.rest('GET', '/classes/Game?count=1&limit=0');
  assert.equal(forbidden.body.code, 119, 'CLP forbids count');
  const count = await s.rest('GET', '/classes/Game?count=1&limit=0', undefined, master());
  assert.equal(count.body.count, 1);
  const noUpdate = await s.rest('PUT', `/classes/Game/${ok.body.objectId}`, { score: 4 });
  assert.equal(noUpdate.body.code, 119, 'CLP forbids update');

  const delField = await s.rest('PUT', '/schemas/Game', { fields: { title: { __op: 'Delete' } } }, master());
  assert.equal(delField.status, 200);
  const obj = await s.rest('GET', `/classes/Game/${ok.body.objectId}`, undefined, master());
  assert.equal(obj.body.title, undefined, 'deleting a field removes its data');

  const notEmpty = await s.rest('DELETE', '/schemas/Game', undefined, master());
  assert.equal(notEmpty.body.code, 255);
  await s.rest('DELETE', `/classes/Game/${ok.body.objectId}`, undefined, master());
  const gone = await s.rest('DELETE', '/schemas/Game', undefined, master());
  assert.equal(gone.status, 200, JSON.stringify(gone.body));
  const after = await s.rest('GET', '/schemas/Game', undefined, master());
  assert.equal(after.body.code, 103);
});

test('batch requests work', async () => {
  const res = await s.rest('POST', '/batch', {
    requests: [
      { method: 'POST', path: '/parse/classes/B', body: { v: 1 } },
      { method: 'POST', path: '/parse/classes/B', body: { v: 2 } },
    ],
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.length, 2);
  assert.ok(res.body.every(r => r.success && r.success.objectId));
});

test('transactional batches are all-or-nothing', async () => {
  const ok = await s.rest('POST', '/batch', {
    transaction: true,
    requests: [
      { method: 'POST', path: '/parse/classes/T', body: { v: 1 } },
      { method: 'POST', path: '/parse/classes/T', body: { v: 2 } },
    ],
  });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  const id = ok.body[0].success.objectId;
  assert.equal((await s.rest('GET', '/classes/T?count=1&limit=0', undefined, master())).body.count, 2);

  // The second request fails (wrong type): the first leaves nothing behind.
  const bad = await s.rest('POST', '/batch', {
    transaction: true,
    requests: [
      { method: 'PUT', path: `/parse/classes/T/${id}`, body: { v: 10 } },
      { method: 'POST', path: '/parse/classes/T', body: { v: 'not a number' } },
    ],
  });
  assert.notEqual(bad.status, 200);
  assert.equal((await s.rest('GET', `/classes/T/${id}`, undefined, master())).body.v, 1);
  assert.equal((await s.rest('GET', '/classes/T?count=1&limit=0', undefined, master())).body.count, 2);
});

test('indexes declared through /schemas make equality lookups key reads', async () => {
  const m = master();
  await s.rest('POST', '/schemas/Indexed', { className: 'Indexed', fields: { color: { type: 'String' } } }, m);
  for (const color of ['red', 'blue', 'red']) await s.rest('POST', '/classes/Indexed', { color }, m);
  const put = await s.rest('PUT', '/schemas/Indexed', { indexes: { by_color: { color: 1 } } }, m);
  assert.equal(put.status, 200, JSON.stringify(put.body));
  const where = encodeURIComponent(JSON.stringify({ color: 'red' }));
  const plan = await s.rest('GET', `/classes/Indexed?explain=queryPlanner&where=${where}`, undefined, m);
  assert.equal(plan.body.results.queryPlanner.access.via, 'index color');
  const found = await s.rest('GET', `/classes/Indexed?count=1&limit=0&where=${where}`, undefined, m);
  assert.equal(found.body.count, 2);
  // The back-fill of the three stored objects went to the `logger` option.
  assert.ok(logged.some(l => /indexing Indexed\.color: done, 3 objects/.test(l)), JSON.stringify(logged));
  // A sorted page reads the index in order.
  const top = await s.rest('GET', '/classes/Indexed?order=-color&limit=1', undefined, m);
  assert.deepEqual(top.body.results.map(r => r.color), ['red']);
  const sortedPlan = await s.rest('GET', '/classes/Indexed?explain=queryPlanner&order=-color&limit=1', undefined, m);
  assert.equal(sortedPlan.body.results.queryPlanner.access.partition, '~i:Indexed:color');
  // Deleting the index stops the lookups and deletes its entries; answers stay the same.
  const del = await s.rest('PUT', '/schemas/Indexed', { indexes: { by_color: { __op: 'Delete' } } }, m);
  assert.equal(del.status, 200, JSON.stringify(del.body));
  const after = await s.rest('GET', `/classes/Indexed?explain=queryPlanner&where=${where}`, undefined, m);
  assert.equal(after.body.results.queryPlanner.access.operation, 'Query');
  assert.equal(after.body.results.queryPlanner.access.partition, 'Indexed');
  const indexes = await s.db.getAdapter().getIndexes('Indexed');
  assert.ok(!indexes.some(i => i.name === 'color_kept'), JSON.stringify(indexes));
  assert.ok(logged.some(l => /dropped index Indexed\.color \(3 entries\)/.test(l)), JSON.stringify(logged));
  const again = await s.rest('GET', `/classes/Indexed?count=1&limit=0&where=${where}`, undefined, m);
  assert.equal(again.body.count, 2);
});

// Issue 31: Parse sends a class creation and an addFieldIfNotExists for every field from every
// first save of a new class at once. A field already there (same type) costs a read, not a
// write; different fields are added each by a write of its own, never redoing the whole schema
// item, so concurrent adders do not refuse each other.
test('fifty parallel first saves of a new class: the schema ends right, with next to no refused writes', async () => {
  const adapter = s.db.getAdapter();
  const before = await adapter.consumedCapacity();
  const saves = [];
  for (let i = 0; i < 50; i++) {
    const o = new s.Parse.Object('Rush');
    // Overlapping fields: every object has `n` and `tag`, one of five `f<k>`, every tenth a pointer.
    o.set({ n: i, tag: `t${i % 3}`, [`f${i % 5}`]: `v${i}` });
    if (i % 10 === 0) o.set('owner', s.Parse.Object.fromJSON({ className: '_User', objectId: 'u1' }));
    saves.push(o.save(null, { useMasterKey: true }));
  }
  await Promise.all(saves);
  const after = await adapter.consumedCapacity();
  const schema = await s.rest('GET', '/schemas/Rush', undefined, master());
  const fields = schema.body.fields;
  assert.deepEqual(
    Object.fromEntries(['n', 'tag', 'f0', 'f1', 'f2', 'f3', 'f4', 'owner'].map(f => [f, fields[f]])),
    { n: { type: 'Number' }, tag: { type: 'String' }, f0: { type: 'String' }, f1: { type: 'String' }, f2: { type: 'String' }, f3: { type: 'String' }, f4: { type: 'String' }, owner: { type: 'Pointer', targetClass: '_User' } }
  );
  const count = await new s.Parse.Query('Rush').count({ useMasterKey: true });
  assert.equal(count, 50);
  // Every write DynamoDB refused (a failed condition) is billed; here next to none: before,
  // 50 saves made well over a hundred refused schema puts.
  const refused = after.refused - before.refused;
  assert.ok(Number.isInteger(refused), JSON.stringify(after));
  assert.ok(refused <= 5, `${refused} refused writes: ${JSON.stringify(after.operations)}`);
  // A type clash is still refused, and the field keeps its type.
  const clash = await s.rest('POST', '/classes/Rush', { n: 'text' });
  assert.equal(clash.body.code, 111);
});
