// Parse Server on DynamoDB, configured from the environment (see the Dockerfile).
'use strict';
const express = require('express');
const { ParseServer } = require('parse-server');
const S3Adapter = require('@parse/s3-files-adapter');
const { DynamoDB } = require('parse-server-dynamodb');

async function main() {
  const need = name => {
    if (!process.env[name]) throw new Error(`set ${name}`);
    return process.env[name];
  };
  const port = Number(process.env.PORT || 1337);
  const dynamo = new DynamoDB(process.env.DYNAMODB_TABLE || 'parse-server', {
    region: need('AWS_REGION'),
    // The table comes from examples/cloudformation/table.yaml (or `parse-server-dynamodb create-table`).
    createTable: process.env.CREATE_TABLE === 'true',
  });
  const server = new ParseServer({
    databaseAdapter: dynamo.getAdapter(),
    // Files go to S3 (a container's disk does not last).
    filesAdapter: new S3Adapter({ bucket: need('S3_BUCKET'), region: need('AWS_REGION') }),
    appId: need('APP_ID'),
    masterKey: need('MASTER_KEY'),
    serverURL: process.env.SERVER_URL || `http://localhost:${port}/parse`,
  });
  await server.start();
  const app = express();
  app.use('/parse', server.app);
  app.listen(port, () => console.log(`Parse Server on DynamoDB, port ${port}`));
}

main().catch(e => {
  console.error(e);
  process.exit(1);
});
