// LiveQuery across servers without Redis (issue 24, item 3): server A saves (its LiveQuery
// publisher is `dynamo.liveQueryAdapter()`: each message a put in the table), server B — another
// process — runs the LiveQuery server on the same adapter, hearing the messages from the table's
// stream; a Parse JS SDK client subscribed on B sees create, update, leave, enter and delete for
// saves made through A, and again after B restarts. Prints the event latency (save answered →
// event) p50/p95.
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { fork } = require('node:child_process');
const { startDynamo, freePort } = require('../scripts/dynamo-local');
const { startStack, javascriptKey } = require('./helpers');

function startB(dynamo, table) {
  const child = fork(path.join(__dirname, 'server-child.js'), [dynamo.endpoint, table, JSON.stringify({ appId: 'lq', liveQueryServer: true })], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr.on('data', d => (stderr += d));
  return new Promise((resolve, reject) => {
    child.once('message', info => resolve({ ...info, stop: () => new Promise(r => { child.once('exit', r); child.send('stop'); }) }));
    child.once('exit', code => reject(new Error(`server B exited ${code}: ${stderr}`)));
  });
}

// The events of `sub` as they come: `next()` answers the next one, with the time it came.
function eventsOf(sub, names) {
  const queue = [];
  let wake = null;
  for (const name of names) {
    sub.on(name, object => {
      queue.push({ name, object, at: Date.now() });
      if (wake) wake();
    });
  }
  return async function next() {
    const deadline = Date.now() + 10_000;
    while (queue.length === 0) {
      if (Date.now() > deadline) throw new Error(`no ${names.join('/')} event within 10 s`);
      await new Promise(r => {
        wake = r;
        setTimeout(r, 200);
      });
    }
    return queue.shift();
  };
}

test('LiveQuery events cross servers through the table: create, update, leave, enter, delete; after a restart too', { timeout: 60_000 }, async () => {
  const dynamo = await startDynamo({ port: await freePort() });
  const table = `lq${process.pid}`;
  const a = await startStack({ appId: 'lq', publish: ['Note'] }, { dynamo, table });
  const { Parse } = a;
  let b = await startB(dynamo, table);
  const latencies = [];
  const events = ['create', 'update', 'enter', 'leave', 'delete'];
  try {
    const client = url => {
      const c = new Parse.LiveQueryClient({ applicationId: 'lq', serverURL: url, javascriptKey });
      c.open();
      return c;
    };
    let lq = client(b.liveQueryURL);
    let sub = lq.subscribe(new Parse.Query('Note').equalTo('tag', 'x'));
    await new Promise(r => sub.on('open', r));
    let next = eventsOf(sub, events);
    const expect = async (save, want) => {
      await save();
      const saved = Date.now();
      const e = await next();
      latencies.push(e.at - saved);
      assert.equal(e.name, want);
      return e.object;
    };
    const note = new Parse.Object('Note', { tag: 'x', n: 1 });
    assert.equal((await expect(() => note.save(), 'create')).get('n'), 1);
    note.set('n', 2);
    assert.equal((await expect(() => note.save(), 'update')).get('n'), 2);
    note.set('tag', 'y');
    await expect(() => note.save(), 'leave');
    note.set('tag', 'x');
    await expect(() => note.save(), 'enter');
    assert.equal((await expect(() => note.destroy(), 'delete')).id, note.id);
    // 20 more creates for the latency figures.
    for (let i = 0; i < 20; i++) await expect(() => new Parse.Object('Note', { tag: 'x', n: i }).save(), 'create');
    await lq.close();

    // B restarts (a new process, a new follower): a new subscription hears A's saves.
    await b.stop();
    b = await startB(dynamo, table);
    lq = client(b.liveQueryURL);
    sub = lq.subscribe(new Parse.Query('Note').equalTo('tag', 'x'));
    await new Promise(r => sub.on('open', r));
    next = eventsOf(sub, events);
    assert.equal((await expect(() => new Parse.Object('Note', { tag: 'x', n: 99 }).save(), 'create')).get('n'), 99);
    await lq.close();
    // A message over 16 MB is logged (one over 400 KB is sent by reference), and the publish (which Parse does not await)
    // resolves: an unhandled rejection would end the server's process.
    const logged = [];
    const { DynamoDB } = require('..');
    const quiet = new DynamoDB(table, { endpoint: dynamo.endpoint, region: 'us-east-1', logger: { info() {}, warn() {}, error: m => logged.push(m) } });
    await quiet.liveQueryAdapter().createPublisher().publish('lqafterSave', 'x'.repeat(16 * 1024 * 1024 + 1));
    assert.match(logged.join('\n'), /LiveQuery message on lqafterSave not published: .*16 MB/);
    const sorted = [...latencies].sort((x, y) => x - y);
    const pct = p => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
    console.log(`# LiveQuery event latency across servers (save answered on A → event on B's client, ${sorted.length} events): p50 ${pct(50)} ms, p95 ${pct(95)} ms`);
  } finally {
    await b.stop();
    await a.stop();
    await dynamo.stop();
  }
});
