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

test('defaults of required fields of every type come back as MongoDB gives them, saved and read', async () => {
  const date = new Date('2021-02-03T04:05:06.789Z');
  const schema = new Parse.Schema('Defaults');
  schema
    .addString('s', { required: true, defaultValue: 'text' })
    .addNumber('n', { required: true, defaultValue: 42.5 })
    .addBoolean('b', { required: true, defaultValue: false })
    .addDate('d', { required: true, defaultValue: date })
    .addDate('dIso', { required: true, defaultValue: '2022-05-06T07:08:09.000Z' })
    .addField('bytes', 'Bytes', { required: true, defaultValue: 'aGVsbG8=' })
    .addFile('f', { required: true, defaultValue: { __type: 'File', name: 'a.txt', url: 'http://x/a.txt' } })
    .addGeoPoint('g', { required: true, defaultValue: new Parse.GeoPoint(10, 20) })
    .addPolygon('p', { required: true, defaultValue: new Parse.Polygon([[0, 0], [0, 1], [1, 1]]) })
    .addArray('a', { required: true, defaultValue: [1, 'two', { three: 3 }] })
    .addObject('o', { required: true, defaultValue: { k: 'v', nested: { x: 1 } } });
  await schema.save(null, { useMasterKey: true });
  const closedRing = [[0, 0], [0, 1], [1, 1], [0, 0]];
  const expected = {
    s: 'text',
    n: 42.5,
    b: false,
    d: { __type: 'Date', iso: date.toISOString() },
    dIso: { __type: 'Date', iso: '2022-05-06T07:08:09.000Z' },
    bytes: { __type: 'Bytes', base64: 'aGVsbG8=' },
    g: { __type: 'GeoPoint', latitude: 10, longitude: 20 },
    // MongoDB stores a Polygon as a closed GeoJSON ring, and Parse's transform closes the
    // default in place, so the save response already shows the closing point.
    p: { __type: 'Polygon', coordinates: closedRing },
    a: [1, 'two', { three: 3 }],
    o: { k: 'v', nested: { x: 1 } },
  };
  const pick = body => Object.fromEntries(Object.keys(expected).map(k => [k, body[k]]));
  const created = await s.rest('POST', '/classes/Defaults', {}, { 'X-Parse-Master-Key': s.masterKey });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.deepEqual(pick(created.body), expected, 'save response');
  assert.equal(created.body.f.name, 'a.txt');
  const read = await s.rest('GET', `/classes/Defaults/${created.body.objectId}`, undefined, { 'X-Parse-Master-Key': s.masterKey });
  assert.deepEqual(pick(read.body), expected, 'read');
  assert.equal(read.body.f.__type, 'File');
  assert.equal(read.body.f.name, 'a.txt');
  // Through the SDK: the saved object holds what a read gives.
  const obj = new Parse.Object('Defaults');
  await obj.save(null, { useMasterKey: true });
  assert.deepEqual(obj.get('p').coordinates, closedRing);
  const again = await new Parse.Query('Defaults').get(obj.id, { useMasterKey: true });
  assert.deepEqual(again.get('p').coordinates, closedRing);
  assert.equal(again.get('d').toISOString(), date.toISOString());
  assert.deepEqual(again.get('o'), expected.o);
});

test('$text relevance is MongoDB text score: values and order of the documented examples', async () => {
  // The articles of MongoDB's $text documentation.
  const subjects = ['coffee', 'Coffee Shopping', 'Baking a cake', 'baking', 'Café Con Leche', 'Сырники', 'coffee and cream', 'Cafe con Leche'];
  await Parse.Object.saveAll(subjects.map(subject => new Parse.Object('Article', { subject })));
  const scored = async term => {
    const q = new Parse.Query('Article').fullText('subject', term).sortByTextScore();
    q.select('subject');
    return (await q.find()).map(o => [o.get('subject'), o.get('score')]);
  };
  // MongoDB answers {subject: 'Baking a cake', score: 0.75} ("a" is a stop word: 1 of 2 words).
  assert.deepEqual(await scored('cake'), [['Baking a cake', 0.75]]);
  // "coffee" alone scores 1; one word of two 0.75 ("and" is a stop word). Ties have no set order.
  const coffee = await scored('coffee');
  assert.deepEqual(coffee[0], ['coffee', 1]);
  assert.deepEqual(coffee.slice(1).sort(), [['Coffee Shopping', 0.75], ['coffee and cream', 0.75]]);
  // Stemming: "bake" finds "Baking" and "baking"; two terms add up.
  assert.deepEqual((await scored('bake')).map(([s]) => s).sort(), ['Baking a cake', 'baking']);
  assert.deepEqual(await scored('bake cake'), [['Baking a cake', 1.5], ['baking', 1]]);
  // Diacritics fold by default: both Café and Cafe.
  assert.equal((await scored('café')).length, 2);
});

