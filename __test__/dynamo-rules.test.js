// The rule book every test's requests pass (scripts/dynamo-rules.js): each documented DynamoDB
// constraint refuses what AWS refuses and lets through what AWS takes, and the proxy answers a
// refusal in AWS's error shape without forwarding it.
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { check, Refusal, RulesProxy } = require('../scripts/dynamo-rules');
const { startDynamo } = require('../scripts/dynamo-local');

const schema = { keys: [{ name: 'pk', type: 'S', role: 'HASH' }, { name: 'sk', type: 'S', role: 'RANGE' }] };
const schemaOf = () => schema;
const S = s => ({ S: s });
const key = (p, s) => ({ pk: S(p), sk: S(s) });

/** The refusal message of a request, or null when DynamoDB would take it. */
function refusal(op, q) {
  try {
    check(op, { TableName: 'table', ...q }, schemaOf);
    return null;
  } catch (e) {
    assert.ok(e instanceof Refusal, `a Refusal, not ${e}`);
    return e.message;
  }
}

const deep = n => {
  let v = S('leaf');
  for (let i = 0; i < n; i++) v = { M: { n: v } };
  return v;
};

test('keys: not empty, within 2,048 / 1,024 bytes, of the schema', () => {
  assert.equal(refusal('GetItem', { Key: key('a', 'b') }), null);
  assert.match(refusal('GetItem', { Key: key('a', '') }), /cannot contain an empty string value. Key: sk/);
  assert.match(refusal('GetItem', { Key: key('', 'b') }), /empty string value. Key: pk/);
  assert.equal(refusal('PutItem', { Item: { ...key('a', 'x'.repeat(1024)) } }), null);
  assert.match(refusal('PutItem', { Item: { ...key('a', 'x'.repeat(1025)) } }), /range keys has exceeded the size limit of 1024 bytes/);
  // Bytes, not characters: 513 two-byte characters are 1,026 bytes.
  assert.match(refusal('PutItem', { Item: { ...key('a', '\u00e9'.repeat(513)) } }), /1024 bytes/);
  assert.match(refusal('PutItem', { Item: { ...key('p'.repeat(2049), 'b') } }), /hashkey has exceeded the maximum size limit of 2048 bytes/);
  assert.match(refusal('GetItem', { Key: { pk: S('a') } }), /does not match the schema/);
  assert.match(refusal('GetItem', { Key: { ...key('a', 'b'), x: S('c') } }), /does not match the schema/);
  assert.match(refusal('PutItem', { Item: { pk: S('a'), sk: { N: '1' } } }), /Type mismatch for key sk/);
  assert.match(refusal('Query', { KeyConditionExpression: '#p = :p', ExpressionAttributeNames: { '#p': 'pk' }, ExpressionAttributeValues: { ':p': S('a') }, ExclusiveStartKey: key('a', '') }), /empty string/);
});

test('key conditions: no empty key value, BETWEEN bounds in order', () => {
  const q = (expr, values) => refusal('Query', { KeyConditionExpression: expr, ExpressionAttributeNames: { '#p': 'pk', '#s': 'sk' }, ExpressionAttributeValues: values });
  assert.equal(q('#p = :p AND #s BETWEEN :a AND :b', { ':p': S('x'), ':a': S('a'), ':b': S('b') }), null);
  assert.match(q('#p = :p AND #s BETWEEN :a AND :b', { ':p': S('x'), ':a': S(''), ':b': S('b') }), /empty string value. Key: sk/);
  assert.match(q('#p = :p AND #s BETWEEN :a AND :b', { ':p': S('x'), ':a': S('b'), ':b': S('a') }), /requires upper bound to be greater than or equal to lower bound/);
  assert.match(q('#p = :p AND begins_with(#s, :a)', { ':p': S('x'), ':a': S('') }), /empty string/);
  assert.equal(q('#p = :p AND #s <= :a', { ':p': S('x'), ':a': S('\u{10FFFF}') }), null);
  assert.match(q('#p = :p AND #s < :a', { ':p': S('x'), ':a': S('y'.repeat(1025)) }), /1024 bytes/);
  assert.match(refusal('Query', { KeyConditionExpression: '#p = :p', ExpressionAttributeNames: { '#p': 'pk' }, ExpressionAttributeValues: { ':p': S('x') }, Limit: 0 }), /greater than or equal to 1/);
});

