// Answers exactly as Parse on MongoDB gives them, for inputs clients send that a first
// implementation got wrong (issue 12), through Parse Server and the Parse JS SDK.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startStack } = require('./helpers');

let s;
let Parse;
before(async () => {
  s = await startStack();
  Parse = s.Parse;
});
after(async () => {
  await s.stop();
});

test('withinGeoBox finds the points inside, whichever order the corners come in', async () => {
  const inside = new Parse.Object('Place', { at: new Parse.GeoPoint(37.77, -122.42) });
  const outside = new Parse.Object('Place', { at: new Parse.GeoPoint(37.77, -121.0) });
  await Parse.Object.saveAll([inside, outside]);
  const sw = new Parse.GeoPoint(37.7, -122.5);
  const ne = new Parse.GeoPoint(37.8, -122.3);
  // MongoDB's $box is the rectangle of its two corners: northeast first finds the same.
  for (const [a, b] of [[sw, ne], [ne, sw], [new Parse.GeoPoint(37.8, -122.5), new Parse.GeoPoint(37.7, -122.3)]]) {
    const got = await new Parse.Query('Place').withinGeoBox('at', a, b).find();
    assert.deepEqual(got.map(o => o.id), [inside.id], `box ${JSON.stringify([a, b])}`);
  }
});

test('undefined in a query is null, as MongoDB reads it: the relation of an unsaved object is empty', async () => {
  const m = { 'X-Parse-Master-Key': s.masterKey };
  const members = [new Parse.Object('Member', { n: 1 }), new Parse.Object('Member', { n: 2 })];
  await Parse.Object.saveAll(members);
  const folder = new Parse.Object('Folder');
  folder.relation('members').add(members);
  await folder.save();
  const related = async object => {
    const where = encodeURIComponent(JSON.stringify({ $relatedTo: { object, key: 'members' } }));
    const r = await s.rest('GET', `/classes/Member?where=${where}`, undefined, m);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.results.map(o => o.n).sort();
  };
  assert.deepEqual(await related({ __type: 'Pointer', className: 'Folder', objectId: folder.id }), [1, 2]);
  // An unsaved object has no objectId: Parse Server asks for owningId undefined.
  assert.deepEqual(await related({ __type: 'Pointer', className: 'Folder' }), []);
  assert.deepEqual(await related({ __type: 'Pointer', className: 'Folder', objectId: 'nope' }), []);
  // The SDK does the same for a relation of an unsaved clone.
  const clone = folder.clone();
  assert.deepEqual(await clone.relation('members').query().find(), []);
  // An undefined value inside $in is null too, as in MongoDB: it matches objects without the field.
  const adapter = s.db.getAdapter();
  const rows = await adapter.find('Member', { fields: {} }, { n: { $in: [undefined, 2] } }, {});
  assert.deepEqual(rows.map(o => o.n), [2]);
  const none = await adapter.find('Member', { fields: {} }, { missing: undefined }, {});
  assert.equal(none.length, 2, 'null matches objects without the field');
});

test('without a sort, objects come in the order they were created, also paged', async () => {
  const made = [];
  for (let i = 0; i < 12; i++) {
    const o = new Parse.Object('Seq', { i });
    await o.save();
    made.push(o.id);
  }
  // objectIds are random, so key order is not creation order.
  assert.notDeepEqual([...made].sort(), made);
  assert.deepEqual((await new Parse.Query('Seq').find()).map(o => o.id), made);
  assert.deepEqual((await new Parse.Query('Seq').skip(3).limit(4).find()).map(o => o.id), made.slice(3, 7));
  assert.deepEqual((await new Parse.Query('Seq').greaterThan('i', 5).limit(3).find()).map(o => o.get('i')), [6, 7, 8]);
  // A user's sessions, as "my sessions" lists them: oldest first.
  const { user } = await s.signUp('orderly');
  for (let k = 0; k < 3; k++) await s.rest('POST', '/login', { username: 'orderly', password: 'pw' }, { 'X-Parse-Installation-Id': `order-${k}` });
  const sessions = await new Parse.Query('_Session').equalTo('user', user).find({ useMasterKey: true });
  const created = sessions.map(x => x.createdAt.getTime());
  assert.equal(sessions.length, 4);
  assert.deepEqual(created, [...created].sort((a, b) => a - b));
});
