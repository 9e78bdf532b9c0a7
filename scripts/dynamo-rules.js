// DynamoDB's documented request rules, checked on the wire. Every test's requests pass through
// `RulesProxy` (a loopback proxy in front of dynoxide, started by scripts/dynamo-local.js and
// scripts/dynoxide.sh when DYNAMO_RULES=1): a request real DynamoDB would refuse, and that the
// emulator may let through, is answered as AWS answers it (HTTP 400, its error shape) and
// recorded, so a test that makes the adapter send one fails, and `npm test` fails at the end if
// any was recorded (DYNAMO_RULES_LOG). `check(op, request, schemaOf)` is the rule book alone.
// Each rule names the AWS page it comes from:
//   [C]  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html
//   [E]  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.OperatorsAndFunctions.html
//   [S]  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html (item sizes)
//   [Q]  https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Query.html
//   [BG] https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html
//   [BW] https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html
//   [TW] https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html
//   [TG] https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactGetItems.html
//   [CT] https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_CreateTable.html (table names)
//   [U]  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.UpdateExpressions.html
'use strict';
const fs = require('node:fs');
const http = require('node:http');

const LIMITS = {
  partitionKeyBytes: 2048, // [C] partition key length: 1 to 2,048 bytes
  sortKeyBytes: 1024, // [C] sort key length: 1 to 1,024 bytes
  itemBytes: 400 * 1024, // [C] item size: 400 KB, attribute names included
  nesting: 32, // [C] nested attributes: up to 32 levels deep
  numberDigits: 38, // [C] numbers: up to 38 digits of precision
  expressionBytes: 4096, // [C] expression parameters: any expression string at most 4 KB
  placeholderBytes: 255, // [C] one expression attribute name or value placeholder: 255 bytes
  substitutionBytes: 2 * 1024 * 1024, // [C] all substitution variables of a request: 2 MB
  inOperands: 100, // [C]/[E] the IN comparator: at most 100 operands
  batchGetKeys: 100, // [BG] up to 100 items
  batchWrites: 25, // [BW] up to 25 put or delete requests
  batchWriteBytes: 16 * 1024 * 1024, // [BW] up to 16 MB
  transactItems: 100, // [TW] up to 100 actions
  transactBytes: 4 * 1024 * 1024, // [TW] aggregate size of the items up to 4 MB
  transactGets: 100, // [TG] up to 100 actions
  clientTokenChars: 36, // [TW] ClientRequestToken: length 1 to 36
};

class Refusal extends Error {
  /** `cancel`: for a transaction, the action whose item DynamoDB cancels it for. */
  constructor(message, { type = 'ValidationException', cancel } = {}) {
    super(message);
    this.type = type;
    this.cancel = cancel;
  }
}

const refuse = (message, o) => {
  throw new Refusal(message, o);
};
const bytes = s => Buffer.byteLength(s, 'utf8');
const TYPES = ['S', 'N', 'B', 'SS', 'NS', 'BS', 'M', 'L', 'NULL', 'BOOL'];

/** [C] numbers: 38 significant digits, magnitude 1E-130 to 9.9999999999999999999999999999999999999E+125, or 0. */
function checkNumber(n) {
  const m = /^[+-]?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(String(n));
  if (!m || (m[1] === '' && (m[2] === undefined || m[2] === ''))) refuse(`The parameter cannot be converted to a numeric value: ${n}`);
  const digits = (m[1] + (m[2] || '')).replace(/^0+/, '');
  if (digits === '') return; // zero
  const significant = digits.replace(/0+$/, '');
  if (significant.length > LIMITS.numberDigits) refuse('Attempting to store more than 38 significant digits in a Number');
  // The decimal exponent of the first significant digit.
  const lead = m[1].replace(/^0+/, '');
  const exp = Number(m[3] || 0) + (lead.length > 0 ? lead.length - 1 : -((m[2] || '').match(/^0*/)[0].length + 1));
  if (exp > 125) refuse('Number overflow. Attempting to store a number with magnitude larger than supported range');
  if (exp < -130) refuse('Number underflow. Attempting to store a number with magnitude smaller than supported range');
}