test('items: 400 KB with names counted, 32 levels, numbers, sets', () => {
  // 409,600 bytes in all: the names "pk", "sk", "big" and their values.
  const fill = 400 * 1024 - (2 + 1) - (2 + 1) - 3;
  assert.equal(refusal('PutItem', { Item: { ...key('a', 'b'), big: S('x'.repeat(fill)) } }), null);
  assert.match(refusal('PutItem', { Item: { ...key('a', 'b'), big: S('x'.repeat(fill + 1)) } }), /Item size has exceeded the maximum allowed size/);
  assert.equal(refusal('PutItem', { Item: { ...key('a', 'b'), d: deep(31) } }), null);
  assert.match(refusal('PutItem', { Item: { ...key('a', 'b'), d: deep(32) } }), /Nesting Levels have exceeded supported limits/);
  for (const ok of ['0', '-0.5', '1e125', '9.9999999999999999999999999999999999999E+125', '1E-130', '12345678901234567890123456789012345678']) {
    assert.equal(refusal('PutItem', { Item: { ...key('a', 'b'), n: { N: ok } } }), null, ok);
  }
  assert.match(refusal('PutItem', { Item: { ...key('a', 'b'), n: { N: '1e126' } } }), /Number overflow/);
  assert.match(refusal('PutItem', { Item: { ...key('a', 'b'), n: { N: '1e-131' } } }), /Number underflow/);
  assert.match(refusal('PutItem', { Item: { ...key('a', 'b'), n: { N: '123456789012345678901234567890123456789' } } }), /38 significant digits/);
  assert.match(refusal('PutItem', { Item: { ...key('a', 'b'), n: { N: 'abc' } } }), /numeric value/);
  assert.match(refusal('PutItem', { Item: { ...key('a', 'b'), s: { SS: [] } } }), /set {2}may not be empty/);
  assert.match(refusal('PutItem', { Item: { ...key('a', 'b'), s: { SS: ['x', 'x'] } } }), /contains duplicates/);
  assert.match(refusal('PutItem', { Item: { ...key('a', 'b'), z: { NULL: false } } }), /must have the value of true/);
});

