// What a large object bills (issue 36; docs/costs.md "Objects over 400 KB"): a 1 MB and a
// 10 MB object (half a text, half a list of ids) created, read by key, incremented (a field its
// head holds: in place), given a new indexed tag (its entries change; the chunks stay), given a
// new text (a new version of its chunks) and deleted, through the adapter Parse Server uses,
// with random and with repetitive content, with the read and write units
// `adapter.consumedCapacity()` reports for each; beside what DynamoDB bills for them at
// us-east-1's on-demand prices and what S3 Standard bills to put and get the same bytes. Not a
// test.
'use strict';
const { startDynamo } = require('../scripts/dynamo-local');
const { DynamoDB } = require('..');
const { noise } = require('../__test__/large-child');

const MB = 1024 * 1024;
// us-east-1: DynamoDB on-demand per million units; S3 Standard per 1,000 requests.
// S3 deletes are free.
const PRICE = { read: 0.125 / 1e6, write: 0.625 / 1e6, s3Put: 0.005 / 1000, s3Get: 0.0004 / 1000, s3Delete: 0 };
const schema = { className: 'Doc', fields: { tag: { type: 'String' }, n: { type: 'Number' }, blob: { type: 'String' }, ids: { type: 'Array' } }, indexes: { by_tag: { tag: 1 } } };

// Two kinds of content: random (a text and objectIds of random letters and digits, which
// deflate shrinks to about three quarters) and repetitive (a repeated sentence and counted
// ids, as logs and generated lists are, which it shrinks far more).
function doc(id, mb, kind, seed) {
  const half = Math.floor((mb * MB) / 2);
  const n = Math.floor(half / 13);
  if (kind === 'random') {
    const ids = noise(n * 10, seed + 1);
    return { objectId: id, tag: `t${mb}`, n: 1, blob: noise(half, seed), ids: Array.from({ length: n }, (_, i) => ids.slice(i * 10, i * 10 + 10)) };
  }
  const sentence = `event ${seed}: the user opened the page and scrolled. `;
  return { objectId: id, tag: `t${mb}`, n: 1, blob: sentence.repeat(Math.ceil(half / sentence.length)).slice(0, half), ids: Array.from({ length: n }, (_, i) => `item_${String(i).padStart(5, '0')}`) };
}

async function units(adapter, step) {
  await new Promise(r => setTimeout(r, 300));
  const before = await adapter.consumedCapacity();
  await step();
  await new Promise(r => setTimeout(r, 300));
  const after = await adapter.consumedCapacity();
  return { read: after.readUnits - before.readUnits, write: after.writeUnits - before.writeUnits };
}

async function main() {
  const dynamo = await startDynamo({ rules: false });
  try {
    const adapter = new DynamoDB(`large${process.pid}`, { endpoint: dynamo.endpoint, region: 'us-east-1', autoIndex: false }).getAdapter();
    await adapter.createClass('Doc', schema);
    console.log('| object | step | read units | write units | DynamoDB $ | S3 $ (same bytes) | ratio |');
    console.log('|---|---|---|---|---|---|---|');
    for (const kind of ['random', 'repetitive']) {
      for (const mb of [1, 10]) {
        const id = `d${mb}${kind}`;
        const steps = [
          ['create', () => adapter.createObject('Doc', schema, doc(id, mb, kind, 1)), 's3Put'],
          ['get by key', () => adapter.find('Doc', schema, { objectId: id }, {}), 's3Get'],
          ['increment (in place)', () => adapter.findOneAndUpdate('Doc', schema, { objectId: id }, { n: { __op: 'Increment', amount: 1 } }), 's3Put'],
          ['new tag (indexed, same chunks)', () => adapter.findOneAndUpdate('Doc', schema, { objectId: id }, { tag: `u${mb}` }), 's3Put'],
          ['new text (new version)', () => adapter.findOneAndUpdate('Doc', schema, { objectId: id }, { blob: doc(id, mb, kind, 2).blob }), 's3Put'],
          ['delete', () => adapter.deleteObjectsByQuery('Doc', schema, { objectId: id }), 's3Delete'],
        ];
        for (const [name, step, s3] of steps) {
          const u = await units(adapter, step);
          const dollars = u.read * PRICE.read + u.write * PRICE.write;
          const s3dollars = PRICE[s3];
          const ratio = s3dollars ? `${(dollars / s3dollars).toFixed(1)}×` : '—';
          console.log(`| ${mb} MB ${kind} | ${name} | ${u.read.toFixed(1)} | ${u.write.toFixed(1)} | ${dollars.toFixed(7)} | ${s3dollars.toFixed(7)} | ${ratio} |`);
        }
      }
    }
    await adapter.handleShutdown();
  } finally {
    await dynamo.stop();
  }
}

main().catch(e => {
  console.error(e);
  process.exit(1);
});
