// DynamoDB's partitions, as a model the fault proxy can put in front of dynoxide (which has
// none). Each partition key's sort keys are cut into key ranges; each range takes DynamoDB's
// 1,000 write and 3,000 read units per second (times `scale`, so a 2-core machine can reach
// them: 1/20 by default), as token buckets holding one second of units. A request over a
// range's units is refused whole, as DynamoDB answers: ThrottlingException, reason
// KeyRangeThroughputExceeded. DynamoDB splits a busy range ("split for heat"): here a range
// whose demand (served and refused) stays at or above `splitShare` of its write or read limit
// for `splitAfterMs` splits at the median of its recent writes' sort keys, each half with the
// full limits, unless nearly all the latest writes land above that median (keys that only
// grow, a few retried late: a split would relieve nothing, and DynamoDB does not split then). Random keys so spread over
// ranges that each take the limit; keys that only grow stay capped at one range's limit
// (AWS, "Scaling DynamoDB, part 3").
'use strict';

const WINDOW_MS = 1000;
const RECENT = 256;

class Range {
  constructor(lo, hi, model, now) {
    this.lo = lo; // inclusive; '' is the start
    this.hi = hi; // exclusive; null is the end
    this.write = model.writeLimit * model.scale;
    this.read = model.readLimit * model.scale;
    this.at = now;
    this.recent = [];
    this.window = { start: now, write: 0, read: 0 };
    this.hotSince = null;
  }

  holds(sk) {
    return sk >= this.lo && (this.hi === null || sk < this.hi);
  }

  refill(model, now) {
    const dt = Math.max(0, now - this.at) / 1000;
    this.at = now;
    this.write = Math.min(model.writeLimit * model.scale, this.write + dt * model.writeLimit * model.scale);
    this.read = Math.min(model.readLimit * model.scale, this.read + dt * model.readLimit * model.scale);
  }

  // The demand of the current window; a window that ended decides whether the range is hot.
  demand(model, now, write, read) {
    if (now - this.window.start >= WINDOW_MS) {
      const w = this.window;
      const hot = w.write >= model.splitShare * model.writeLimit * model.scale || w.read >= model.splitShare * model.readLimit * model.scale;
      this.hotSince = hot ? (this.hotSince ?? w.start) : null;
      this.window = { start: now, write: 0, read: 0 };
    }
    this.window.write += write;
    this.window.read += read;
  }
}

class PartitionModel {
  /**
   * @param {{scale?: number, writeLimit?: number, readLimit?: number, splitShare?: number,
   *   splitAfterMs?: number, clock?: () => number}} o
   */
  constructor({ scale = 1 / 20, writeLimit = 1000, readLimit = 3000, splitShare = 0.5, splitAfterMs = 5000, clock = () => Date.now() } = {}) {
    this.scale = scale;
    this.writeLimit = writeLimit;
    this.readLimit = readLimit;
    this.splitShare = splitShare;
    this.splitAfterMs = splitAfterMs;
    this.clock = clock;
    this.keys = new Map();
    this.throttled = 0;
    this.splits = 0;
    /** Write units served per partition key, and items put (not deleted) in it. */
    this.written = new Map();
    this.puts = new Map();
  }

  /** The key ranges of partition key `pk`, in key order. */
  ranges(pk) {
    let r = this.keys.get(pk);
    if (!r) {
      r = [new Range('', null, this, this.clock())];
      this.keys.set(pk, r);
    }
    return r;
  }

  /**
   * Charges `write`/`read` units to the range of `pk` holding `sk`: true when they were
   * served, false when the range refuses them (nothing is charged then). `debt` charges them
   * even past the range's units (reads are billed after they ran), so later requests wait.
   */
  consume(pk, sk, { write = 0, read = 0, debt = false } = {}) {
    const now = this.clock();
    const ranges = this.ranges(pk);
    const range = ranges.find(r => r.holds(sk)) || ranges[ranges.length - 1];
    range.refill(this, now);
    range.demand(this, now, write, read);
    if (write > 0 && range.recent.push(sk) > RECENT) range.recent.shift();
    const ok = debt || ((write === 0 || range.write >= write) && (read === 0 || range.read >= read));
    if (ok) {
      range.write -= write;
      range.read -= read;
      if (write > 0) this.written.set(pk, (this.written.get(pk) || 0) + write);
    } else {
      this.throttled++;
    }
    this._maybeSplit(pk, ranges, range, now);
    return ok;
  }

  /**
   * Charges every one of `charges` ({pk, sk, write, read}) or none: a request DynamoDB refuses
   * is refused whole. Answers the partition key that refused, or null when all were served.
   */
  admit(charges) {
    const now = this.clock();
    const at = charges.map(c => {
      const ranges = this.ranges(c.pk);
      const range = ranges.find(r => r.holds(c.sk)) || ranges[ranges.length - 1];
      range.refill(this, now);
      return { c, ranges, range };
    });
    // Units per range (two items of one range share its units).
    const need = new Map();
    for (const { c, range } of at) {
      const n = need.get(range) || { write: 0, read: 0 };
      need.set(range, { write: n.write + (c.write || 0), read: n.read + (c.read || 0) });
    }
    let refused = null;
    for (const [range, n] of need) {
      if ((n.write > 0 && range.write < n.write) || (n.read > 0 && range.read < n.read)) {
        refused = at.find(x => x.range === range).c.pk;
        break;
      }
    }
    for (const { c, ranges, range } of at) {
      range.demand(this, now, c.write || 0, c.read || 0);
      if (c.write > 0 && range.recent.push(c.sk) > RECENT) range.recent.shift();
      if (refused === null) {
        range.write -= c.write || 0;
        range.read -= c.read || 0;
        if (c.write > 0) this.written.set(c.pk, (this.written.get(c.pk) || 0) + c.write);
        if (c.put) this.puts.set(c.pk, (this.puts.get(c.pk) || 0) + 1);
      }
      this._maybeSplit(c.pk, ranges, range, now);
    }
    if (refused !== null) this.throttled++;
    return refused;
  }

  _maybeSplit(pk, ranges, range, now) {
    if (range.hotSince === null || now - range.hotSince < this.splitAfterMs) return;
    const keys = [...range.recent].sort();
    const median = keys[Math.floor(keys.length / 2)];
    if (median === undefined || median <= range.lo) return;
    // Writes whose keys only grow: the latest land above any median (but for a few retried
    // late), so a split would leave them in one half, and DynamoDB does not split then. A
    // split helps when a fair share of the latest writes would go to each half.
    const latest = range.recent.slice(-Math.ceil(range.recent.length / 4));
    if (latest.filter(k => k < median).length < latest.length / 4) return;
    const right = new Range(median, range.hi, this, now);
    right.recent = range.recent.filter(k => k >= median);
    range.hi = median;
    range.recent = range.recent.filter(k => k < median);
    range.hotSince = null;
    range.window = { start: now, write: 0, read: 0 };
    ranges.splice(ranges.indexOf(range) + 1, 0, right);
    this.splits++;
  }

  /** DynamoDB's answer to a throttled request (the JSON protocol's 400 body). */
  static throttleBody(table, pk) {
    return {
      __type: 'com.amazonaws.dynamodb.v20120810#ThrottlingException',
      message: `Throughput exceeds the current capacity of a key range of table ${table} (partition key ${pk})`,
      throttlingReasons: [{ reason: 'KeyRangeThroughputExceeded', resource: `arn:aws:dynamodb:local:000000000000:table/${table}` }],
    };
  }
}

module.exports = { PartitionModel };
