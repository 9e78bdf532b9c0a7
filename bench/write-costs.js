// What a write bills, and what indexes cost a load (issue 33; docs/performance.md table 13).
// (a) For k = 0, 1, 3 and 8 declared single-field indexes on a class of 8 short string fields:
// 20 creates, 20 updates changing one indexed value (two at k = 8) and 20 deletes through the
// adapter Parse Server uses, write units per write from `adapter.consumedCapacity()`, beside
// DynamoDB's floor for them: create and delete 1 + k + 1 (the object, its entries, its count's
// shard), an update 1 + 2 per indexed value changed (the new entry, the old one removed).
// (b) The same for u = 1 and 2 unique fields (as `_User`'s username and email) and no index:
// create and delete 1 + u + 1 (the object, its claims, its count's shard), an update changing
// one unique value 1 + 2 (the object, the new value's claim, the old one's release); beside
// what one transaction of the object and its sentinels billed before (2 units per item).
// (c) The time to load BENCH_LOAD objects (10,000; the goal is stated at 100,000) with 5
// declared indexes and with none, side by side, 64 creates at a time, and their ratio; with
// the CPU seconds dynoxide and this process spent, and dynoxide's per create.
// (d) dynoxide's own cost per item written, without the adapter: 20,000 small items written
// as PutItems, as BatchWriteItems of 5 (one object's entries at k = 5) and of 25, 64 requests
// at a time: the CPU time dynoxide spends per item bounds what (c) can reach.
// Each on its own dynoxide. Not a test.
const fs = require('node:fs');
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

async function uniqueCosts(u) {
  const dynamo = await startDynamo({ rules: false });
  try {
    const adapter = await adapterOn(dynamo, `u${u}`);
    await adapter.createClass('W', schema);
    await adapter.ensureUniqueness('W', schema, fields.slice(0, u));
    const create = await perWrite(adapter, i => adapter.createObject('W', schema, { objectId: `o${i}`, ...object(i) }));
    const update = await perWrite(adapter, i => adapter.updateObjectsByQuery('W', schema, { objectId: `o${i}` }, { a: `a${i}x` }));
    const del = await perWrite(adapter, i => adapter.deleteObjectsByQuery('W', schema, { objectId: `o${i}` }));
    return {
      u,
      create,
      update,
      del,
      floor: { create: 1 + u + 1, update: 3, del: 1 + u + 1 },
      before: { create: 2 * (1 + u) + 1, update: 6, del: 2 * (1 + u) + 1 },
    };
  } finally {
    await dynamo.stop();
  }
}

/** CPU seconds (user + system) process `pid` has used (clock ticks of /proc/<pid>/stat). */
function cpu(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

async function loadTime(k) {
  const dynamo = await startDynamo({ rules: false });
  try {
    const adapter = await adapterOn(dynamo, `l${k}`);
    await withIndexes(adapter, k);
    const t = Date.now();
    const [dyn0, own0] = [cpu(dynamo.child.pid), cpu(process.pid)];
    let next = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next < load) {
          const i = next++;
          await adapter.createObject('W', schema, { objectId: `o${i}`, ...object(i) });
        }
      })
    );
    return { seconds: (Date.now() - t) / 1000, dynoxide: cpu(dynamo.child.pid) - dyn0, own: cpu(process.pid) - own0 };
  } finally {
    await dynamo.stop();
  }
}

/** One raw DynamoDB request to dynoxide (which checks a signature's form, not its value). */
async function raw(endpoint, op, body) {
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': `DynamoDB_20120810.${op}`,
      'x-amz-date': '20260101T000000Z',
      authorization: 'AWS4-HMAC-SHA256 Credential=a/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
    },
    body: JSON.stringify(body),
  });
  const out = await res.json();
  if (res.status !== 200) throw new Error(JSON.stringify(out));
  return out;
}

/** dynoxide's CPU µs per item written `per` items a request (1: PutItem, else BatchWriteItem). */
async function perItem(per, items = 20000) {
  const dynamo = await startDynamo({ rules: false });
  try {
    const TableName = 'raw';
    await raw(dynamo.endpoint, 'CreateTable', {
      TableName,
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'sk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
      BillingMode: 'PAY_PER_REQUEST',
    });
    const item = i => ({ pk: { S: `~i:W:a${i % 97}` }, sk: { S: `2a${i}\u0001\u0001o${i}` }, key: { S: `o${i}` }, rev: { N: String(i) } });
    const before = cpu(dynamo.child.pid);
    let next = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next < items) {
          const i = next;
          next += per;
          if (per === 1) await raw(dynamo.endpoint, 'PutItem', { TableName, Item: item(i), ConditionExpression: 'attribute_not_exists(pk)' });
          else await raw(dynamo.endpoint, 'BatchWriteItem', { RequestItems: { [TableName]: Array.from({ length: per }, (_, j) => ({ PutRequest: { Item: item(i + j) } })) } });
        }
      })
    );
    return ((cpu(dynamo.child.pid) - before) / items) * 1e6;
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
  console.log('(b) write units per write with unique values (floor; one transaction before)');
  console.log('| unique fields | create | update | delete |');
  console.log('|---|---|---|---|');
  for (const u of [1, 2]) {
    const r = await uniqueCosts(u);
    const cell = (got, floor, before) => `${got.toFixed(1)} (${floor}; ${before})${got > floor + 0.05 ? ' over' : ''}`;
    console.log(`| ${u} | ${cell(r.create, r.floor.create, r.before.create)} | ${cell(r.update, r.floor.update, r.before.update)} | ${cell(r.del, r.floor.del, r.before.del)} |`);
  }
  const none = await loadTime(0);
  const five = await loadTime(5);
  const line = (label, r) =>
    `${label}: ${r.seconds.toFixed(1)} s; CPU dynoxide ${r.dynoxide.toFixed(1)} s (${((r.dynoxide / load) * 1e6).toFixed(0)} µs per create), this process ${r.own.toFixed(1)} s`;
  console.log(`(c) loading ${load} objects, 64 creates at a time`);
  console.log(line('  without indexes', none));
  console.log(line('  with 5 indexes ', five));
  console.log(`  ratio ${(five.seconds / none.seconds).toFixed(2)} (goal ≤ 2); dynoxide's CPU ratio ${(five.dynoxide / none.dynoxide).toFixed(2)}`);
  const [one, five1, twentyFive] = [await perItem(1), await perItem(5), await perItem(25)];
  console.log(`(d) dynoxide's CPU per item written: PutItem ${one.toFixed(0)} µs, BatchWriteItem of 5 ${five1.toFixed(0)} µs, of 25 ${twentyFive.toFixed(0)} µs`);
  console.log(`  a create with 5 entries is at least ${((one + 5 * five1) / one).toFixed(2)}x dynoxide's work of one without`);
})().catch(e => {
  console.error(e);
  process.exit(1);
});
