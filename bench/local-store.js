// The local store's cost per write as writes pile up (issue 31, item 2; docs/performance.md
// table 11): dynoxide keeps every record of a table's stream, and finds each new record's
// sequence number by reading them all, so with a stream every write costs it more than the one
// before. Tables are now created without a stream (a follower turns one on when schema hooks
// or LiveQuery need it). For each setup, its own dynoxide: writes through the adapter core
// (the seed's Partition API: a create, then an update of it), 8 at a time; dynoxide's CPU
// time (from /proc) per write over the first and the last tenth of the run, and their ratio.
//   BENCH_WRITES (100000): writes into the table as created now (no stream);
//   BENCH_STREAM_WRITES (20000): writes into a table with a stream (`stream: true`, as tables
//   were created before), fewer since each costs more than the last.
// Not a test.
'use strict';
const fs = require('node:fs');
const { startDynamo } = require('../scripts/dynamo-local');
const { DynamoDB } = require('..');

const writes = Number(process.env.BENCH_WRITES || 100000);
const streamWrites = Number(process.env.BENCH_STREAM_WRITES || 20000);
const ticks = 100; // clock ticks per second of /proc/<pid>/stat (USER_HZ)

/** CPU seconds (user + system) process `pid` has used. */
function cpu(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticks;
}

async function run(label, n, options) {
  const dynamo = await startDynamo({ rules: false });
  try {
    const db = new DynamoDB(`ls${process.pid}`, { endpoint: dynamo.endpoint, region: 'us-east-1', ...options });
    const items = db.getAdapter()._adaptiveCollection('Item');
    await items.count({});
    const pid = dynamo.child.pid;
    const tenth = Math.max(1, Math.floor(n / 10));
    const marks = [cpu(pid)];
    const started = Date.now();
    let next = 0;
    async function worker() {
      for (let i = next++; i < n; i = next++) {
        // Pairs: a create, then an update of the object it made.
        const id = `o${i >> 1}`;
        if (i % 2 === 0) await items.insertOne({ _id: id, n: i, text: 'x'.repeat(100) });
        else await items.updateOne({ _id: id }, { $set: { n: i } });
        if ((i + 1) % tenth === 0) marks[(i + 1) / tenth] = cpu(pid);
      }
    }
    await Promise.all(Array.from({ length: 8 }, worker));
    const perWrite = k => ((marks[k + 1] - marks[k]) / tenth) * 1e6;
    const first = perWrite(0);
    const last = perWrite(9);
    return { label, n, first, last, seconds: (Date.now() - started) / 1000 };
  } finally {
    await dynamo.stop();
  }
}

(async () => {
  const rows = [await run('no stream (tables as created now)', writes, {}), await run('with a stream (as created before)', streamWrites, { stream: true })];
  console.log("\nThe local store's CPU per write, first tenth vs last tenth of the writes (dynoxide, 8 writers):");
  console.log('| table | writes | first tenth, µs/write | last tenth, µs/write | last / first | wall time |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.label} | ${r.n.toLocaleString('en')} | ${r.first.toFixed(0)} | ${r.last.toFixed(0)} | ${(r.last / r.first).toFixed(2)}× | ${r.seconds.toFixed(0)} s |`);
  }
})().catch(e => {
  console.error(e);
  process.exit(1);
});
