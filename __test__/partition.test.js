// The seed package's API without Parse Server: DynamoDB, Partition, _adaptiveCollection.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startDynamo } = require('../scripts/dynamo-local');
const { DynamoDB, Partition } = require('..');

let dynamo;
let db;
before(async () => {
  dynamo = await startDynamo();
  db = new DynamoDB('seed-table', { endpoint: dynamo.endpoint, region: 'eu-central-1', apiVersion: '2012-08-10', accessKeyId: 'AK', secretAccessKey: 'secret' });
});
after(async () => {
  await dynamo.stop();
});

test('getAdapter returns one instance with the properties Parse reads', () => {
  const a = db.getAdapter();
  assert.equal(a, db.getAdapter());
  assert.equal(a.canSortOnJoinTables, false);
  assert.equal(typeof a.find, 'function');
});

test('Partition: insertOne, find, count, updateOne, upsertOne, updateMany, deleteOne, deleteMany', async () => {
  const User = new db.Partition('seed-table', 'User', db.adapter.service);
  await User.insertOne({ _id: '1234', name: 'benishak', n: 1 });
  await User.insertOne({ _id: '5678', name: 'other', n: 5 });
  assert.deepEqual((await User.find({ _id: '1234' })).map(u => u.name), ['benishak']);
  assert.equal(await User.count({ n: { $gt: 0 } }), 2);
  const updated = await User.updateOne({ _id: '1234' }, { $set: { name: 'ben' }, $inc: { n: 2 } });
  assert.equal(updated.name, 'ben');
  assert.equal(updated.n, 3);
  await User.upsertOne({ _id: '9999' }, { $set: { name: 'new' } });
  assert.equal((await User.find({ _id: '9999' }))[0].name, 'new');
  const many = await User.updateMany({ n: { $exists: true } }, { $push: { tags: 'x' } });
  assert.equal(many.matchedCount, 2);
  assert.deepEqual((await User.deleteOne({ _id: '5678' })).deletedCount, 1);
  assert.deepEqual((await User.deleteMany({})).deletedCount, 2);
  assert.equal(await User.count({}), 0);
});

test('_adaptiveCollection works as the seed README shows', async () => {
  const User = db.getAdapter()._adaptiveCollection('User');
  await User.insertOne({ _id: 'abc', name: 'x' });
  const found = await User.find({ _id: 'abc' });
  assert.equal(found[0]._id, 'abc');
  await assert.rejects(User.insertOne({ _id: 'abc' }), err => err.code === 137);
  // Awaited, as Parse Server's own adapters answer it (a promise of the collection): the same class.
  const awaited = await db.getAdapter()._adaptiveCollection('User');
  assert.ok(awaited instanceof Partition);
  assert.equal(awaited.then, undefined);
  assert.equal((await awaited.find({ _id: 'abc' }))[0].name, 'x');
  const viaThen = await db.getAdapter()._adaptiveCollection('User').then(c => c.count({}));
  assert.equal(viaThen, 1);
  // Parse's MongoCollection API for a unique index (its spec suite uses it): a value then taken
  // is refused on insert and on update, as MongoDB's sparse unique index refuses it.
  const Codes = await db.getAdapter()._adaptiveCollection('Code');
  await Codes.insertOne({ _id: 'c1', code: 1 });
  await Codes.insertOne({ _id: 'c2', code: 2 });
  await Codes._ensureSparseUniqueIndexInBackground({ code: 1 });
  await assert.rejects(Codes.insertOne({ _id: 'c3', code: 1 }), err => err.code === 137);
  await assert.rejects(Codes.updateOne({ _id: 'c1' }, { $set: { code: 2 } }), err => err.code === 137);
  await Codes.insertOne({ _id: 'c4' }); // sparse: objects without the field are not held to it
  await Codes.insertOne({ _id: 'c5' });
  await assert.rejects(Codes._ensureSparseUniqueIndexInBackground({ a: 1, b: 1 }), err => err.code === 108);
});

test('a table name DynamoDB would refuse fails at construction with a Parse error saying why', () => {
  for (const bad of ['x', 'has space', 'a'.repeat(256)]) {
    assert.throws(
      () => new DynamoDB(bad, { endpoint: dynamo.endpoint, region: 'us-east-1' }),
      e => e.code === 107 && /invalid DynamoDB table name/.test(e.message)
    );
  }
});
