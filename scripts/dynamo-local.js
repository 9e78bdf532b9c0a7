// Starts a local DynamoDB-compatible server (dynoxide, from the npm package
// @dynoxide/linux-x64 or a `dynoxide` binary on PATH / in $DYNOXIDE_BIN) on 127.0.0.1 and a
// free port. Used by the demo (`npm start`), the tests and the benchmarks.
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

function findBinary() {
  if (process.env.DYNOXIDE_BIN) return process.env.DYNOXIDE_BIN;
  try {
    const dir = path.dirname(require.resolve(`@dynoxide/${process.platform}-${process.arch}/package.json`));
    const bin = path.join(dir, process.platform === 'win32' ? 'dynoxide.exe' : 'dynoxide');
    if (fs.existsSync(bin)) return bin;
  } catch (_) {
    // not installed for this platform
  }
  try {
    return execFileSync(process.platform === 'win32' ? 'where' : 'which', ['dynoxide']).toString().split('\n')[0].trim();
  } catch (_) {
    throw new Error(
      'No dynoxide binary: run `npm install` (it brings @dynoxide/linux-x64), `cargo install dynoxide-rs`, or set DYNOXIDE_BIN'
    );
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function waitForPort(port, child, timeoutMs = 10000) {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (child.exitCode !== null) return reject(new Error(`dynoxide exited with code ${child.exitCode}`));
      const sock = net.connect(port, '127.0.0.1');
      sock.once('connect', () => {
        sock.destroy();
        resolve();
      });
      sock.once('error', () => {
        sock.destroy();
        if (Date.now() - started > timeoutMs) return reject(new Error('dynoxide did not start'));
        setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

/**
 * Starts dynoxide; `dbPath` persists data to a file (in memory when omitted). With `rules`
 * (default: DYNAMO_RULES=1, as the tests set it) the endpoint is a proxy in front of it that
 * refuses, as AWS does, every request DynamoDB's documented rules forbid
 * (scripts/dynamo-rules.js); `rules` answers it (its `violations`).
 */
async function startDynamo({ port, dbPath, quiet = true, rules = process.env.DYNAMO_RULES === '1' } = {}) {
  if (rules) {
    const { RulesProxy } = require('./dynamo-rules');
    const inner = await startDynamo({ dbPath, quiet, rules: false });
    const proxy = await new RulesProxy({ target: inner.endpoint, port: port || 0 }).start();
    return {
      endpoint: proxy.endpoint,
      port: Number(new URL(proxy.endpoint).port),
      child: inner.child,
      rules: proxy,
      stop: async () => {
        await proxy.stop();
        await inner.stop();
      },
    };
  }
  const bin = findBinary();
  port = port || (await freePort());
  const args = ['serve', '--host', '127.0.0.1', '--port', String(port)];
  if (dbPath) {
    fs.mkdirSync(path.dirname(dbPath), { recursive: true });
    args.push('--db-path', dbPath);
  }
  const child = spawn(bin, args, { stdio: quiet ? 'ignore' : 'inherit' });
  await waitForPort(port, child);
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    port,
    child,
    stop: () =>
      new Promise(resolve => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

module.exports = { startDynamo, findBinary, freePort };

if (require.main === module) {
  // `node scripts/dynamo-local.js [port]`: run a server in the foreground.
  startDynamo({ port: Number(process.argv[2]) || 8000, quiet: false }).then(d => {
    console.log(`dynoxide listening on ${d.endpoint}`);
  });
}
