// The partition model the fault proxy uses (issue 22): key ranges with DynamoDB's per-range
// limits (scaled), throttling past them, and split for heat, on a simulated clock. Random keys
// split and spread, so a key takes more than one range's limit; keys that only grow stay
// capped at one range's limit however long the load lasts.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { PartitionModel } = require('./partition-model');

/** Writes of 1 unit, one every `everyMs` for `seconds`; the served writes of the last 10 s, per second. */
function drive(model, clock, keyOf, { seconds = 60, everyMs = 5 } = {}) {
  let served = 0;
  let n = 0;
  for (clock.now = 0; clock.now < seconds * 1000; clock.now += everyMs) {
    const ok = model.consume('~i:Post:createdAt', keyOf(n++), { write: 1 });
    if (ok && clock.now >= (seconds - 10) * 1000) served++;
  }
  return served / 10;
}

const limit = 1000 / 20; // write units per second of one range, at the default scale

test('random keys split for heat and spread: the key takes several ranges worth', () => {
  const clock = { now: 0 };
  const model = new PartitionModel({ clock: () => clock.now });
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648).toString(36).slice(2);
  // Demand: 200 writes/s, four ranges' worth.
  const perSecond = drive(model, clock, random);
  assert.ok(model.splits >= 2, `${model.splits} splits`);
  assert.ok(perSecond > 2.5 * limit, `${perSecond} writes/s served`);
});

test('keys that only grow stay capped at one range: no split relieves them', () => {
  const clock = { now: 0 };
  const model = new PartitionModel({ clock: () => clock.now });
  const growing = n => String(n).padStart(12, '0');
  const perSecond = drive(model, clock, growing);
  assert.ok(perSecond <= limit * 1.05, `${perSecond} writes/s served`);
  assert.ok(perSecond >= limit * 0.9, `${perSecond} writes/s served`);
  assert.ok(model.throttled > 0);
  assert.equal(model.splits, 0);
});

test('a refused request charges nothing; a range refills in a second; reads owe what they read', () => {
  const clock = { now: 0 };
  const model = new PartitionModel({ clock: () => clock.now, scale: 1 / 100 });
  // 10 write units a second at 1/100.
  assert.equal(model.consume('p', 'a', { write: 10 }), true);
  assert.equal(model.consume('p', 'b', { write: 1 }), false);
  clock.now = 500;
  assert.equal(model.consume('p', 'c', { write: 5 }), true);
  assert.equal(model.consume('p', 'c', { write: 1 }), false);
  // Other partition keys have their own ranges.
  assert.equal(model.consume('q', 'a', { write: 10 }), true);
  // A read billed after it ran may overdraw the range (100 of its 30 units a second): the
  // next ones wait until the debt is paid, about 2.4 s.
  assert.equal(model.consume('r', 'a', { read: 100, debt: true }), true);
  assert.equal(model.consume('r', 'a', { read: 1 }), false);
  clock.now = 2500;
  assert.equal(model.consume('r', 'a', { read: 1 }), false);
  clock.now = 3500;
  assert.equal(model.consume('r', 'a', { read: 1 }), true);
  const body = PartitionModel.throttleBody('t', 'p');
  assert.match(body.__type, /ThrottlingException$/);
  assert.equal(body.throttlingReasons[0].reason, 'KeyRangeThroughputExceeded');
});

