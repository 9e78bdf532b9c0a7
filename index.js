// parse-server-dynamodb: the JS shim. It adapts Parse Server's `databaseAdapter` interface
// (an instance with the methods and properties Parse reads) and the seed package's
// `DynamoDB` / `Partition` API to the Rust core. Each method is one call into the binding;
// the only logic here is turning the core's error JSON into `Parse.Error`.
'use strict';

const { Core } = require('./binding.js');
const { AsyncLocalStorage } = require('node:async_hooks');
const diagnostics = require('node:diagnostics_channel');

// Errors must be instances of the Parse.Error class Parse Server itself uses (it checks with
// instanceof). Parse Server publishes its Parse SDK as `global.Parse` when it starts; before
// that (or without Parse Server) the `parse` package next to parse-server, or our own, serves.
function loadParse() {
  const path = require('node:path');
  for (const from of [() => path.dirname(require.resolve('parse-server/package.json')), () => __dirname]) {
    try {
      const P = require(require.resolve('parse/node', { paths: [from()] }));
      return P.Parse || P;
    } catch (_) {
      // try the next place
    }
  }
  return null;
}

class FallbackParseError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}
const localParse = loadParse();

function parseError(code, message) {
  const ParseError =
    (global.Parse && global.Parse.Error) || (localParse && localParse.Error) || FallbackParseError;
  return new ParseError(code, message);
}

const COMMAND_UNAVAILABLE = 108;

// JS Dates become Parse Date values before crossing into Rust.
function replacer(key, value) {
  const raw = this[key];
  if (raw instanceof Date) {
    return { __type: 'Date', iso: raw.toISOString() };
  }
  return value;
}

// A query as MongoDB's driver sends it: `undefined` values are null (JSON would drop the key,
// and with it the condition: `{owningId: undefined}` would match every row). Dates stay Dates
// for `replacer`.
function asQuery(value) {
  if (value === undefined) return null;
  if (Array.isArray(value)) return value.map(asQuery);
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out = {};
    for (const k of Object.keys(value)) {
      // A Pointer's undefined objectId stays undefined (MongoDB's transform writes "Class$undefined").
      if (k === 'objectId' && value[k] === undefined && value.__type === 'Pointer') continue;
      out[k] = asQuery(value[k]);
    }
    return out;
  }
  return value;
}

// Parse's Mongo transform closes a Polygon's ring in the object it is handed (it pushes the
// first point), and Parse Server answers a save with those same values (a required field's
// default among them). The core stores the closed ring; this gives the caller's object the
// same closing point, so a save answers what a read gives, as on MongoDB.
function closeRings(object) {
  if (!object || typeof object !== 'object') return;
  for (const v of Object.values(object)) {
    const c = v && v.__type === 'Polygon' && Array.isArray(v.coordinates) ? v.coordinates : null;
    if (!c || c.length === 0) continue;
    const [first, last] = [c[0], c[c.length - 1]];
    if (Array.isArray(first) && Array.isArray(last) && (first[0] !== last[0] || first[1] !== last[1])) c.push(first);
  }
}

function rethrow(e) {
  const m = e && typeof e.message === 'string' && /^PARSE:([\s\S]*)$/.exec(e.message);
  if (!m) throw e;
  const info = JSON.parse(m[1]);
  const err = parseError(info.code, info.message);
  if (info.userInfo) err.userInfo = info.userInfo;
  throw err;
}

// Where the core's log records go: the `logger` option, else Parse Server's logger, else the
// console's error stream (never stdout).
function defaultLogger() {
  try {
    const { logger } = require(require.resolve('parse-server/lib/logger', { paths: [process.cwd(), __dirname] }));
    if (logger && typeof logger.info === 'function') return logger;
  } catch (_) {
    // Parse Server not installed next to us
  }
  return { info: (...a) => console.error(...a), warn: (...a) => console.error(...a), error: (...a) => console.error(...a) };
}

