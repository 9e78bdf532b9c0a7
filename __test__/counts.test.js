// Object counts with the counter update sent beside the write's answer: a count on the same
// server waits for the updates in flight, and Parse Server's shutdown (`handleShutdown`) lets
// them finish, so another server counting afterwards sees every write. The proxy holds each
// counter update (`UpdateItem`) 400 ms, so it is still in flight when the write has answered
// and when the count's own Query arrives.
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { startDynamo } = require('../scripts/dynamo-local');
const { FaultProxy } = require('./fault-proxy');
const { DynamoDB } = require('..');

test('counts wait for the counter updates in flight, and shutdown lets them land', async () => {
  const dynamo = await startDynamo();
  const proxy = await new FaultProxy({ target: dynamo.endpoint, rate: 0 }).start();
  try {
    const options = { endpoint: proxy.endpoint, region: 'us-east-1', autoIndex: false };
    const a = new DynamoDB('counts', options).getAdapter();
    await a.createClass('Item', { fields: {} });
    proxy.delays = { UpdateItem: 400 };
    await a._adaptiveCollection('Item').insertOne({ _id: 'i1', n: 1 });
    // The create has answered; its counter update is held by the proxy. This server's count waits.
    const counting = Date.now();
    assert.equal(await a.count('Item', { fields: {} }, {}), 1);
    assert.ok(Date.now() - counting >= 300, 'the count waited for the update in flight');
    await a._adaptiveCollection('Item').insertOne({ _id: 'i2', n: 2 });
    const started = Date.now();
    await a.handleShutdown();
    assert.ok(Date.now() - started >= 200, 'shutdown waited for the counter update in flight');
    // Another server, straight to the store: both counter updates are there.
    proxy.delays = {};
    const b = new DynamoDB('counts', { ...options, endpoint: dynamo.endpoint }).getAdapter();
    assert.equal(await b.count('Item', { fields: {} }, {}), 2);
  } finally {
    await proxy.stop();
    await dynamo.stop();
  }
});

test('the changes made while a counter update is in flight go together in the next one', async () => {
  const dynamo = await startDynamo();
  const proxy = await new FaultProxy({ target: dynamo.endpoint, rate: 0 }).start();
  try {
    const a = new DynamoDB('coalesce', { endpoint: proxy.endpoint, region: 'us-east-1', autoIndex: false }).getAdapter();
    await a.createClass('Item', { fields: {} });
    proxy.delays = { UpdateItem: 300 };
    const before = proxy.ops.UpdateItem || 0;
    // The first create's ADD is held 300 ms; the five after it add up meanwhile.
    for (let i = 1; i <= 6; i++) await a._adaptiveCollection('Item').insertOne({ _id: `i${i}`, n: i });
    await a._adaptiveCollection('Item').deleteOne({ _id: 'i6' });
    assert.equal(await a.count('Item', { fields: {} }, {}), 5);
    assert.equal((proxy.ops.UpdateItem || 0) - before, 2, 'one ADD for the first create, one for the rest');
    proxy.delays = {};
    const b = new DynamoDB('coalesce', { endpoint: dynamo.endpoint, region: 'us-east-1' }).getAdapter();
    assert.equal(await b.count('Item', { fields: {} }, {}), 5, 'another server counts them too');
  } finally {
    await proxy.stop();
    await dynamo.stop();
  }
});
