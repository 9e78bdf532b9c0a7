// The package works from ESM `import` as from CommonJS `require`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { DynamoDB, Partition } from 'parse-server-dynamodb';
import shim from 'parse-server-dynamodb';

const require = createRequire(import.meta.url);

test('import and require give the same classes', () => {
  const cjs = require('parse-server-dynamodb');
  assert.equal(DynamoDB, cjs.DynamoDB);
  assert.equal(Partition, cjs.Partition);
  assert.equal(shim.DynamoDB, DynamoDB);
  const db = new DynamoDB('esm-table', { endpoint: 'http://127.0.0.1:1', region: 'us-east-1' });
  assert.equal(db.getAdapter(), db.adapter);
});