test('expressions: 4 KB, IN of at most 100, placeholders defined and used, no overlapping paths', () => {
  const values = n => Object.fromEntries(Array.from({ length: n }, (_, i) => [`:v${i}`, S(`${i}`)]));
  const inOf = n => `#a IN (${Array.from({ length: n }, (_, i) => `:v${i}`).join(', ')})`;
  const scan = (FilterExpression, ExpressionAttributeValues, ExpressionAttributeNames = { '#a': 'a' }) => refusal('Scan', { FilterExpression, ExpressionAttributeNames, ExpressionAttributeValues });
  assert.equal(scan(inOf(100), values(100)), null);
  assert.match(scan(inOf(101), values(101)), /IN operator is provided with too many operands; number of operands: 101/);
  assert.equal(scan(`${inOf(100)} OR ${inOf(100).replace('#a', '#a.#a')}`, values(100)), null);
  const long = Array.from({ length: 600 }, (_, i) => `#a = :v${i % 3}`).join(' OR ');
  assert.match(scan(long, values(3)), /Expression size has exceeded the maximum allowed size/);
  assert.match(scan('#a = :v0', values(2)), /ExpressionAttributeValues unused in expressions: keys: \{:v1\}/);
  assert.match(scan('#a = :v0', values(1), { '#a': 'a', '#b': 'b' }), /ExpressionAttributeNames unused in expressions: keys: \{#b\}/);
  assert.match(scan('#a = :v1', values(1)), /attribute value used in expression is not defined; attribute value: :v1/);
  assert.match(scan('#b = :v0', values(1)), /attribute name used in the document path is not defined; attribute name: #b/);
  assert.match(scan('#a = :v0', values(1), {}), /ExpressionAttributeNames must not be empty/);
  const upd = UpdateExpression => refusal('UpdateItem', { Key: key('a', 'b'), UpdateExpression, ExpressionAttributeNames: { '#a': 'a', '#b': 'b' }, ExpressionAttributeValues: { ':x': { N: '1' } } });
  assert.equal(upd('SET #a = :x, #b = :x'), null);
  assert.match(upd('SET #a = :x, #a.#b = :x'), /Two document paths overlap/);
  assert.match(upd('SET #a = :x ADD #a :x, #b :x'), /Two document paths overlap/);
});

test('batches and transactions: sizes, counts, duplicates', () => {
  const keys = n => Array.from({ length: n }, (_, i) => key('a', `k${i}`));
  const get = ks => refusal('BatchGetItem', { TableName: undefined, RequestItems: { table: { Keys: ks } } });
  assert.equal(get(keys(100)), null);
  assert.match(get(keys(101)), /Too many items requested for the BatchGetItem call/);
  assert.match(get([key('a', 'x'), key('a', 'x')]), /Provided list of item keys contains duplicates/);
  const write = ws => refusal('BatchWriteItem', { TableName: undefined, RequestItems: { table: ws } });
  const put = k => ({ PutRequest: { Item: { ...k, v: S('v') } } });
  assert.equal(write(keys(25).map(put)), null);
  assert.match(write(keys(26).map(put)), /length less than or equal to 25/);
  assert.match(write([put(key('a', 'x')), { DeleteRequest: { Key: key('a', 'x') } }]), /contains duplicates/);
  const tx = (items, token = 'a'.repeat(32)) => refusal('TransactWriteItems', { TableName: undefined, TransactItems: items, ClientRequestToken: token });
  const tput = (k, extra = {}) => ({ Put: { TableName: 'table', Item: { ...k, ...extra } } });
  assert.equal(tx(keys(100).map(k => tput(k))), null);
  assert.match(tx(keys(101).map(k => tput(k))), /length less than or equal to 100/);
  assert.match(tx([tput(key('a', 'x')), { Delete: { TableName: 'table', Key: key('a', 'x') } }]), /multiple operations on one item/);
  assert.match(tx([tput(key('a', 'x'))], 'a'.repeat(37)), /clientRequestToken/);
  const big = S('x'.repeat(350 * 1024));
  assert.equal(tx(keys(11).map(k => tput(k, { big }))), null);
  assert.match(tx(keys(12).map(k => tput(k, { big }))), /larger than 4 MB/);
  // An item DynamoDB cannot store cancels the transaction at its action.
  try {
    check('TransactWriteItems', { TransactItems: [tput(key('a', 'x')), tput(key('a', 'y'), { d: deep(40) })] }, schemaOf);
    assert.fail('refused');
  } catch (e) {
    assert.equal(e.cancel, 1);
  }
});

test('table names: 3 to 255 of [a-zA-Z0-9_.-]', () => {
  assert.equal(refusal('DescribeTable', { TableName: 'a.b-c_1' }), null);
  assert.match(refusal('DescribeTable', { TableName: 'ab' }), /length between 3 and 255/);
  assert.match(refusal('DescribeTable', { TableName: 'a b c' }), /regular expression pattern/);
});

test('the proxy answers a refusal as AWS does and forwards the rest', async () => {
  const dynamo = await startDynamo({ rules: false });
  const proxy = await new RulesProxy({ target: dynamo.endpoint, log: null }).start();
  const call = async (op, body) => {
    const r = await fetch(proxy.endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': `DynamoDB_20120810.${op}`,
        'x-amz-date': '20260101T000000Z',
        authorization: 'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
      },
      body: JSON.stringify(body),
    });
    return { status: r.status, body: await r.json() };
  };
  try {
    const created = await call('CreateTable', {
      TableName: 'rules',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'sk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
      BillingMode: 'PAY_PER_REQUEST',
    });
    assert.equal(created.status, 200);
    assert.equal((await call('PutItem', { TableName: 'rules', Item: key('a', 'b') })).status, 200);
    const refused = await call('PutItem', { TableName: 'rules', Item: key('a', 'x'.repeat(1025)) });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.__type, 'com.amazon.coral.validate#ValidationException');
    assert.match(refused.body.message, /1024 bytes/);
    const tx = await call('TransactWriteItems', { TransactItems: [{ Put: { TableName: 'rules', Item: { ...key('a', 'c'), d: deep(40) } } }] });
    assert.equal(tx.status, 400);
    assert.equal(tx.body.__type, 'com.amazonaws.dynamodb.v20120810#TransactionCanceledException');
    assert.deepEqual(tx.body.CancellationReasons.map(r => r.Code), ['ValidationError']);
    const scan = await call('Scan', { TableName: 'rules' });
    assert.equal(scan.body.Count, 1, 'nothing refused reached the store');
    assert.deepEqual(proxy.violations.map(v => v.op), ['PutItem', 'TransactWriteItems']);
  } finally {
    await proxy.stop();
    await dynamo.stop();
  }
});
