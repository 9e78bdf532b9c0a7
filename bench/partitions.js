// Creates per second one class sustains against DynamoDB's partition limits (issue 22, table
// 8): the adapter writes through the fault proxy's partition model (`__test__/partition-model.js`:
// key ranges of 1,000 write units/s each, split for heat, scaled by BENCH_PARTITION_SCALE, 1/20
// by default so this machine can reach them) in front of dynoxide, with BENCH_WRITERS parallel
// writers (64) for BENCH_SECONDS (30). Each setup: a class with no index (its objects' random
// keys split and spread), and one with a `createdAt` index (whose entries' keys only grow, so
// every create lands in the index's last key range). Creates/s are of the last 10 s, then
// scaled back to DynamoDB's real limits (÷ scale). Throttled requests are retried by the
// adapter; "errors" are the creates that failed anyway. Not a test: a table for the README's
// ceilings.
'use strict';
const { startDynamo, freePort } = require('../scripts/dynamo-local');
const { FaultProxy } = require('../__test__/fault-proxy');
const { PartitionModel } = require('../__test__/partition-model');
const { DynamoDB } = require('..');

const scale = Number(process.env.BENCH_PARTITION_SCALE || 1 / 20);
const writers = Number(process.env.BENCH_WRITERS || 64);
const seconds = Number(process.env.BENCH_SECONDS || 30);
const quiet = { info() {}, warn() {}, error() {} };

async function run(dynamo, name, indexes) {
  const model = new PartitionModel({ scale });
  const proxy = await new FaultProxy({ target: dynamo.endpoint, rate: 0, model }).start();
  const a = new DynamoDB(`pt${name}${process.pid}`, { endpoint: proxy.endpoint, region: 'us-east-1', autoIndex: false, logger: quiet }).getAdapter();
  const schema = { className: 'Post', fields: { createdAt: { type: 'Date' }, n: { type: 'Number' } } };
  await a.createClass('Post', { ...schema, indexes });
  const started = Date.now();
  const done = [];
  let errors = 0;
  let n = 0;
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (Date.now() - started < seconds * 1000) {
        const i = n++;
        const at = { __type: 'Date', iso: new Date(Date.UTC(2026, 0, 1) + i).toISOString() };
        try {
          await a.createObject('Post', schema, { objectId: `o${i}x${Math.random().toString(36).slice(2, 8)}`, n: i, createdAt: at, updatedAt: at });
          done.push(Date.now());
        } catch {
          errors++;
        }
      }
    })
  );
  const tail = done.filter(t => t >= started + (seconds - 10) * 1000).length / 10;
  const out = { name, perSecond: tail, atAws: tail / scale, throttled: proxy.counts.partitionThrottle || 0, splits: model.splits, errors };
  await a._call('admin.deleteTable');
  await proxy.stop();
  return out;
}

(async () => {
  const dynamo = await startDynamo({ port: await freePort() });
  try {
    const rows = [await run(dynamo, 'none', {}), await run(dynamo, 'created', { by_created: { createdAt: -1 } })];
    console.log(`\ncreates per second of one class, ${writers} writers for ${seconds} s, partition limits × ${scale}:`);
    console.log('| class | creates/s here (last 10 s) | at DynamoDB\'s limits | throttled requests | key-range splits | failed creates |');
    console.log('|---|---|---|---|---|---|');
    const label = { none: 'no index', created: '`createdAt` index' };
    for (const r of rows) console.log(`| ${label[r.name]} | ${r.perSecond.toFixed(0)} | ${Math.round(r.atAws).toLocaleString('en')} | ${r.throttled} | ${r.splits} | ${r.errors} |`);
  } finally {
    await dynamo.stop();
  }
})().catch(e => {
  console.error(e);
  process.exit(1);
});