const loggers = new WeakMap();
function loggerOf(core) {
  let logger = loggers.get(core);
  if (!logger) {
    logger = defaultLogger();
    loggers.set(core, logger);
  }
  return logger;
}

function flushLogs(core) {
  const text = core.takeLogs();
  if (!text) return;
  const records = JSON.parse(text);
  const logger = loggerOf(core);
  for (const r of records) {
    const f = typeof logger[r.level] === 'function' ? logger[r.level] : logger.info;
    f.call(logger, `[parse-server-dynamodb] ${r.message}`);
  }
}

// ---- Which Parse request a call serves (the cost ledger's rows) ----
// Every HTTP request the process serves gets an id in an AsyncLocalStorage as Node starts it
// (diagnostics channel `http.server.request.start`), so the adapter calls Parse makes for it
// (its triggers and Cloud code included) carry it: the core meters each call and adds it to
// the request and its row (route, class, function). When the response closes the core counts
// the request and logs it past `costLog`. Calls outside requests are `(no request)`.
// Cloud code with `directAccess: false` calls its own server over HTTP: such a request carries
// the id of the one it serves (header `NESTED`, with this process's `SECRET`; added to requests
// to this server's port made inside a request, or in a job it started) and is billed to it.
const requests = new AsyncLocalStorage();
const openRequests = new Map();
const NESTED = 'x-parse-dynamodb-request';
const SECRET = require('node:crypto').randomBytes(8).toString('hex');
// How long a job's request stays known after it answered (its work goes on).
const JOB_KEPT_MS = 60 * 60 * 1000;
let nextRequest = 1;
let listening = false;
// Adapters made with `costHeader: true`: then each Parse response tells its cost.
let costHeaders = 0;

/** How a query read (its plan, as `explain` describes it), in a few words. */
function planText(q) {
  const p = q.plan || {};
  if (p.via) return `via ${p.via}`;
  if (p.keys !== undefined) return `${Array.isArray(p.keys) ? p.keys.length : p.keys} key reads`;
  const part = String(p.partition || '');
  if (part === q.class) return 'read the whole class';
  const index = part.match(/^~i:[^:]+:(.+)$/);
  if (index) return `index ${index[1]} in order${p.stopsAfter ? `, stopping after ${p.stopsAfter}` : ''}`;
  return `${p.operation || 'read'} ${part}`.trim();
}

/** What a request cost (`Core.requestCost`), as `Server-Timing` entries: browsers show them
 * beside the request's timing, and pages read them (`PerformanceResourceTiming.serverTiming`). */
