// What each Parse request costs, as an app makes them (Parse Server + the JS SDK, REST, GraphQL,
// Cloud functions, jobs and triggers): every request's DynamoDB units are attributed to its
// route, class and function, and the rows add up to `consumedCapacity()`; a request past
// `costLog` is logged with its queries' plans; `costReport()` prices a month of it, and
// `npx parse-server-dynamodb cost-report` reads the ledgers servers save in the table.
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const path = require('node:path');
const { startStack, masterKey } = require('./helpers');

/** Until the adapter sends nothing more for 600 ms (counters go beside answers). */
async function quiet(adapter) {
  let last = -1;
  for (;;) {
    const { requests } = await adapter.consumedCapacity();
    if (requests === last) return;
    last = requests;
    await new Promise(r => setTimeout(r, 600));
  }
}

test('every request is billed to its route, class and function; the rows add up; costLog tells the dear ones and their plans', { timeout: 120_000 }, async () => {
  const logged = [];
  const logger = { info() {}, warn: m => logged.push(String(m)), error: m => logged.push(String(m)) };
  const s = await startStack({
    graphQL: true,
    adapterOptions: { autoIndex: false, costLog: { readUnits: 8 }, costReport: { saveEverySeconds: 1 }, logger },
    cloud: Parse => {
      Parse.Cloud.define('recent', async () => (await new Parse.Query('Post').descending('createdAt').limit(3).find({ useMasterKey: true })).length);
      Parse.Cloud.beforeSave('Comment', async () => {
        await new Parse.Query('Post').equalTo('n', 1).first({ useMasterKey: true });
      });
      Parse.Cloud.job('tally', async () => {
        await new Parse.Query('Post').count({ useMasterKey: true });
      });
    },
  });
  const { Parse } = s;
  const adapter = s.db.getAdapter();
  try {
    // 20 posts of 3 KB in one batch; reading them all costs ~15 read units.
    const posts = Array.from({ length: 20 }, (_, i) => new Parse.Object('Post', { n: i, body: 'b'.repeat(3000) }));
    await Parse.Object.saveAll(posts, { useMasterKey: true });
    assert.equal((await new Parse.Query('Post').contains('body', 'zz').find()).length, 0);
    assert.equal((await new Parse.Query('Post').get(posts[0].id)).get('n'), 0);
    assert.equal((await s.rest('GET', `/classes/Post/${posts[1].id}`, undefined, { 'X-Parse-Master-Key': masterKey })).body.n, 1);
    assert.equal(await Parse.Cloud.run('recent'), 3);
    await new Parse.Object('Comment', { text: 'hi' }).save();
    const job = await s.rest('POST', '/jobs/tally', {}, { 'X-Parse-Master-Key': masterKey });
    assert.equal(job.status, 200, JSON.stringify(job.body));
    const gql = await fetch(`${s.serverURL.replace(/\/parse$/, '')}/graphql`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Parse-Application-Id': s.appId, 'X-Parse-Master-Key': masterKey },
      body: JSON.stringify({ operationName: 'CountPosts', query: 'query CountPosts { posts(where: { n: { lessThan: 5 } }) { count } }' }),
    });
    const answer = await gql.json();
    assert.equal(answer.data && answer.data.posts.count, 5, JSON.stringify(answer));
    // The job runs after its request answered: wait for it to finish.
    for (let i = 0; i < 50; i++) {
      const st = await new Parse.Query('_JobStatus').first({ useMasterKey: true });
      if (st && st.get('status') === 'succeeded') break;
      await new Promise(r => setTimeout(r, 100));
    }
    await quiet(adapter);

    const capacity = await adapter.consumedCapacity();
    const report = await s.db.costReport({ top: 500, region: 'us-east-1' });
    const sum = k => report.rows.reduce((n, r) => n + r[k], 0);
    assert.ok(Math.abs(sum('readUnits') - capacity.readUnits) < 1e-6, `${sum('readUnits')} read units in rows, ${capacity.readUnits} consumed`);
    assert.ok(Math.abs(sum('writeUnits') - capacity.writeUnits) < 1e-6, `${sum('writeUnits')} write units in rows, ${capacity.writeUnits} consumed`);
    assert.equal(report.readUnits, capacity.readUnits);
    const row = (route, key = {}) => {
      const r = report.rows.find(x => x.route === route && Object.entries(key).every(([k, v]) => x[k] === v));
      assert.ok(r, `no row ${route} ${JSON.stringify(key)}: ${JSON.stringify(report.rows.map(x => [x.route, x.class, x.function]))}`);
      return r;
    };
    // The JS SDK sends a query as POST {_method: 'GET'}: it is the GET route.
    assert.ok(row('POST /batch').writeUnits >= 20 * 3, 'the batch wrote 20 posts of 3 KB');
    // (the SDK's get() is a query too)
    assert.equal(row('GET /classes/:className', { class: 'Post' }).requests, 2, JSON.stringify(report.rows));
    assert.ok(row('GET /classes/:className/:objectId', { class: 'Post' }).readUnits > 0);
    assert.ok(row('POST /functions/:functionName', { function: 'recent' }).readUnits > 0);
    // The beforeSave trigger's query is the save's.
    const save = row('POST /classes/:className', { class: 'Comment' });
    assert.ok(save.readUnits > 0 && save.writeUnits > 0, JSON.stringify(save));
    // The job's count ran after its request had answered: still its.
    assert.ok(row('POST /jobs/:jobName', { function: 'tally' }).readUnits > 0);
    assert.ok(row('POST /graphql', { function: 'CountPosts' }).readUnits > 0);
    // Prices: a month at this rate, at us-east-1's $0.125 / $0.625 per million.
    const month = (730 * 3600) / report.seconds / 1e6;
    const expected = (report.readUnits * 0.125 + report.writeUnits * 0.625) * month;
    assert.ok(Math.abs(report.dollarsPerMonth - expected) <= Math.max(1e-4, expected * 0.01), `${report.dollarsPerMonth} vs ${expected}`);

    // Each request that read 8 units or more was logged, with the plan of its queries: the
    // full reads of Post (~16 units) among them; the key reads and the job's count were not.
    const lines = logged.filter(m => m.includes('cost over costLog')).map(m => JSON.parse(m.slice(m.indexOf('{'))));
    const line = lines.find(l => l.route === 'GET /classes/:className');
    assert.ok(line, JSON.stringify(lines));
    assert.deepEqual([line.class, line.status, line.queries[0].call], ['Post', 200, 'find']);
    assert.deepEqual([line.queries[0].plan.operation, line.queries[0].plan.partition], ['Query', 'Post']);
    assert.ok(line.readUnits >= 8 && line.queries[0].readUnits === line.readUnits, JSON.stringify(line));
    assert.ok(lines.every(l => l.readUnits >= 8), JSON.stringify(lines));
    assert.ok(lines.some(l => l.function === 'CountPosts' && l.queries.some(q => q.call === 'count')));
    assert.ok(!lines.some(l => l.route.endsWith(':objectId') || l.route.startsWith('POST /jobs')), JSON.stringify(lines));

    // The command line reads the ledger this server saved (every second here).
    await new Promise(r => setTimeout(r, 1500));
    const cli = path.join(__dirname, '..', 'bin', 'cli.js');
    const out = await new Promise((resolve, reject) =>
      execFile(process.execPath, [cli, 'cost-report', s.table, '--endpoint', s.dynamo.endpoint, '--region', 'us-east-1', '--json'], (e, stdout, stderr) => (e ? reject(new Error(stderr || e.message)) : resolve(stdout)))
    );
    const saved = JSON.parse(out);
    assert.equal(saved.servers, 1);
    assert.ok(saved.rows.some(r => r.route === 'POST /functions/:functionName' && r.function === 'recent'));
    assert.ok(saved.readUnits > 0 && saved.readUnits <= capacity.readUnits + 5);
    const text = await new Promise((resolve, reject) =>
      execFile(process.execPath, [cli, 'cost-report', s.table, '--endpoint', s.dynamo.endpoint, '--region', 'eu-central-1'], (e, stdout, stderr) => (e ? reject(new Error(stderr || e.message)) : resolve(stdout)))
    );
    assert.match(text, /eu-central-1 on-demand, \$0\.1525 per million reads, \$0\.7625 per million writes/);
    assert.match(text, /POST \/batch/);
  } finally {
    await s.stop();
  }
});

