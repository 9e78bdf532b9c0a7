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
  const dynamo = new DynamoDB(table, options);
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
<h1>Parse Server on DynamoDB</h1><p><button id="add">Save a GameScore</button></p><pre id="out">…</pre>
<script src="/sdk/parse.min.js"></script>
<script>
Parse.initialize(${JSON.stringify(appId)});
Parse.serverURL = ${JSON.stringify(serverURL)};
const out = document.getElementById('out');
async function show() {
  const q = new Parse.Query('GameScore').descending('createdAt').limit(10);
  const rows = await q.find();
  out.textContent = rows.length + ' newest scores:\\n' + rows.map(r => r.id + '  ' + r.get('score') + '  ' + r.createdAt.toISOString()).join('\\n');
}
document.getElementById('add').onclick = async () => {
  await new Parse.Object('GameScore').save({ score: Math.floor(Math.random() * 1000) });
  show();
};
show().catch(e => (out.textContent = String(e)));
</script>`;
}

main().catch(err => {
  console.error(err);
  process.exit(1);
});