/** One attribute value: its type, numbers, sets, nesting ([C]); answers its size in bytes ([S]). */
function checkValue(v, level = 1) {
  if (level > LIMITS.nesting) refuse('Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit');
  const types = v && typeof v === 'object' ? Object.keys(v).filter(k => TYPES.includes(k)) : [];
  if (types.length !== 1) refuse('Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes');
  const [t] = types;
  const x = v[t];
  switch (t) {
    case 'S':
      return bytes(x);
    case 'N':
      checkNumber(x);
      return numberSize(x);
    case 'B':
      return Buffer.from(x, 'base64').length;
    case 'NULL':
      if (x !== true) refuse('One or more parameter values were invalid: Null attribute value types must have the value of true');
      return 1;
    case 'BOOL':
      return 1;
    case 'SS':
    case 'NS':
    case 'BS': {
      // [C] sets: no empty sets, and every value unique.
      if (!Array.isArray(x) || x.length === 0) refuse(`One or more parameter values were invalid: An ${t === 'SS' ? 'string' : t === 'NS' ? 'number' : 'binary'} set  may not be empty`);
      if (t === 'NS') x.forEach(checkNumber);
      const seen = new Set(t === 'NS' ? x.map(n => Number(n)) : x);
      if (seen.size !== x.length) refuse(`One or more parameter values were invalid: Input collection [${x.join(', ')}] contains duplicates.`);
      return x.reduce((a, e) => a + (t === 'SS' ? bytes(e) : t === 'NS' ? numberSize(e) : Buffer.from(e, 'base64').length), 0);
    }
    case 'L':
      // [S] a list: 3 bytes, and 1 byte per element beside the element's own size.
      return 3 + x.reduce((a, e) => a + 1 + checkValue(e, level + 1), 0);
    case 'M':
      // [S] a map: 3 bytes, and per element its name and 1 byte beside its value.
      return 3 + Object.entries(x).reduce((a, [k, e]) => a + 1 + bytes(k) + checkValue(e, level + 1), 0);
    default:
      return 0;
  }
}

