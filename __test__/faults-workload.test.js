// A Parse app's workload through Parse Server and the JS SDK while a proxy makes DynamoDB's
// real faults (throttling, 500s, transaction conflicts, partial batches, short pages, slow and
// lost answers) on 10% of the requests, for a few seeds; then every acknowledged write is
// there, increments are exact, usernames and emails stay unique, and the table's consistency
// check finds nothing (see fault-workload.js). Each kind of fault must have happened.
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { runWorkload, KINDS } = require('./fault-workload');

test('a workload under injected DynamoDB faults keeps every guarantee', { timeout: 600_000 }, async () => {
  const seen = Object.fromEntries(KINDS.map(k => [k, 0]));
  for (const seed of [11, 12, 13]) {
    const r = await runWorkload({ seed, rate: 0.1, log: m => console.log(m) });
    for (const k of KINDS) seen[k] += r.counts[k];
    assert.ok(r.totals.acked > r.totals.ops / 2, `most operations succeed: ${JSON.stringify(r.totals)}`);
  }
  for (const k of KINDS) assert.ok(seen[k] > 0, `the proxy made no ${k} fault: ${JSON.stringify(seen)}`);
});
