// Moving an app in (`import-from`, `verify`; bin/cli.js parses the arguments). A source is read
// by the code that wrote it: `mongodb://` / `mongodb+srv://` through Parse Server's
// MongoStorageAdapter, `postgres://` through its PostgresStorageAdapter (both from the app's
// own parse-server install, else this package's), and a `mongodump` folder read with `bson`
// into the documents MongoStorageAdapter reads, turned into Parse's forms by Parse's own
// MongoTransform. Every source answers schemas and pages of objects in the forms Parse hands
// to an adapter's `createObject` (password hashes, auth data, tokens, ACL lists included); the
// objects go to the Rust core in bulk (`admin.importObjects`: BatchWriteItem with their
// sentinels, index entries and mirrors), a checkpoint per class in the table after each page.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

/** A module of Parse Server (or one it brings), from the app's folder first, else this package's. */
function fromParseServer(request, why) {
  for (const base of [process.cwd(), __dirname]) {
    try {
      return require(require.resolve(request, { paths: [base] }));
    } catch {
      // next place
    }
  }
  throw new Error(`${why} needs ${request.split('/')[0]} (install parse-server in the app's folder: npm i parse-server)`);
}

const JOIN_SCHEMA = { fields: { relatedId: { type: 'String' }, owningId: { type: 'String' } } };

/** The relation tables of these schemas: `_Join:<field>:<class>`. */
function joinClasses(schemas) {
  const out = [];
  for (const s of schemas) {
    for (const [field, t] of Object.entries(s.fields || {})) {
      if (t.type === 'Relation') out.push(`_Join:${field}:${s.className}`);
    }
  }
  return out;
}

/** Parse's classes the schema collection does not list (Config, jobs, push, hooks…), with their schemas. */
function volatileSchemas() {
  const { VolatileClassesSchemas } = fromParseServer('parse-server/lib/Controllers/SchemaController', 'reading a Parse database');
  return VolatileClassesSchemas.map(s => ({ ...s, classLevelPermissions: s.classLevelPermissions || {} }));
}

/** A source read through one of Parse Server's storage adapters. */
function adapterSource(uri) {
  const scheme = uri.split(':')[0];
  const mongo = scheme === 'mongodb' || scheme === 'mongodb+srv';
  const rel = mongo ? 'parse-server/lib/Adapters/Storage/Mongo/MongoStorageAdapter' : 'parse-server/lib/Adapters/Storage/Postgres/PostgresStorageAdapter';
  const Adapter = fromParseServer(rel, `reading ${scheme}://`).default;
  const db = mongo ? new Adapter({ uri, collectionPrefix: '', mongoOptions: {} }) : new Adapter({ uri, collectionPrefix: '' });
  return {
    async schemas() {
      const listed = await db.getAllClasses();
      const names = new Set(listed.map(s => s.className));
      return [...listed, ...volatileSchemas().filter(s => !names.has(s.className))];
    },
    joins: joinClasses,
    // Objects after `after` (an objectId; for relation rows the number read so far), in order.
    async page(className, schema, after, n) {
      try {
        if (className.startsWith('_Join:')) {
          const rows = await db.find(className, JOIN_SCHEMA, {}, { limit: n, skip: after || 0, sort: { owningId: 1, relatedId: 1 } });
          return { objects: rows.map(r => ({ owningId: r.owningId, relatedId: r.relatedId })), next: (after || 0) + rows.length, more: rows.length === n };
        }
        const where = after === null || after === undefined ? {} : { objectId: { $gt: after } };
        const objects = await db.find(className, schema, where, { limit: n, sort: { objectId: 1 } });
        const last = objects[objects.length - 1];
        return { objects, next: last ? last.objectId : after, more: objects.length === n };
      } catch (e) {
        // A class Parse lists but never stored (no table or collection yet) holds nothing.
        if (e.code === '42P01' || /does not exist/.test(e.message || '')) return { objects: [], next: after, more: false };
        throw e;
      }
    },
    async close() {
      await db.handleShutdown();
    },
  };
}

