// What queries cost, as a Parse app makes them (Parse Server + the Parse JS SDK): indexes
// declared with a class's creation are used at once, the feed query reads a compound index,
// an empty count reads the class's counters, and `readPreference('SECONDARY')` halves a read.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startStack } = require('./helpers');

let s;
let Parse;
let adapter;
const authors = [];
before(async () => {
  // Automatic indexes off: their background back-fill would count in the units measured here
  // (they are tested in tests/autoindex.rs).
  s = await startStack({ adapterOptions: { autoIndex: false } });
  Parse = s.Parse;
  adapter = s.db.getAdapter();
  // Indexes added before the class's first save travel with its creation (POST /schemas).
  const schema = new Parse.Schema('Post');
  schema.addString('category');
  schema.addPointer('author', '_User');
  schema.addString('body');
  schema.addIndex('by_category', { category: 1 });
  schema.addIndex('feed', { author: 1, createdAt: -1 });
  await schema.save();
  for (let i = 0; i < 4; i++) {
    const u = new Parse.User();
    u.id = `author${i}`;
    authors.push(u);
  }
  const posts = [];
  for (let i = 0; i < 160; i++) {
    const p = new Parse.Object('Post');
    p.set({ category: `c${i % 16}`, author: authors[i % 4], body: 'x'.repeat(500), n: i });
    posts.push(p);
  }
  // In order, so createdAt grows with n.
  for (const p of posts) await p.save(null, { useMasterKey: true });
});
after(async () => {
  await s.stop();
});

async function readUnits(run) {
  const before = (await adapter.consumedCapacity()).readUnits;
  const out = await run();
  return [out, (await adapter.consumedCapacity()).readUnits - before];
}

test('indexes declared at class creation serve equality at once', async () => {
  const [rows, units] = await readUnits(() => new Parse.Query('Post').equalTo('category', 'c3').find({ useMasterKey: true }));
  assert.equal(rows.length, 10);
  assert.ok(units < 12, `equality on a declared index read ${units} units for 10 rows`);
  const [all, scan] = await readUnits(() => new Parse.Query('Post').equalTo('n', 3).find({ useMasterKey: true }));
  assert.equal(all.length, 1);
  assert.ok(scan > 15, `an unindexed field reads the class (${scan} units)`);
});

test("the feed query reads a page of the author's compound index entries", async () => {
  const feed = () => new Parse.Query('Post').equalTo('author', authors[2]).descending('createdAt').limit(5).find({ useMasterKey: true });
  const [rows, units] = await readUnits(feed);
  assert.deepEqual(rows.map(r => r.get('n')), [158, 154, 150, 146, 142]);
  assert.ok(units < 8, `the feed read ${units} units for 5 rows`);
});

test('an empty count reads the counters, at any size', async () => {
  const [n, units] = await readUnits(() => new Parse.Query('Post').count({ useMasterKey: true }));
  assert.equal(n, 160);
  await new Parse.Query('Post').equalTo('n', 0).first({ useMasterKey: true }).then(o => o.destroy({ useMasterKey: true }));
  const [m, again] = await readUnits(() => new Parse.Query('Post').count({ useMasterKey: true }));
  assert.equal(m, 159);
  assert.ok(units <= 2 && again <= 2, `empty counts read ${units} and ${again} units`);
});

test('readPreference SECONDARY reads eventually consistent: half the units', async () => {
  const q = () => new Parse.Query('Post').greaterThanOrEqualTo('n', 0).limit(1000);
  const [strong, su] = await readUnits(() => q().find({ useMasterKey: true }));
  const [eventual, eu] = await readUnits(() => q().readPreference('SECONDARY').find({ useMasterKey: true }));
  assert.equal(eventual.length, strong.length);
  assert.ok(su > 10 && Math.abs(eu - su / 2) <= 1, `strong ${su} units, eventual ${eu}`);
});
