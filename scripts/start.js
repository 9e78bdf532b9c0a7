// The main job (`npm start`): a Parse Server on this adapter. By default it serves from the
// adapter's embedded store (dynoxide inside this process, data kept in .data/store.db), so no
// AWS account and no other process is needed. With DYNAMODB_ENDPOINT or AWS_REGION set it uses
// that DynamoDB instead (credentials from the default AWS chain). `/` is a page that uses the
// Parse JS SDK against the server; `/dashboard` is Parse Dashboard for the demo app.
'use strict';
process.env.AWS_EC2_METADATA_DISABLED = process.env.AWS_EC2_METADATA_DISABLED || (process.env.AWS_REGION ? '' : 'true');

const path = require('node:path');
const express = require('express');
const { ParseServer } = require('parse-server');
const FSFilesAdapter = require('@parse/fs-files-adapter');
const ParseDashboard = require('parse-dashboard');
const { DynamoDB } = require('..');

// Parse Server 9 warns at start about options whose defaults will change; the demo takes the
// future defaults now, so its first screen is the banner.
const FUTURE_DEFAULTS = {
  fileUpload: { allowedFileUrlDomains: [] },
  pages: { encodePageParamHeaders: true },
  readOnlyMasterKeyIps: ['127.0.0.1', '::1'],
  requestComplexity: {
    includeDepth: 10,
    includeCount: 100,
    subqueryDepth: 10,
    queryDepth: 10,
    graphQLDepth: 20,
    graphQLFields: 200,
    batchRequestLimit: 100,
  },
  protectedFieldsOwnerExempt: false,
  protectedFieldsTriggerExempt: true,
  protectedFieldsSaveResponseExempt: false,
  installation: { duplicateDeviceTokenActionEnforceAuth: true },
  allowAggregationForReadOnlyMasterKey: false,
};

