// Benchmark: this adapter against the old JS adapter (npm parse-server-dynamodb-adapter@1.0.1,
// installed only in bench/legacy), both through the seed's `Partition` API, on one dynoxide
// server, each on its own table. Measures throughput with 16 callers and the Node process's
// CPU time per operation (user + system, all threads: the Rust core's work is counted too).
// Rounds alternate old/new; the best of three is printed.
'use strict';
process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE = '1';
const path = require('node:path');
const { startDynamo } = require('../scripts/dynamo-local');
const { DynamoDB } = require('..');

const legacyDir = path.join(__dirname, 'legacy', 'node_modules');
const Legacy = require(path.join(legacyDir, 'parse-server-dynamodb-adapter'));
const AWS = require(path.join(legacyDir, 'aws-sdk'));

const CONCURRENCY = 16;
const OBJECTS = 2000;
const CATEGORIES = 50;

async function measure(total, f) {
  let next = 0;
  const cpu = process.cpuUsage();
  const t = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < total) await f(next++);
    })
  );
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  const used = process.cpuUsage(cpu);
  return { rate: total / seconds, cpuUs: (used.user + used.system) / total };
}

const obj = i => ({ _id: `b${String(i).padStart(5, '0')}`, n: i, category: `c${i % CATEGORIES}`, name: `object number ${i}` });

(async () => {
  const dynamo = await startDynamo();
  const settings = { endpoint: dynamo.endpoint, region: 'us-east-1', accessKeyId: 'bench', secretAccessKey: 'bench' };
  // The old adapter expects its table to exist (the seed README's key schema).
  const raw = new AWS.DynamoDB(settings);
  await raw
    .createTable({
      TableName: 'legacy',
      AttributeDefinitions: [
        { AttributeName: '_pk_className', AttributeType: 'S' },
        { AttributeName: '_sk_id', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: '_pk_className', KeyType: 'HASH' },
        { AttributeName: '_sk_id', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    })
    .promise();
  const old = new Legacy.DynamoDB('legacy', settings).getAdapter();
  const ours = new DynamoDB('ours', settings).getAdapter();
  const sides = {
    old: name => old._adaptiveCollection(name),
    ours: name => ours._adaptiveCollection(name),
  };
  // Data for the reads.
  for (const side of Object.values(sides)) {
    const p = side('Item');
    await measure(OBJECTS, i => p.insertOne(obj(i)));
  }
  const ops = {
    insertOne: { n: 1000, f: (p, i, base) => p('New').insertOne(obj(base + i)) },
    'find by _id': {
      n: 2000,
      f: async (p, i) => {
        const r = await p('Item').find({ _id: obj((i * 7919) % OBJECTS)._id });
        if (r.length !== 1) throw new Error(`found ${r.length}`);
      },
    },
    'find by field': {
      n: 60,
      f: async (p, i) => {
        // The old adapter's default page (Limit 100, applied before the filter) returns a few of
        // the 40 matches; a limit above the class size makes it read them all, as ours does.
        const r = await p('Item').find({ category: `c${i % CATEGORIES}` }, { limit: 5000 });
        if (r.length !== OBJECTS / CATEGORIES) throw new Error(`found ${r.length}`);
      },
    },
  };
  const rows = [];
  let base = OBJECTS;
  for (const [name, op] of Object.entries(ops)) {
    const best = { old: { rate: 0, cpuUs: Infinity }, ours: { rate: 0, cpuUs: Infinity } };
    for (let round = 0; round < 3; round++) {
      for (const side of ['old', 'ours']) {
        const start = base;
        base += op.n;
        const m = await measure(op.n, i => op.f(sides[side], i, start));
        best[side].rate = Math.max(best[side].rate, m.rate);
        best[side].cpuUs = Math.min(best[side].cpuUs, m.cpuUs);
      }
    }
    rows.push({ name, ...best });
  }
  await dynamo.stop();
  console.log(`\nthis adapter vs parse-server-dynamodb-adapter@1.0.1 (Partition API, ${OBJECTS} objects, ${CONCURRENCY} callers, best of 3 alternating rounds)`);
  console.log('| operation | old ops/s | ours ops/s | throughput ours/old | old CPU µs/op | ours CPU µs/op | CPU old/ours |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(
      `| ${r.name} | ${r.old.rate.toFixed(0)} | ${r.ours.rate.toFixed(0)} | ${(r.ours.rate / r.old.rate).toFixed(2)} | ${r.old.cpuUs.toFixed(0)} | ${r.ours.cpuUs.toFixed(0)} | ${(r.old.cpuUs / r.ours.cpuUs).toFixed(2)} |`
    );
  }
})().catch(e => {
  console.error(e);
  process.exit(1);
});
