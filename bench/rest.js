// Benchmark: Parse Server REST end to end (create, get, query, login), this adapter on dynoxide
// against Parse Server's own PostgreSQL adapter on a local PostgreSQL that this script starts
// (initdb + pg_ctl from PATH, in a temporary folder, on a free port). Each Parse Server runs in
// its own child process (Parse Server keeps some state per process); this process is the
// HTTP client. Rounds alternate between them and the best of three is printed, with 8
// concurrent HTTP clients; and, from /proc, the CPU time per request each side's processes
// spent (the Parse Server process: Node, Parse Server and the adapter; the store: dynoxide, or
// PostgreSQL's processes), so where the emulator's own CPU is the limit shows.
'use strict';
process.env.TESTING = '1';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const express = require('express');
const { ParseServer } = require('parse-server');
const { freePort, startDynamo } = require('../scripts/dynamo-local');

const CONCURRENCY = 8;

function startPostgres(port) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'psd-pg-'));
  const asRoot = process.getuid && process.getuid() === 0;
  // PostgreSQL refuses to run as root: run it as the `postgres` user then.
  const run = (cmd, args) =>
    asRoot
      ? execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { stdio: 'pipe' })
      : execFileSync(cmd, args, { stdio: 'pipe' });
  if (asRoot) execFileSync('chown', ['postgres', dir]);
  run('initdb', ['-D', path.join(dir, 'data'), '-U', 'postgres', '--auth=trust']);
  run('pg_ctl', ['-D', path.join(dir, 'data'), '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, '-l', path.join(dir, 'log'), '-w', 'start']);
  return {
    uri: `postgres://postgres@127.0.0.1:${port}/postgres`,
    pid: () => Number(fs.readFileSync(path.join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]),
    stop() {
      try {
        run('pg_ctl', ['-D', path.join(dir, 'data'), '-m', 'fast', '-w', 'stop']);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

// A Parse Server in a child process (this same file, with PSD_BENCH_SERVE set).
function startServer(kind, env) {
  const { fork } = require('node:child_process');
  return new Promise((resolve, reject) => {
    const child = fork(__filename, [], { env: { ...process.env, PSD_BENCH_SERVE: kind, ...env }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    child.once('message', m => resolve({ rest: restClient(m.serverURL, m.appId, 'bench-js'), pid: child.pid, stop: () => child.kill() }));
    child.once('exit', code => reject(new Error(`${kind} server exited (${code})`)));
  });
}

async function serve(kind) {
  const port = await freePort();
  const serverURL = `http://127.0.0.1:${port}/parse`;
  const appId = `bench-${kind}`;
  const options = { appId, masterKey: 'bench-master', javascriptKey: 'bench-js', serverURL, silent: true, logLevel: 'error', allowClientClassCreation: true };
  if (kind === 'postgres') {
    options.databaseURI = process.env.PG_URI;
  } else {
    const { DynamoDB } = require('..');
    options.databaseAdapter = new DynamoDB(`bench${Date.now()}`, { endpoint: process.env.DYNAMODB_ENDPOINT, region: 'us-east-1' }).getAdapter();
    options.filesAdapter = { createFile() {}, deleteFile() {}, getFileData() {}, getFileLocation() {} };
  }
  const server = new ParseServer(options);
  await server.start();
  const app = express();
  app.use('/parse', server.app);
  app.listen(port, '127.0.0.1', () => process.send({ serverURL, appId }));
}

function restClient(serverURL, appId, jsKey) {
  return async (method, p, body, headers = {}) => {
    const res = await fetch(`${serverURL}${p}`, {
      method,
      headers: { 'X-Parse-Application-Id': appId, 'X-Parse-JavaScript-Key': jsKey, 'Content-Type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json();
    if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
}

/** CPU seconds (user + system) a process and all its descendants have used so far (Linux). */
function cpuSeconds(pid) {
  const ticks = 100; // USER_HZ
  let total = 0;
  const visit = p => {
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime + stime, and cutime + cstime: what its ended children used (PostgreSQL's
      // backends come and go).
      total += (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / ticks;
      for (const t of fs.readdirSync(`/proc/${p}/task`)) {
        const kids = fs.readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').trim();
        for (const k of kids ? kids.split(' ') : []) visit(k);
      }
    } catch {
      // The process ended meanwhile.
    }
  };
  visit(pid);
  return total;
}

async function measure(total, f) {
  let next = 0;
  const times = [];
  const t = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < total) {
        const i = next++;
        const s = process.hrtime.bigint();
        await f(i);
        times.push(Number(process.hrtime.bigint() - s) / 1e6);
      }
    })
  );
  times.sort((a, b) => a - b);
  return { rate: total / (Number(process.hrtime.bigint() - t) / 1e9), p50: times[Math.floor(times.length / 2)] };
}

async function main() {
  const pg = startPostgres(await freePort());
  const dynamo = await startDynamo();
  const ours = await startServer('ours', { DYNAMODB_ENDPOINT: dynamo.endpoint });
  const pgParse = await startServer('postgres', { PG_URI: pg.uri });
  const sides = {
    ours: { rest: ours.rest, ids: [], server: ours.pid, store: () => dynamo.child.pid },
    postgres: { rest: pgParse.rest, ids: [], server: pgParse.pid, store: pg.pid },
  };
  // Seed: 1,000 objects in 50 categories and 20 users per side.
  for (const side of Object.values(sides)) {
    await measure(1000, async i => {
      const r = await side.rest('POST', '/classes/Bench', { n: i, category: `c${i % 50}` });
      side.ids.push(r.objectId);
    });
    for (let u = 0; u < 20; u++) await side.rest('POST', '/users', { username: `bench${u}`, password: 'pw' });
  }
  const ops = {
    create: { n: 400, f: (s, i) => s.rest('POST', '/classes/Bench', { n: 10000 + i, category: 'new' }) },
    get: { n: 1000, f: (s, i) => s.rest('GET', `/classes/Bench/${s.ids[(i * 7919) % s.ids.length]}`) },
    'query, equality on a field (20 of 2,200 rows)': {
      n: 200,
      f: async (s, i) => {
        const where = encodeURIComponent(JSON.stringify({ category: `c${i % 50}` }));
        const r = await s.rest('GET', `/classes/Bench?where=${where}&limit=100`);
        if (r.results.length !== 20) throw new Error(`query found ${r.results.length}`);
      },
    },
    'same query, field indexed (schema API)': {
      n: 400,
      before: s => s.rest('PUT', '/schemas/Bench', { indexes: { by_category: { category: 1 } } }, { 'X-Parse-Master-Key': 'bench-master' }),
      f: async (s, i) => {
        const where = encodeURIComponent(JSON.stringify({ category: `c${i % 50}` }));
        const r = await s.rest('GET', `/classes/Bench?where=${where}&limit=100`);
        if (r.results.length !== 20) throw new Error(`query found ${r.results.length}`);
      },
    },
    login: { n: 100, f: (s, i) => s.rest('POST', '/login', { username: `bench${i % 20}`, password: 'pw' }) },
  };
  const rows = [];
  for (const [name, op] of Object.entries(ops)) {
    const best = { ours: { rate: 0, p50: Infinity, server: 0, store: 0 }, postgres: { rate: 0, p50: Infinity, server: 0, store: 0 } };
    if (op.before) for (const side of Object.values(sides)) await op.before(side);
    for (let round = 0; round < 3; round++) {
      for (const side of ['ours', 'postgres']) {
        const sd = sides[side];
        const cpu = () => [cpuSeconds(sd.server), cpuSeconds(sd.store())];
        const [server0, store0] = cpu();
        const m = await measure(op.n, i => op.f(sd, i));
        const [server1, store1] = cpu();
        if (m.rate > best[side].rate) {
          best[side].server = ((server1 - server0) * 1000) / op.n;
          best[side].store = ((store1 - store0) * 1000) / op.n;
        }
        best[side].rate = Math.max(best[side].rate, m.rate);
        best[side].p50 = Math.min(best[side].p50, m.p50);
      }
    }
    rows.push({ name, ...best });
  }
  pgParse.stop();
  ours.stop();
  await dynamo.stop();
  pg.stop();
  console.log(`\nParse Server REST end to end: this adapter on dynoxide vs Parse's PostgreSQL adapter on PostgreSQL (${CONCURRENCY} clients, best of 3 alternating rounds)`);
  console.log('| request | Postgres req/s | ours req/s | ours / Postgres | Postgres p50 ms | ours p50 ms |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.name} | ${r.postgres.rate.toFixed(0)} | ${r.ours.rate.toFixed(0)} | ${(r.ours.rate / r.postgres.rate).toFixed(2)} | ${r.postgres.p50.toFixed(1)} | ${r.ours.p50.toFixed(1)} |`);
  }
  console.log('\nCPU time per request (ms, the fastest round of each), from /proc: the Parse Server process (Node, Parse Server, the adapter) and the store');
  console.log('| request | Postgres: Parse Server | Postgres: PostgreSQL | ours: Parse Server + adapter | ours: dynoxide |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.name} | ${r.postgres.server.toFixed(2)} | ${r.postgres.store.toFixed(2)} | ${r.ours.server.toFixed(2)} | ${r.ours.store.toFixed(2)} |`);
  }
  process.exit(0);
}

(process.env.PSD_BENCH_SERVE ? serve(process.env.PSD_BENCH_SERVE) : main()).catch(e => {
  console.error(e);
  process.exit(1);
});
