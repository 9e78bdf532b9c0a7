// Updates in place through Parse Server and the JS SDK: an increment is one DynamoDB request
// (a conditional UpdateItem, no read first), an ACL still decides who writes, and when every
// UpdateItem's answer is lost (done, connection dropped) the increments are still counted once
// and answered; a 500 (nothing done, but DynamoDB does not say so) is reported as an outcome
// not known, never applied twice.
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { startStack } = require('./helpers');
const { startDynamo } = require('../scripts/dynamo-local');
const { FaultProxy } = require('./fault-proxy');
const { DynamoDB } = require('..');

test('an increment through Parse Server is one UpdateItem, and the ACL decides', async () => {
  const s = await startStack();
  const adapter = s.db.getAdapter();
  try {
    const { Parse } = s;
    const c = new Parse.Object('Counter');
    c.set('n', 0);
    await c.save();
    await new Parse.Query('Counter').count(); // settles the create's counter update
    const before = await adapter.consumedCapacity();
    c.increment('n', 2);
    await c.save();
    const after = await adapter.consumedCapacity();
    assert.equal(c.get('n'), 2);
    assert.equal(after.requests - before.requests, 1, JSON.stringify(after.operations));
    assert.equal(after.operations.UpdateItem.requests - (before.operations.UpdateItem?.requests || 0), 1);
    assert.equal((await new Parse.Query('Counter').get(c.id)).get('n'), 2);

    const owner = await Parse.User.signUp('owner', 'pw');
    const mine = new Parse.Object('Counter', { n: 0 });
    mine.setACL(new Parse.ACL(owner));
    await mine.save(null, { sessionToken: owner.getSessionToken() });
    const other = await Parse.User.signUp('other', 'pw');
    const theirs = Parse.Object.createWithoutData.call(Parse.Object.extend('Counter'), mine.id);
    theirs.increment('n');
    await assert.rejects(theirs.save(null, { sessionToken: other.getSessionToken() }), e => e.code === Parse.Error.OBJECT_NOT_FOUND);
    mine.increment('n');
    await mine.save(null, { sessionToken: owner.getSessionToken() });
    assert.equal((await new Parse.Query('Counter').get(mine.id, { useMasterKey: true })).get('n'), 1);
  } finally {
    await s.stop();
  }
});

test('lost answers: increments counted once; an unanswered one is reported unknown, not repeated', async () => {
  const dynamo = await startDynamo();
  const proxy = await new FaultProxy({ target: dynamo.endpoint, rate: 0 }).start();
  try {
    const a = new DynamoDB('updates', { endpoint: proxy.endpoint, region: 'us-east-1', autoIndex: false }).getAdapter();
    const schema = { fields: { n: { type: 'Number' } } };
    await a.createClass('Counter', schema);
    await a.createObject('Counter', schema, { objectId: 'c1', n: 0 });
    const inc = { n: { __op: 'Increment', amount: 1 } };
    proxy.rate = 1;
    proxy.only = new Set(['UpdateItem']);
    proxy.kinds = new Set(['lostAnswer']);
    for (let i = 1; i <= 5; i++) {
      const got = await a.findOneAndUpdate('Counter', schema, { objectId: 'c1' }, inc);
      assert.equal(got.n, i, 'answered from the object, which holds its write');
    }
    assert.ok(proxy.counts.lostAnswer >= 5);
    proxy.kinds = new Set(['http500']);
    await assert.rejects(a.findOneAndUpdate('Counter', schema, { objectId: 'c1' }, inc), e => e.code === 124 && /may or may not/.test(e.message));
    proxy.rate = 0;
    const [stored] = await a.find('Counter', schema, { objectId: 'c1' }, {});
    assert.equal(stored.n, 5, 'five applied once each; the 500 applied nothing and was not sent again');
  } finally {
    await proxy.stop();
    await dynamo.stop();
  }
});
