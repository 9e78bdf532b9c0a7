// A Parse app's workload through Parse Server and the JS SDK while the fault proxy breaks a
// share of the DynamoDB requests, then the checks that must hold once the faults stop: every
// acknowledged write is there, increments are exact, a username belongs to one user at most,
// AddUnique kept a set, transactional batches are whole or absent, deleted objects are gone,
// relations hold what was added, the table's consistency check finds nothing, and indexed
// queries answer what a filter over all objects answers. Used by faults-workload.test.js
// (short, in npm test) and tests/stress/faults.sh (long).
'use strict';
const assert = require('node:assert/strict');
const { startDynamo } = require('../scripts/dynamo-local');
const { FaultProxy, KINDS } = require('./fault-proxy');
const { startStack } = require('./helpers');

/** Runs `f` until it succeeds (setup that must happen despite faults). */
async function surely(f, tries = 30) {
  for (let i = 0; ; i++) {
    try {
      return await f();
    } catch (e) {
      if (i >= tries) throw e;
    }
  }
}

/** Runs the promises, answering [{ok, value|error}] for each. */
async function settle(ps) {
  return (await Promise.allSettled(ps)).map(r => (r.status === 'fulfilled' ? { ok: true, value: r.value } : { ok: false, error: r.reason }));
}

/**
 * Runs the workload with `seed` (fault choices) and `scale` (how much of everything).
 * Answers {counts, requests, totals}.
 */
