// The main job (`npm start` runs scripts/start.js): its first screen is the banner (no
// deprecation warnings), and the server it starts answers the SDK's REST calls and serves the
// demo page, on the embedded store.
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { freePort } = require('../scripts/dynamo-local');

test('npm start: the banner first and alone, then a working server', { timeout: 120000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'psd-start-'));
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(__dirname, '..', 'scripts', 'start.js')], {
    // No AWS region or endpoint: the embedded store (an empty AWS_REGION counts as none).
    env: { ...process.env, PORT: String(port), DATA_FILE: path.join(dir, 'store.db'), DYNAMODB_ENDPOINT: '', AWS_REGION: '' },
  });
  let output = '';
  child.stdout.on('data', d => (output += d));
  child.stderr.on('data', d => (output += d));
  try {
    for (let i = 0; i < 600 && !/Try: curl/.test(output); i++) await new Promise(r => setTimeout(r, 100));
    assert.match(output, /^Parse Server on DynamoDB \(embedded store /, output);
    assert.doesNotMatch(output, /Deprecation|warn:/i, 'nothing but the banner');
    const base = `http://127.0.0.1:${port}`;
    const headers = { 'X-Parse-Application-Id': 'demo-app', 'Content-Type': 'application/json' };
    const created = await fetch(`${base}/parse/classes/GameScore`, { method: 'POST', headers, body: JSON.stringify({ score: 1337 }) });
    assert.equal(created.status, 201);
    const listed = await (await fetch(`${base}/parse/classes/GameScore`, { headers })).json();
    assert.deepEqual(listed.results.map(r => r.score), [1337]);
    assert.match(await (await fetch(base)).text(), /Parse Server on DynamoDB/);
    assert.doesNotMatch(output, /Deprecation/i, 'no warnings while serving either');
  } finally {
    child.kill('SIGTERM');
    await new Promise(r => child.on('exit', r));
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
