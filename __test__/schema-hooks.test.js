// Schema hooks across servers (issue 24, item 2): two Parse Servers on one table, each in its
// own process (its own schema cache), both with `enableSchemaHooks: true` — with which Parse
// never re-reads schemas by itself. A class-level permission changed through A is enforced by B
// within a second or two: B heard of it from the table's stream (a public create B allowed
// before is refused after), not from a cache expiry.
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { fork } = require('node:child_process');
const { startDynamo, freePort } = require('../scripts/dynamo-local');
const { startStack, masterKey, javascriptKey } = require('./helpers');

test('a schema change through one server reaches another through the stream (enableSchemaHooks)', { timeout: 120_000 }, async () => {
  const dynamo = await startDynamo({ port: await freePort() });
  const table = `hooks${process.pid}`;
  const options = { appId: 'hooks', adapterOptions: { enableSchemaHooks: true } };
  const a = await startStack(options, { dynamo, table });
  const child = fork(path.join(__dirname, 'server-child.js'), [dynamo.endpoint, table, JSON.stringify(options)], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr.on('data', d => (stderr += d));
  try {
    const b = await new Promise((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', code => reject(new Error(`server B exited ${code}: ${stderr}`)));
    });
    const onB = (method, p, body) =>
      fetch(`${b.serverURL}${p}`, { method, headers: { 'X-Parse-Application-Id': b.appId, 'X-Parse-JavaScript-Key': javascriptKey, 'Content-Type': 'application/json' }, body: JSON.stringify(body) }).then(async r => ({ status: r.status, body: await r.json() }));
    const master = { 'X-Parse-Master-Key': masterKey };
    const open = { find: { '*': true }, get: { '*': true }, count: { '*': true }, create: { '*': true }, update: { '*': true }, delete: { '*': true }, addField: { '*': true } };
    assert.equal((await a.rest('POST', '/schemas/Hooked', { className: 'Hooked', fields: { x: { type: 'Number' } }, classLevelPermissions: open }, master)).status, 200);
    // B knows the class now (its cache holds it: a public create is allowed).
    assert.equal((await onB('POST', '/classes/Hooked', { x: 1 })).status, 201);
    // Through A: no more public creates.
    const closed = await a.rest('PUT', '/schemas/Hooked', { className: 'Hooked', classLevelPermissions: { ...open, create: {} } }, master);
    assert.equal(closed.status, 200, JSON.stringify(closed.body));
    const started = Date.now();
    let refused = null;
    while (Date.now() - started < 10_000) {
      const r = await onB('POST', '/classes/Hooked', { x: 2 });
      if (r.status !== 201) {
        refused = r;
        break;
      }
      await new Promise(r => setTimeout(r, 100));
    }
    const took = Date.now() - started;
    assert.ok(refused, 'B kept allowing public creates');
    assert.equal(refused.body.code, 119, JSON.stringify(refused.body));
    assert.ok(took < 2000, `B enforced A's change after ${took} ms`);
  } finally {
    child.send('stop');
    await new Promise(r => child.once('exit', r));
    await a.stop();
    await dynamo.stop();
  }
});