async function main() {
  const port = Number(process.env.PORT || 1337);
  const appId = process.env.APP_ID || 'demo-app';
  const masterKey = process.env.MASTER_KEY || 'demo-master-key';
  const table = process.env.DYNAMODB_TABLE || 'parse-server';

  const embedded = !(process.env.DYNAMODB_ENDPOINT || process.env.AWS_REGION);
  const dataFile = process.env.DATA_FILE || path.join(__dirname, '..', '.data', 'store.db');
  const options = embedded
    ? { embedded: dataFile }
    : { endpoint: process.env.DYNAMODB_ENDPOINT, region: process.env.AWS_REGION };
  // Each response tells its cost (the demo page shows it).
  const dynamo = new DynamoDB(table, { ...options, costHeader: true });
  const serverURL = `http://localhost:${port}/parse`;
  const server = new ParseServer({
    databaseAdapter: dynamo.getAdapter(),
    filesAdapter: new FSFilesAdapter({ filesSubDirectory: 'demo' }),
    appId,
    masterKey,
    masterKeyIps: ['0.0.0.0/0', '::/0'],
    serverURL,
    directAccess: false,
    allowClientClassCreation: true,
    logLevel: 'warn',
    ...FUTURE_DEFAULTS,
  });
  await server.start();
  const app = express();
  app.use('/parse', server.app);
  // Parse Dashboard for the demo app (no users configured: it answers only on localhost).
  const dashboard = new ParseDashboard(
    { apps: [{ serverURL, appId, masterKey, appName: 'Demo on DynamoDB' }] },
    { allowInsecureHTTP: true }
  );
  app.use('/dashboard', dashboard);
  // A page that talks to the server through the Parse JS SDK.
  app.use('/sdk', express.static(path.dirname(require.resolve('parse/dist/parse.min.js'))));
  app.get('/', (req, res) => res.type('html').send(demoPage(appId, serverURL)));
  // The indexes the adapter built by itself, for the demo page.
  app.get('/demo/indexes', async (req, res, next) => {
    try {
      const adapter = dynamo.getAdapter();
      const classes = await adapter.getAllClasses();
      const out = [];
      for (const c of classes) {
        for (const ix of await adapter.getIndexes(c.className)) if (ix.automatic) out.push({ className: c.className, ...ix });
      }
      res.json(out);
    } catch (e) {
      next(e);
    }
  });
  const http = app.listen(port, () => {
    console.log(`Parse Server on DynamoDB (${embedded ? `embedded store ${options.embedded}` : options.endpoint || `AWS ${options.region}`}, table ${table})`);
    console.log(`  demo page: http://localhost:${port}/  (the Parse JS SDK saving and querying objects)`);
    console.log(`  dashboard: http://localhost:${port}/dashboard  (Parse Dashboard)`);
    console.log(`  serverURL: ${serverURL}`);
    console.log(`  appId:     ${appId}`);
    console.log(`  masterKey: ${masterKey}`);
    console.log(`Try: curl -X POST -H "X-Parse-Application-Id: ${appId}" -H "Content-Type: application/json" \\
       -d '{"score":1337}' ${serverURL}/classes/GameScore`);
  });
  const stop = async () => {
    http.close();
    http.closeAllConnections();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

function demoPage(appId, serverURL) {
  return `<!doctype html><meta charset="utf-8"><title>Parse Server on DynamoDB</title>
<style>
body { font: 15px/1.4 system-ui, sans-serif; margin: 2em; max-width: 60em; color: #222 }
table { border-collapse: collapse; margin: 1em 0 } td, th { border-bottom: 1px solid #ddd; padding: .3em .8em; text-align: left; vertical-align: top }
th { background: #f4f4f4 } .units { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap } code { font-size: 13px }
</style>
<h1>Parse Server on DynamoDB</h1>
<p>DynamoDB bills every item a request reads or writes. Each query below shows what it cost and how the adapter read it
(from the <code>Server-Timing</code> header of its response, option <code>costHeader</code>). Add scores and run the
queries again: the adapter builds the indexes they want by itself.</p>
<p><button id="add">Save a GameScore</button> <button id="many">Add 500 scores</button> <button id="run">Run the queries</button> <span id="status"></span></p>
<table id="queries"><thead><tr><th>query (Parse JS SDK)</th><th>rows</th><th class="units">read units</th><th>plan</th></tr></thead><tbody></tbody></table>
<h2>Indexes the adapter built by itself</h2><ul id="indexes"><li>none yet</li></ul>
<h2>Newest scores</h2><pre id="out">…</pre>
<script src="/sdk/parse.min.js"></script>
<script>
Parse.initialize(${JSON.stringify(appId)});
Parse.serverURL = ${JSON.stringify(serverURL)};
const $ = id => document.getElementById(id);
const players = ['ann', 'bob', 'cy', 'dee', 'eve', 'fay', 'gus', 'hal'];
const QUERIES = [
  ['10 newest', "new Parse.Query('GameScore').descending('createdAt').limit(10)", () => new Parse.Query('GameScore').descending('createdAt').limit(10).find()],
  ['score ≥ 995', "new Parse.Query('GameScore').greaterThanOrEqualTo('score', 995)", () => new Parse.Query('GameScore').greaterThanOrEqualTo('score', 995).find()],
  ["player 'ann', best 3", "new Parse.Query('GameScore').equalTo('player', 'ann').descending('score').limit(3)", () => new Parse.Query('GameScore').equalTo('player', 'ann').descending('score').limit(3).find()],
  ['count', "new Parse.Query('GameScore').count()", () => new Parse.Query('GameScore').count()],
];
// What the last Parse response cost: its \`Server-Timing\` header, read as the SDK's fetch returns.
let lastTiming = [];
const fetchParse = window.fetch;
window.fetch = async (...args) => {
  const res = await fetchParse(...args);
  const header = res.headers.get('server-timing');
  if (header) lastTiming = [...header.matchAll(/(dynamodb[\\w-]*);desc="([^"]*)"/g)].map(m => ({ name: m[1], description: m[2] }));
  return res;
};
async function runQueries() {
  const body = $('queries').tBodies[0];
  body.innerHTML = '';
  for (const [name, code, run] of QUERIES) {
    lastTiming = [];
    const rows = await run();
    const timing = lastTiming;
    const total = timing.find(t => t.name === 'dynamodb');
    const plans = timing.filter(t => t.name.startsWith('dynamodb-query')).map(t => t.description);
    const tr = body.insertRow();
    tr.insertCell().innerHTML = '<b>' + name + '</b><br><code>' + code + '</code>';
    tr.insertCell().textContent = Array.isArray(rows) ? rows.length : rows;
    const units = tr.insertCell();
    units.className = 'units';
    units.textContent = total ? total.description.split(',')[0] : '?';
    tr.insertCell().textContent = plans.join('; ') || '—';
  }
  const ix = await (await fetch('/demo/indexes')).json();
  $('indexes').innerHTML = ix.length
    ? ix.map(i => '<li><code>' + i.className + ' ' + JSON.stringify(i.key) + '</code>' + (i.building ? ' (being built)' : '') + '</li>').join('')
    : '<li>none yet: add scores and run the queries again</li>';
  const newest = await new Parse.Query('GameScore').descending('createdAt').limit(5).find();
  $('out').textContent = newest.map(r => r.id + '  ' + r.get('player') + '  ' + r.get('score') + '  ' + r.createdAt.toISOString()).join('\\n') || 'none yet';
}
const score = () => new Parse.Object('GameScore', { player: players[Math.floor(Math.random() * players.length)], score: Math.floor(Math.random() * 1000) });
async function busy(label, work) {
  $('status').textContent = label + '…';
  try { await work(); $('status').textContent = ''; } catch (e) { $('status').textContent = String(e); }
}
$('add').onclick = () => busy('saving', async () => { await score().save(); await runQueries(); });
$('many').onclick = () => busy('adding 500 scores', async () => {
  for (let i = 0; i < 10; i++) await Parse.Object.saveAll(Array.from({ length: 50 }, score));
  await runQueries();
});
$('run').onclick = () => busy('running', runQueries);
busy('running', runQueries);
</script>`;
}

main().catch(err => {
  console.error(err);
  process.exit(1);
});
