// Objects and queries through a real Parse Server and the Parse JS SDK: CRUD, every query
// operator, sort/skip/limit/count over more than DynamoDB's 1 MB page, atomic updates.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startStack, parseServerMajor } = require('./helpers');

let s;
let Parse;
before(async () => {
  s = await startStack();
  Parse = s.Parse;
  const Item = Parse.Object.extend('Item');
  const owner = new Parse.Object('Owner');
  owner.id = 'owner1';
  const objs = [];
  for (let i = 0; i < 12; i++) {
    const o = new Item();
    o.set({
      n: i,
      name: `item-${String(i).padStart(2, '0')}`,
      even: i % 2 === 0,
      tags: [`t${i % 3}`, 'all'],
      when: new Date(Date.UTC(2020, 0, i + 1)),
      nested: { depth: { v: i % 4 } },
      owner: i < 4 ? owner : undefined,
    });
    if (i === 11) o.unset('name');
    objs.push(o);
  }
  await Parse.Object.saveAll(objs, { useMasterKey: true });
});
after(async () => {
  await s.stop();
});

const names = rows => rows.map(r => r.get('n')).sort((a, b) => a - b);
const q = () => new Parse.Query('Item');

test('create, get, update, delete', async () => {
  const o = new Parse.Object('Thing');
  await o.save({ a: 1, b: 'x', list: [1, 2], obj: { k: 'v' } });
  const got = await new Parse.Query('Thing').get(o.id);
  assert.deepEqual([got.get('a'), got.get('b'), got.get('list'), got.get('obj')], [1, 'x', [1, 2], { k: 'v' }]);
  assert.ok(got.createdAt instanceof Date);
  got.set('b', 'y');
  got.unset('a');
  got.set('obj.k2', 'w');
  await got.save();
  const again = await new Parse.Query('Thing').get(o.id);
  assert.equal(again.get('b'), 'y');
  assert.equal(again.get('a'), undefined);
  assert.deepEqual(again.get('obj'), { k: 'v', k2: 'w' });
  assert.ok(again.updatedAt > again.createdAt);
  await again.destroy();
  await assert.rejects(new Parse.Query('Thing').get(o.id), err => err.code === Parse.Error.OBJECT_NOT_FOUND);
});

test('comparison operators', async () => {
  assert.deepEqual(names(await q().equalTo('n', 3).find()), [3]);
  assert.deepEqual(names(await q().notEqualTo('n', 3).lessThan('n', 5).find()), [0, 1, 2, 4]);
  assert.deepEqual(names(await q().greaterThan('n', 9).find()), [10, 11]);
  assert.deepEqual(names(await q().greaterThanOrEqualTo('n', 9).lessThanOrEqualTo('n', 10).find()), [9, 10]);
  assert.deepEqual(names(await q().lessThan('when', new Date(Date.UTC(2020, 0, 3))).find()), [0, 1]);
  assert.deepEqual(names(await q().greaterThan('name', 'item-09').find()), [10]);
});