function serverTiming(cost) {
  const quote = s => `"${String(s).replace(/["\\]/g, '')}"`;
  const out = [`dynamodb;desc=${quote(`${cost.readUnits} read units, ${cost.writeUnits} write units, ${cost.dynamoRequests} requests`)}`];
  cost.queries.slice(0, 3).forEach((q, i) => {
    out.push(`dynamodb-query-${i + 1};desc=${quote(`${q.call} ${q.class}: ${planText(q)}, ${q.readUnits} read units`)}`);
  });
  return out;
}
function followRequests() {
  if (listening) return;
  listening = true;
  diagnostics.subscribe('http.server.request.start', ({ request, response }) => {
    const [secret, id] = String(request.headers[NESTED] || '').split(':');
    const outer = secret === SECRET ? openRequests.get(Number(id)) : undefined;
    if (outer) return requests.enterWith(outer);
    const host = String(request.headers.host || '').replace(/:\d+$/, '');
    const r = { id: nextRequest++, req: request, host, port: request.socket && request.socket.localPort, started: performance.now(), label: null, cores: null, done: false };
    openRequests.set(r.id, r);
    requests.enterWith(r);
    if (costHeaders > 0) {
      const writeHead = response.writeHead;
      response.writeHead = function (...args) {
        if (r.cores && !this.headersSent) {
          try {
            const timing = [];
            for (const core of r.cores) {
              const text = core.requestCost(r.id);
              if (text) timing.push(...serverTiming(JSON.parse(text)));
            }
            if (timing.length) this.setHeader('Server-Timing', timing.join(', '));
          } catch {
            // A response goes out without its cost rather than not at all.
          }
        }
        return writeHead.apply(this, args);
      };
    }
    response.once('close', () => {
      r.done = true;
      r.label ??= labelOf(r.req);
      r.req = null;
      // A job's work, and its calls to this server, go on after it answered: kept a while.
      if (r.label && r.label.route.startsWith('POST /jobs/')) setTimeout(() => openRequests.delete(r.id), JOB_KEPT_MS).unref();
      else openRequests.delete(r.id);
      if (!r.cores) return;
      const ms = performance.now() - r.started;
      for (const core of r.cores) {
        try {
          core.requestDone(r.id, response.statusCode, ms);
        } catch {
          // the ledger misses a request rather than the server an answer
        }
      }
    });
  });
  // This server: its port, on a loopback name or the name the request came by.
  const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);
  const toSelf = (r, origin) => {
    try {
      const u = new URL(origin);
      const port = u.port || (u.protocol === 'https:' ? '443' : '80');
      return r && port === String(r.port) && (LOOPBACK.has(u.hostname) || u.hostname === r.host);
    } catch {
      return false;
    }
  };
  // fetch's requests (the Parse JS SDK's). (node:http's `http.client.request.start` comes
  // once the headers are sent, too late to add one.)
  diagnostics.subscribe('undici:request:create', ({ request }) => {
    const r = requests.getStore();
    if (toSelf(r, request.origin)) request.addHeader(NESTED, `${SECRET}:${r.id}`);
  });
}

// Parse's routes: the first path segment Parse names (after where it is mounted), and how the
// next segments read.
const NAMED = new Set(['classes', 'aggregate', 'schemas', 'purge', 'functions', 'jobs', 'hooks']);
const CLASS_OF = { users: '_User', login: '_User', logout: '_Session', loginAs: '_User', verifyPassword: '_User', sessions: '_Session', installations: '_Installation', roles: '_Role', requestPasswordReset: '_User', verificationEmailRequest: '_User', upgradeToRevocableSession: '_Session' };
const OTHER = new Set(['batch', 'graphql', 'config', 'push', 'files', 'health', 'serverInfo', 'challenge', 'push_audiences', 'scriptlog', 'validate_purchase', 'cloud_code', 'events']);

/** The ledger's label of request `req`: `{route, class?, function?}`. */
function labelOf(req) {
  const path = String(req.originalUrl || req.url || '').split('?')[0];
  const decode = x => {
    try {
      return decodeURIComponent(x);
    } catch {
      return x;
    }
  };
  const segs = path.split('/').filter(Boolean).map(decode);
  const named = x => Object.prototype.hasOwnProperty.call(CLASS_OF, x);
  const body = req.body && typeof req.body === 'object' ? req.body : {};
  const method = req.method === 'POST' && typeof body._method === 'string' ? body._method.toUpperCase() : req.method;
  const i = segs.findIndex(s => NAMED.has(s) || named(s) || OTHER.has(s));
  if (i < 0) return { route: `${method} (not a Parse route)` };
  const at = segs[i];
  const label = { route: `${method} /${at}` };
  if (NAMED.has(at)) {
    const param = at === 'functions' ? 'functionName' : at === 'jobs' ? 'jobName' : 'className';
    if (segs[i + 1] !== undefined) label.route += `/:${param}`;
    if (segs[i + 2] !== undefined) label.route += '/:objectId';
    if (param === 'className') label.class = segs[i + 1];
    else label.function = segs[i + 1];
  } else if (named(at)) {
    label.class = CLASS_OF[at];
    const id = segs[i + 1];
    if (id !== undefined) label.route += id === 'me' ? '/me' : '/:objectId';
  } else if (at === 'graphql' && typeof body.operationName === 'string') {
    label.function = body.operationName;
  }
  return label;
}

// Cores of adapters made with `costLedger: false`: their calls name no request.
const unfollowed = new WeakSet();

