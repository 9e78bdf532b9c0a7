// Expired sessions deleted by DynamoDB's TTL, through Parse Server and the JS SDK, on the
// embedded store (whose sweep stands in for DynamoDB's; here every 300 ms): a session past its
// `expiresAt` is answered as Parse answers it (209) before and after TTL deleted it, the other
// sessions stay, and the consistency check finds nothing dangling.
'use strict';
process.env.PSD_TTL_SWEEP_MS = '300';
process.env.PSD_TTL_COUNT_PERIOD_S = '2';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { startStack, masterKey } = require('./helpers');

test('an expired session is deleted with everything kept for it; Parse answers 209 before and after', { timeout: 120_000 }, async () => {
  // Sessions last 3 seconds on this server.
  const s = await startStack({ sessionLength: 3, adapterOptions: { endpoint: 'embedded', embedded: ':memory:' } });
  const adapter = s.db.getAdapter();
  try {
    const ann = await s.signUp('ann');
    const me = token => s.rest('GET', '/users/me', undefined, { 'X-Parse-Session-Token': token });
    assert.equal((await me(ann.token)).status, 200);
    const sessions = async () => (await s.rest('GET', '/classes/_Session', undefined, { 'X-Parse-Master-Key': masterKey })).body.results;
    assert.equal((await sessions()).length, 1);
    // Past its expiry, still stored: Parse refuses it.
    await new Promise(r => setTimeout(r, 3500));
    const expired = await me(ann.token);
    assert.equal(expired.body.code, 209, JSON.stringify(expired.body));
    // A new session (bob's) lives on while TTL deletes ann's, its token's sentinel and entries.
    const bob = await s.signUp('bob');
    let left;
    for (let i = 0; i < 60; i++) {
      left = await sessions();
      if (left.length === 1) break;
      await new Promise(r => setTimeout(r, 250));
    }
    assert.deepEqual(left.map(x => x.user.objectId), [bob.id]);
    const gone = await me(ann.token);
    assert.equal(gone.body.code, 209, JSON.stringify(gone.body));
    assert.equal((await me(bob.token)).status, 200);
    const report = await adapter._call('check', false);
    assert.deepEqual([report.problems, report.leftovers], [[], []], JSON.stringify(report));
  } finally {
    await s.stop();
  }
});