/** [S] a number: about 1 byte per two significant digits, plus 1. */
function numberSize(n) {
  const digits = String(n).replace(/[eE].*$/, '').replace(/[^0-9]/g, '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.ceil(digits.length / 2) + 1;
}

/** An item: every value checked, its size ([S], names included) within 400 KB ([C]). */
function checkItem(item, schema) {
  if (!item || typeof item !== 'object') refuse('One or more parameter values were invalid: Missing the key in the item');
  let size = 0;
  for (const [name, v] of Object.entries(item)) {
    if (name.length === 0) refuse('One or more parameter values were invalid: An AttributeName may not be empty');
    size += bytes(name) + checkValue(v);
  }
  if (schema) checkKey(pick(item, schema), schema, 'item');
  if (size > LIMITS.itemBytes) refuse('Item size has exceeded the maximum allowed size');
  return size;
}

const pick = (item, schema) => Object.fromEntries(schema.keys.map(k => [k.name, item[k.name]]).filter(([, v]) => v !== undefined));

/** A key: exactly the table's key attributes, of their types, none empty, within the key sizes ([C]). */
function checkKey(key, schema, what = 'key') {
  if (!key || typeof key !== 'object') refuse('The provided key element does not match the schema');
  const names = Object.keys(key);
  if (what === 'key' && (names.length !== schema.keys.length || schema.keys.some(k => !(k.name in key)))) refuse('The provided key element does not match the schema');
  for (const k of schema.keys) {
    const v = key[k.name];
    if (v === undefined) refuse(`One or more parameter values were invalid: Missing the key ${k.name} in the item`);
    checkKeyValue(k, v);
  }
}

function checkKeyValue(k, v) {
  const [t] = Object.keys(v);
  if (t !== k.type) refuse(`One or more parameter values were invalid: Type mismatch for key ${k.name} expected: ${k.type} actual: ${t}`);
  const size = t === 'S' ? bytes(v.S) : t === 'B' ? Buffer.from(v.B, 'base64').length : (checkNumber(v.N), numberSize(v.N));
  if (size === 0) refuse(`One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty ${t === 'S' ? 'string' : 'binary'} value. Key: ${k.name}`);
  if (k.role === 'HASH' && size > LIMITS.partitionKeyBytes) refuse(`One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of ${LIMITS.partitionKeyBytes} bytes`);
  if (k.role === 'RANGE' && size > LIMITS.sortKeyBytes) refuse(`One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of ${LIMITS.sortKeyBytes} bytes`);
}

const keyText = (key, schema) => JSON.stringify(schema.keys.map(k => key[k.name]));

/** [CT] table names: 3 to 255 characters of a-z, A-Z, 0-9, `_`, `-`, `.`. */
function checkTableName(name) {
  if (typeof name !== 'string' || name.length < 3 || name.length > 255) {
    refuse(`1 validation error detected: Value '${name}' at 'tableName' failed to satisfy constraint: Member must have length between 3 and 255`);
  }
  if (!/^[a-zA-Z0-9_.-]+$/.test(name)) {
    refuse(`1 validation error detected: Value '${name}' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+`);
  }
}

/** Operands of each `IN (…)` of an expression (top-level commas inside its parentheses). */
function inOperandCounts(expr) {
  const counts = [];
  const re = /\bIN\s*\(/gi;
  let m;
  while ((m = re.exec(expr))) {
    let depth = 1;
    let n = 1;
    for (let i = m.index + m[0].length; i < expr.length && depth > 0; i++) {
      if (expr[i] === '(') depth++;
      else if (expr[i] === ')') depth--;
      else if (expr[i] === ',' && depth === 1) n++;
    }
    counts.push(n);
  }
  return counts;
}

/** The document paths an update expression's actions write ([U]): two may not overlap. */
function updatePaths(expr) {
  const paths = [];
  const clauses = expr.split(/\b(SET|REMOVE|ADD|DELETE)\b/i).slice(1);
  for (let i = 0; i + 1 < clauses.length; i += 2) {
    let depth = 0;
    let part = '';
    const actions = [];
    for (const ch of clauses[i + 1]) {
      if (ch === '(') depth++;
      if (ch === ')') depth--;
      if (ch === ',' && depth === 0) {
        actions.push(part);
        part = '';
      } else part += ch;
    }
    actions.push(part);
    for (const a of actions) {
      const path = a.trim().split(/[\s=]/)[0];
      if (path) paths.push(path);
    }
  }
  return paths;
}

const EXPRESSIONS = ['KeyConditionExpression', 'FilterExpression', 'ConditionExpression', 'UpdateExpression', 'ProjectionExpression'];

/**
 * The expressions of one request (or transaction action) and their placeholders: sizes,
 * placeholders defined and used, IN operands, values valid ([C], [E]); key conditions of a
 * Query also by the key rules ([Q]). Answers nothing; throws a Refusal.
 */
function checkExpressions(q, schema) {
  const names = q.ExpressionAttributeNames;
  const values = q.ExpressionAttributeValues;
  if (names && Object.keys(names).length === 0) refuse('ExpressionAttributeNames must not be empty');
  if (values && Object.keys(values).length === 0) refuse('ExpressionAttributeValues must not be empty');
  const usedNames = new Set();
  const usedValues = new Set();
  for (const which of EXPRESSIONS) {
    const e = q[which];
    if (e === undefined) continue;
    if (bytes(e) > LIMITS.expressionBytes) refuse(`Invalid ${which}: Expression size has exceeded the maximum allowed size; expression size: ${bytes(e)}`);
    for (const n of inOperandCounts(e)) {
      if (n > LIMITS.inOperands) refuse(`Invalid ${which}: The IN operator is provided with too many operands; number of operands: ${n}`);
    }
    for (const [p] of e.matchAll(/#[A-Za-z0-9_]+/g)) {
      if (!names || !(p in names)) refuse(`Invalid ${which}: An expression attribute name used in the document path is not defined; attribute name: ${p}`);
      usedNames.add(p);
    }
    for (const [p] of e.matchAll(/:[A-Za-z0-9_]+/g)) {
      if (!values || !(p in values)) refuse(`Invalid ${which}: An expression attribute value used in expression is not defined; attribute value: ${p}`);
      usedValues.add(p);
    }
    if (which === 'UpdateExpression') {
      const paths = updatePaths(e).map(p => p.replace(/#[A-Za-z0-9_]+/g, n => `\u0000${(names || {})[n]}`));
      for (let i = 0; i < paths.length; i++) {
        for (let j = i + 1; j < paths.length; j++) {
          const [a, b] = paths[i].length <= paths[j].length ? [paths[i], paths[j]] : [paths[j], paths[i]];
          if (a === b || b.startsWith(`${a}.`) || b.startsWith(`${a}[`)) {
            refuse(`Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [${paths[i]}], path two: [${paths[j]}]`);
          }
        }
      }
    }
    if (which === 'KeyConditionExpression' && schema) checkKeyCondition(e, names || {}, values || {}, schema);
  }
  let substitution = 0;
  for (const [p, n] of Object.entries(names || {})) {
    if (!usedNames.has(p)) refuse(`Value provided in ExpressionAttributeNames unused in expressions: keys: {${p}}`);
    if (bytes(p) > LIMITS.placeholderBytes) refuse(`ExpressionAttributeNames contains invalid key: Syntax error; key: "${p.slice(0, 40)}…"`);
    substitution += bytes(p) + bytes(n);
  }
  for (const [p, v] of Object.entries(values || {})) {
    if (!usedValues.has(p)) refuse(`Value provided in ExpressionAttributeValues unused in expressions: keys: {${p}}`);
    if (bytes(p) > LIMITS.placeholderBytes) refuse(`ExpressionAttributeValues contains invalid key: Syntax error; key: "${p.slice(0, 40)}…"`);
    substitution += bytes(p) + checkValue(v);
  }
  if (substitution > LIMITS.substitutionBytes) refuse('Expression attribute names and values exceed the maximum size of 2 MB');
}

/** [Q] a key condition: the key values it compares with are key values (not empty, within size),
 * and a BETWEEN's lower bound is not above its upper one. */
function checkKeyCondition(e, names, values, schema) {
  const attr = p => (p.startsWith('#') ? names[p] : p);
  const key = n => schema.keys.find(k => k.name === n);
  const re = /(#?[A-Za-z0-9_]+)\s*(=|<=|<|>=|>|BETWEEN)\s*(:[A-Za-z0-9_]+)(?:\s+AND\s+(:[A-Za-z0-9_]+))?|begins_with\s*\(\s*(#?[A-Za-z0-9_]+)\s*,\s*(:[A-Za-z0-9_]+)\s*\)/gi;
  let m;
  while ((m = re.exec(e))) {
    const k = key(attr(m[1] || m[5]));
    if (!k) continue;
    const vs = m[5] ? [m[6]] : m[2].toUpperCase() === 'BETWEEN' ? [m[3], m[4]] : [m[3]];
    for (const p of vs) if (values[p]) checkKeyValue(k, values[p]);
    if (!m[5] && m[2].toUpperCase() === 'BETWEEN' && m[4]) {
      const [lo, hi] = [values[m[3]], values[m[4]]];
      const order = k.type === 'N' ? Math.sign(Number(lo.N) - Number(hi.N)) : Buffer.compare(Buffer.from(lo.S ?? lo.B ?? ''), Buffer.from(hi.S ?? hi.B ?? ''));
      if (order > 0) refuse(`Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lowerBound: ${JSON.stringify(lo)}, upperBound: ${JSON.stringify(hi)}`);
    }
  }
}

/**
 * Checks one request of operation `op` against DynamoDB's rules; `schemaOf(table)` answers the
 * table's key schema ({keys: [{name, type, role}]}) or null when unknown. Throws a Refusal.
 */
function check(op, q, schemaOf) {
  const table = q.TableName;
  if (table !== undefined) checkTableName(table);
  const schema = table !== undefined ? schemaOf(table) : null;
  switch (op) {
    case 'GetItem':
    case 'DeleteItem':
    case 'UpdateItem':
      if (schema) checkKey(q.Key, schema);
      checkExpressions(q, schema);
      break;
    case 'PutItem':
      checkItem(q.Item, schema);
      checkExpressions(q, schema);
      break;
    case 'Query':
    case 'Scan':
      if (q.Limit !== undefined && q.Limit < 1) refuse(`1 validation error detected: Value '${q.Limit}' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1`);
      if (q.ExclusiveStartKey && schema) checkKey(pick(q.ExclusiveStartKey, schema), schema, 'item');
      checkExpressions(q, schema);
      break;
    case 'BatchGetItem': {
      let n = 0;
      for (const [t, ka] of Object.entries(q.RequestItems || {})) {
        checkTableName(t);
        const s = schemaOf(t);
        const seen = new Set();
        for (const k of ka.Keys || []) {
          n++;
          if (s) {
            checkKey(k, s);
            const text = keyText(k, s);
            if (seen.has(text)) refuse('Provided list of item keys contains duplicates');
            seen.add(text);
          }
        }
        checkExpressions(ka, s);
      }
      if (n === 0) refuse("1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Member must have length greater than or equal to 1");
      if (n > LIMITS.batchGetKeys) refuse('Too many items requested for the BatchGetItem call');
      break;
    }
    case 'BatchWriteItem': {
      let n = 0;
      let size = 0;
      for (const [t, writes] of Object.entries(q.RequestItems || {})) {
        checkTableName(t);
        const s = schemaOf(t);
        const seen = new Set();
        for (const w of writes) {
          n++;
          const key = w.PutRequest ? (s ? pick(w.PutRequest.Item, s) : null) : w.DeleteRequest && w.DeleteRequest.Key;
          if (w.PutRequest) size += checkItem(w.PutRequest.Item, s);
          else if (s) checkKey(w.DeleteRequest.Key, s);
          if (s && key) {
            const text = keyText(key, s);
            if (seen.has(text)) refuse('Provided list of item keys contains duplicates');
            seen.add(text);
          }
        }
      }
      if (n > LIMITS.batchWrites) refuse(`1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to ${LIMITS.batchWrites}, Member must have length greater than or equal to 1]`);
      if (size > LIMITS.batchWriteBytes) refuse('Too many items requested for the BatchWriteItem call');
      break;
    }
    case 'TransactWriteItems': {
      const items = q.TransactItems || [];
      if (items.length < 1 || items.length > LIMITS.transactItems) refuse(`1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to ${LIMITS.transactItems}`);
      if (q.ClientRequestToken !== undefined && (q.ClientRequestToken.length < 1 || q.ClientRequestToken.length > LIMITS.clientTokenChars)) {
        refuse(`1 validation error detected: Value '${q.ClientRequestToken}' at 'clientRequestToken' failed to satisfy constraint: Member must have length less than or equal to ${LIMITS.clientTokenChars}`);
      }
      const seen = new Set();
      let size = 0;
      items.forEach((a, i) => {
        const [kind] = Object.keys(a);
        const action = a[kind];
        checkTableName(action.TableName);
        const s = schemaOf(action.TableName);
        let key = action.Key;
        if (kind === 'Put') {
          if (s) {
            key = pick(action.Item, s);
            checkKey(key, s);
          }
          // An item DynamoDB cannot store cancels the transaction at that action.
          try {
            size += checkItem(action.Item, null);
          } catch (e) {
            if (e instanceof Refusal) e.cancel = i;
            throw e;
          }
        } else if (s) {
          checkKey(key, s);
          size += Object.entries(key).reduce((a2, [n, v]) => a2 + bytes(n) + checkValue(v), 0);
        }
        checkExpressions(action, s);
        if (s) {
          const text = `${action.TableName} ${keyText(key, s)}`;
          if (seen.has(text)) refuse('Transaction request cannot include multiple operations on one item');
          seen.add(text);
        }
      });
      if (size > LIMITS.transactBytes) refuse('Transaction request cannot be larger than 4 MB');
      break;
    }
    case 'TransactGetItems': {
      const items = q.TransactItems || [];
      if (items.length < 1 || items.length > LIMITS.transactGets) refuse(`1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to ${LIMITS.transactGets}`);
      for (const a of items) {
        const s = schemaOf(a.Get.TableName);
        if (s) checkKey(a.Get.Key, s);
        checkExpressions(a.Get, s);
      }
      break;
    }
    default:
      break;
  }
}

/** The key schema of a CreateTable request or a DescribeTable answer's `Table`. */
function schemaFrom(t) {
  if (!t || !t.KeySchema) return null;
  const types = Object.fromEntries((t.AttributeDefinitions || []).map(d => [d.AttributeName, d.AttributeType]));
  const keys = [...t.KeySchema]
    .sort((a, b) => (a.KeyType === 'HASH' ? -1 : 1) - (b.KeyType === 'HASH' ? -1 : 1))
    .map(k => ({ name: k.AttributeName, type: types[k.AttributeName] || 'S', role: k.KeyType }));
  return { keys };
}

/** The error body DynamoDB answers for a refusal (a transaction's item refusal as a cancellation). */
function errorBody(op, q, r) {
  if (op === 'TransactWriteItems' && r.cancel !== undefined) {
    const reasons = (q.TransactItems || []).map((_, i) => (i === r.cancel ? { Code: 'ValidationError', Message: r.message } : { Code: 'None' }));
    return {
      __type: 'com.amazonaws.dynamodb.v20120810#TransactionCanceledException',
      message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map(x => x.Code).join(', ')}]`,
      CancellationReasons: reasons,
    };
  }
  return { __type: `com.amazon.coral.validate#${r.type}`, message: r.message };
}

/** A DynamoDB JSON-protocol request as a proxy reads it: its body and its operation. */
async function readRequest(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return { body: Buffer.concat(chunks).toString(), op: String(req.headers['x-amz-target'] || '').split('.').pop() };
}

/** Answers a request with DynamoDB's JSON (an error shape, for a proxy's own answers). */
function replyJson(res, status, json, requestId) {
  const body = JSON.stringify(json);
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(body), 'x-amzn-requestid': requestId });
  res.end(body);
}

class RulesProxy {
  /**
   * @param {{target: string, port?: number, log?: string|null, limits?: object, answers?: string|null}} o
   * `log`: a file each refusal is appended to (a JSON line); `limits` overrides some of LIMITS
   * for this proxy (to test how the adapter meets a refusal); `answers`: a file each error the
   * target answers is appended to (to compare with another implementation, e.g. moto).
   */
  constructor({ target, port = 0, log = process.env.DYNAMO_RULES_LOG || null, limits = {}, answers = null }) {
    this.target = new URL(target);
    this.port = port;
    this.log = log;
    this.answers = answers;
    this.limits = limits;
    this.schemas = new Map();
    this.violations = [];
    this.requests = 0;
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  }

  async start() {
    this.server = http.createServer((req, res) => this._handle(req, res));
    this.server.keepAliveTimeout = 5000;
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', resolve);
    });
    this.endpoint = `http://127.0.0.1:${this.server.address().port}`;
    return this;
  }

  async stop() {
    this.server.closeAllConnections();
    await new Promise(resolve => this.server.close(resolve));
    this.agent.destroy();
  }

  _forward(req, body, target = req.headers['x-amz-target']) {
    return new Promise((resolve, reject) => {
      const headers = { ...req.headers, host: this.target.host, 'content-length': Buffer.byteLength(body), 'x-amz-target': target };
      const out = http.request({ host: this.target.hostname, port: this.target.port, method: req.method, path: req.url, headers, agent: this.agent }, res => {
        const chunks = [];
        res.on('data', c => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      });
      out.on('error', reject);
      out.end(body);
    });
  }

  /** The key schema of every table a request names, asked of the target once per table. */
  async _learn(req, op, q) {
    const tables = new Set();
    if (q.TableName) tables.add(q.TableName);
    for (const t of Object.keys(q.RequestItems || {})) tables.add(t);
    for (const a of q.TransactItems || []) for (const v of Object.values(a)) if (v && v.TableName) tables.add(v.TableName);
    for (const t of tables) {
      if (this.schemas.has(t) || op === 'CreateTable' || typeof t !== 'string') continue;
      const r = await this._forward(req, JSON.stringify({ TableName: t }), 'DynamoDB_20120810.DescribeTable');
      if (r.status === 200) this.schemas.set(t, schemaFrom(JSON.parse(r.body).Table));
    }
  }

  async _handle(req, res) {
    const { body, op } = await readRequest(req);
    this.requests++;
    try {
      const q = body ? JSON.parse(body) : {};
      await this._learn(req, op, q);
      const refusal = this._check(op, q);
      if (refusal) return this._refuse(res, op, q, refusal);
      const r = await this._forward(req, body);
      if (op === 'CreateTable' && r.status === 200) this.schemas.set(q.TableName, schemaFrom(q));
      if (op === 'DeleteTable' && r.status === 200) this.schemas.delete(q.TableName);
      if (this.answers && r.status !== 200) {
        let a;
        try {
          a = JSON.parse(r.body.toString() || '{}');
        } catch (_) {
          a = { __type: 'not JSON', message: r.body.toString().slice(0, 200) };
        }
        const reasons = a.CancellationReasons ? a.CancellationReasons.map(x => x.Code) : undefined;
        fs.appendFileSync(this.answers, `${JSON.stringify({ op, status: r.status, type: a.__type, message: a.message || a.Message, reasons })}\n`);
      }
      res.writeHead(r.status, r.headers);
      res.end(r.body);
    } catch (e) {
      if (!res.headersSent) this._reply(res, 500, { __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: `rules proxy: ${e.message}` });
    }
  }

  _check(op, q) {
    const saved = { ...LIMITS };
    Object.assign(LIMITS, this.limits);
    try {
      check(op, q, t => this.schemas.get(t) || null);
      return null;
    } catch (e) {
      if (e instanceof Refusal) return e;
      throw e;
    } finally {
      Object.assign(LIMITS, saved);
    }
  }

  _refuse(res, op, q, r) {
    const v = { op, type: r.type, message: r.message, table: q.TableName || Object.keys(q.RequestItems || {})[0] };
    this.violations.push(v);
    if (this.log) fs.appendFileSync(this.log, `${JSON.stringify({ ...v, pid: process.pid, at: new Date().toISOString() })}\n`);
    this._reply(res, 400, errorBody(op, q, r));
  }

  _reply(res, status, json) {
    replyJson(res, status, json, `rules-${this.requests}`);
  }
}

module.exports = { RulesProxy, check, Refusal, LIMITS, schemaFrom, readRequest, replyJson };

if (require.main === module) {
  // `node scripts/dynamo-rules.js --target URL [--port N] [--answers FILE]`: a rules proxy in
  // the foreground; prints its endpoint on the first line.
  const arg = n => {
    const i = process.argv.indexOf(n);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  new RulesProxy({ target: arg('--target'), port: Number(arg('--port') || 0), answers: arg('--answers') || null }).start().then(p => {
    console.log(p.endpoint);
    process.on('SIGTERM', () => p.stop().then(() => process.exit(0)));
  });
}