/** The tag of a call into `core` made now: the request it serves, else none. */
function tagOf(core) {
  const r = unfollowed.has(core) ? undefined : requests.getStore();
  if (!r) return undefined;
  try {
    r.label ??= labelOf(r.req);
  } catch {
    r.label = { route: '(unknown route)' }; // never fails the call it labels
  }
  if (r.done) return JSON.stringify(r.label); // work a request left running (a job, an afterSave)
  (r.cores ??= new Set()).add(core);
  return JSON.stringify({ id: r.id, ...r.label });
}

function call(core, method, args) {
  return core.call(method, JSON.stringify(args, replacer), tagOf(core)).then(
    out => {
      flushLogs(core);
      return JSON.parse(out);
    },
    e => {
      flushLogs(core);
      return rethrow(e);
    }
  );
}

function newCore(table, options) {
  let core;
  try {
    core = new Core(coreConfig(table, options));
  } catch (e) {
    rethrow(e); // bad options: a Parse.Error (INVALID_JSON) saying which
  }
  if (options.logger) loggers.set(core, options.logger);
  if (options.costLedger === false) unfollowed.add(core);
  // Long calls (an index back-fill) report progress while they run.
  requests.exit(() => setInterval(() => flushLogs(core), 1000).unref());
  return core;
}

function unsupported(what) {
  return Promise.reject(
    parseError(COMMAND_UNAVAILABLE, `${what} is not supported by the DynamoDB adapter yet`)
  );
}

function coreConfig(table, options = {}) {
  const creds = options.credentials || {};
  const config = {
    table,
    region: options.region,
    endpoint: options.endpoint,
    accessKeyId: options.accessKeyId || creds.accessKeyId,
    secretAccessKey: options.secretAccessKey || creds.secretAccessKey,
    sessionToken: options.sessionToken || creds.sessionToken,
    createTable: options.createTable,
    maxAttempts: options.maxAttempts ?? (options.maxRetries != null ? options.maxRetries + 1 : undefined),
    timeoutMs: options.timeoutMs,
    embedded: options.embedded,
    readPreference: options.readPreference,
    autoIndex: options.autoIndex,
    shardHotIndexes: options.shardHotIndexes,
    stream: options.stream,
    costLog: options.costLog,
    costReport: options.costReport,
    maxReadUnitsPerQuery: options.maxReadUnitsPerQuery,
    ttl: options.ttl,
  };
  if (config.endpoint && typeof config.endpoint !== 'string') config.endpoint = String(config.endpoint.href || config.endpoint);
  return JSON.stringify(config);
}

/** The Parse Server storage adapter (pass it as `databaseAdapter`). */
class DynamoStorageAdapter {
  constructor(core, options = {}, table) {
    this._core = core;
    this._table = table;
    this.service = core;
    this.canSortOnJoinTables = false;
    this.enableSchemaHooks = !!options.enableSchemaHooks;
    this.schemaCacheTtl = options.schemaCacheTtl;
    this._onchange = () => {};
  }

  _call(method, ...args) {
    return call(this._core, method, args);
  }

  watch(callback) {
    this._onchange = callback;
    // With `enableSchemaHooks` Parse never re-reads schemas by itself: this adapter tells it of
    // every schema change, any server's, from the table's stream (a long poll of the core).
    if (this.enableSchemaHooks && !this._following) {
      this._following = true;
      requests.exit(() => this._followSchemas()); // a long poll, not the request's work
    }
  }
  async _followSchemas() {
    let seen = await this._call('schemaChanges', 0, 0).catch(() => 0);
    while (!this._closed) {
      // An error (the table unreachable a moment) is waited out, not retried at once.
      const v = await this._call('schemaChanges', seen, 20000).catch(() => new Promise(r => setTimeout(() => r(seen), 1000)));
      if (v > seen && !this._closed) {
        seen = v;
        this._onchange();
      }
    }
  }
  handleShutdown() {
    this._closed = true;
    // The counter updates sent beside answers finish first.
    return this._call('handleShutdown').then(() => undefined);
  }
  performInitialization() {
    return this._call('performInitialization');
  }

