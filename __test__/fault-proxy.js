// A DynamoDB proxy that makes the faults real DynamoDB makes and the emulator never does. It
// sits between the adapter and dynoxide on loopback, speaks DynamoDB's JSON protocol, and by a
// seeded random choice per request (a `rate` of them) answers with one fault that fits the
// operation (batch requests, rare in a workload, three times as often):
//   throttle      400 ThrottlingException (nothing done)
//   provisioned   400 ProvisionedThroughputExceededException (nothing done)
//   http500       500 InternalServerError (nothing done)
//   conflict      TransactWriteItems: 400 TransactionCanceledException, TransactionConflict
//   cancelThrottled TransactWriteItems: 400 TransactionCanceledException, ThrottlingError
//                 (nothing done; DynamoDB says: retry with backoff)
//   partialGet    BatchGetItem: half the keys read, the rest in UnprocessedKeys
//   partialWrite  BatchWriteItem: half the writes done, the rest in UnprocessedItems
//   shortPage     Query/Scan: a page of 1-3 items with a LastEvaluatedKey
//   slow          answered after `slowMs` (past the adapter's timeoutMs): done, answer late
//   lostAnswer    a write forwarded and done, then the connection dropped (no answer)
// `counts` tells how many of each were made, so a test can show each one happened. `delayMs`
// holds every request that long before handling it (a network's latency, for bench/roundtrips.js);
// `delays` holds the requests of some operations longer (`{UpdateItem: 600}`); `only` (a Set of
// operation names) limits the faults to those operations. `model` (a PartitionModel) adds
// DynamoDB's per-partition limits: a write over its key range's units is refused whole
// (ThrottlingException, KeyRangeThroughputExceeded; a transaction: TransactionCanceledException
// with ThrottlingError; a batch: the items over their ranges' units in UnprocessedItems), and reads are billed to their key range after they ran.
'use strict';
const http = require('node:http');
const { readRequest, replyJson } = require('../scripts/dynamo-rules');
const { PartitionModel } = require('./partition-model');

const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'TransactWriteItems', 'BatchWriteItem']);
const KINDS = ['throttle', 'provisioned', 'http500', 'conflict', 'cancelThrottled', 'partialGet', 'partialWrite', 'shortPage', 'slow', 'lostAnswer'];

/** mulberry32: a small seeded generator, so a failing seed can be replayed. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The faults that fit an operation. */
function fitting(op) {
  const kinds = ['throttle', 'provisioned', 'http500', 'slow'];
  if (op === 'TransactWriteItems') kinds.push('conflict', 'cancelThrottled');
  if (op === 'BatchGetItem') kinds.push('partialGet');
  if (op === 'BatchWriteItem') kinds.push('partialWrite');
  if (op === 'Query' || op === 'Scan') kinds.push('shortPage');
  if (WRITES.has(op)) kinds.push('lostAnswer');
  return kinds;
}

class FaultProxy {
  /**
   * @param {{target: string, seed?: number, rate?: number, slowMs?: number, kinds?: string[]}} o
   * `target` is dynoxide's endpoint; `kinds` limits the faults made (all by default).
   */
  constructor({ target, seed = 1, rate = 0.1, slowMs = 1500, kinds = KINDS, delayMs = 0, delays = {}, model = null }) {
    this.model = model;
    this.delayMs = delayMs;
    this.delays = delays;
    this.target = new URL(target);
    this.random = rng(seed);
    this.rate = rate;
    this.slowMs = slowMs;
    this.kinds = new Set(kinds);
    this.enabled = true;
    this.counts = Object.fromEntries(KINDS.map(k => [k, 0]));
    this.requests = 0;
    this.ops = {};
  }

  async start() {
    this.server = http.createServer((req, res) => this._handle(req, res));
    this.server.keepAliveTimeout = 1000;
    await new Promise(resolve => this.server.listen(0, '127.0.0.1', resolve));
    this.endpoint = `http://127.0.0.1:${this.server.address().port}`;
    return this;
  }

  async stop() {
    this.server.closeAllConnections();
    await new Promise(resolve => this.server.close(resolve));
  }

