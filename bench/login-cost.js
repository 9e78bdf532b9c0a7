// Login cost at 1k / 10k (/ 100k with BENCH_USERS=100000) users: DynamoDB read/write units and
// requests per login, and latency, through a real Parse Server on this adapter and dynoxide.
// Users are written straight through the adapter (one bcrypt hash reused) so setup is fast.
// Prints one table; ratios are measured side by side in this one run.
'use strict';
process.env.TESTING = '1';
const bcrypt = require('bcryptjs');
const { startStack } = require('../__test__/helpers');

const sizes = (process.env.BENCH_USERS || '1000,10000').split(',').map(Number);
const LOGINS = Number(process.env.BENCH_LOGINS || 50);

async function measure(n, hash) {
  const s = await startStack();
  const adapter = s.db.getAdapter();
  const started = Date.now();
  const batch = 64;
  for (let i = 0; i < n; i += batch) {
    const writes = [];
    for (let j = i; j < Math.min(n, i + batch); j++) {
      writes.push(
        adapter.createObject('_User', { fields: {} }, {
          objectId: `u${j}`,
          username: `user${j}`,
          _hashed_password: hash,
          createdAt: { __type: 'Date', iso: new Date().toISOString() },
          updatedAt: { __type: 'Date', iso: new Date().toISOString() },
          _rperm: ['*', `u${j}`],
          _wperm: [`u${j}`],
        })
      );
    }
    await Promise.all(writes);
  }
  const loadSeconds = (Date.now() - started) / 1000;
  const before = await adapter.consumedCapacity();
  const times = [];
  for (let k = 0; k < LOGINS; k++) {
    const who = Math.floor((k * 7919) % n);
    const t = process.hrtime.bigint();
    const r = await s.rest('POST', '/login', { username: `user${who}`, password: 'pw' }, { 'X-Parse-Installation-Id': `bench-${k}` });
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
    if (r.status !== 200) throw new Error(JSON.stringify(r.body));
  }
  const after = await adapter.consumedCapacity();
  await s.stop();
  times.sort((a, b) => a - b);
  const per = k => ((after[k] - before[k]) / LOGINS).toFixed(2);
  const queries = ((after.operations.Query?.requests || 0) - (before.operations.Query?.requests || 0)) / LOGINS;
  const byOp = Object.keys(after.operations)
    .map(op => {
      const a = after.operations[op];
      const b = before.operations[op] || { requests: 0, readUnits: 0, writeUnits: 0 };
      return `${op} ${((a.requests - b.requests) / LOGINS).toFixed(2)} req, ${((a.readUnits - b.readUnits) / LOGINS).toFixed(2)} RU, ${((a.writeUnits - b.writeUnits) / LOGINS).toFixed(2)} WU`;
    })
    .filter(l => !/ 0.00 req/.test(l));
  return { n, byOp, loadSeconds, reads: per('readUnits'), writes: per('writeUnits'), requests: per('requests'), queries, p50: times[Math.floor(LOGINS / 2)], p95: times[Math.floor(LOGINS * 0.95)] };
}

(async () => {
  const hash = bcrypt.hashSync('pw', 4); // low cost: the bench measures the database, not bcrypt
  const rows = [];
  for (const n of sizes) rows.push(await measure(n, hash));
  console.log(`\nlogin cost (${LOGINS} logins per size, Parse Server REST /login, dynoxide)`);
  console.log('| users | read units / login | write units / login | DynamoDB requests / login | Query requests / login | p50 ms | p95 ms | load users s |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.n} | ${r.reads} | ${r.writes} | ${r.requests} | ${r.queries} | ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} | ${r.loadSeconds.toFixed(1)} |`);
  }
  const first = rows[0];
  const last = rows[rows.length - 1];
  console.log(`\nper login, by DynamoDB operation (${last.n} users): ${last.byOp.join('; ')}`);
  console.log(`\nread units per login, ${last.n} vs ${first.n} users: ${(last.reads / first.reads).toFixed(2)}x`);
})().catch(e => {
  console.error(e);
  process.exit(1);
});