  // Schema
  classExists(className) {
    return this._call('classExists', className);
  }
  async getClass(className) {
    const schema = await this._call('getClass', className);
    if (schema === null) throw undefined; // eslint-disable-line no-throw-literal
    return schema;
  }
  getAllClasses() {
    return this._call('getAllClasses');
  }
  createClass(className, schema) {
    return this._call('createClass', className, schema);
  }
  addFieldIfNotExists(className, fieldName, type) {
    return this._call('addFieldIfNotExists', className, fieldName, type);
  }
  updateFieldOptions(className, fieldName, type) {
    return this._call('updateFieldOptions', className, fieldName, type);
  }
  setClassLevelPermissions(className, clps) {
    return this._call('setClassLevelPermissions', className, clps);
  }
  deleteFields(className, schema, fieldNames) {
    return this._call('deleteFields', className, schema, fieldNames);
  }
  deleteClass(className) {
    return this._call('deleteClass', className);
  }
  deleteAllClasses(fast) {
    return this._call('deleteAllClasses', !!fast);
  }

  // Indexes
  setIndexesWithSchemaFormat(className, submittedIndexes, existingIndexes = {}, fields = {}) {
    if (submittedIndexes === undefined) return Promise.resolve();
    return this._call('setIndexesWithSchemaFormat', className, submittedIndexes, existingIndexes, fields);
  }
  ensureUniqueness(className, schema, fieldNames) {
    return this._call('ensureUniqueness', className, schema, fieldNames);
  }
  ensureAuthDataUniqueness(provider) {
    return this._call('ensureAuthDataUniqueness', provider);
  }
  // Indexes make equality, $in and case-insensitive lookups key-range reads; every query also
  // works without them.
  ensureIndex(className, schema, fieldNames, indexName, caseInsensitive) {
    return this._call('ensureIndex', className, schema, fieldNames, indexName, !!caseInsensitive);
  }
  createIndexes(className, indexes) {
    return this._call('createIndexes', className, indexes || []);
  }
  /** Stops keeping the index on `fieldName` (and deletes its entries). */
  dropIndex(className, fieldName, caseInsensitive) {
    return this._call('dropIndex', className, fieldName, !!caseInsensitive);
  }
  getIndexes(className) {
    return this._call('getIndexes', className);
  }
  updateSchemaWithIndexes() {
    return this._call('updateSchemaWithIndexes');
  }

  // Objects
  async createObject(className, schema, object, transactionalSession) {
    const out = await this._call('createObject', className, schema, object, transactionalSession || null);
    closeRings(object);
    return out;
  }
  // Malformed queries throw synchronously, as Parse's Mongo adapter does (Parse Server relies
  // on it to answer with the query's own error code).
  _check(query, schema, caseInsensitive) {
    try {
      this._core.checkQuery(JSON.stringify(asQuery(query), replacer), JSON.stringify(schema ?? null), !!caseInsensitive);
    } catch (e) {
      rethrow(e);
    }
  }

