// The partition model the fault proxy uses (issue 22): key ranges with DynamoDB's per-range
// limits (scaled), throttling past them, and split for heat, on a simulated clock. Random keys
// split and spread, so a key takes more than one range's limit; keys that only grow stay
// capped at one range's limit however long the load lasts.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { PartitionModel } = require('./partition-model');

/** Writes of 1 unit, one every `everyMs` for `seconds`; the served writes of the last 10 s, per second. */
function drive(model, clock, keyOf, { seconds = 60, everyMs = 5 } = {}) {
  let served = 0;
  let n = 0;
  for (clock.now = 0; clock.now < seconds * 1000; clock.now += everyMs) {
    const ok = model.consume('~i:Post:createdAt', keyOf(n++), { write: 1 });
    if (ok && clock.now >= (seconds - 10) * 1000) served++;
  }
  return served / 10;
}

const limit = 1000 / 20; // write units per second of one range, at the default scale

test('random keys split for heat and spread: the key takes several ranges worth', () => {
  const clock = { now: 0 };
  const model = new PartitionModel({ clock: () => clock.now });
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648).toString(36).slice(2);
  // Demand: 200 writes/s, four ranges' worth.
  const perSecond = drive(model, clock, random);
  assert.ok(model.splits >= 2, `${model.splits} splits`);
  assert.ok(perSecond > 2.5 * limit, `${perSecond} writes/s served`);
});

test('keys that only grow stay capped at one range: no split relieves them', () => {
  const clock = { now: 0 };
  const model = new PartitionModel({ clock: () => clock.now });
  const growing = n => String(n).padStart(12, '0');
  const perSecond = drive(model, clock, growing);
  assert.ok(perSecond <= limit * 1.05, `${perSecond} writes/s served`);
  assert.ok(perSecond >= limit * 0.9, `${perSecond} writes/s served`);
  assert.ok(model.throttled > 0);
  assert.equal(model.splits, 0);
});

test('a refused request charges nothing; a range refills in a second; reads owe what they read', () => {
  const clock = { now: 0 };
  const model = new PartitionModel({ clock: () => clock.now, scale: 1 / 100 });
  // 10 write units a second at 1/100.
  assert.equal(model.consume('p', 'a', { write: 10 }), true);
  assert.equal(model.consume('p', 'b', { write: 1 }), false);
  clock.now = 500;
  assert.equal(model.consume('p', 'c', { write: 5 }), true);
  assert.equal(model.consume('p', 'c', { write: 1 }), false);
  // Other partition keys have their own ranges.
  assert.equal(model.consume('q', 'a', { write: 10 }), true);
  // A read billed after it ran may overdraw the range (100 of its 30 units a second): the
  // next ones wait until the debt is paid, about 2.4 s.
  assert.equal(model.consume('r', 'a', { read: 100, debt: true }), true);
  assert.equal(model.consume('r', 'a', { read: 1 }), false);
  clock.now = 2500;
  assert.equal(model.consume('r', 'a', { read: 1 }), false);
  clock.now = 3500;
  assert.equal(model.consume('r', 'a', { read: 1 }), true);
  const body = PartitionModel.throttleBody('t', 'p');
  assert.match(body.__type, /ThrottlingException$/);
  assert.equal(body.throttlingReasons[0].reason, 'KeyRangeThroughputExceeded');
});
