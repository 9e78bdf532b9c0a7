// What can be checked here of examples/ and the bench charts: the CloudFormation template parses, declares the table
// as the adapter expects it (keys, on-demand, point-in-time recovery, deletion protection) and
// a policy that allows every DynamoDB call the adapter makes at run time; the Docker example's
// files exist and its server uses the published packages as the README shows.
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const yaml = require('js-yaml');

const root = path.join(__dirname, '..');
const read = p => fs.readFileSync(path.join(root, p), 'utf8');

test('the CloudFormation template declares the adapter table and a least-privilege policy', () => {
  const t = yaml.load(read('examples/cloudformation/table.yaml'));
  const table = t.Resources.Table;
  assert.equal(table.Type, 'AWS::DynamoDB::Table');
  const p = table.Properties;
  assert.deepEqual(p.KeySchema, [
    { AttributeName: '_pk_className', KeyType: 'HASH' },
    { AttributeName: '_sk_id', KeyType: 'RANGE' },
  ]);
  assert.deepEqual(p.AttributeDefinitions, [
    { AttributeName: '_pk_className', AttributeType: 'S' },
    { AttributeName: '_sk_id', AttributeType: 'S' },
  ]);
  assert.equal(p.BillingMode, 'PAY_PER_REQUEST');
  assert.equal(p.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled, true);
  assert.equal(p.DeletionProtectionEnabled, true);
  // The TTL attribute the adapter turns on when it creates a table (src/codec.rs, `EXPIRES`).
  const ttl = read('src/codec.rs').match(/pub const EXPIRES: &str = "([^"]+)"/)[1];
  assert.deepEqual(p.TimeToLiveSpecification, { AttributeName: ttl, Enabled: true });
  assert.equal(table.DeletionPolicy, 'Retain');
  // Every DynamoDB operation the store calls (src/store/), but creating and deleting tables
  // (the CLI's and createTable's, not a server's), is allowed, and nothing else.
  const store = fs.readdirSync(path.join(root, 'src', 'store')).map(f => read(`src/store/${f}`)).join('\n');
  const used = ['put_item', 'get_item', 'batch_get_item', 'query', 'scan', 'update_item', 'delete_item', 'batch_write_item', 'transact_write_items', 'describe_table'].filter(op => store.includes(`.${op}()`));
  assert.equal(used.length, 10, `store operations: ${used}`);
  const action = op => `dynamodb:${op.split('_').map(w => w[0].toUpperCase() + w.slice(1)).join('')}`;
  const wanted = new Set(used.filter(op => op !== 'transact_write_items').map(action));
  wanted.add('dynamodb:ConditionCheckItem'); // a transaction's checks
  const [statement, streamStatement] = t.Resources.ServerPolicy.Properties.PolicyDocument.Statement;
  assert.deepEqual(new Set(statement.Action), wanted);
  assert.deepEqual(statement.Resource, { 'Fn::GetAtt': ['Table', 'Arn'] });
  // The stream (src/store/stream.rs), for schema hooks: what the follower calls, on the stream.
  const streams = read('src/store/stream.rs');
  const streamOps = ['describe_stream', 'get_shard_iterator', 'get_records'].filter(op => streams.includes(`.${op}()`));
  assert.equal(streamOps.length, 3);
  assert.deepEqual(new Set(streamStatement.Action), new Set(streamOps.map(action)));
  assert.deepEqual(streamStatement.Resource, { 'Fn::GetAtt': ['Table', 'StreamArn'] });
  assert.equal(p.StreamSpecification.StreamViewType, 'NEW_IMAGE');
  wanted.add('dynamodb:DescribeStream');
  // The README shows the same actions (plus CreateTable for createTable: true).
  const readme = read('README.md');
  for (const a of wanted) assert.ok(readme.includes(`"${a}"`), `README policy lists ${a}`);
});

test('the Docker example runs Parse Server on the published packages', () => {
  const docker = read('examples/docker/Dockerfile');
  const copied = docker.match(/^COPY (.+) \.\/$/m)[1].split(/\s+/);
  for (const f of copied) assert.ok(fs.existsSync(path.join(root, 'examples/docker', f)), `${f} exists`);
  assert.match(docker, /npm install --omit=dev/);
  const pkg = JSON.parse(read('examples/docker/package.json'));
  const ours = JSON.parse(read('package.json'));
  assert.ok(pkg.dependencies[ours.name], 'depends on this package by its published name');
  assert.ok(pkg.dependencies['parse-server']);
  const server = read('examples/docker/server.js');
  for (const dep of Object.keys(pkg.dependencies)) assert.ok(server.includes(`require('${dep}')`), `server.js uses ${dep}`);
  assert.match(server, /const \{ DynamoDB \} = require\('parse-server-dynamodb'\)/);
  assert.match(server, /databaseAdapter: dynamo\.getAdapter\(\)/);
  // It parses as JavaScript.
  new Function(server.replace(/^'use strict';/, ''));
});

test('the charts in docs/ are the ones bench/charts.js draws from the tables in docs/performance.md', () => {
  const { execFileSync } = require('node:child_process');
  const os = require('node:os');
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'psd-charts-'));
  try {
    execFileSync(process.execPath, [path.join(root, 'bench', 'charts.js'), path.join(root, 'docs', 'performance.md'), out]);
    for (const name of ['query-cost.svg', 'throughput.svg']) {
      assert.equal(fs.readFileSync(path.join(out, name), 'utf8'), read(`docs/charts/${name}`), `${name} matches its numbers`);
      assert.ok(read('docs/performance.md').includes(`(charts/${name})`), `docs/performance.md shows ${name}`);
    }
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});
