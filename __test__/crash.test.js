// Crash safety: the process running Parse Server on the adapter is killed (SIGKILL) at a
// seeded random moment of a workload (creates on a sharded index, sign-ups racing for names,
// increments, index registrations, back-fills, shardings and drops, a unique field's
// registration), then the adapter starts again on the same table. Nothing acknowledged is
// lost, usernames stay unique, the counter holds every acknowledged increment, and what the
// kill cut off (a back-fill, a sharding, a drop, unique claims) is finished by the next start:
// the consistency check then finds nothing.
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { fork } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startDynamo } = require('../scripts/dynamo-local');
const { DynamoDB } = require('..');

const child = path.join(__dirname, 'crash-child.js');

function run(args, onMessage) {
  const p = fork(child, args, { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env: { ...process.env, PSD_REGISTRY_TTL_MS: '300' } });
  let stderr = '';
  p.stderr.on('data', d => (stderr += d));
  const exited = new Promise(resolve => p.on('exit', (code, signal) => resolve({ code, signal, stderr })));
  if (onMessage) p.on('message', m => onMessage(m, p));
  return exited;
}

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('a process killed mid-workload loses nothing acknowledged; the next start finishes what it cut off', { timeout: 300_000 }, async () => {
  const dynamo = await startDynamo();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'psd-crash-'));
  try {
    let resumed = 0;
    for (const seed of [1, 2, 3]) {
      const random = rng(seed);
      const table = `crash${seed}x${Date.now().toString(36)}`;
      const log = path.join(dir, `${table}.log`);
      const setup = await run([dynamo.endpoint, table, log, 'setup']);
      assert.equal(setup.code, 0, setup.stderr);
      const delay = 1500 + Math.floor(random() * 3000);
      const killed = await run([dynamo.endpoint, table, log, 'work'], (m, p) => {
        if (m === 'working') setTimeout(() => p.kill('SIGKILL'), delay);
      });
      assert.equal(killed.signal, 'SIGKILL', killed.stderr);

      // The next start, on the same table.
      process.env.PSD_REGISTRY_TTL_MS = '300';
      const logs = [];
      const logger = { info: m => logs.push(m), warn: m => logs.push(m), error: m => logs.push(m) };
      const adapter = new DynamoDB(table, { endpoint: dynamo.endpoint, region: 'us-east-1', autoIndex: false, logger }).getAdapter();
      const lines = fs.readFileSync(log, 'utf8').trim().split('\n').map(l => JSON.parse(l));
      const items = lines.filter(l => l.item).map(l => l.item);
      const users = lines.filter(l => l.user);
      const incs = lines.filter(l => l.inc).length;
      assert.ok(items.length + users.length + incs > 0, 'the workload ran before the kill');
      const found = new Set((await adapter.find('Item', { fields: {} }, {}, { limit: 100000 })).map(o => o.objectId));
      for (const id of items) assert.ok(found.has(id), `acknowledged item ${id} (seed ${seed})`);
      const stored = await adapter.find('_User', { fields: {} }, {}, { limit: 100000 });
      const byName = new Map();
      for (const u of stored) byName.set(u.username, [...(byName.get(u.username) || []), u.objectId]);
      for (const [name, ids] of byName) assert.equal(ids.length, 1, `username ${name}: ${ids}`);
      for (const u of users) assert.deepEqual(byName.get(u.user), [u.id]);
      const [counter] = await adapter.find('Counter', { fields: {} }, {}, {});
      // Every acknowledged increment, and at most the one in flight when the process died.
      assert.ok(counter.n >= incs && counter.n <= incs + 1, `n ${counter.n}, ${incs} acknowledged`);
      // The start resumes the cut-off work in the background: the check comes clean.
      let report;
      for (let i = 0; i < 60; i++) {
        report = await adapter._call('check', false);
        const indexes = await adapter.getIndexes('Big');
        if (report.problems.length === 0 && !indexes.some(ix => ix.building || ix.sharding)) break;
        await new Promise(resolve => setTimeout(resolve, 500));
      }
      assert.deepEqual(report.problems, [], `seed ${seed}, killed after ${delay} ms`);
      resumed += logs.filter(m => /resuming/.test(m)).length;
    }
    // The kills did cut work in the middle (else this test would show nothing).
    assert.ok(resumed > 0, 'no kill left index or unique work to resume');
  } finally {
    delete process.env.PSD_REGISTRY_TTL_MS;
    await dynamo.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