  /** Forwards a request body to dynoxide; answers {status, headers, body}. */
  _forward(req, body) {
    return new Promise((resolve, reject) => {
      const headers = { ...req.headers, host: this.target.host, 'content-length': Buffer.byteLength(body) };
      const out = http.request(
        { host: this.target.hostname, port: this.target.port, method: req.method, path: req.url, headers },
        res => {
          const chunks = [];
          res.on('data', c => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
        }
      );
      out.on('error', reject);
      out.end(body);
    });
  }

  _reply(res, status, json) {
    replyJson(res, status, json, `fault-${this.requests}`);
  }

  _relay(res, r, body = r.body) {
    const headers = { ...r.headers, 'content-length': Buffer.byteLength(body) };
    delete headers['x-amz-crc32']; // the body may have changed
    res.writeHead(r.status, headers);
    res.end(body);
  }

  // A fault for `rate` of the requests; the faults only some operations can have (conflicts,
  // partial batches, short pages, lost answers) weigh three times the others for them.
  _choose(op) {
    // Batch requests are rare in a workload: they are faulted three times as often.
    const rate = op.startsWith('Batch') ? Math.min(1, this.rate * 3) : this.rate;
    if (!this.enabled || (this.only && !this.only.has(op)) || this.random() >= rate) return null;
    // A faulted batch is cut in part more often than not (the fault only batches have).
    const partial = op === 'BatchGetItem' ? 'partialGet' : op === 'BatchWriteItem' ? 'partialWrite' : null;
    if (partial && this.kinds.has(partial) && this.random() < 0.6) return partial;
    const weighted = fitting(op)
      .filter(k => this.kinds.has(k))
      .flatMap(k => (['throttle', 'provisioned', 'http500', 'slow'].includes(k) ? [k] : [k, k, k]));
    if (weighted.length === 0) return null;
    // A kind this proxy has not made yet goes first: every kind shows up in a workload that
    // sends its operation a few times under faults (transactions are few: a conflict must not
    // depend on luck).
    const fresh = weighted.filter(k => this.counts[k] === 0 && k !== 'slow');
    const pool = fresh.length > 0 ? fresh : weighted;
    return pool[Math.floor(this.random() * pool.length)];
  }

  async _handle(req, res) {
    const { body, op } = await readRequest(req);
    const delay = this.delays[op] ?? this.delayMs;
    if (delay > 0) await new Promise(resolve => setTimeout(resolve, delay));
    this.requests++;
    this.ops[op] = (this.ops[op] || 0) + 1;
    try {
      if (this.model && op === 'BatchWriteItem' && (await this._partialBatch(req, res, body))) return;
      if (this.model && op !== 'BatchWriteItem' && this._overLimit(op, body, res)) return;
      const kind = this._choose(op);
      await this._answer(kind, op, req, res, body);
    } catch (e) {
      if (!res.headersSent) this._reply(res, 500, { __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: `proxy: ${e.message}` });
    }
  }

  // A write whose key ranges lack the units is answered as DynamoDB throttles it; reads are
  // billed after they run (`_billRead`).
  _overLimit(op, body, res) {
    const q = JSON.parse(body);
    const charges = writeCharges(op, q);
    if (charges.length === 0) return false;
    const refused = this.model.admit(charges);
    if (refused === null) return false;
    this.counts.partitionThrottle = (this.counts.partitionThrottle || 0) + 1;
    const table = q.TableName || (q.TransactItems ? Object.values(q.TransactItems[0])[0].TableName : Object.keys(q.RequestItems || {})[0]);
    if (op === 'TransactWriteItems') {
      const reasons = q.TransactItems.map(t => {
        const key = keyOf(Object.values(t)[0]);
        return key && key.pk === refused
          ? { Code: 'ThrottlingError', Message: 'Throughput exceeds the current capacity of a key range of your table' }
          : { Code: 'None' };
      });
      this._reply(res, 400, {
        __type: 'com.amazonaws.dynamodb.v20120810#TransactionCanceledException',
        message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map(r => r.Code).join(', ')}]`,
        CancellationReasons: reasons,
      });
    } else {
      this._reply(res, 400, PartitionModel.throttleBody(table, refused));
    }
    return true;
  }

  // A batch whose items' key ranges lack the units: as DynamoDB answers it, the items that fit
  // are written and the others come back in UnprocessedItems; none fits, a ThrottlingException.
  // Answers whether it answered the request.
  async _partialBatch(req, res, body) {
    const q = JSON.parse(body);
    const [table] = Object.keys(q.RequestItems || {});
    if (!table) return false;
    const writes = q.RequestItems[table];
    const refused = [];
    const admitted = [];
    let refusedPk = null;
    for (const w of writes) {
      const charges = writeCharges('BatchWriteItem', { RequestItems: { [table]: [w] } });
      const pk = this.model.admit(charges);
      if (pk === null) admitted.push(w);
      else {
        refused.push(w);
        refusedPk = pk;
      }
    }
    if (refused.length === 0) return false;
    this.counts.partitionThrottle = (this.counts.partitionThrottle || 0) + 1;
    if (admitted.length === 0) {
      this._reply(res, 400, PartitionModel.throttleBody(table, refusedPk));
      return true;
    }
    const r = await this._forward(req, JSON.stringify({ ...q, RequestItems: { [table]: admitted } }));
    if (r.status !== 200) {
      this._relay(res, r);
      return true;
    }
    const a = JSON.parse(r.body);
    a.UnprocessedItems = { [table]: [...refused, ...((a.UnprocessedItems || {})[table] || [])] };
    this._relay(res, r, JSON.stringify(a));
    return true;
  }

  _billRead(op, body, answer) {
    if (!this.model || !READS.has(op) || answer.status !== 200) return;
    const q = JSON.parse(body);
    const a = JSON.parse(answer.body);
    const units = [].concat(a.ConsumedCapacity || []).reduce((n, c) => n + (c.CapacityUnits || 0), 0);
    if (units <= 0) return;
    const keys = op === 'BatchGetItem' ? Object.values(q.RequestItems).flatMap(r => r.Keys.map(k => keyOf({ Key: k }))) : [readKey(op, q)];
    const each = units / Math.max(1, keys.length);
    for (const k of keys.filter(Boolean)) this.model.consume(k.pk, k.sk, { read: each, debt: true });
  }

  async _answer(kind, op, req, res, body) {
    const count = () => this.counts[kind]++;
    switch (kind) {
      case 'throttle':
        count();
        return this._reply(res, 400, { __type: 'com.amazon.coral.availability#ThrottlingException', message: 'Rate of requests exceeds the allowed throughput.' });
      case 'provisioned':
        count();
        return this._reply(res, 400, { __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException', message: 'The level of configured provisioned throughput for the table was exceeded.' });
      case 'http500':
        count();
        return this._reply(res, 500, { __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: 'Internal server error' });
      case 'conflict':
      case 'cancelThrottled': {
        count();
        const n = (JSON.parse(body).TransactItems || []).length;
        const reason =
          kind === 'conflict'
            ? { Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item' }
            : { Code: 'ThrottlingError', Message: 'Throughput exceeds the current capacity of your table or index. DynamoDB is automatically scaling your table or index so please try again shortly.' };
        const reasons = Array.from({ length: n }, (_, i) => (i === 0 ? reason : { Code: 'None' }));
        return this._reply(res, 400, {
          __type: 'com.amazonaws.dynamodb.v20120810#TransactionCanceledException',
          message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map(r => r.Code).join(', ')}]`,
          CancellationReasons: reasons,
        });
      }
      case 'partialGet': {
        const q = JSON.parse(body);
        const [table] = Object.keys(q.RequestItems);
        const keys = q.RequestItems[table].Keys;
        if (keys.length < 2) break;
        count();
        const half = Math.ceil(keys.length / 2);
        const sent = { ...q, RequestItems: { [table]: { ...q.RequestItems[table], Keys: keys.slice(0, half) } } };
        const r = await this._forward(req, JSON.stringify(sent));
        if (r.status !== 200) return this._relay(res, r);
        const a = JSON.parse(r.body);
        a.UnprocessedKeys = { [table]: { ...q.RequestItems[table], Keys: keys.slice(half) } };
        return this._relay(res, r, JSON.stringify(a));
      }
      case 'partialWrite': {
        const q = JSON.parse(body);
        const [table] = Object.keys(q.RequestItems);
        const writes = q.RequestItems[table];
        if (writes.length < 2) break;
        count();
        const half = Math.ceil(writes.length / 2);
        const r = await this._forward(req, JSON.stringify({ ...q, RequestItems: { [table]: writes.slice(0, half) } }));
        if (r.status !== 200) return this._relay(res, r);
        const a = JSON.parse(r.body);
        a.UnprocessedItems = { [table]: writes.slice(half) };
        return this._relay(res, r, JSON.stringify(a));
      }
      case 'shortPage': {
        const q = JSON.parse(body);
        const limit = 1 + Math.floor(this.random() * 3);
        if (q.Select === 'COUNT' || (q.Limit && q.Limit <= limit)) break;
        const r = await this._forward(req, JSON.stringify({ ...q, Limit: limit }));
        if (r.status === 200 && JSON.parse(r.body).LastEvaluatedKey) count();
        return this._relay(res, r);
      }
      case 'slow': {
        count();
        const r = await this._forward(req, body);
        await new Promise(resolve => setTimeout(resolve, this.slowMs));
        if (res.destroyed) return;
        return this._relay(res, r);
      }
      case 'lostAnswer': {
        count();
        await this._forward(req, body);
        req.socket.destroy();
        return;
      }
      default:
        break;
    }
    const r = await this._forward(req, body);
    this._billRead(op, body, r);
    return this._relay(res, r);
  }
}

