// The main job (`npm start`): a Parse Server on this adapter. By default it runs against a
// local DynamoDB-compatible store (dynoxide, data kept in .data/dynoxide.db) that it starts
// itself, so no AWS account is needed. With DYNAMODB_ENDPOINT or AWS_REGION set it uses that
// DynamoDB instead (credentials from the default AWS chain).
'use strict';
process.env.AWS_EC2_METADATA_DISABLED = process.env.AWS_EC2_METADATA_DISABLED || (process.env.AWS_REGION ? '' : 'true');

const path = require('node:path');
const express = require('express');
const { ParseServer } = require('parse-server');
const FSFilesAdapter = require('@parse/fs-files-adapter');
const { DynamoDB } = require('..');
const { startDynamo } = require('./dynamo-local');

async function main() {
  const port = Number(process.env.PORT || 1337);
  const appId = process.env.APP_ID || 'demo-app';
  const masterKey = process.env.MASTER_KEY || 'demo-master-key';
  const table = process.env.DYNAMODB_TABLE || 'parse-server';

  let local = null;
  let options;
  if (process.env.DYNAMODB_ENDPOINT || process.env.AWS_REGION) {
    options = { endpoint: process.env.DYNAMODB_ENDPOINT, region: process.env.AWS_REGION };
  } else {
    local = await startDynamo({ dbPath: path.join(__dirname, '..', '.data', 'dynoxide.db') });
    options = { endpoint: local.endpoint, region: 'us-east-1' };
  }
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
  });
  await server.start();
  const app = express();
  app.use('/parse', server.app);
  const http = app.listen(port, () => {
    console.log(`Parse Server on DynamoDB (${local ? `local store ${local.endpoint}` : options.endpoint || `AWS ${options.region}`}, table ${table})`);
    console.log(`  serverURL: ${serverURL}`);
    console.log(`  appId:     ${appId}`);
    console.log(`  masterKey: ${masterKey}`);
    console.log(`Try: curl -X POST -H "X-Parse-Application-Id: ${appId}" -H "Content-Type: application/json" \\
       -d '{"score":1337}' ${serverURL}/classes/GameScore`);
  });
  const stop = async () => {
    http.close();
    http.closeAllConnections();
    if (local) await local.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch(err => {
  console.error(err);
  process.exit(1);
});