  find(className, schema, query, options = {}) {
    const { skip, limit, sort, keys, caseInsensitive, readPreference } = options;
    query = asQuery(query);
    this._check(query, schema, caseInsensitive);
    if (options.explain) {
      return this._call('explain', className, schema, query, { skip, limit, sort, keys, caseInsensitive, explain: options.explain });
    }
    return this._call('find', className, schema, query, { skip, limit, sort, keys, caseInsensitive, readPreference });
  }
  count(className, schema, query, readPreference) {
    query = asQuery(query);
    this._check(query, schema);
    return this._call('count', className, schema, query, readPreference || null);
  }
  distinct(className, schema, query, fieldName) {
    query = asQuery(query);
    this._check(query, schema);
    return this._call('distinct', className, schema, query, fieldName);
  }
  // Parse Server 9 passes `comment`, `rawValues` and `rawFieldNames` after `explain`: the raw
  // options (MongoDB's document form and Extended JSON) are honoured in Rust.
  aggregate(className, schema, pipeline, readPreference, hint, explain, comment, rawValues, rawFieldNames) {
    if (explain) return unsupported('explain of an aggregation');
    return this._call('aggregate', className, schema, asQuery(pipeline), readPreference || null, rawValues === true, rawFieldNames === true);
  }
  async findOneAndUpdate(className, schema, query, update, transactionalSession) {
    const out = await this._call('findOneAndUpdate', className, schema, asQuery(query), update, transactionalSession || null);
    closeRings(update);
    return out;
  }
  async updateObjectsByQuery(className, schema, query, update, transactionalSession) {
    const out = await this._call('updateObjectsByQuery', className, schema, asQuery(query), update, transactionalSession || null);
    closeRings(update);
    return out;
  }
  async upsertOneObject(className, schema, query, update, transactionalSession) {
    const out = await this._call('upsertOneObject', className, schema, asQuery(query), update, transactionalSession || null);
    closeRings(update);
    return out;
  }
  async deleteObjectsByQuery(className, schema, query, transactionalSession) {
    await this._call('deleteObjectsByQuery', className, schema, asQuery(query), transactionalSession || null);
  }

  // Transactions (Parse `batch` with `transaction: true`): writes are buffered in Rust and
  // committed in one TransactWriteItems.
  createTransactionalSession() {
    return this._call('createTransactionalSession');
  }
  commitTransactionalSession(transactionalSession) {
    return this._call('commitTransactionalSession', transactionalSession);
  }
  abortTransactionalSession(transactionalSession) {
    return this._call('abortTransactionalSession', transactionalSession);
  }

  /** DynamoDB requests and consumed read/write units since start, per operation. */
  consumedCapacity() {
    return this._call('consumedCapacity');
  }

  // Seed API: the class's Partition, used at once as the seed's callers do, or awaited as Parse
  // Server's own adapters answer it (a promise of the collection).
  _adaptiveCollection(className) {
    return new Partition(this._table, className, this._core);
  }
}

/** One class of the table, with the seed package's Mongo-style API. */
class Partition {
  constructor(table, className, service) {
    if (!(service instanceof Core)) {
      throw new TypeError('Partition needs the `service` of a DynamoDB adapter (dynamo.adapter.service)');
    }
    this.table = table;
    this.className = className;
    this._core = service;
  }
  _call(method, ...args) {
    return call(this._core, `partition.${method}`, [this.className, ...args]);
  }
  insertOne(object) {
    return this._call('insertOne', object);
  }
  find(query = {}, options = {}) {
    return this._call('find', query, options);
  }
  count(query = {}) {
    return this._call('count', query);
  }
  updateOne(query, update) {
    return this._call('updateOne', query, update);
  }
  upsertOne(query, update) {
    return this._call('upsertOne', query, update);
  }
  updateMany(query, update) {
    return this._call('updateMany', query, update);
  }
  deleteOne(query) {
    return this._call('deleteOne', query);
  }
  deleteMany(query = {}) {
    return this._call('deleteMany', query);
  }
  /** MongoDB's sparse unique index (Parse's MongoCollection API) on one field: its values are
   * unique in the class from now on, as Parse's `ensureUniqueness` makes them. */
  _ensureSparseUniqueIndexInBackground(indexRequest) {
    const fields = Object.keys(indexRequest || {});
    if (fields.length !== 1) {
      return unsupported('A unique index on several fields together');
    }
    return call(this._core, 'ensureUniqueness', [this.className, {}, fields]);
  }
  /** Awaiting a Partition answers it (as Parse's `_adaptiveCollection` promises a collection). */
  then(resolve, reject) {
    // The same Partition without `then`, so the promise does not wait on it again.
    return Promise.resolve(Object.create(this, { then: { value: undefined } })).then(resolve, reject);
  }
}

