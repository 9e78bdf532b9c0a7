// What geo, text, substring and $all queries cost (issue 34; docs/performance.md table 14).
// (a) Read units of each query shape answering 5 rows, at 300 and 3,000 objects (and at
// BENCH_SEARCH_LARGE objects, e.g. 100000), with the indexes declared (2dsphere, text,
// trigram, the array's own), with none (the class read whole), and with none declared after
// warm-up: on a server that only reads the class (another wrote it), the shape run until the
// automatic index it wants serves it (registry TTL 300 ms here, so builds finish in a second;
// at most 40 runs), side by side.
// (b) Write units per object created with each index kind: a 50-character title's trigrams,
// a 100-word text's words, a GeoPoint's cell; beside a plain object.
// Each on its own dynoxide, through the adapter Parse Server uses. Not a test.
'use strict';
const { startDynamo } = require('../scripts/dynamo-local');
const { DynamoDB } = require('..');

const sizes = [300, 3000, ...(process.env.BENCH_SEARCH_LARGE ? [Number(process.env.BENCH_SEARCH_LARGE)] : [])];
const SPOT = { lat: 48.95, lng: 2.4 };
const fields = { loc: { type: 'GeoPoint' }, body: { type: 'String' }, name: { type: 'String' }, tags: { type: 'Array' } };
const indexes = {
  loc_geo: { loc: '2dsphere' },
  body_text: { body: 'text' },
  name_tri: { name: 'trigram' },
  by_tags: { tags: 1 },
};
const point = (latitude, longitude) => ({ __type: 'GeoPoint', latitude, longitude });

function rnd(i, k) {
  const x = Math.sin(i * 12.9898 + k * 78.233) * 43758.5453;
  return x - Math.floor(x);
}

/** Object `i`: the first five near SPOT with the searched word, name and tag; the others
 * spread over a city, 2 km and more from SPOT. */
function object(i) {
  const special = i < 5;
  let lat = 48.8 + rnd(i, 1) * 0.2;
  let lng = 2.25 + rnd(i, 2) * 0.2;
  if (special) [lat, lng] = [SPOT.lat + (i - 2) * 0.0004, SPOT.lng + (i - 2) * 0.0003];
  else if (Math.abs(lat - SPOT.lat) < 0.02 && Math.abs(lng - SPOT.lng) < 0.03) lat -= 0.05;
  return {
    objectId: `o${i}`,
    loc: point(lat, lng),
    body: special ? `a quokka near the ${i} river` : `a dog near the ${i % 50} river, ${'x'.repeat(200)}`,
    name: special ? `Wombat-${i} zzq shop` : `item ${i} plain title`,
    tags: special ? ['red', 'rare', `t${i}`] : [`t${i % 40}`, i % 2 ? 'red' : 'blue'],
  };
}

const shapes = {
  'near, limit 5': [{ loc: { $nearSphere: point(SPOT.lat, SPOT.lng) } }, { limit: 5 }],
  'within 0.5 km': [{ loc: { $nearSphere: point(SPOT.lat, SPOT.lng), $maxDistance: 0.5 / 6371 } }, { limit: 100 }],
  'within a box': [{ loc: { $within: { $box: [point(48.94, 2.39), point(48.96, 2.41)] } } }, {}],
  'within a polygon': [{ loc: { $geoWithin: { $polygon: [[2.39, 48.94], [2.39, 48.96], [2.41, 48.96], [2.41, 48.94]] } } }, {}],
  '$text quokka': [{ body: { $text: { $search: { $term: 'quokka' } } } }, {}],
  'contains ombat': [{ name: { $regex: '\\Qombat\\E' } }, {}],
  'endsWith zzq shop': [{ name: { $regex: '\\Qzzq shop\\E$' } }, {}],
  'matches /wombat-\\d/i': [{ name: { $regex: 'wombat-\\d', $options: 'i' } }, {}],
  'containsAll red, rare': [{ tags: { $all: ['red', 'rare'] } }, {}],
};

process.env.PSD_REGISTRY_TTL_MS = process.env.PSD_REGISTRY_TTL_MS || '300';

