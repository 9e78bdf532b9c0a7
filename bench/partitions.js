// Creates per second one class sustains against DynamoDB's partition limits (issue 22, table
// 8): Parse Server's REST creates, its adapter writing through the fault proxy's partition
// model (`__test__/partition-model.js`: key ranges of 1,000 write units/s each, split for heat,
// scaled by BENCH_PARTITION_SCALE, 1/50 by default so this machine can reach them) in front of
// dynoxide, for BENCH_SECONDS (30), at each of BENCH_RATES creates/s sent on time (8, 16: 400
// and 800 a second at AWS, below and above one range's 500; 0: BENCH_WRITERS closed loops, 64,
// as fast as answered). Setups: a class with no index (its objects' random keys split and
// spread); one with a `createdAt` index, whose entries' keys only grow so every create lands
// in the index's last key range, with the adapter's sharding off (before); and the same with
// it on (after): the load runs until the adapter has sharded the index by itself (the time it
// took is shown), then is measured. Creates/s are of the last 10 s, then scaled back to
// DynamoDB's real limits (÷ scale). Throttled requests are retried by the adapter; "failed"
// are the creates that failed anyway. Not a test: a table for the ceilings in docs/reliability.md.
'use strict';
const { startDynamo, freePort } = require('../scripts/dynamo-local');
const { FaultProxy } = require('../__test__/fault-proxy');
const { PartitionModel } = require('../__test__/partition-model');
const { DynamoDB } = require('..');

const scale = Number(process.env.BENCH_PARTITION_SCALE || 1 / 50);
const writers = Number(process.env.BENCH_WRITERS || 64);
const seconds = Number(process.env.BENCH_SECONDS || 30);
const quiet = { info() {}, warn() {}, error() {} };

// A Parse Server on this adapter, its DynamoDB behind the proxy's partition model.
async function parseServer(endpoint, table, shardHotIndexes) {
  const express = require('express');
  const { ParseServer } = require('parse-server');
  const adapter = new DynamoDB(table, { endpoint, region: 'us-east-1', autoIndex: false, shardHotIndexes, logger: quiet }).getAdapter();
  const port = await freePort();
  const serverURL = `http://127.0.0.1:${port}/parse`;
  const filesAdapter = { createFile() {}, deleteFile() {}, getFileData() {}, getFileLocation() {} };
  const server = new ParseServer({ databaseAdapter: adapter, filesAdapter, appId: 'bench', masterKey: 'bench-master', serverURL, silent: true, logLevel: 'error' });
  await server.start();
  const app = express();
  app.use('/parse', server.app);
  const http = await new Promise(resolve => {
    const h = app.listen(port, '127.0.0.1', () => resolve(h));
  });
  const rest = async (method, path, body) => {
    const res = await fetch(`${serverURL}${path}`, {
      method,
      headers: { 'X-Parse-Application-Id': 'bench', 'X-Parse-Master-Key': 'bench-master', 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    const json = await res.json();
    if (res.status >= 400) throw new Error(JSON.stringify(json));
    return json;
  };
  const stop = async () => {
    await adapter._call('admin.deleteTable');
    await new Promise(resolve => http.close(resolve));
    await adapter.handleShutdown();
  };
  return { rest, stop, adapter };
}

// Creates through Parse Server's REST API (Parse sets `createdAt`: keys that only grow) at a
// fixed rate (`rate` a second, each sent on time whatever the others do, as independent
// clients do) or, without one, `writers` closed loops as fast as they are answered.
async function run(dynamo, { name, indexes, shard }, rate) {
  const model = new PartitionModel({ scale });
  const proxy = await new FaultProxy({ target: dynamo.endpoint, rate: 0, model }).start();
  const parse = await parseServer(proxy.endpoint, `pt${name}${rate || 'max'}${process.pid}`, shard);
  await parse.rest('POST', '/schemas/Post', { className: 'Post', fields: { n: { type: 'Number' } }, indexes });
  let done = [];
  let errors = 0;
  let n = 0;
  const create = async () => {
    const i = n++;
    try {
      await parse.rest('POST', '/classes/Post', { n: i });
      done.push(Date.now());
    } catch {
      errors++;
    }
  };
  // "after": the same load until the adapter has sharded the index by itself, then measured.
  let toShard = null;
  if (shard && Object.keys(indexes).length) {
    const from = Date.now();
    let sharded = false;
    const watch = (async () => {
      while (!sharded && Date.now() - from < 180000) {
        await new Promise(r => setTimeout(r, 1000));
        sharded = (await parse.adapter.getIndexes('Post')).some(ix => ix.shards === 16);
      }
      sharded = true;
    })();
    await Promise.all(Array.from({ length: writers }, async () => {
      while (!sharded) await create();
    }));
    await watch;
    toShard = (Date.now() - from) / 1000;
    done = [];
  }
  const started = Date.now();
  if (rate) {
    const sent = [];
    for (let k = 0; Date.now() - started < seconds * 1000; k++) {
      const due = started + (k * 1000) / rate;
      if (due > Date.now()) await new Promise(r => setTimeout(r, due - Date.now()));
      sent.push(create());
    }
    await Promise.all(sent);
  } else {
    await Promise.all(
      Array.from({ length: writers }, async () => {
        while (Date.now() - started < seconds * 1000) await create();
      })
    );
  }
  const tail = done.filter(t => t >= started + (seconds - 10) * 1000 && t < started + seconds * 1000).length / 10;
  const out = { name, rate, perSecond: tail, atAws: tail / scale, throttled: proxy.counts.partitionThrottle || 0, splits: model.splits, errors, sent: n, toShard };
  await parse.stop();
  await proxy.stop();
  return out;
}

const rates = (process.env.BENCH_RATES || '8,16,0').split(',').map(Number);

(async () => {
  const dynamo = await startDynamo({ port: await freePort() });
  try {
    const rows = [];
    const created = { by_created: { createdAt: -1 } };
    const setups = [
      { name: 'none', indexes: {}, shard: true, label: 'no index' },
      { name: 'before', indexes: created, shard: false, label: '`createdAt` index, not sharded (before)' },
      { name: 'after', indexes: created, shard: true, label: '`createdAt` index, sharded by the adapter (after)' },
    ];
    const ceiling = (1000 * scale) / 2; // creates/s one unsharded index range takes
    for (const setup of setups) {
      // Sharding starts under throttling: the "after" row runs the loads above the ceiling.
      for (const rate of rates.filter(r => setup.name !== 'after' || r === 0 || r > ceiling)) {
        const r = await run(dynamo, setup, rate);
        r.label = setup.label;
        console.log(JSON.stringify(r));
        rows.push(r);
      }
    }
    console.log(`\ncreates per second of one class for ${seconds} s, partition limits × ${scale} (one key range: ${1000 * scale} write units/s):`);
    console.log('| class | load | creates/s here (last 10 s) | at DynamoDB\'s limits | throttled requests | key-range splits | failed creates | sharded after |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const r of rows) {
      const load = r.rate ? `${r.rate}/s sent (${Math.round(r.rate / scale).toLocaleString('en')}/s at AWS)` : `${writers} writers, as fast as answered`;
      const shardedAfter = r.toShard === null ? '' : `${r.toShard.toFixed(0)} s`;
      console.log(`| ${r.label} | ${load} | ${r.perSecond.toFixed(0)} | ${Math.round(r.atAws).toLocaleString('en')} | ${r.throttled} | ${r.splits} | ${r.errors} of ${r.sent} | ${shardedAfter} |`);
    }
  } finally {
    await dynamo.stop();
  }
})().catch(e => {
  console.error(e);
  process.exit(1);
});
