// The packed packages install into an empty folder with no Rust toolchain on PATH, use the
// prebuilt binary of the per-platform package, and serve a Parse Server. Uses the binary this
// checkout built (the release workflow packs a release build the same way).
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync, execFile } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startDynamo } = require('../scripts/dynamo-local');

const root = path.join(__dirname, '..');
let dynamo;
let dir;

before(async () => {
  dynamo = await startDynamo();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'psd-pack-'));
});
after(async () => {
  await dynamo.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('npm pack output installs without Rust and serves Parse Server', { timeout: 300000 }, async () => {
  const built = path.join(root, 'parse-server-dynamodb.linux-x64-gnu.node');
  const { main, platform } = JSON.parse(
    execFileSync(process.execPath, [path.join(root, 'scripts', 'pack.js'), '--node', built, '--out', path.join(dir, 'dist')], { encoding: 'utf8' })
  );
  const app = path.join(dir, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(
    path.join(app, 'package.json'),
    JSON.stringify({ name: 'app', private: true, overrides: { router: '2.2.0' } })
  );
  // npm: beside this node, or (a Node release from the registry's node-linux package, which
  // brings none) the one on PATH, run by this node.
  const npm = [path.dirname(process.execPath), ...(process.env.PATH || '').split(path.delimiter)]
    .map(d => path.join(d, 'npm'))
    .find(f => fs.existsSync(f));
  // No cargo, rustc or rustup: only node's own folder, npm's and the system's.
  const env = { ...process.env, PATH: [path.dirname(process.execPath), path.dirname(npm), '/usr/bin', '/bin'].join(path.delimiter) };
  assert.throws(() => execFileSync('cargo', ['--version'], { env, stdio: 'ignore' }));
  execFileSync(npm, ['install', '--no-audit', '--no-fund', '--prefer-offline', main, platform, 'parse-server@9.10.0', 'express@5.2.1'], {
    cwd: app,
    env,
    stdio: 'pipe',
  });
  const installed = path.join(app, 'node_modules', 'parse-server-dynamodb');
  assert.ok(fs.existsSync(path.join(installed, 'binding.js')));
  assert.deepEqual(fs.readdirSync(installed).filter(f => f.endsWith('.node')), [], 'no binary built in the main package');
  fs.writeFileSync(
    path.join(app, 'server.js'),
    `
const { DynamoDB } = require('parse-server-dynamodb');
const { ParseServer } = require('parse-server');
const express = require('express');
(async () => {
  const files = { createFile() {}, deleteFile() {}, getFileData() {}, getFileLocation() {} };
  const api = new ParseServer({ databaseAdapter: new DynamoDB('packed', { endpoint: process.env.DYNAMODB_ENDPOINT, region: 'us-east-1' }).getAdapter(),
    filesAdapter: files, appId: 'packed', masterKey: 'mk', serverURL: 'http://127.0.0.1:' + process.env.PORT + '/parse', silent: true, logLevel: 'error' });
  await api.start();
  const app = express();
  app.use('/parse', api.app);
  const http = app.listen(process.env.PORT, '127.0.0.1', async () => {
    const h = { 'X-Parse-Application-Id': 'packed', 'X-Parse-Master-Key': 'mk', 'Content-Type': 'application/json' };
    const base = 'http://127.0.0.1:' + process.env.PORT + '/parse';
    const made = await (await fetch(base + '/classes/Packed', { method: 'POST', headers: h, body: JSON.stringify({ ok: true }) })).json();
    const got = await (await fetch(base + '/classes/Packed/' + made.objectId, { headers: h })).json();
    console.log(JSON.stringify({ got, binding: require.resolve('parse-server-dynamodb-linux-x64-gnu') }));
    http.close();
    process.exit(0);
  });
})().catch(e => { console.error(e); process.exit(1); });
`
  );
  const { freePort } = require('../scripts/dynamo-local');
  const port = await freePort();
  const out = await new Promise((resolve, reject) =>
    execFile(process.execPath, ['server.js'], { cwd: app, env: { ...env, PORT: String(port), DYNAMODB_ENDPOINT: dynamo.endpoint, TESTING: '1' } }, (e, stdout, stderr) =>
      e ? reject(new Error(`${e.message}\n${stderr}`)) : resolve(stdout)
    )
  );
  const line = out.trim().split('\n').pop();
  const { got, binding } = JSON.parse(line);
  assert.equal(got.ok, true);
  assert.match(binding, /node_modules\/parse-server-dynamodb-linux-x64-gnu\//);
});

test('without a prebuilt binary and without cargo, install says so in one line', () => {
  // The main package alone, as npm unpacks it where no per-platform package fits.
  const pkg = path.join(dir, 'bare');
  fs.mkdirSync(path.join(pkg, 'scripts'), { recursive: true });
  for (const f of ['package.json', 'binding.js', 'scripts/install.js']) fs.copyFileSync(path.join(root, f), path.join(pkg, f));
  const env = { ...process.env, PATH: [path.dirname(process.execPath), '/usr/bin', '/bin'].join(path.delimiter) };
  assert.throws(() => execFileSync('cargo', ['--version'], { env, stdio: 'ignore' }));
  let failed;
  try {
    execFileSync(process.execPath, [path.join(pkg, 'scripts', 'install.js')], { cwd: pkg, env, stdio: 'pipe', encoding: 'utf8' });
  } catch (e) {
    failed = e;
  }
  assert.ok(failed, 'the install hook must fail');
  assert.equal(failed.status, 1);
  const lines = failed.stderr.trim().split('\n');
  assert.equal(lines.length, 1, failed.stderr);
  assert.match(lines[0], /no prebuilt binary for linux-x64 and no cargo/);
  assert.match(lines[0], /install Rust/);
  assert.doesNotMatch(failed.stderr, /ENOENT|\n\s+at /);
});