/** Entry point, as in the seed: `new DynamoDB(table, options).getAdapter()`. */
class DynamoDB {
  constructor(table, options = {}) {
    if (typeof table !== 'string' || !table) throw new TypeError('DynamoDB needs a table name');
    this.table = table;
    this.options = options;
    this.service = newCore(table, options);
    this.adapter = new DynamoStorageAdapter(this.service, options, table);
    // `costLedger: false`: no request is followed (every call is `(no request)`).
    if (options.costLedger !== false) followRequests();
    if (options.costHeader) costHeaders++;
    const dynamo = this;
    this.Partition = class extends Partition {
      constructor(tableName = table, className, service) {
        const core = service instanceof Core
          ? service
          : tableName === table
            ? dynamo.service
            : newCore(tableName, options);
        super(tableName, className, core);
      }
    };
  }
  getAdapter() {
    return this.adapter;
  }

  /**
   * What DynamoDB billed since this server started, per Parse route, class and Cloud function
   * or job (`(no request)`: calls outside requests; `(background)`: the adapter's own work),
   * ranked by what a month of the same traffic costs at on-demand prices:
   * `{seconds, readUnits, writeUnits, dollarsPerMonth, prices, rows: [{route, class, function,
   * requests, readUnits, writeUnits, readUnitsPerRequest, writeUnitsPerRequest,
   * dollarsPerMonth}]}`. Options: `region` (prices of; else `costReport.region`, the
   * adapter's region, us-east-1), `prices` (`{readPerMillion, writePerMillion}`), `top` (20).
   */
  costReport(options = {}) {
    return this.adapter._call('costReport', options);
  }

  /**
   * LiveQuery across servers without Redis: what Parse accepts as `pubSubAdapter`
   * (`liveQuery: { classNames, pubSubAdapter: dynamo.liveQueryAdapter() }` on the servers that
   * save, and `ParseServer.createLiveQueryServer(httpServer, { pubSubAdapter })` where clients
   * subscribe). A publish is one put in the table (1 write unit per KB, deleted by DynamoDB's TTL
   * after a minute); subscribers hear it from the table's stream.
   */
  liveQueryAdapter() {
    const adapter = this.adapter;
    return {
      createPublisher() {
        return {
          // Parse publishes without waiting for the answer: a refused message (over 400 KB,
          // DynamoDB unreachable) is logged, never an unhandled rejection (which ends Node).
          publish(channel, message) {
            const text = typeof message === 'string' ? message : JSON.stringify(message);
            return adapter._call('liveQueryPublish', channel, text).catch(e => {
              loggerOf(adapter._core).error(`[parse-server-dynamodb] LiveQuery message on ${channel} not published: ${e.message}`);
            });
          },
        };
      },
      createSubscriber() {
        return new LiveQuerySubscriber(adapter);
      },
    };
  }