test('maxReadUnitsPerQuery through Parse: an indexed query passes, a read of the whole class is refused with 140 naming the index', { timeout: 120_000 }, async () => {
  const s = await startStack({ adapterOptions: { autoIndex: false, maxReadUnitsPerQuery: 20 } });
  const { Parse } = s;
  try {
    const schema = new Parse.Schema('Post');
    schema.addNumber('n');
    schema.addString('body');
    schema.addIndex('by_n', { n: 1 });
    await schema.save();
    for (let i = 0; i < 4; i++) await Parse.Object.saveAll(Array.from({ length: 50 }, (_, j) => new Parse.Object('Post', { n: i * 50 + j, body: 'b'.repeat(1000) })), { useMasterKey: true });
    assert.equal((await new Parse.Query('Post').equalTo('n', 7).find()).length, 1);
    assert.equal(await new Parse.Query('Post').lessThan('n', 3).count(), 3);
    await assert.rejects(new Parse.Query('Post').contains('body', 'zzz').find(), e => {
      assert.equal(e.code, Parse.Error.EXCEEDED_QUOTA);
      assert.match(e.message, /maxReadUnitsPerQuery \(20\)/);
      assert.match(e.message, /an index \{"body":"trigram"\} on Post would serve it/);
      return true;
    });
    // A path Parse cannot decode is answered, not a crash of the request's labelling.
    const odd = await fetch(`${s.serverURL}/classes/%E0%A4%A`, { headers: { 'X-Parse-Application-Id': s.appId } });
    assert.ok(odd.status >= 200 && odd.status < 600);
  } finally {
    await s.stop();
  }
});

test('costLedger: false: this adapter follows no request, every call lands on (no request), and the rows still add up', { timeout: 60_000 }, async () => {
  const s = await startStack({ adapterOptions: { autoIndex: false, costLedger: false } });
  try {
    await new s.Parse.Object('Note', { text: 'x' }).save();
    assert.equal((await new s.Parse.Query('Note').find()).length, 1);
    await quiet(s.db.getAdapter());
    const report = await s.db.costReport({ top: 100 });
    assert.deepEqual(report.rows.map(r => r.route).sort(), ['(background)', '(no request)']);
    const capacity = await s.db.getAdapter().consumedCapacity();
    assert.ok(Math.abs(report.rows.reduce((n, r) => n + r.readUnits, 0) - capacity.readUnits) < 1e-6);
  } finally {
    await s.stop();
  }
});