// Through the fault proxy: creates into a class with a `createdAt` index, in bursts above what
// the index's last key range takes in a second but not above it on average (its ceiling: 20
// write units a second at 1/50, 1 per create's entry). The model throttles (DynamoDB's answer,
// with its reason); the adapter sends the throttled writes again after a backoff, so every
// create lands once and no error reaches the caller.
test('the proxy throttles key ranges as DynamoDB does; the adapter retries every create in', async () => {
  const { startDynamo, freePort } = require('../scripts/dynamo-local');
  const { FaultProxy } = require('./fault-proxy');
  const { DynamoDB } = require('..');
  const dynamo = await startDynamo({ port: await freePort() });
  const model = new PartitionModel({ scale: 1 / 50 });
  const proxy = await new FaultProxy({ target: dynamo.endpoint, rate: 0, model }).start();
  const quiet = { info() {}, warn() {}, error() {} };
  try {
    const a = new DynamoDB(`pm${process.pid}`, { endpoint: proxy.endpoint, region: 'us-east-1', autoIndex: false, logger: quiet }).getAdapter();
    const schema = { className: 'Post', fields: { createdAt: { type: 'Date' }, n: { type: 'Number' } } };
    await a.createClass('Post', { ...schema, indexes: { by_created: { createdAt: -1 } } });
    const at = i => ({ __type: 'Date', iso: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString() });
    const create = i => a.createObject('Post', schema, { objectId: `p${String(i).padStart(3, '0')}`, n: i, createdAt: at(i), updatedAt: at(i) });
    // Four bursts of 30 parallel creates (30 units at the index's tail), 2 s apart.
    for (let burst = 0; burst < 4; burst++) {
      await Promise.all(Array.from({ length: 30 }, (_, k) => create(burst * 30 + k)));
      await new Promise(r => setTimeout(r, 2000));
    }
    assert.ok(proxy.counts.partitionThrottle > 0, 'the index range throttled some writes');
    assert.equal(await a.count('Post', schema, {}), 120);
    const rows = await a.find('Post', schema, {}, { sort: { createdAt: -1 }, limit: 5 });
    assert.deepEqual(rows.map(r => r.n), [119, 118, 117, 116, 115]);
    await a._call('admin.deleteTable');
  } finally {
    await proxy.stop();
    await dynamo.stop();
  }
});

// The SDK's retry quota is shared by a client's requests: under sustained throttling (here 64
// writers against one class's key ranges, ~2.5x what they take), the throttled retries of many
// requests at once spend it, and then no throttled request is retried: writes fail at once
// and the writers spin (98% of creates failed so). The adapter gives its client an unlimited
// quota: every throttled attempt is retried with backoff, within `maxAttempts` and the
// operation's timeout, so the writers are slowed to what the ranges take.
test('sustained throttling slows writers down instead of failing their writes (no shared retry quota)', async () => {
  const { startDynamo, freePort } = require('../scripts/dynamo-local');
  const { FaultProxy } = require('./fault-proxy');
  const { DynamoDB } = require('..');
  const dynamo = await startDynamo({ port: await freePort() });
  const model = new PartitionModel({ scale: 1 / 20 });
  const proxy = await new FaultProxy({ target: dynamo.endpoint, rate: 0, model }).start();
  try {
    const a = new DynamoDB(`rq${process.pid}`, { endpoint: proxy.endpoint, region: 'us-east-1', autoIndex: false, logger: { info() {}, warn() {}, error() {} } }).getAdapter();
    const schema = { className: 'Item', fields: { n: { type: 'Number' } } };
    await a.createClass('Item', schema);
    const started = Date.now();
    let n = 0;
    let failed = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (Date.now() - started < 8000) {
          const i = n++;
          await a.createObject('Item', schema, { objectId: `i${i}x${Math.random().toString(36).slice(2, 8)}`, n: i }).catch(() => failed++);
        }
      })
    );
    assert.ok(proxy.counts.partitionThrottle > 200, `${proxy.counts.partitionThrottle} throttles`);
    assert.ok(failed <= n * 0.05, `${failed} of ${n} creates failed`);
    await a._call('admin.deleteTable');
  } finally {
    await proxy.stop();
    await dynamo.stop();
  }
});