const READS = new Set(['GetItem', 'BatchGetItem', 'Query']);
const PK = '_pk_className';
const SK = '_sk_id';

/** The partition and sort key an item or request names ({Key} or {Item}), or null. */
function keyOf(x) {
  const k = (x && (x.Key || x.Item)) || null;
  if (!k || !k[PK]) return null;
  return { pk: k[PK].S, sk: (k[SK] && k[SK].S) || '' };
}

/** Write units: 1 per KB of the item (its JSON, about), twice inside a transaction. */
function units(x) {
  return Math.max(1, Math.ceil(Buffer.byteLength(JSON.stringify(x.Item || x.Key || {})) / 1024));
}

/** What a write request charges: each item's key and write units (a condition check reads). */
function writeCharges(op, q) {
  // `put`: the write puts an item (a new index entry lands at its key).
  const one = (x, factor, put) => {
    const key = keyOf(x);
    return key ? [{ ...key, write: units(x) * factor, put }] : [];
  };
  const check = x => {
    const key = keyOf(x);
    return key ? [{ ...key, read: 2 }] : [];
  };
  switch (op) {
    case 'PutItem':
    case 'UpdateItem':
      return one(q, 1, true);
    case 'DeleteItem':
      return one(q, 1, false);
    case 'TransactWriteItems':
      return q.TransactItems.flatMap(t => {
        const [kind, x] = Object.entries(t)[0];
        return kind === 'ConditionCheck' ? check(x) : one(x, 2, kind !== 'Delete');
      });
    case 'BatchWriteItem':
      return Object.values(q.RequestItems).flatMap(ws => ws.flatMap(w => one(w.PutRequest || w.DeleteRequest, 1, !!w.PutRequest)));
    default:
      return [];
  }
}

/** The key range a read starts in: its Key, or a Query's partition key and lower bound. */
function readKey(op, q) {
  if (op === 'GetItem') return keyOf(q);
  const v = q.ExpressionAttributeValues || {};
  const pk = v[':pk'] && v[':pk'].S;
  if (!pk) return null;
  const from = (v[':from'] && v[':from'].S) || (v[':prefix'] && v[':prefix'].S) || '';
  return { pk, sk: from };
}

module.exports = { FaultProxy, KINDS };