/** The documents of a BSON file (a mongodump collection), one by one, from `skip` on. */
function* bsonDocuments(BSON, file, skip = 0) {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(4);
    let at = 0;
    for (let i = 0; ; i++) {
      if (fs.readSync(fd, head, 0, 4, at) < 4) return;
      const len = head.readInt32LE(0);
      if (i >= skip) {
        const doc = Buffer.alloc(len);
        fs.readSync(fd, doc, 0, len, at);
        yield BSON.deserialize(doc, { promoteLongs: true, promoteValues: true });
      }
      at += len;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** A `mongodump` folder (or its database folder): `<collection>.bson` files beside `_SCHEMA.bson`. */
function dumpSource(dir) {
  const find = d => {
    if (fs.existsSync(path.join(d, '_SCHEMA.bson'))) return d;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) {
        const f = find(path.join(d, e.name));
        if (f) return f;
      }
    }
    return null;
  };
  const root = find(dir);
  if (!root) throw new Error(`${dir} holds no _SCHEMA.bson: not a mongodump of a Parse database`);
  const BSON = fromParseServer('bson', 'reading a mongodump');
  const MongoSchemaCollection = fromParseServer('parse-server/lib/Adapters/Storage/Mongo/MongoSchemaCollection', 'reading a mongodump').default;
  const { mongoObjectToParseObject } = fromParseServer('parse-server/lib/Adapters/Storage/Mongo/MongoTransform', 'reading a mongodump');
  const file = c => path.join(root, `${c}.bson`);
  return {
    async schemas() {
      // Parse's own reading of a `_SCHEMA` document (MongoSchemaCollection exposes it so).
      const listed = [...bsonDocuments(BSON, file('_SCHEMA'))].map(d => MongoSchemaCollection._TESTmongoSchemaToParseSchema(d));
      const names = new Set(listed.map(s => s.className));
      return [...listed, ...volatileSchemas().filter(s => !names.has(s.className) && fs.existsSync(file(s.className)))];
    },
    joins: schemas => joinClasses(schemas).filter(c => fs.existsSync(file(c))),
    // A dump is in no order: `after` is the number of documents read so far.
    async page(className, schema, after, n) {
      if (!fs.existsSync(file(className))) return { objects: [], next: after, more: false };
      const objects = [];
      for (const doc of bsonDocuments(BSON, file(className), after || 0)) {
        if (className.startsWith('_Join:')) objects.push({ owningId: doc.owningId, relatedId: doc.relatedId });
        else objects.push(mongoObjectToParseObject(className, doc, schema));
        if (objects.length === n) break;
      }
      return { objects, next: (after || 0) + objects.length, more: objects.length === n };
    },
    async close() {},
  };
}