  /**
   * Request de-duplication for Parse Server on this adapter (Parse's own `idempotencyOptions`
   * work only on its MongoDB and PostgreSQL adapters): an Express middleware to mount before
   * Parse Server, `app.use('/parse', dynamo.idempotency({ paths, ttl }), server.app)`, taking
   * the same options. A request Parse would de-duplicate (a POST or PUT of objects, users,
   * installations, a function or job call, its path matching one of `paths`, with an
   * `X-Parse-Request-Id`) claims its id in the table for `ttl` seconds (one conditional put);
   * a second request with the id meanwhile is answered as Parse answers it (400,
   * `{code: 159, error: 'Duplicate request'}`) and never reaches Parse Server. Only the body of
   * a POST to such a path is read (as Parse reads it, up to `maxUploadSize`), for the method the
   * JS SDK names in it (`_method`); any other request (file uploads among them) reaches Parse
   * Server unread.
   */
  idempotency({ paths = [], ttl = 300, maxUploadSize = '20mb' } = {}) {
    const patterns = paths.map(p => new RegExp(p.charAt(0) === '^' ? p : `^${p}`));
    // The routes Parse Server checks (its `promiseEnsureIdempotency` middleware).
    const routes = new Map([
      ['POST', /^\/(classes\/[^/]+|users|installations|functions\/[^/]+|jobs\/[^/]+)\/?$/],
      ['PUT', /^\/(classes\/[^/]+|users|installations)\/[^/]+\/?$/],
    ]);
    const adapter = this.adapter;
    let parseBody = null;
    return (req, res, next) => {
      const id = req.headers['x-parse-request-id'];
      if (!id || patterns.length === 0) return next();
      // Decided from the path and method alone, before any byte of the body is read.
      const reqPath = req.path.replace(/^\/|\/$/, '');
      if (!patterns.some(re => re.test(reqPath))) return next();
      const routed = method => routes.has(method) && routes.get(method).test(req.path);
      // Answered as Parse answers its errors: 400 (500 for an internal one), {code, error}.
      const answer = (status, code, error) => res.status(status).json({ code, error });
      const claim = () =>
        adapter._call('claimRequest', String(id), Number(ttl)).then(
          fresh => (fresh ? next() : answer(400, 159, 'Duplicate request')),
          e => (e.code ? answer(e.code === 1 ? 500 : 400, e.code, e.message) : next(e))
        );
      if (req.method === 'PUT') return routed('PUT') ? claim() : next();
      // A POST may name another method in its body, as the JS SDK sends every request (a PUT,
      // a query): read it as Parse Server does (its own parser then finds it read; a multipart
      // body, which Parse's parser leaves to the route, stays unread and names none).
      if (req.method !== 'POST' || !(routed('POST') || routed('PUT'))) return next();
      if (!parseBody) {
        parseBody = requireFromApp('express').json({ type: r => !r.is('multipart/form-data'), limit: maxUploadSize });
      }
      parseBody(req, res, err => {
        // A body Parse's parser would refuse, refused as Parse answers it: {error} and its status.
        if (err) return err.status ? res.status(err.status).json({ error: err.message }) : next(err);
        const named = req.body && req.body._method;
        routed(named && typeof named === 'string' ? named.toUpperCase() : 'POST') ? claim() : next();
      });
    };
  }
}

/**
 * LiveQuery's subscriber on this adapter: Parse's LiveQuery server calls `subscribe(channel)`
 * and listens to `message` events; messages any server published come from the table's stream
 * (a long poll of the core), those of subscribed channels emitted in the order published.
 */
class LiveQuerySubscriber extends require('node:events').EventEmitter {
  constructor(adapter) {
    super();
    this._adapter = adapter;
    this.subscriptions = new Map();
    // Parse's LiveQuery server subscribes once it has connected the subscriber.
    this.isOpen = false;
  }
  connect() {
    this.isOpen = true;
  }
  subscribe(channel) {
    this.subscriptions.set(channel, true);
    if (!this._listening) {
      this._listening = true;
      requests.exit(() => this._listen()); // a long poll, not the request's work
    }
  }
  unsubscribe(channel) {
    this.subscriptions.delete(channel);
  }
  async _listen() {
    this.isOpen = true;
    let cursor = (await this._adapter._call('liveQueryMessages', null, 0).catch(() => ({ cursor: 0 }))).cursor;
    while (this.isOpen) {
      const got = await this._adapter
        ._call('liveQueryMessages', cursor, 20000)
        .catch(() => new Promise(r => setTimeout(() => r({ cursor, messages: [] }), 1000)));
      if (!this.isOpen) break;
      cursor = got.cursor;
      for (const [channel, message] of got.messages) {
        if (this.subscriptions.has(channel)) this.emit('message', channel, message);
      }
    }
  }
  close() {
    this.isOpen = false;
  }
}

/** A module the app has (Express, for the idempotency middleware), else one this package's dependencies bring. */
function requireFromApp(name) {
  try {
    return require(require.resolve(name, { paths: [process.cwd()] }));
  } catch {
    return require(name);
  }
}

module.exports = { DynamoDB, DynamoStorageAdapter, Partition };
