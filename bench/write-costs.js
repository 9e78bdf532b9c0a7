// What a write bills, and what indexes cost a load (issue 33; docs/performance.md table 13).
// (a) For k = 0, 1, 3 and 8 declared single-field indexes on a class of 8 short string fields:
// 20 creates, 20 updates changing one indexed value (two at k = 8) and 20 deletes through the
// adapter Parse Server uses, write units per write from `adapter.consumedCapacity()`, beside
// DynamoDB's floor for them: create and delete 1 + k + 1 (the object, its entries, its count's
// shard), an update 1 + 2 per indexed value changed (the new entry, the old one removed).
// (b) The time to load BENCH_LOAD objects (10,000; the goal is stated at 100,000) with 5
// declared indexes and with none, side by side, 64 creates at a time, and their ratio.
// Each on its own dynoxide. Not a test.
'use strict';
const { startDynamo } = require('../scripts/dynamo-local');
const { DynamoDB } = require('..');

const N = 20;
const load = Number(process.env.BENCH_LOAD || 10000);
const fields = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
const schema = { className: 'W', fields: Object.fromEntries(fields.map(f => [f, { type: 'String' }])) };
const object = (i, salt = '') => Object.fromEntries(fields.map(f => [f, `${f}${i}${salt}`]));

async function adapterOn(dynamo, tag) {
  return new DynamoDB(`wc${tag}${process.pid}`, { endpoint: dynamo.endpoint, region: 'us-east-1', autoIndex: false }).getAdapter();
}

async function withIndexes(adapter, k) {
  const indexes = Object.fromEntries(fields.slice(0, k).map(f => [`by_${f}`, { [f]: 1 }]));
  await adapter.createClass('W', { ...schema, indexes });
}

/** Write units per write of `each(i)`, over N writes, the count's shards settled first. */
async function perWrite(adapter, each) {
  const settle = () => new Promise(r => setTimeout(r, 200));
  await settle();
  const before = (await adapter.consumedCapacity()).writeUnits;
  for (let i = 0; i < N; i++) await each(i);
  await settle();
  return ((await adapter.consumedCapacity()).writeUnits - before) / N;
}

async function costs(k) {
  const dynamo = await startDynamo({ rules: false });
  try {
    const adapter = await adapterOn(dynamo, k);
    await withIndexes(adapter, k);
    const create = await perWrite(adapter, i => adapter.createObject('W', schema, { objectId: `o${i}`, ...object(i) }));
    // One indexed value changed (two at k = 8, as in the table), or an unindexed one.
    const changed = k === 8 ? ['a', 'b'] : k > 0 ? ['a'] : ['h'];
    const update = await perWrite(adapter, i =>
      adapter.updateObjectsByQuery('W', schema, { objectId: `o${i}` }, Object.fromEntries(changed.map(f => [f, `${f}${i}x`])))
    );
    const del = await perWrite(adapter, i => adapter.deleteObjectsByQuery('W', schema, { objectId: `o${i}` }));
    const indexedChanged = k === 0 ? 0 : changed.length;
    return { k, create, update, del, floor: { create: 1 + k + 1, update: 1 + 2 * indexedChanged, del: 1 + k + 1 } };
  } finally {
    await dynamo.stop();
  }
}

async function loadTime(k) {
  const dynamo = await startDynamo({ rules: false });
  try {
    const adapter = await adapterOn(dynamo, `l${k}`);
    await withIndexes(adapter, k);
    const t = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next < load) {
          const i = next++;
          await adapter.createObject('W', schema, { objectId: `o${i}`, ...object(i) });
        }
      })
    );
    return (Date.now() - t) / 1000;
  } finally {
    await dynamo.stop();
  }
}

(async () => {
  console.log('(a) write units per write (floor)');
  console.log('| indexes | create | update | delete |');
  console.log('|---|---|---|---|');
  for (const k of [0, 1, 3, 8]) {
    const r = await costs(k);
    const cell = (got, floor) => `${got.toFixed(1)} (${floor})${got > floor + 0.05 ? ' over' : ''}`;
    console.log(`| ${k} | ${cell(r.create, r.floor.create)} | ${cell(r.update, r.floor.update)} | ${cell(r.del, r.floor.del)} |`);
  }
  const none = await loadTime(0);
  const five = await loadTime(5);
  console.log(`(b) loading ${load} objects: ${none.toFixed(1)} s without indexes, ${five.toFixed(1)} s with 5; ratio ${(five / none).toFixed(2)} (goal ≤ 2)`);
})().catch(e => {
  console.error(e);
  process.exit(1);
});
