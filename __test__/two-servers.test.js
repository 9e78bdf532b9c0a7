// Two Parse Servers (two adapters, two schema caches) on one table: a class or field added
// through one is seen by the other, and a conflicting type is refused instead of stored.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startStack } = require('./helpers');

let a;
let b;
before(async () => {
  a = await startStack({ appId: 'server-a' });
  b = await startStack({ appId: 'server-b', schemaCacheTtl: 200 }, { dynamo: a.dynamo, table: a.table });
});
after(async () => {
  await b.stop();
  await a.stop();
});

test('schema changes made through one server reach the other', async () => {
  assert.equal((await b.rest('POST', '/classes/Thing', { size: 1 })).status, 201);
  const made = await a.rest('POST', '/classes/Thing', { color: 'red' });
  assert.equal(made.status, 201, JSON.stringify(made.body));

  await new Promise(r => setTimeout(r, 300)); // B's schemaCacheTtl
  const conflict = await b.rest('POST', '/classes/Thing', { color: 5 });
  assert.equal(conflict.body.code, 111, JSON.stringify(conflict.body));
  assert.equal((await b.rest('POST', '/classes/Thing', { color: 'blue' })).status, 201);

  const seen = await b.rest('GET', '/classes/Thing?order=createdAt', undefined, { 'X-Parse-Master-Key': b.masterKey });
  assert.deepEqual(seen.body.results.map(r => r.color ?? null), [null, 'red', 'blue']);
  const schema = await b.rest('GET', '/schemas/Thing', undefined, { 'X-Parse-Master-Key': b.masterKey });
  assert.deepEqual(schema.body.fields.color, { type: 'String' });
});