test('$in, $nin, $exists, $all, arrays, dot paths, pointers', async () => {
  assert.deepEqual(names(await q().containedIn('n', [1, 5, 99]).find()), [1, 5]);
  const many = Array.from({ length: 500 }, (_, i) => i * 2); // far more than DynamoDB's 100 IN operands
  assert.deepEqual(names(await q().containedIn('n', many).find()), [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(names(await q().notContainedIn('n', many).find()), [1, 3, 5, 7, 9, 11]);
  assert.deepEqual(names(await q().doesNotExist('name').find()), [11]);
  assert.equal((await q().exists('name').find()).length, 11);
  assert.deepEqual(names(await q().equalTo('tags', 't1').find()), [1, 4, 7, 10]);
  assert.deepEqual(names(await q().containsAll('tags', ['t2', 'all']).find()), [2, 5, 8, 11]);
  assert.deepEqual(names(await q().equalTo('nested.depth.v', 3).find()), [3, 7, 11]);
  const owner = new Parse.Object('Owner');
  owner.id = 'owner1';
  assert.deepEqual(names(await q().equalTo('owner', owner).find()), [0, 1, 2, 3]);
  const byId = await q().containedIn('objectId', (await q().lessThan('n', 3).find()).map(o => o.id)).find();
  assert.deepEqual(names(byId), [0, 1, 2]);
});

test('strings: startsWith, endsWith, contains, regex, matches case-insensitive', async () => {
  assert.deepEqual(names(await q().startsWith('name', 'item-1').find()), [10]);
  assert.deepEqual(names(await q().endsWith('name', '7').find()), [7]);
  assert.deepEqual(names(await q().contains('name', 'm-0').find()), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(names(await q().matches('name', /ITEM-0[12]$/i).find()), [1, 2]);
  assert.deepEqual(names(await q().startsWith('name', 'item.').find()), [], 'the dot is literal');
});

test('$or, $and, $nor with correct precedence', async () => {
  const a = q().equalTo('n', 1);
  const b = q().equalTo('n', 2);
  assert.deepEqual(names(await Parse.Query.or(a, b).find()), [1, 2]);
  const or = Parse.Query.or(q().lessThan('n', 3), q().greaterThan('n', 9));
  const and = Parse.Query.and(or, q().equalTo('even', true));
  assert.deepEqual(names(await and.find()), [0, 2, 10]);
  const nor = Parse.Query.nor(q().lessThan('n', 10), q().equalTo('n', 11));
  assert.deepEqual(names(await nor.find()), [10]);
});

test('sort on several keys, skip, limit, count, keys', async () => {
  const rows = await q().descending('even').addAscending('n').skip(2).limit(4).find();
  assert.deepEqual(rows.map(r => r.get('n')), [4, 6, 8, 10]);
  assert.equal(await q().equalTo('even', false).count(), 6);
  const picked = await q().select('n').ascending('n').limit(1).find();
  assert.equal(picked[0].get('n'), 0);
  assert.equal(picked[0].get('name'), undefined);
});

test('sort, skip, limit and count over more than 1 MB of data', async () => {
  const pad = 'x'.repeat(4000);
  const objs = [];
  for (let i = 0; i < 300; i++) {
    const o = new Parse.Object('Big');
    o.set({ rank: (i * 37) % 300, pad });
    objs.push(o);
  }
  await Parse.Object.saveAll(objs, { batchSize: 50 });
  assert.equal(await new Parse.Query('Big').count(), 300);
  const page = await new Parse.Query('Big').descending('rank').skip(100).limit(3).find();
  assert.deepEqual(page.map(r => r.get('rank')), [199, 198, 197]);
  const all = await new Parse.Query('Big').limit(1000).find();
  assert.equal(all.length, 300);
});

test('50 parallel increments give the exact total; array ops lose nothing', async () => {
  const c = new Parse.Object('Counter');
  await c.save({ n: 0 });
  await Promise.all(
    Array.from({ length: 50 }, (_, i) => {
      const o = new Parse.Object('Counter');
      o.id = c.id;
      o.increment('n');
      o.addUnique('seen', i % 7);
      o.add('log', i);
      return o.save();
    })
  );
  const got = await new Parse.Query('Counter').get(c.id);
  assert.equal(got.get('n'), 50);
  assert.deepEqual([...got.get('seen')].sort(), [0, 1, 2, 3, 4, 5, 6]);
  assert.equal(got.get('log').length, 50);
  const r = new Parse.Object('Counter');
  r.id = c.id;
  r.remove('seen', 3);
  await r.save();
  assert.ok(!(await new Parse.Query('Counter').get(c.id)).get('seen').includes(3));
});

test('aggregate: $match, $group, $sort, $project, $unwind, $count; unknown stages fail clearly', async () => {
  const byParity = await new Parse.Query('Item').aggregate(
    [
      { $match: { n: { $lt: 10 } } },
      { $group: { _id: '$even', total: { $sum: '$n' }, count: { $sum: 1 }, top: { $max: '$n' } } },
      { $sort: { total: -1 } },
    ],
    { useMasterKey: true }
  );
  assert.deepEqual(byParity, [
    { objectId: false, total: 25, count: 5, top: 9 },
    { objectId: true, total: 20, count: 5, top: 8 },
  ]);
  const months = await new Parse.Query('Item').aggregate(
    [{ $project: { day: { $dayOfMonth: '$when' }, _id: 0 } }, { $sort: { day: 1 } }, { $limit: 2 }],
    { useMasterKey: true }
  );
  assert.deepEqual(months, [{ day: 1 }, { day: 2 }]);
  const tags = await new Parse.Query('Item').aggregate([{ $unwind: '$tags' }, { $count: 'n' }], { useMasterKey: true });
  assert.deepEqual(tags, [{ n: 24 }]);
  await assert.rejects(
    new Parse.Query('Item').aggregate([{ $redact: '$$KEEP' }], { useMasterKey: true }),
    err => err.code === Parse.Error.COMMAND_UNAVAILABLE && /\$redact is not supported/.test(err.message)
  );
});

// Parse Server 9's raw options (8 and 7 have none: they neither take nor forward them), as its
// MongoDB adapter answers them.
test("aggregate with Parse Server 9's rawFieldNames and rawValues", { skip: parseServerMajor < 9 && `Parse Server ${parseServerMajor} has no raw aggregate options` }, async () => {
  // rawFieldNames: the pipeline names fields as MongoDB stores them and the rows come back so.
  const master = { 'X-Parse-Master-Key': s.masterKey };
  const aggregate = (pipeline, options) => s.rest('POST', '/aggregate/Item', { _method: 'GET', pipeline, ...options }, master);
  const raw = await aggregate(
    [{ $match: { _p_owner: 'Owner$owner1' } }, { $project: { _id: 1, _p_owner: 1, _created_at: 1, n: 1 } }, { $sort: { n: 1 } }],
    { rawFieldNames: true }
  );
  assert.equal(raw.status, 200, JSON.stringify(raw.body));
  assert.deepEqual(raw.body.results.map(r => r.n), [0, 1, 2, 3], JSON.stringify(raw.body));
  for (const r of raw.body.results) {
    assert.equal(r._p_owner, 'Owner$owner1');
    assert.equal(typeof r._id, 'string');
    assert.equal(r.objectId, undefined);
    assert.match(r._created_at, /^\d{4}-\d\d-\d\dT/);
  }
  // rawValues: Extended JSON in the pipeline and in the answer.
  const ejson = await aggregate(
    [{ $match: { when: { $gte: { $date: '2020-01-05T00:00:00.000Z' } } } }, { $project: { _id: 0, when: 1 } }, { $sort: { when: 1 } }, { $limit: 2 }],
    { rawValues: true }
  );
  assert.deepEqual(ejson.body.results, [{ when: { $date: '2020-01-05T00:00:00.000Z' } }, { when: { $date: '2020-01-06T00:00:00.000Z' } }], JSON.stringify(ejson.body));
  // false (or absent) is Parse's own form.
  const plain = await aggregate([{ $match: { n: { $lt: 2 } } }, { $project: { when: 1 } }, { $sort: { when: 1 } }], { rawValues: false, rawFieldNames: false });
  assert.deepEqual(plain.body.results.map(r => r.when), [{ __type: 'Date', iso: '2020-01-01T00:00:00.000Z' }, { __type: 'Date', iso: '2020-01-02T00:00:00.000Z' }]);
  assert.ok(plain.body.results.every(r => typeof r.objectId === 'string'));
});

test('pointer fields match plain objectIds; $select on an array of pointers', async () => {
  const author = await new Parse.Object('Author').save();
  const post = await new Parse.Object('Post').save({ author });
  await new Parse.Object('Group').save({ members: [author] });
  const byId = await s.rest('GET', `/classes/Post?where=${encodeURIComponent(JSON.stringify({ author: { $in: [author.id] } }))}`, undefined, { 'X-Parse-Master-Key': s.masterKey });
  assert.deepEqual(byId.body.results.map(r => r.objectId), [post.id]);
  const viaGroup = await new Parse.Query('Post').matchesKeyInQuery('author', 'members', new Parse.Query('Group')).find();
  assert.deepEqual(viaGroup.map(p => p.id), [post.id]);
});

test('$relativeTime compares with dates relative to now', async () => {
  const recent = await s.rest('GET', `/classes/Item?where=${encodeURIComponent(JSON.stringify({ when: { $gt: { $relativeTime: '10 years ago' } } }))}&count=1&limit=0`, undefined, { 'X-Parse-Master-Key': s.masterKey });
  assert.equal(recent.body.count, 12);
  const future = await s.rest('GET', `/classes/Item?where=${encodeURIComponent(JSON.stringify({ when: { $gt: { $relativeTime: 'in 1 day' } } }))}&count=1&limit=0`, undefined, { 'X-Parse-Master-Key': s.masterKey });
  assert.equal(future.body.count, 0);
  const bad = await s.rest('GET', `/classes/Item?where=${encodeURIComponent(JSON.stringify({ when: { $gt: { $relativeTime: 'yesterday' } } }))}`, undefined, { 'X-Parse-Master-Key': s.masterKey });
  assert.equal(bad.body.code, Parse.Error.INVALID_JSON);
});

test('malformed constraints answer INVALID_JSON, as on MongoDB', async () => {
  const res = await s.rest('GET', `/classes/Item?where=${encodeURIComponent(JSON.stringify({ n: { $in: false } }))}`);
  assert.equal(res.body.code, Parse.Error.INVALID_JSON);
  const geo = await s.rest('GET', `/classes/Item?where=${encodeURIComponent(JSON.stringify({ g: { $geoWithin: { $centerSphere: [[-190, -190], 1] } } }))}`);
  // Out-of-range coordinates: code 1 with the reason, as Parse answers on MongoDB.
  assert.equal(geo.body.code, 1);
  assert.match(geo.body.error, /out of bounds/);
});

test('explain shows what DynamoDB does', async () => {
  const res = await s.rest('GET', `/classes/Item?explain=executionStats&where=${encodeURIComponent(JSON.stringify({ n: { $gte: 10 } }))}`, undefined, { 'X-Parse-Master-Key': s.masterKey });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.results.ok, 1);
  assert.equal(res.body.results.queryPlanner.access.operation, 'Query');
  assert.match(res.body.results.queryPlanner.filterExpression, />=/);
  assert.equal(res.body.results.executionStats.nReturned, 2);
  const bad = await s.rest('GET', '/classes/Item?explain=yolo', undefined, { 'X-Parse-Master-Key': s.masterKey });
  assert.equal(bad.body.code, Parse.Error.INVALID_QUERY);
});

test('global config: dotted updates upsert and merge; nested Files keep their URL', async () => {
  const m = { 'X-Parse-Master-Key': s.masterKey };
  const file = { __type: 'File', name: 'f.txt', url: 'http://files.example/f.txt' };
  assert.equal((await s.rest('PUT', '/config', { params: { files: [file] } }, m)).status, 200);
  assert.equal((await s.rest('PUT', '/config', { params: { other: 'x' } }, m)).status, 200);
  const cfg = await s.rest('GET', '/config', undefined, m);
  assert.deepEqual(cfg.body.params, { files: [file], other: 'x' });
});

test('full-text search: $text with case, diacritics, negation and $score order', async () => {
  const subjects = ['coffee', 'Coffee Shopping', 'Baking a cake', 'Café Con Leche', 'coffee and cream', 'Cafe con Leche'];
  await Parse.Object.saveAll(subjects.map(subject => new Parse.Object('Text').set({ subject })));
  const find = async (term, opts = {}) => {
    const q = new Parse.Query('Text');
    q.fullText('subject', term, opts);
    return (await q.find()).map(o => o.get('subject')).sort();
  };
  assert.deepEqual(await find('coffee'), ['Coffee Shopping', 'coffee', 'coffee and cream']);
  assert.deepEqual(await find('Coffee', { caseSensitive: true }), ['Coffee Shopping']);
  assert.deepEqual(await find('CAFÉ'), ['Cafe con Leche', 'Café Con Leche']);
  assert.deepEqual(await find('coffee -cream'), ['Coffee Shopping', 'coffee']);
  const ranked = new Parse.Query('Text');
  ranked.fullText('subject', 'coffee');
  ranked.select('$score', 'subject');
  ranked.ascending('$score');
  const rows = await ranked.find();
  // MongoDB's text score: 1 for "coffee" alone, 0.75 for one word of two ("and" is a stop word).
  assert.equal(rows[0].get('subject'), 'coffee');
  assert.deepEqual(rows.slice(1).map(r => r.get('subject')).sort(), ['Coffee Shopping', 'coffee and cream']);
  assert.deepEqual(rows.map(r => r.get('score')), [1, 0.75, 0.75]);
});

test('full-text search: $language stems the search; the stored text keeps its own language', async () => {
  const posts = [
    { body: 'prepare café e creme' },
    { body: 'preparamos o café' },
    { body: 'café preparado' },
    { body: 'preparamos o bolo', language: 'portuguese' },
  ];
  await Parse.Object.saveAll(posts.map(p => new Parse.Object('Receita').set(p)));
  const q = new Parse.Query('Receita');
  q.fullText('body', 'preparar', { language: 'pt' });
  // As on MongoDB's text index (default language English, `language` overriding it per object).
  assert.deepEqual((await q.find()).map(o => o.get('body')).sort(), ['preparamos o bolo', 'prepare café e creme']);
});