test('aggregate: MongoDB expression operators and stages, $lookup across classes', async () => {
  const inv = [
    new Parse.Object('Inventory', { sku: 'almonds', description: 'product 1', instock: 120 }),
    new Parse.Object('Inventory', { sku: 'pecans', description: 'product 4', instock: 70 }),
    new Parse.Object('Inventory', { sku: 'bread', description: 'product 2', instock: 80 }),
  ];
  await Parse.Object.saveAll(inv);
  await Parse.Object.saveAll([
    new Parse.Object('Order', { item: 'almonds', quarter: '13Q1', price: 12, quantity: 2, tags: ['nut', 'snack'], invId: inv[0].id, when: new Date('2014-01-01T08:15:39.736Z') }),
    new Parse.Object('Order', { item: 'pecans', quarter: '14Q3', price: 20, quantity: 1, tags: ['nut'], invId: inv[1].id, when: new Date('2015-06-01T00:00:00Z') }),
  ]);
  const agg = pipeline => new Parse.Query('Order').aggregate(pipeline);
  // The same stage twice, with $substr (COMMAND_UNAVAILABLE before).
  const sub = await agg([
    { $project: { item: 1, year: { $substr: ['$quarter', 0, 2] }, q: { $substr: ['$quarter', 2, -1] } } },
    { $project: { item: 1, q: 1, y2: { $substr: ['$year', 1, 1] } } },
    { $sort: { item: 1 } },
  ]);
  assert.deepEqual(sub.map(r => [r.item, r.q, r.y2]), [['almonds', 'Q1', '3'], ['pecans', 'Q3', '4']]);
  // $addFields/$set, conditionals, strings, dates, $unset.
  const shaped = await agg([
    { $addFields: { total: { $multiply: ['$price', '$quantity'] }, label: { $toUpper: '$item' } } },
    { $set: { big: { $cond: { if: { $gte: ['$total', 20] }, then: 'yes', else: 'no' } }, day: { $dateToString: { format: '%Y-%m-%d', date: '$when' } }, dow: { $dayOfWeek: '$when' }, nTags: { $size: '$tags' } } },
    { $unset: ['tags', 'quarter'] },
    { $sort: { total: -1 } },
  ]);
  assert.deepEqual(shaped.map(r => [r.label, r.total, r.big, r.day, r.dow, r.nTags, r.tags]), [
    ['ALMONDS', 24, 'yes', '2014-01-01', 4, 2, undefined],
    ['PECANS', 20, 'yes', '2015-06-01', 2, 1, undefined],
  ]);
  // $lookup on another class of the table: by a field, and by objectId.
  const joined = await agg([
    { $lookup: { from: 'Inventory', localField: 'item', foreignField: 'sku', as: 'inv' } },
    { $lookup: { from: 'Inventory', localField: 'invId', foreignField: '_id', as: 'byId' } },
    { $project: { item: 1, stock: { $arrayElemAt: ['$inv.instock', 0] }, desc: { $first: '$byId.description' } } },
    { $sort: { item: 1 } },
  ]);
  assert.deepEqual(joined.map(r => [r.item, r.stock, r.desc]), [['almonds', 120, 'product 1'], ['pecans', 70, 'product 4']]);
  // A pipeline written for Parse on MongoDB names the collection with the app's collectionPrefix.
  const prefixed = await agg([
    { $lookup: { from: 'test_Inventory', localField: 'item', foreignField: 'sku', as: 'inv' } },
    { $project: { item: 1, stock: { $arrayElemAt: ['$inv.instock', 0] } } },
    { $sort: { item: 1 } },
  ]);
  assert.deepEqual(prefixed.map(r => [r.item, r.stock]), [['almonds', 120], ['pecans', 70]]);
  // Parse Server's own spec pattern: a Pointer read in MongoDB's stored form (`_p_<field>`,
  // "Class$objectId"), cut with $substr, joined on _id, unwound and matched.
  await Parse.Object.saveAll([new Parse.Object('Order', { item: 'ptr', price: 1, quantity: 1, tags: [], stock: inv[2] })]);
  const viaPointer = await agg([
    { $match: { stock: { $exists: true } } },
    { $project: { tempPointer: { $substr: ['$_p_stock', 10, -1] } } },
    { $lookup: { from: 'Inventory', localField: 'tempPointer', foreignField: '_id', as: 'tempPointer' } },
    { $unwind: { path: '$tempPointer' } },
    { $match: { 'tempPointer.instock': 80 } },
  ]);
  assert.equal(viaPointer.length, 1);
  assert.equal(viaPointer[0].tempPointer.sku, 'bread');
  await new Parse.Query('Order').equalTo('item', 'ptr').first().then(o => o.destroy());
  // $replaceRoot, $sortByCount, $bucket, $facet.
  const roots = await agg([{ $replaceRoot: { newRoot: { name: '$item', cost: '$price' } } }, { $sort: { cost: 1 } }]);
  assert.deepEqual(roots, [{ name: 'almonds', cost: 12 }, { name: 'pecans', cost: 20 }]);
  const counts = await agg([{ $unwind: '$tags' }, { $sortByCount: '$tags' }]);
  assert.deepEqual(counts.map(r => [r.objectId, r.count]), [['nut', 2], ['snack', 1]]);
  const buckets = await agg([{ $bucket: { groupBy: '$price', boundaries: [0, 15, 100], output: { n: { $sum: 1 }, items: { $push: '$item' } } } }]);
  assert.deepEqual(buckets.map(r => [r.objectId, r.n, r.items]), [[0, 1, ['almonds']], [15, 1, ['pecans']]]);
  const facets = await agg([{ $facet: { cheap: [{ $match: { price: { $lt: 15 } } }, { $project: { _id: 0, item: 1 } }], all: [{ $count: 'n' }] } }]);
  assert.deepEqual(facets, [{ cheap: [{ item: 'almonds' }], all: [{ n: 2 }] }]);
  // Leading $sort + $limit and $count (kept as the pages come: the best rows, a number).
  assert.deepEqual((await agg([{ $sort: { price: -1 } }, { $limit: 1 }, { $project: { _id: 0, item: 1 } }])), [{ item: 'pecans' }]);
  assert.deepEqual(await agg([{ $count: 'orders' }]), [{ orders: 2 }]);
  assert.deepEqual(await agg([{ $match: { price: { $gt: 1000 } } }, { $count: 'orders' }]), []);
  // An operator MongoDB has and this adapter does not: a clear error, not a wrong answer.
  await assert.rejects(agg([{ $project: { x: { $zip: { inputs: [] } } } }]), e => e.code === Parse.Error.COMMAND_UNAVAILABLE && /\$zip/.test(e.message));
});

