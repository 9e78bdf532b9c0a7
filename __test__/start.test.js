// The main job (`npm start` runs scripts/start.js): its first screen is the banner (no
// deprecation warnings), and the server it starts answers the SDK's REST calls and serves the
// demo page, on the embedded store.
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startDemo } = require('./helpers');

test('npm start: the banner first and alone, then a working server', { timeout: 120000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'psd-start-'));
  const demo = await startDemo(dir);
  try {
    const output = demo.output();
    assert.match(output, /^Parse Server on DynamoDB \(embedded store /, output);
    assert.doesNotMatch(output, /Deprecation|warn:/i, 'nothing but the banner');
    const base = `http://127.0.0.1:${demo.port}`;
    const headers = { 'X-Parse-Application-Id': 'demo-app', 'Content-Type': 'application/json' };
    const created = await fetch(`${base}/parse/classes/GameScore`, { method: 'POST', headers, body: JSON.stringify({ score: 1337 }) });
    assert.equal(created.status, 201);
    const listed = await (await fetch(`${base}/parse/classes/GameScore`, { headers })).json();
    assert.deepEqual(listed.results.map(r => r.score), [1337]);
    assert.match(await (await fetch(base)).text(), /Parse Server on DynamoDB/);
    assert.doesNotMatch(demo.output(), /Deprecation/i, 'no warnings while serving either');
  } finally {
    await demo.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
