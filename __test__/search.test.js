// Geo, text and substring queries cost what they return (issue 34), as a Parse app makes them:
// indexes declared with the class through Parse's schema API (`2dsphere`, `text`, and
// `trigram`, which Parse passes through to the adapter), each query shape answering a handful
// of rows, at 300 and at 3,000 objects: at most 2 read units per row + 5, and no more at
// 3,000 than at 300.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startStack } = require('./helpers');

let s;
let Parse;
let adapter;
const M = { useMasterKey: true };
const SPOT = { latitude: 48.95, longitude: 2.4 };

before(async () => {
  // Automatic indexes off: their back-fills would count in the units measured here.
  s = await startStack({ adapterOptions: { autoIndex: false } });
  Parse = s.Parse;
  adapter = s.db.getAdapter();
  const schema = new Parse.Schema('Place');
  schema.addGeoPoint('loc');
  schema.addString('body');
  schema.addString('name');
  schema.addArray('tags');
  schema.addIndex('loc_geo', { loc: '2dsphere' });
  schema.addIndex('body_text', { body: 'text' });
  schema.addIndex('name_tri', { name: 'trigram' });
  schema.addIndex('by_tags', { tags: 1 });
  await schema.save();
});
after(async () => {
  await s.stop();
});

/** A deterministic pseudo-random number in [0, 1) for object `i` and salt `k`. */
function rnd(i, k) {
  const x = Math.sin(i * 12.9898 + k * 78.233) * 43758.5453;
  return x - Math.floor(x);
}

/** Objects `from`..`to`: five special ones (`i < 5`) near SPOT, with the word, the name and
 * the tag pair the queries look for; the others spread over a city, 2 km and more from SPOT. */
function objects(from, to) {
  const out = [];
  for (let i = from; i < to; i++) {
    const special = i < 5;
    let lat = 48.8 + rnd(i, 1) * 0.2;
    let lng = 2.25 + rnd(i, 2) * 0.2;
    if (special) {
      lat = SPOT.latitude + (i - 2) * 0.0004;
      lng = SPOT.longitude + (i - 2) * 0.0003;
    } else if (Math.abs(lat - SPOT.latitude) < 0.02 && Math.abs(lng - SPOT.longitude) < 0.03) {
      lat -= 0.05;
    }
    const o = new Parse.Object('Place');
    o.set({
      loc: new Parse.GeoPoint(lat, lng),
      body: special ? `a quokka near the ${i} river` : `a dog near the ${i % 50} river, ${'x'.repeat(200)}`,
      name: special ? `Wombat-${i} zzq shop` : `item ${i} plain title`,
      tags: special ? ['red', 'rare', `t${i}`] : [`t${i % 40}`, i % 2 ? 'red' : 'blue'],
    });
    out.push(o);
  }
  return out;
}

async function load(from, to) {
  const all = objects(from, to);
  for (let i = 0; i < all.length; i += 50) await Parse.Object.saveAll(all.slice(i, i + 50), M);
}

const spot = () => new Parse.GeoPoint(SPOT.latitude, SPOT.longitude);
const shapes = {
  'near(loc).limit(5)': () => new Parse.Query('Place').near('loc', spot()).limit(5),
  'withinKilometers(loc, 0.5)': () => new Parse.Query('Place').withinKilometers('loc', spot(), 0.5),
  withinGeoBox: () =>
    new Parse.Query('Place').withinGeoBox('loc', new Parse.GeoPoint(48.94, 2.39), new Parse.GeoPoint(48.96, 2.41)),
  withinPolygon: () =>
    new Parse.Query('Place').withinPolygon('loc', [
      new Parse.GeoPoint(48.94, 2.39),
      new Parse.GeoPoint(48.96, 2.39),
      new Parse.GeoPoint(48.96, 2.41),
      new Parse.GeoPoint(48.94, 2.41),
    ]),
  "fullText(body, 'quokka')": () => new Parse.Query('Place').fullText('body', 'quokka'),
  "contains(name, 'ombat')": () => new Parse.Query('Place').contains('name', 'ombat'),
  "endsWith(name, 'zzq shop')": () => new Parse.Query('Place').endsWith('name', 'zzq shop'),
  'matches(name, /wombat-\\d/i)': () => new Parse.Query('Place').matches('name', /wombat-\d/i),
  "startsWith(name, 'Wombat')": () => new Parse.Query('Place').startsWith('name', 'Wombat'),
  // A common value and a rare one: the rare one's entries bound the read (two common values
  // whose intersection is rare read a common one's entries, as a multikey index would).
  "containsAll(tags, ['red', 'rare'])": () => new Parse.Query('Place').containsAll('tags', ['red', 'rare']),
};

async function measure() {
  const out = {};
  for (const [name, make] of Object.entries(shapes)) {
    const before = (await adapter.consumedCapacity()).readUnits;
    const rows = await make().find(M);
    const units = (await adapter.consumedCapacity()).readUnits - before;
    out[name] = { rows: rows.length, units };
  }
  return out;
}

test('geo, text, substring and $all queries read about what they answer, at 300 and at 3,000 objects', async () => {
  await load(0, 300);
  const small = await measure();
  await load(300, 3000);
  const large = await measure();
  for (const name of Object.keys(shapes)) {
    const [a, b] = [small[name], large[name]];
    assert.equal(a.rows, 5, `${name}: ${JSON.stringify(a)}`);
    assert.equal(b.rows, 5, `${name}: ${JSON.stringify(b)}`);
    assert.ok(a.units <= 2 * a.rows + 5, `${name} at 300 objects: ${a.units} read units for ${a.rows} rows`);
    assert.ok(b.units <= 2 * b.rows + 5, `${name} at 3,000 objects: ${b.units} read units for ${b.rows} rows`);
    assert.ok(b.units <= a.units + 2, `${name}: ${a.units} units at 300 objects, ${b.units} at 3,000`);
  }
  console.log(JSON.stringify({ small, large }));
  // The indexes Parse's schema API declared, as the adapter lists them.
  const listed = (await adapter.getIndexes('Place')).map(ix => JSON.stringify(ix.key));
  for (const key of ['{"loc":"2dsphere"}', '{"body":"text"}', '{"name":"trigram"}', '{"tags":1}']) {
    assert.ok(listed.includes(key), `${key} in ${listed}`);
  }
});
