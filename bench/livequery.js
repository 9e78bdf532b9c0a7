// LiveQuery across servers through the table's stream (issue 24, table 10): server A saves
// (its publisher `dynamo.liveQueryAdapter()`), server B runs the LiveQuery server on the same
// table (in this process, on its own port and adapter), a JS SDK client subscribed on B; for
// BENCH_LQ_EVENTS creates (100): the latency from the save's answer to the client's event,
// p50/p95/max, and A's write units per message. Not a test.
'use strict';
const { startDynamo, freePort } = require('../scripts/dynamo-local');
const { startStack, javascriptKey } = require('../__test__/helpers');

const n = Number(process.env.BENCH_LQ_EVENTS || 100);

(async () => {
  const dynamo = await startDynamo({ port: await freePort() });
  const table = `lqb${process.pid}`;
  const b = await startStack({ appId: 'lqb', liveQueryServer: true }, { dynamo, table });
  const a = await startStack({ appId: 'lqb', publish: ['Note'] }, { dynamo, table });
  const { Parse } = a;
  try {
    const client = new Parse.LiveQueryClient({ applicationId: 'lqb', serverURL: b.liveQueryURL, javascriptKey });
    client.open();
    const sub = client.subscribe(new Parse.Query('Note'));
    await new Promise(r => sub.on('open', r));
    const arrived = new Map();
    sub.on('create', o => arrived.set(o.get('i'), Date.now()));
    const latencies = [];
    const units0 = (await a.db.getAdapter().consumedCapacity()).writeUnits;
    let published = 0;
    for (let i = 0; i < n; i++) {
      await new Parse.Object('Note', { i }).save();
      const saved = Date.now();
      published++;
      while (!arrived.has(i)) await new Promise(r => setTimeout(r, 2));
      latencies.push(Math.max(0, arrived.get(i) - saved));
    }
    const units = (await a.db.getAdapter().consumedCapacity()).writeUnits - units0;
    await client.close();
    latencies.sort((x, y) => x - y);
    const pct = p => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
    console.log(`\nLiveQuery event latency across servers through the table's stream (${n} creates, one at a time, dynoxide):`);
    console.log('| p50 | p95 | max | write units per create, object and message |');
    console.log('|---|---|---|---|');
    console.log(`| ${pct(50)} ms | ${pct(95)} ms | ${latencies[latencies.length - 1]} ms | ${(units / published).toFixed(2)} |`);
  } finally {
    await a.stop();
    await b.stop();
    await dynamo.stop();
  }
})().catch(e => {
  console.error(e);
  process.exit(1);
});