/** `mode`: 'declared', 'none' or 'auto' (none declared, automatic indexes on a reader). */
async function measure(n, mode) {
  const dynamo = await startDynamo({ rules: false });
  try {
    const options = { endpoint: dynamo.endpoint, region: 'us-east-1', autoIndex: false };
    const table = `sc${n}${mode}${process.pid}`;
    const writer = new DynamoDB(table, options).getAdapter();
    const schema = { className: 'Place', fields };
    await writer.createClass('Place', mode === 'declared' ? { ...schema, indexes } : schema);
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        for (let i = next++; i < n; i = next++) await writer.createObject('Place', schema, object(i));
      })
    );
    const adapter = mode === 'auto' ? new DynamoDB(table, { ...options, autoIndex: true }).getAdapter() : writer;
    const out = {};
    for (const [name, [q, opts]] of Object.entries(shapes)) {
      let last;
      for (let run = 0; run < (mode === 'auto' ? 40 : 1); run++) {
        const before = (await adapter.consumedCapacity()).readUnits;
        const rows = await adapter.find('Place', schema, q, opts);
        last = { rows: rows.length, units: (await adapter.consumedCapacity()).readUnits - before, runs: run + 1 };
        if (last.units <= 2 * last.rows + 5) break;
        await new Promise(r => setTimeout(r, 250));
      }
      out[name] = last;
    }
    return out;
  } finally {
    await dynamo.stop();
  }
}

async function writeUnits() {
  const dynamo = await startDynamo({ rules: false });
  try {
    const adapter = new DynamoDB(`sw${process.pid}`, { endpoint: dynamo.endpoint, region: 'us-east-1', autoIndex: false }).getAdapter();
    const words = 'coffee shop tea cream river quokka wombat dog cat bird'.split(' ');
    const text = i => Array.from({ length: 100 }, (_, k) => `${words[(i + k) % 10]}${k}`).join(' ');
    const kinds = {
      'no index': [{}, i => ({ title: `a title of about fifty characters, number ${i}` })],
      'trigram (50-character title)': [{ t: { title: 'trigram' } }, i => ({ title: `a title of about fifty characters, number ${i}` })],
      'text (100 words)': [{ t: { body: 'text' } }, i => ({ body: text(i) })],
      'geo (a GeoPoint)': [{ t: { loc: '2dsphere' } }, i => ({ loc: point(48 + i / 1000, 2) })],
    };
    const out = {};
    let c = 0;
    for (const [kind, [ix, make]] of Object.entries(kinds)) {
      const className = `W${c++}`;
      const schema = { className, fields: { title: { type: 'String' }, body: { type: 'String' }, loc: { type: 'GeoPoint' } } };
      await adapter.createClass(className, { ...schema, indexes: ix });
      await adapter.count(className, schema, {});
      const before = (await adapter.consumedCapacity()).writeUnits;
      for (let i = 0; i < 20; i++) await adapter.createObject(className, schema, { objectId: `w${i}`, ...make(i) });
      await adapter.count(className, schema, {});
      out[kind] = ((await adapter.consumedCapacity()).writeUnits - before) / 20;
    }
    return out;
  } finally {
    await dynamo.stop();
  }
}

(async () => {
  const results = {};
  for (const n of sizes) {
    results[n] = { declared: await measure(n, 'declared'), none: await measure(n, 'none'), auto: await measure(n, 'auto') };
  }
  console.log('(a) read units per query (rows): indexes declared | none | none declared, after warm-up (runs)');
  const at = n => n.toLocaleString('en');
  console.log(`| query | ${sizes.map(n => `${at(n)}: declared | none | warmed up`).join(' | ')} |`);
  console.log(`|---|${sizes.map(() => '---|---|---').join('|')}|`);
  for (const name of Object.keys(shapes)) {
    const cells = sizes.map(n => {
      const d = results[n].declared[name];
      const x = results[n].none[name];
      const w = results[n].auto[name];
      return `${d.units} (${d.rows}) | ${x.units} | ${w.units} (${w.runs})`;
    });
    console.log(`| ${name} | ${cells.join(' | ')} |`);
  }
  console.log('(b) write units per object created');
  for (const [kind, units] of Object.entries(await writeUnits())) console.log(`| ${kind} | ${units.toFixed(1)} |`);
})().catch(e => {
  console.error(e);
  process.exit(1);
});
