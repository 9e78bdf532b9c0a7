// The in-process store: Parse Server on `new DynamoDB(table, { embedded })` with no emulator
// process and no AWS account, its data kept in a file another process can read, and the
// fallback to it when neither an endpoint nor a region is configured anywhere.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
let dir;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'psd-embedded-'));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

// Runs `code` in a fresh Node process (its own env and working directory); answers its last line as JSON.
function node(code, { env = {}, cwd = dir } = {}) {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, ['-e', code], { cwd, env: { PATH: process.env.PATH, TESTING: '1', AWS_EC2_METADATA_DISABLED: 'true', HOME: dir, ...env } }, (e, stdout, stderr) =>
      e ? reject(new Error(`${e.message}\n${stderr}`)) : resolve(JSON.parse(stdout.trim().split('\n').pop()))
    )
  );
}

test('Parse Server runs on the embedded store and its data outlives the process', { timeout: 120000 }, async () => {
  const file = path.join(dir, 'data', 'store.db');
  const serve = `
    const { DynamoDB } = require(${JSON.stringify(root)});
    const { ParseServer } = require(${JSON.stringify(require.resolve('parse-server'))});
    const express = require(${JSON.stringify(require.resolve('express'))});
    (async () => {
      const files = { createFile() {}, deleteFile() {}, getFileData() {}, getFileLocation() {} };
      const api = new ParseServer({ databaseAdapter: new DynamoDB('app', { embedded: ${JSON.stringify(file)} }).getAdapter(), filesAdapter: files,
        appId: 'emb', masterKey: 'mk', serverURL: 'http://127.0.0.1:1/parse', silent: true, logLevel: 'error' });
      await api.start();
      const app = express();
      app.use('/parse', api.app);
      const http = app.listen(0, '127.0.0.1', async () => {
        const base = 'http://127.0.0.1:' + http.address().port + '/parse';
        const h = { 'X-Parse-Application-Id': 'emb', 'X-Parse-Master-Key': 'mk', 'Content-Type': 'application/json' };
        const r = await (await fetch(base + '/classes/Note', { method: 'POST', headers: h, body: JSON.stringify({ text: 'kept' }) })).json();
        const signup = await (await fetch(base + '/users', { method: 'POST', headers: h, body: JSON.stringify({ username: 'ann', password: 'pw' }) })).json();
        console.log(JSON.stringify({ id: r.objectId, user: signup.objectId }));
        process.exit(0);
      });
    })().catch(e => { console.error(e); process.exit(1); });`;
  const made = await node(serve);
  assert.ok(made.id && made.user, JSON.stringify(made));
  assert.ok(fs.statSync(file).size > 0);
  // A second process opens the same file and finds the object (and the unique username).
  const read = await node(`
    const { DynamoDB } = require(${JSON.stringify(root)});
    (async () => {
      const a = new DynamoDB('app', { embedded: ${JSON.stringify(file)} }).getAdapter();
      const notes = await a.find('Note', { fields: {} }, {}, {});
      const users = await a.find('_User', { fields: {} }, { username: 'ann' }, {});
      console.log(JSON.stringify({ notes: notes.map(n => n.text), users: users.length }));
    })().catch(e => { console.error(e); process.exit(1); });`);
  assert.deepEqual(read, { notes: ['kept'], users: 1 });
});

test('with no endpoint and no region anywhere, the embedded store serves and says so', { timeout: 60000 }, async () => {
  const cwd = fs.mkdtempSync(path.join(dir, 'cwd-'));
  const out = await node(
    `
    const { DynamoDB } = require(${JSON.stringify(root)});
    (async () => {
      const logged = [];
      const a = new DynamoDB('fallback', { logger: { info: m => logged.push(m), warn: m => logged.push(m) } }).getAdapter();
      await a.createObject('Thing', { fields: {} }, { objectId: 't1', n: 1 });
      const found = await a.find('Thing', { fields: {} }, { n: 1 }, {});
      console.log(JSON.stringify({ found: found.length, logged }));
    })().catch(e => { console.error(e); process.exit(1); });`,
    { cwd }
  );
  assert.equal(out.found, 1);
  assert.ok(out.logged.some(l => /served by the embedded store \(\.parse-dynamodb\/store\.db\)/.test(l)), JSON.stringify(out.logged));
  assert.ok(fs.existsSync(path.join(cwd, '.parse-dynamodb', 'store.db')));
});