test('a Pointer without objectId is stored and matched as MongoDB does ("Class$undefined"), not refused', async () => {
  // Parse Server's own spec does this (its rest.create answer has no objectId at the top level).
  const bare = { __type: 'Pointer', className: 'Photo' };
  const saved = await new Parse.Object('Activity', { kind: 'comment', photo: bare }).save();
  const found = await new Parse.Query('Activity').equalTo('photo', bare).find();
  assert.deepEqual(found.map(o => o.id), [saved.id]);
  const raw = await s.rest('GET', `/classes/Activity/${saved.id}`, undefined, { 'X-Parse-Master-Key': s.masterKey });
  assert.deepEqual(raw.body.photo, { __type: 'Pointer', className: 'Photo', objectId: 'undefined' });
  // Through the adapter, as Parse Server calls it with an undefined objectId.
  const adapter = s.db.getAdapter();
  const schema = { fields: { photo: { type: 'Pointer', targetClass: 'Photo' } } };
  const rows = await adapter.find('Activity', schema, { photo: { __type: 'Pointer', className: 'Photo', objectId: undefined } }, {});
  assert.deepEqual(rows.map(o => o.objectId), [saved.id]);
});

test('objects keep the key order they were saved with, as MongoDB keeps it', async () => {
  const saved = await new Parse.Object('Ordered', { info: { token: 't', expiry: 5, nested: { z: 1, a: 2 } }, list: [{ b: 1, a: 2 }] }).save();
  const back = await new Parse.Query('Ordered').get(saved.id);
  assert.deepEqual(Object.keys(back.get('info')), ['token', 'expiry', 'nested']);
  assert.deepEqual(Object.keys(back.get('info').nested), ['z', 'a']);
  assert.deepEqual(Object.keys(back.get('list')[0]), ['b', 'a']);
  // A key set later through a nested path comes last, as MongoDB appends it.
  back.set('info.added', true);
  await back.save();
  const again = await new Parse.Query('Ordered').get(saved.id);
  assert.deepEqual(Object.keys(again.get('info')), ['token', 'expiry', 'nested', 'added']);
});