function openSource(source) {
  if (/^(mongodb|mongodb\+srv|postgres|postgresql):\/\//.test(source)) return adapterSource(source);
  if (fs.existsSync(source) && fs.statSync(source).isDirectory()) return dumpSource(source);
  throw new Error(`${source}: not a mongodb://, mongodb+srv:// or postgres:// URI, nor a mongodump folder`);
}

/** An object as Parse hands it to `createObject` (DatabaseController wraps the two dates so). */
function forCreate(o) {
  const out = { ...o };
  for (const f of ['createdAt', 'updatedAt']) if (typeof out[f] === 'string') out[f] = { __type: 'Date', iso: out[f] };
  return out;
}

/** The source's schemas, only `classes` when given (each of which it must have). */
async function pick(src, classes) {
  const all = await src.schemas();
  if (!classes) return all;
  const missing = classes.filter(c => !all.some(s => s.className === c));
  if (missing.length) throw new Error(`the source has no class ${missing.join(', ')}`);
  return all.filter(s => classes.includes(s.className));
}

/** Registers what Parse registers at start (unique names, e-mails, role names, session tokens), before any object. */
async function prepareTarget(target) {
  await target.performInitialization();
  for (const [c, f] of [['_User', 'username'], ['_User', 'email'], ['_Role', 'name'], ['_Idempotency', 'reqId']]) {
    await target.ensureUniqueness(c, { fields: {} }, [f]);
  }
}

/**
 * Copies `source` into the table behind `target` (an adapter of this package). Classes and
 * relations page by page (`pageSize`), each page one bulk write, its checkpoint kept in the
 * table: a run again continues where the last stopped and skips finished classes.
 */
async function importFrom(source, target, { classes, dryRun = false, maxWcu = 0, pageSize = 500, progress, log = () => {} } = {}) {
  const src = openSource(source);
  const report = { classes: [], skipped: [] };
  try {
    const schemas = await pick(src, classes);
    const joins = src.joins(schemas);
    if (!dryRun) {
      await prepareTarget(target);
      const existing = new Set((await target.getAllClasses()).map(s => s.className));
      for (const s of schemas) {
        // `_id_` is every class's key index (this adapter lists it by itself).
        const { _id_, ...indexes } = s.indexes || {};
        if (!existing.has(s.className)) await target.createClass(s.className, { ...s, indexes });
      }
    }
    const started = Date.now();
    let units = 0;
    const pace = async used => {
      units += used;
      if (!maxWcu) return;
      const ahead = (units / maxWcu) * 1000 - (Date.now() - started);
      if (ahead > 0) await new Promise(r => setTimeout(r, ahead));
    };
    for (const [className, schema] of [...schemas.map(s => [s.className, s]), ...joins.map(j => [j, JOIN_SCHEMA])]) {
      const mark = dryRun ? null : await target._call('admin.importMark', className);
      if (mark && mark.done) {
        report.classes.push({ className, objects: mark.count, alreadyDone: true });
        continue;
      }
      let after = mark ? mark.after : null;
      let objects = 0;
      const bar = progress ? progress(className) : { add() {}, end() {} };
      for (;;) {
        const page = await src.page(className, schema, after, pageSize);
        if (!dryRun && page.objects.length) {
          const before = (await target.consumedCapacity()).writeUnits;
          const done = await target._call('admin.importObjects', className, page.objects.map(forCreate));
          for (const s of done.skipped) {
            report.skipped.push({ className, ...s });
            log(`skipped ${className} ${s.objectId}: ${s.error}`);
          }
          objects += done.objects;
          await target._call('admin.importMark', className, { after: page.next });
          await pace((await target.consumedCapacity()).writeUnits - before);
        } else {
          objects += page.objects.length;
        }
        bar.add(page.objects.length);
        after = page.next;
        if (!page.more) break;
      }
      bar.end();
      if (!dryRun) {
        const count = className.startsWith('_Join:') ? objects : await target._call('admin.recount', className);
        await target._call('admin.importMark', className, { done: true, count });
      }
      report.classes.push({ className, objects });
    }
  } finally {
    await src.close();
  }
  return report;
}

/** Per class: how many objects and a checksum of their (objectId, updatedAt), or of a relation's rows. */
async function digest(read) {
  const hash = crypto.createHash('sha256');
  let n = 0;
  for await (const line of read()) {
    hash.update(`${line}\n`);
    n++;
  }
  return { count: n, checksum: hash.digest('hex').slice(0, 16) };
}

const iso = d => (d && typeof d === 'object' ? d.iso : d) || '';

/**
 * Compares `source` with the table behind `target`, class by class: object counts and the
 * checksum of (objectId, updatedAt) in objectId order; relations: their rows. Answers the rows
 * and whether all agree.
 */
async function verify(source, target, { classes } = {}) {
  const src = openSource(source);
  const rows = [];
  try {
    const schemas = await pick(src, classes);
    const lines = (o, join) => (join ? `${o.owningId}:${o.relatedId}` : `${o.objectId}\t${iso(o.updatedAt)}`);
    for (const [className, schema] of [...schemas.map(s => [s.className, s]), ...src.joins(schemas).map(j => [j, JOIN_SCHEMA])]) {
      const join = className.startsWith('_Join:');
      const fromSource = async function* () {
        const all = [];
        let after = null;
        for (;;) {
          const page = await src.page(className, schema, after, 1000);
          for (const o of page.objects) all.push(lines(o, join));
          after = page.next;
          if (!page.more) break;
        }
        yield* all.sort();
      };
      const fromTable = async function* () {
        const all = [];
        let after = null;
        for (;;) {
          const where = join || after === null ? {} : { objectId: { $gt: after } };
          const page = await target.find(className, join ? JOIN_SCHEMA : schema, where, join ? {} : { limit: 1000, sort: { objectId: 1 } });
          for (const o of page) all.push(lines(o, join));
          if (join || page.length < 1000) break;
          after = page[page.length - 1].objectId;
        }
        yield* all.sort();
      };
      const [a, b] = [await digest(fromSource), await digest(fromTable)];
      rows.push({ className, source: a, table: b, same: a.count === b.count && a.checksum === b.checksum });
    }
  } finally {
    await src.close();
  }
  return { rows, same: rows.every(r => r.same) };
}

module.exports = { importFrom, verify, openSource };
