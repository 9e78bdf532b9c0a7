// Benchmark: DynamoDB requests and *sequential* round trips per Parse operation. Parse Server
// (REST) on this adapter talks to dynoxide through a proxy that holds every request DELAY_MS
// (default 20) before handling it, as a network would; each operation is timed RUNS times
// (default 11) with the delay and without, and (median with − median without) / DELAY_MS is the
// chain of requests made one after the other. The last column is what the operation would
// spend on the network at AWS_MS per request (default 3 ms, in-region).
'use strict';
process.env.DYNAMO_RULES = '0';
const { startDynamo } = require('../scripts/dynamo-local');
const { FaultProxy } = require('../__test__/fault-proxy');
const { startStack, masterKey } = require('../__test__/helpers');

const DELAY = Number(process.env.DELAY_MS || 20);
const RUNS = Number(process.env.RUNS || 11);
const AWS_MS = Number(process.env.AWS_MS || 3);

const median = xs => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const dynamo = await startDynamo({ rules: false });
  const proxy = await new FaultProxy({ target: dynamo.endpoint, rate: 0 }).start();
  const s = await startStack({ adapterOptions: { autoIndex: false } }, { dynamo: { endpoint: proxy.endpoint }, table: `rt${Date.now().toString(36)}` });
  const m = { 'X-Parse-Master-Key': masterKey };
  await s.rest('POST', '/schemas/Indexed', { className: 'Indexed', fields: { a: { type: 'String' }, b: { type: 'String' } }, indexes: { by_a: { a: 1 }, by_b: { b: 1 } } }, m);
  await s.rest('POST', '/schemas/Dated', { className: 'Dated', fields: { n: { type: 'Number' } }, indexes: { by_created: { _created_at: 1 } } }, m);
  const plain = (await s.rest('POST', '/classes/Plain', { n: 0 })).body.objectId;
  let k = 0;
  const user = await s.signUp('reader', 'pw');
  // Each operation: optional per-run set-up (untimed), then the timed request.
  const ops = [
    ['get by objectId', () => () => s.rest('GET', `/classes/Plain/${plain}`)],
    ['create (no index)', () => () => s.rest('POST', '/classes/Plain', { n: 1 })],
    ['create (2 indexes)', () => () => s.rest('POST', '/classes/Indexed', { a: 'x', b: 'y' })],
    ['create (`createdAt` index)', () => () => s.rest('POST', '/classes/Dated', { n: 1 })],
    ['update (`Increment`)', () => () => s.rest('PUT', `/classes/Plain/${plain}`, { n: { __op: 'Increment', amount: 1 } })],
    ['query, empty `count`', () => () => s.rest('GET', '/classes/Plain?count=1&limit=0')],
    ['delete', async () => {
      const id = (await s.rest('POST', '/classes/Plain', { n: 2 })).body.objectId;
      return () => s.rest('DELETE', `/classes/Plain/${id}`);
    }],
    ['sign-up', () => {
      const name = `user${++k}`;
      return () => s.rest('POST', '/users', { username: name, password: 'pw' }, { 'X-Parse-Installation-Id': `i-${name}` });
    }],
    ['log in', () => () => s.rest('POST', '/login', { username: 'reader', password: 'pw' }, { 'X-Parse-Installation-Id': `i-login-${++k}` })],
    ['`GET /users/me` with a session token', () => () => s.rest('GET', '/users/me', undefined, { 'X-Parse-Session-Token': user.token })],
  ];
  const rows = [];
  for (const [name, setup] of ops) {
    const times = { 0: [], [DELAY]: [] };
    let requests = 0;
    for (let r = 0; r < RUNS; r++) {
      for (const delay of [0, DELAY]) {
        const run = await setup();
        proxy.delayMs = delay;
        const before = proxy.requests;
        const t = process.hrtime.bigint();
        const res = await run();
        times[delay].push(Number(process.hrtime.bigint() - t) / 1e6);
        // Work sent beside the answer (a counter shard) counts as a request, not a round trip.
        await new Promise(resolve => setTimeout(resolve, 3 * DELAY));
        if (delay) requests += proxy.requests - before;
        proxy.delayMs = 0;
        if (res.status >= 400) throw new Error(`${name}: ${JSON.stringify(res.body)}`);
      }
    }
    const trips = (median(times[DELAY]) - median(times[0])) / DELAY;
    rows.push([name, (requests / RUNS).toFixed(1), trips.toFixed(1), (Math.max(0, Math.round(trips)) * AWS_MS).toFixed(0)]);
  }
  console.log(`\nParse Server REST, ${RUNS} runs per operation, every DynamoDB request held ${DELAY} ms (medians):\n`);
  console.log(`| Parse REST operation | DynamoDB requests | sequential round trips | network time at ${AWS_MS} ms per request |`);
  console.log('|---|---|---|---|');
  for (const r of rows) console.log(`| ${r[0]} | ${r[1]} | ${r[2]} | ${r[3]} ms |`);
  await s.stop();
  await proxy.stop();
  await dynamo.stop();
}

main().catch(e => {
  console.error(e);
  process.exit(1);
});
