#!/usr/bin/env node
// Table 6 of `npm run bench`: the peak memory one request adds to the process, at two class
// sizes. A class of ~1 KB objects is loaded into dynoxide (its own process, so its memory is
// not counted), then each request runs alone while the process's RSS is sampled every 2 ms:
// a sorted find with limit 10 (no index serves the sort), a count with a condition, and an
// aggregate `$group` over the whole class. Growth = peak RSS during the request - RSS before.
// Goal (issue 15): each at most 20 MB, and about the same at both sizes.
//   BENCH_MEMORY_SIZES=50000,200000 node bench/memory.js
'use strict';
process.env.AWS_EC2_METADATA_DISABLED = 'true';
const { startDynamo } = require('../scripts/dynamo-local');
const { DynamoDB } = require('..');

const sizes = (process.env.BENCH_MEMORY_SIZES || '50000,200000').split(',').map(Number);
const MB = 1024 * 1024;

async function load(adapter, n) {
  const pad = 'x'.repeat(900);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < n; i = next++) {
      await adapter.createObject('Big', { fields: {} }, { objectId: `o${String(i).padStart(7, '0')}`, score: (i * 7919) % 100003, group: `g${i % 20}`, flag: i % 3 === 0, pad });
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
}

/** Peak RSS growth (MB) while `f` runs, and its answer. */
async function peak(f) {
  global.gc?.();
  await new Promise(r => setTimeout(r, 200));
  const before = process.memoryUsage.rss();
  let top = before;
  const timer = setInterval(() => {
    top = Math.max(top, process.memoryUsage.rss());
  }, 2);
  try {
    const out = await f();
    top = Math.max(top, process.memoryUsage.rss());
    return { mb: (top - before) / MB, out };
  } finally {
    clearInterval(timer);
  }
}

async function main() {
  const dynamo = await startDynamo();
  const rows = [];
  try {
    for (const n of sizes) {
      const db = new DynamoDB(`mem${n}`, { endpoint: dynamo.endpoint, region: 'us-east-1', autoIndex: false });
      const a = db.getAdapter();
      const t0 = Date.now();
      await load(a, n);
      const loadS = (Date.now() - t0) / 1000;
      const schema = { fields: {} };
      const find = await peak(() => a.find('Big', schema, {}, { sort: { score: -1 }, limit: 10 }));
      const count = await peak(() => a.count('Big', schema, { flag: true }));
      const group = await peak(() => a.aggregate('Big', schema, [{ $group: { _id: '$group', n: { $sum: 1 }, top: { $max: '$score' } } }]));
      if (find.out.length !== 10 || group.out.length !== 20) throw new Error('unexpected answers');
      rows.push({ n, loadS, find: find.mb, count: count.mb, countAnswer: count.out, group: group.mb });
    }
  } finally {
    await dynamo.stop();
  }
  console.log('| request | ' + rows.map(r => `${r.n.toLocaleString('en')} objects: MB`).join(' | ') + ` | ${sizes.at(-1)}/${sizes[0]} | goal (≤ 20 MB, ≤ 1.25×) |`);
  console.log('|---|' + rows.map(() => '---|').join('') + '---|---|');
  for (const [label, key] of [['sorted find, limit 10', 'find'], ['count, one condition (1 in 3)', 'count'], ['$group over the class (20 groups)', 'group']]) {
    const vals = rows.map(r => r[key]);
    const ratio = vals.at(-1) / Math.max(vals[0], 1);
    const ok = vals.every(v => v <= 20) && (vals.at(-1) <= 20 || ratio <= 1.25);
    console.log(`| ${label} | ${vals.map(v => v.toFixed(1)).join(' | ')} | ${ratio.toFixed(2)} | ${ok ? 'yes' : 'no'} |`);
  }
  console.log(`(load: ${rows.map(r => `${r.n} objects in ${r.loadS.toFixed(0)} s`).join(', ')})`);
}

main().catch(e => {
  console.error(e);
  process.exit(1);
});
