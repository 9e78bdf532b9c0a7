// Moving an app in (issue 23, table 9): `import-from` of a mongodump holding one class of
// BENCH_IMPORT_OBJECTS objects (100,000 by default; ~300 B each, one declared index) into
// dynoxide, against creating the same objects one by one through the adapter's createObject
// (what a copy through Parse's REST API amounts to; the first BENCH_IMPORT_ONE_BY_ONE of them,
// 5,000), side by side in one run: objects per second and write units per object. Not a test.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startDynamo, freePort } = require('../scripts/dynamo-local');
const { DynamoDB } = require('..');
const { importFrom } = require('../bin/import-from');

const total = Number(process.env.BENCH_IMPORT_OBJECTS || 100000);
const oneByOne = Math.min(total, Number(process.env.BENCH_IMPORT_ONE_BY_ONE || 5000));
const quiet = { info() {}, warn() {}, error() {} };

// A mongodump of class Post as MongoStorageAdapter stores it.
function writeDump(dir) {
  const BSON = require('bson');
  const db = path.join(dir, 'app');
  fs.mkdirSync(db, { recursive: true });
  const schema = { _id: 'Post', title: 'string', n: 'number', tags: 'array', author: '*_User', _metadata: { indexes: { by_n: { n: 1 } }, class_permissions: {} } };
  fs.writeFileSync(path.join(db, '_SCHEMA.bson'), BSON.serialize(schema));
  const out = fs.openSync(path.join(db, 'Post.bson'), 'w');
  for (let i = 0; i < total; i += 1000) {
    const docs = [];
    for (let k = i; k < Math.min(total, i + 1000); k++) {
      const at = new Date(Date.UTC(2025, 0, 1) + k * 1000);
      docs.push(BSON.serialize({ _id: `p${String(k).padStart(8, '0')}`, title: `post number ${k} of the benchmark`, n: k % 1000, tags: ['a', `t${k % 7}`], _p_author: `_User$u${k % 100}`, _created_at: at, _updated_at: at, _rperm: ['*'], _wperm: [], _acl: { '*': { r: true } } }));
    }
    fs.writeSync(out, Buffer.concat(docs));
  }
  fs.closeSync(out);
  return dir;
}

(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'psd-import-bench-'));
  const dynamo = await startDynamo({ port: await freePort() });
  try {
    const dump = writeDump(dir);
    const bulk = new DynamoDB(`ib${process.pid}`, { endpoint: dynamo.endpoint, region: 'us-east-1', autoIndex: false, logger: quiet }).getAdapter();
    let t = Date.now();
    const report = await importFrom(dump, bulk, { classes: ['Post'] });
    const bulkSeconds = (Date.now() - t) / 1000;
    const bulkUnits = (await bulk.consumedCapacity()).writeUnits;
    const imported = report.classes.find(c => c.className === 'Post').objects;

    // The same objects one by one (as Parse's REST API would create them): the first `oneByOne`.
    const single = new DynamoDB(`is${process.pid}`, { endpoint: dynamo.endpoint, region: 'us-east-1', autoIndex: false, logger: quiet }).getAdapter();
    const { openSource } = require('../bin/import-from');
    const src = openSource(dump);
    const [schema] = (await src.schemas()).filter(s => s.className === 'Post');
    await single.createClass('Post', { ...schema, indexes: { by_n: { n: 1 } } });
    const page = await src.page('Post', schema, 0, oneByOne);
    const before = (await single.consumedCapacity()).writeUnits;
    t = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < page.objects.length) {
          const o = page.objects[next++];
          await single.createObject('Post', schema, { ...o, createdAt: { __type: 'Date', iso: o.createdAt }, updatedAt: { __type: 'Date', iso: o.updatedAt } });
        }
      })
    );
    const singleSeconds = (Date.now() - t) / 1000;
    const singleUnits = (await single.consumedCapacity()).writeUnits - before;
    console.log(`\nimport of one class (mongodump, ~300 B objects, one index) into dynoxide:`);
    console.log('| how | objects | seconds | objects/s | write units per object |');
    console.log('|---|---|---|---|---|');
    console.log(`| import-from (BatchWriteItem) | ${imported.toLocaleString('en')} | ${bulkSeconds.toFixed(1)} | ${Math.round(imported / bulkSeconds).toLocaleString('en')} | ${(bulkUnits / imported).toFixed(2)} |`);
    console.log(`| createObject one by one (32 at once) | ${oneByOne.toLocaleString('en')} | ${singleSeconds.toFixed(1)} | ${Math.round(oneByOne / singleSeconds).toLocaleString('en')} | ${(singleUnits / oneByOne).toFixed(2)} |`);
    console.log(`ratio: import-from ${(imported / bulkSeconds / (oneByOne / singleSeconds)).toFixed(1)}x the objects/s, ${((singleUnits / oneByOne) / (bulkUnits / imported)).toFixed(1)}x fewer write units per object (bulk units include the recount and the marks)`);
    await bulk._call('admin.deleteTable');
    await single._call('admin.deleteTable');
  } finally {
    await dynamo.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
})().catch(e => {
  console.error(e);
  process.exit(1);
});