// An index whose keys only grow, under more creates than its last key range takes: the
// adapter sees DynamoDB name the index's partition in the throttled transactions again and
// again, rebuilds the index over 16 shards in the background (the old one answers meanwhile)
// and drops the old one; from then on the index's writes spread over 16 partitions, none of
// which takes more than a share of them, and the class takes more creates than the unsharded
// index's ceiling (25 a second at 1/20).
test('an index the partition model keeps throttling is sharded, and then takes more than its ceiling', async () => {
  const { startDynamo, freePort } = require('../scripts/dynamo-local');
  const { FaultProxy } = require('./fault-proxy');
  const { DynamoDB } = require('..');
  const dynamo = await startDynamo({ port: await freePort() });
  const model = new PartitionModel({ scale: 1 / 20 });
  const proxy = await new FaultProxy({ target: dynamo.endpoint, rate: 0, model }).start();
  process.env.PSD_REGISTRY_TTL_MS = '300';
  try {
    const a = new DynamoDB(`sh${process.pid}`, { endpoint: proxy.endpoint, region: 'us-east-1', autoIndex: false, logger: { info() {}, warn() {}, error() {} } }).getAdapter();
    const schema = { className: 'Post', fields: { createdAt: { type: 'Date' }, n: { type: 'Number' } } };
    await a.createClass('Post', { ...schema, indexes: { by_created: { createdAt: -1 } } });
    let n = 0;
    let failed = 0;
    const createdAt = () => ({ __type: 'Date', iso: new Date().toISOString() });
    const loops = async until => {
      await Promise.all(
        Array.from({ length: 48 }, async () => {
          while (!(await until())) {
            const i = n++;
            await a.createObject('Post', schema, { objectId: Math.random().toString(36).slice(2, 12), n: i, createdAt: createdAt() }).catch(() => failed++);
          }
        })
      );
    };
    // `shards` once the old index is dropped (`sharding` while both are kept).
    const shards = async () => (await a.getIndexes('Post')).find(ix => ix.key && ix.key.createdAt)?.shards;
    const started = Date.now();
    let sharded = false;
    let checked = 0;
    await loops(async () => {
      if (Date.now() - checked > 500) {
        checked = Date.now();
        sharded = (await shards()) === 16;
      }
      return sharded || Date.now() - started > 60000;
    });
    assert.ok(sharded, 'the index was sharded within a minute');
    assert.equal((await a.getIndexes('Post')).filter(ix => ix.key && ix.key.createdAt).length, 1, 'one index on createdAt');
    // After: 6 s more of the same load.
    const before = { n, puts: new Map(model.puts) };
    const from = Date.now();
    await loops(async () => Date.now() - from > 6000);
    const perSecond = (n - before.n) / ((Date.now() - from) / 1000);
    const grown = pk => (model.puts.get(pk) || 0) - (before.puts.get(pk) || 0);
    assert.equal(grown(`~i:Post:createdAt`), 0, 'the old index takes no entries');
    const shardWrites = Array.from({ length: 16 }, (_, i) => grown(`~i:Post:createdAt@16#${i}`));
    const all = shardWrites.reduce((x, y) => x + y, 0);
    assert.ok(all >= n - before.n - failed, `${all} entries put for ${n - before.n} creates`);
    assert.ok(Math.max(...shardWrites) < all / 6, `entries per shard ${shardWrites}`);
    // One key range serves at most its bucket (one second of units) plus 25 a second: more
    // entries than that in the window prove the writes no longer queue on one range.
    const seconds = (Date.now() - from) / 1000;
    assert.ok(n - before.n > 25 * (seconds + 1), `${perSecond.toFixed(1)} creates/s after sharding, over one range's ${(25 * (seconds + 1) / seconds).toFixed(1)}`);
    assert.ok(failed <= n * 0.05, `${failed} of ${n} creates failed`);
    // Everything created is there, in order.
    assert.equal(await a.count('Post', schema, {}), n - failed);
    const rows = await a.find('Post', schema, {}, { sort: { createdAt: -1 }, limit: 50 });
    const times = rows.map(r => r.createdAt.iso || r.createdAt);
    assert.deepEqual([...times].sort().reverse(), times);
    await a._call('admin.deleteTable');
  } finally {
    delete process.env.PSD_REGISTRY_TTL_MS;
    await proxy.stop();
    await dynamo.stop();
  }
});