async function runWorkload({ seed = 1, rate = 0.1, scale = 1, log = () => {} } = {}) {
  const dynamo = await startDynamo();
  const proxy = await new FaultProxy({ target: dynamo.endpoint, seed, rate, slowMs: 1200 }).start();
  const table = `faults${seed}x${Date.now().toString(36)}`;
  proxy.enabled = false; // Parse Server's start (its schema and index set-up) first
  // Parse Server caches schemas in one module-wide cache, whichever server asks: a new table
  // must not inherit the previous run's classes.
  require('parse-server/lib/Adapters/Cache/SchemaCache').default.clear();
  const s = await startStack(
    { appId: `faults-${table}`, adapterOptions: { timeoutMs: 10000, maxAttempts: 10, autoIndex: { minUnits: 3, ratio: 2 } } },
    { dynamo: { endpoint: proxy.endpoint }, table }
  );
  const Parse = s.Parse;
  const ref = (className, objectId) => Parse.Object.fromJSON({ className, objectId });
  const n = k => Math.max(2, Math.round(k * scale));
  const totals = { ops: 0, acked: 0, failed: 0 };
  const tally = results => {
    for (const r of results) {
      totals.ops++;
      if (r.ok) totals.acked++;
      else totals.failed++;
    }
    return results;
  };
  try {
    // Objects the workload changes, made before the faults start.
    const counter = await new Parse.Object('Counter', { n: 0, tags: [] }).save();
    const doomed = await Parse.Object.saveAll(Array.from({ length: n(10) }, (_, i) => new Parse.Object('Doomed', { i })));
    const folder = await new Parse.Object('Folder', { name: 'f' }).save();
    const members = await Parse.Object.saveAll(Array.from({ length: n(10) }, (_, i) => new Parse.Object('Member', { i })));
    await Parse.Object.saveAll(Array.from({ length: n(60) }, (_, i) => new Parse.Object('Seed', { k: `k${i % 5}`, n: i, j: `j${i}` })));
    const seedItems = await Parse.Object.saveAll(Array.from({ length: n(30) }, (_, i) => new Parse.Object('Item', { k: `k${i % 5}`, n: i, j: `j${i % 3}` })));
    const adapter = s.db.getAdapter();
    proxy.enabled = true;

    const names = Array.from({ length: n(8) }, (_, i) => `user${seed}_${i}`);
    // Three sign-ups race for each username (and two for each email).
    const signups = names.flatMap(name =>
      [0, 1, 2].map(k =>
        s.rest('POST', '/users', { username: name, password: 'pw', email: `${name}.${k % 2}@example.com` }, { 'X-Parse-Installation-Id': `i-${name}-${k}` }).then(r => {
          if (r.status !== 201) throw new Error(`sign-up ${name}: ${JSON.stringify(r.body)}`);
          return { name, id: r.body.objectId, email: `${name}.${k % 2}@example.com`, token: r.body.sessionToken };
        })
      )
    );
    const increments = Array.from({ length: n(30) }, () => {
      const c = ref('Counter', counter.id);
      c.increment('n');
      return c.save();
    });
    const tagValues = Array.from({ length: n(16) }, (_, i) => `v${i % 6}`);
    const addUniques = tagValues.map(v => {
      const c = ref('Counter', counter.id);
      c.addUnique('tags', v);
      return c.save().then(() => v);
    });
    const pairs = Array.from({ length: n(16) }, (_, i) =>
      s
        .rest('POST', '/batch', {
          transaction: true,
          requests: [0, 1].map(half => ({ method: 'POST', path: '/parse/classes/Pair', body: { pair: i, half } })),
        })
        .then(r => {
          if (r.status !== 200 || !Array.isArray(r.body) || r.body.some(x => !x.success)) throw new Error(`batch ${i}: ${JSON.stringify(r.body)}`);
          return i;
        })
    );
    const deletes = doomed.map(o => o.destroy().then(() => o.id));
    const adds = members.map(m => {
      const f = ref('Folder', folder.id);
      f.relation('members').add(m);
      return f.save().then(() => m.id);
    });
    const creates = Array.from({ length: n(30) }, (_, i) => new Parse.Object('Item', { k: `k${i % 5}`, n: 100 + i, j: `j${i % 3}` }).save().then(o => o.id));
    // Index work meanwhile: an index declared, one dropped (its entries deleted in batches),
    // and queries that make the adapter build automatic indexes.
    const indexing = [
      adapter.ensureIndex('Item', { fields: {} }, ['k']),
      ...['n', 'j', 'k'].map(f => adapter.ensureIndex('Seed', { fields: {} }, [f]).then(() => adapter.dropIndex('Seed', f))),
    ];
    const reads = [
      ...Array.from({ length: n(20) }, (_, i) => new Parse.Query('Item').equalTo('j', `j${i % 3}`).find()),
      ...Array.from({ length: n(20) }, () => new Parse.Query('Item').containedIn('objectId', seedItems.slice(0, 12).map(o => o.id)).find()),
      ...Array.from({ length: n(10) }, () => new Parse.Query('Item').ascending('n').limit(50).find()),
    ];
    const [su, inc, au, pr, del, ad, cr, ix, rd] = await Promise.all(
      [signups, increments, addUniques, pairs, deletes, adds, creates, indexing, reads].map(settle)
    );
    [su, inc, au, pr, del, ad, cr, ix, rd].forEach(tally);
    // Removes after the adds, still under faults.
    const removable = ad.filter(r => r.ok).map(r => r.value).slice(0, n(4));
    // Log-outs of the users signed up (a session and its token's sentinel, one transaction).
    const lo = tally(
      await settle(
        su
          .filter(r => r.ok)
          .map(({ value }) =>
            s.rest('POST', '/logout', {}, { 'X-Parse-Session-Token': value.token }).then(r => {
              if (r.status !== 200) throw new Error(`log-out ${value.name}: ${JSON.stringify(r.body)}`);
              return value.token;
            })
          )
      )
    );
    const rm = tally(
      await settle(
        removable.map(id => {
          const f = ref('Folder', folder.id);
          f.relation('members').remove(ref('Member', id));
          return f.save().then(() => id);
        })
      )
    );
    proxy.enabled = false;
    if (process.env.PSD_DEBUG) {
      const names = ['signups', 'increments', 'addUniques', 'pairs', 'deletes', 'adds', 'creates', 'indexing', 'reads', 'removes'];
      [su, inc, au, pr, del, ad, cr, ix, rd, rm].forEach((rs, i) => rs.filter(r => !r.ok).slice(0, 2).forEach(r => console.log('FAILED', names[i], r.error && (r.error.message || r.error))));
    }
    log(`seed ${seed}: ${proxy.requests} requests ${JSON.stringify(proxy.ops)}, faults ${JSON.stringify(proxy.counts)}, ops ${JSON.stringify(totals)}`);

    // ---- What must hold, read without faults ----
    const M = { useMasterKey: true };
    const ok = rs => rs.filter(r => r.ok).map(r => r.value);
    const failed = rs => rs.filter(r => !r.ok).length;
    // Each username belongs to one user at most; every acknowledged sign-up is that user.
    const users = await new Parse.Query(Parse.User).limit(1000).find(M);
    const byName = new Map();
    for (const u of users) byName.set(u.get('username'), [...(byName.get(u.get('username')) || []), u.id]);
    for (const [name, ids] of byName) assert.equal(ids.length, 1, `username ${name} has users ${ids}`);
    for (const { name, id } of ok(su)) assert.deepEqual(byName.get(name), [id], `acknowledged sign-up of ${name}`);
    const byEmail = new Map();
    for (const u of users) if (u.get('email')) byEmail.set(u.get('email'), [...(byEmail.get(u.get('email')) || []), u.id]);
    for (const [email, ids] of byEmail) assert.equal(ids.length, 1, `email ${email} has users ${ids}`);
    // Log-outs: an acknowledged one's token opens nothing any more.
    for (const token of ok(lo)) {
      const me = await s.rest('GET', '/users/me', undefined, { 'X-Parse-Session-Token': token });
      assert.equal(me.body.code, 209, `logged-out token: ${JSON.stringify(me.body)}`);
    }
    // Increments: each acknowledged one counted once; a failed one at most once.
    const c = await new Parse.Query('Counter').get(counter.id, M);
    const acked = ok(inc).length;
    assert.ok(c.get('n') >= acked && c.get('n') <= acked + failed(inc), `n = ${c.get('n')}, ${acked} acknowledged, ${failed(inc)} failed`);
    // AddUnique: a set holding every acknowledged value.
    const tags = c.get('tags');
    assert.equal(new Set(tags).size, tags.length, `tags ${tags} repeat`);
    for (const v of ok(au)) assert.ok(tags.includes(v), `acknowledged tag ${v}`);
    for (const t of tags) assert.ok(tagValues.includes(t));
    // Transactional batches: whole or absent; acknowledged ones whole.
    const pairRows = await new Parse.Query('Pair').limit(1000).find(M);
    const perPair = new Map();
    for (const p of pairRows) perPair.set(p.get('pair'), (perPair.get(p.get('pair')) || 0) + 1);
    for (const [pair, count] of perPair) assert.equal(count, 2, `pair ${pair} has ${count} halves`);
    for (const i of ok(pr)) assert.equal(perPair.get(i), 2, `acknowledged batch ${i}`);
    // Deletes: acknowledged ones are gone.
    const left = new Set((await new Parse.Query('Doomed').limit(1000).find(M)).map(o => o.id));
    for (const id of ok(del)) assert.ok(!left.has(id), `deleted ${id} is back`);
    // Relations: every acknowledged add is there unless acknowledged as removed.
    const fetched = await new Parse.Query('Folder').get(folder.id, M);
    const related = new Set((await fetched.relation('members').query().limit(1000).find(M)).map(o => o.id));
    const removed = new Set(ok(rm));
    for (const id of ok(ad)) if (!removed.has(id)) assert.ok(related.has(id), `added member ${id}`);
    for (const id of removed) assert.ok(!related.has(id), `removed member ${id}`);
    // Created items: every acknowledged one is there.
    const allItems = await new Parse.Query('Item').limit(1000).find(M);
    const itemIds = new Set(allItems.map(o => o.id));
    for (const id of ok(cr)) assert.ok(itemIds.has(id), `created item ${id}`);
    // Queries through indexes answer what a filter over every object answers.
    for (const [field, value] of [['k', 'k2'], ['j', 'j1'], ['k', 'k4']]) {
      const got = (await new Parse.Query('Item').equalTo(field, value).limit(1000).find(M)).map(o => o.id).sort();
      const want = allItems.filter(o => o.get(field) === value).map(o => o.id).sort();
      assert.deepEqual(got, want, `${field} = ${value}`);
    }
    const sorted = (await new Parse.Query('Item').ascending('n').limit(1000).find(M)).map(o => o.get('n'));
    assert.deepEqual(sorted, [...sorted].sort((a, b) => a - b));
    // The table's consistency check: nothing orphaned or missing. (Index back-fills started
    // during the run are finished first.)
    const report = await adapter._call('check', false);
    assert.deepEqual(report.problems, [], JSON.stringify(report.problems, null, 1));
    return { counts: { ...proxy.counts }, requests: proxy.requests, totals };
  } finally {
    await s.stop();
    await proxy.stop();
    await dynamo.stop();
  }
}

module.exports = { runWorkload, KINDS, surely };
