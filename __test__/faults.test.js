// Faults: the DynamoDB server stops in the middle of a load and comes back. Requests in between
// fail with a Parse error within the configured timeout (no crash, no hang), the adapter works
// again without a restart, and every acknowledged write is readable afterwards.
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startDynamo, freePort } = require('../scripts/dynamo-local');
const { DynamoDB } = require('..');

test('the store goes away and comes back', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'psd-fault-'));
  const dbPath = path.join(dir, 'data.db');
  const port = await freePort();
  let dynamo = await startDynamo({ port, dbPath });
  const db = new DynamoDB('faults', { endpoint: dynamo.endpoint, region: 'us-east-1', timeoutMs: 2000, maxAttempts: 2 });
  const Items = db.getAdapter()._adaptiveCollection('Item');

  const acknowledged = [];
  let failed = 0;
  let i = 0;
  const writeSome = async n => {
    for (let k = 0; k < n; k++, i++) {
      try {
        await Items.insertOne({ _id: `item${i}`, n: i });
        acknowledged.push(`item${i}`);
      } catch (e) {
        assert.equal(typeof e.code, 'number', `a Parse error, not ${e}`);
        failed++;
      }
    }
  };
  await writeSome(20);
  assert.equal(acknowledged.length, 20);

  await dynamo.stop();
  const started = Date.now();
  await writeSome(5);
  const elapsed = Date.now() - started;
  assert.equal(failed, 5, 'writes fail while the store is down');
  assert.ok(elapsed < 5 * 4000, `failures come within the timeout (took ${elapsed} ms)`);
  await assert.rejects(Items.find({}), e => typeof e.code === 'number');

  dynamo = await startDynamo({ port, dbPath });
  try {
    await writeSome(10);
    assert.equal(acknowledged.length, 30, 'the adapter recovers without a restart');
    const rows = await Items.find({}, { limit: 1000 });
    const ids = new Set(rows.map(r => r._id));
    assert.ok(acknowledged.every(id => ids.has(id)), 'every acknowledged write is readable');
  } finally {
    await dynamo.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
