#!/usr/bin/env node
// The command-line tool (`npx parse-server-dynamodb <command>`): table administration, class
// counts, JSON-lines export/import, migration of a table written by the old JS adapter, the
// consistency check and the cost report of every server's saved ledger.
// Every command is one or more calls into the Rust core through the same binding the adapter
// uses (`indexes`, `drop-index`: the adapter's getIndexes/dropIndex); this file only parses arguments, reads/writes files and draws progress on stderr.
'use strict';
const fs = require('node:fs');
const readline = require('node:readline');
const { DynamoDB } = require('..');

const USAGE = `usage: parse-server-dynamodb <command> [arguments] [--endpoint URL] [--region REGION]

  create-table <table> [--provisioned READ,WRITE]   create the table (on-demand unless --provisioned)
  describe-table <table>                           status, key schema, billing, item count
  delete-table <table> --yes                       delete the table and everything in it
  classes <table>                                  each class with its number of objects
  indexes <table> <className>                      the class's indexes (declared, unique, kept, automatic)
  drop-index <table> <className> <field>           stop keeping the index on field and delete its entries
  shard-index <table> <className> <field>          spread the index over 16 partitions now (the adapter does
                                                   so by itself when DynamoDB keeps throttling its writes)
  export <table> <className> [--out FILE]          the class's objects as JSON lines (stdout by default)
  import <table> <className> <FILE>                create the objects of a JSON-lines file
  import-from <source> <table> [--classes A,B] [--max-wcu N] [--dry-run]
                                                   move a Parse app in: <source> is its mongodb://,
                                                   mongodb+srv:// or postgres:// database URI (read through
                                                   Parse Server's own adapter) or a mongodump folder; every
                                                   class, user (password hashes), session, role, relation,
                                                   Config; continues where an interrupted run stopped
  verify <source> <table> [--classes A,B]          per class the object count and a checksum of (objectId,
                                                   updatedAt) on both sides; exit 0 the same, 4 different
  migrate <oldTable> <newTable>                    copy a table written by parse-server-dynamodb-adapter
                                                   (the old JS adapter) into this adapter's format
  cost-report <table> [--region R] [--prices FILE] [--top N] [--json]
                                                   what DynamoDB billed per Parse route, class and Cloud
                                                   function, and a month of it at on-demand prices, from
                                                   the ledgers servers save (costReport.saveEverySeconds);
                                                   FILE: {"readPerMillion", "writePerMillion"}
  check <table> [--fix] [--json]                   the table's consistency check (fsck): sentinels, index
                                                   entries and relation mirrors against the objects;
                                                   --fix repairs what it safely can. Exit status as
                                                   fsck's: 0 clean, 1 damage found and all fixed,
                                                   4 damage left, 8 the check could not finish

Without --endpoint/--region the AWS default chain applies (AWS_REGION, profiles, roles);
DYNAMODB_ENDPOINT is read too.`;

function parseArgs(argv) {
  const pos = [];
  const opts = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const [k, v] = a.slice(2).split('=', 2);
      if (v !== undefined) opts[k] = v;
      else if (argv[i + 1] !== undefined && !argv[i + 1].startsWith('--') && !['yes', 'help'].includes(k)) opts[k] = argv[++i];
      else opts[k] = true;
    } else pos.push(a);
  }
  return { pos, opts };
}

class Progress {
  constructor(label, total) {
    this.label = label;
    this.total = total;
    this.done = 0;
    this.tty = process.stderr.isTTY;
    this.lastPct = -1;
  }
  add(n) {
    this.done += n;
    const pct = this.total ? Math.floor((this.done / this.total) * 100) : 100;
    if (this.tty) {
      const width = 30;
      const filled = Math.round((Math.min(pct, 100) / 100) * width);
      process.stderr.write(`\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.done}/${this.total}`);
    } else if (pct >= this.lastPct + 10 || this.done === this.total) {
      this.lastPct = pct;
      process.stderr.write(`${this.label}: ${this.done}/${this.total}\n`);
    }
  }
  end() {
    if (this.tty) process.stderr.write('\n');
  }
}

const quietLogger = { info() {}, warn: m => process.stderr.write(`${m}\n`), error: m => process.stderr.write(`${m}\n`) };

function open(table, opts, extra = {}) {
  const endpoint = opts.endpoint || process.env.DYNAMODB_ENDPOINT;
  const options = { region: opts.region || (endpoint ? 'us-east-1' : undefined), endpoint, ...extra };
  return new DynamoDB(table, options).getAdapter();
}

function need(pos, n, what) {
  if (pos.length < n) throw new UsageError(`missing ${what}`);
}

class UsageError extends Error {}

// Runs `f` over `items` with at most `width` at a time.
async function pool(items, width, f) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) await f(items[next++]);
    })
  );
}

async function exportClass(adapter, className, out) {
  const total = await adapter._call('admin.countClass', className);
  const bar = new Progress(`export ${className}`, total);
  let start = null;
  do {
    const page = await adapter._call('admin.exportPage', className, start, 500);
    for (const o of page.objects) out.write(`${JSON.stringify(o)}\n`);
    bar.add(page.objects.length);
    start = page.next;
  } while (start);
  bar.end();
  return total;
}

async function importFile(adapter, className, file) {
  const lines = [];
  const rl = readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
  for await (const line of rl) if (line.trim()) lines.push(line);
  const schema = (await adapter.getClass(className).catch(() => null)) || { className, fields: {} };
  const bar = new Progress(`import ${className}`, lines.length);
  let created = 0;
  let existing = 0;
  await pool(lines, 16, async line => {
    try {
      await adapter.createObject(className, schema, JSON.parse(line));
      created++;
    } catch (e) {
      if (e.code !== 137) throw e;
      existing++;
    }
    bar.add(1);
  });
  bar.end();
  return { created, existing };
}

async function migrate(oldTable, newTable, opts) {
  const from = open(oldTable, opts, { createTable: false });
  const to = open(newTable, opts);
  const schemas = await from._call('admin.legacySchemas');
  const report = [];
  for (const schema of schemas) {
    const { className } = schema;
    if (!(await to.classExists(className))) await to.createClass(className, schema);
    const classes = [[className, schema]];
    for (const [field, t] of Object.entries(schema.fields)) {
      if (t.type === 'Relation') classes.push([`_Join:${field}:${className}`, { fields: { relatedId: { type: 'String' }, owningId: { type: 'String' } } }]);
    }
    for (const [name, s] of classes) {
      const total = await from._call('admin.countClass', name);
      const bar = new Progress(`migrate ${name}`, total);
      let start = null;
      let copied = 0;
      let existing = 0;
      do {
        const page = await from._call('admin.legacyPage', name, s, start, 200);
        await pool(page.objects, 16, async o => {
          if (name.startsWith('_Join:')) o = { relatedId: o.relatedId, owningId: o.owningId };
          try {
            if (name.startsWith('_Join:')) await to.upsertOneObject(name, s, o, o);
            else await to.createObject(name, s, o);
            copied++;
          } catch (e) {
            if (e.code !== 137) throw e;
            existing++;
          }
          bar.add(1);
        });
        start = page.next;
      } while (start);
      bar.end();
      report.push({ className: name, copied, existing });
    }
  }
  return report;
}

/** A cost report (`dynamo.costReport()`, `cost-report`) as a table to read. */
function formatCostReport(r) {
  const p = r.prices;
  const money = d => (d >= 1 ? `$${d.toFixed(2)}` : `$${d.toFixed(4)}`);
  const minutes = Math.round(r.seconds / 60);
  const took = r.seconds < 120 ? `${Math.round(r.seconds)} s` : minutes >= 60 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min` : `${minutes} min`;
  const head = [
    `${r.servers} server${r.servers === 1 ? '' : 's'}, ${took}: ` +
      `${r.readUnits} read units, ${r.writeUnits} write units; ${money(r.dollarsPerMonth)} a month at this rate`,
    `prices: ${p.region} on-demand, $${p.readPerMillion} per million reads, $${p.writePerMillion} per million writes (${p.source}; ${p.hoursPerMonth} h a month)`,
  ];
  const cols = ['route', 'class', 'function', 'requests', 'read/req', 'write/req', '$/month'];
  // Per request (per adapter call outside requests; the background has neither).
  const per = x => (x.requests || x.calls ? [String(x.requests || x.calls), String(x.readUnitsPerRequest), String(x.writeUnitsPerRequest)] : ['—', `${x.readUnits} in all`, `${x.writeUnits} in all`]);
  const rows = r.rows.map(x => [x.route, x.class || '', x.function || '', ...per(x), money(x.dollarsPerMonth)]);
  const width = cols.map((c, i) => Math.max(c.length, ...rows.map(row => row[i].length)));
  const line = row => row.map((v, i) => (i >= 3 ? v.padStart(width[i]) : v.padEnd(width[i]))).join('  ').trimEnd();
  return [...head, '', line(cols), ...rows.map(line)].join('\n');
}

async function main(argv) {
  const { pos, opts } = parseArgs(argv);
  const [command, ...rest] = pos;
  const print = v => process.stdout.write(`${typeof v === 'string' ? v : JSON.stringify(v, null, 2)}\n`);
  switch (command) {
    case 'create-table': {
      need(rest, 1, '<table>');
      const [r, w] = typeof opts.provisioned === 'string' ? opts.provisioned.split(',').map(Number) : [];
      const capacity = r > 0 && w > 0 ? { readCapacityUnits: r, writeCapacityUnits: w } : {};
      return print(await open(rest[0], opts, { createTable: false })._call('admin.createTable', capacity));
    }
    case 'describe-table':
      need(rest, 1, '<table>');
      return print(await open(rest[0], opts, { createTable: false })._call('admin.describeTable'));
    case 'delete-table':
      need(rest, 1, '<table>');
      if (!opts.yes) throw new UsageError(`delete-table deletes every object in ${rest[0]}: add --yes`);
      await open(rest[0], opts, { createTable: false })._call('admin.deleteTable');
      return print(`deleted ${rest[0]}`);
    case 'classes': {
      need(rest, 1, '<table>');
      const rows = await open(rest[0], opts, { createTable: false })._call('admin.classes');
      return print(rows.map(r => `${r.className}\t${r.count}`).join('\n'));
    }
    case 'indexes': {
      need(rest, 2, '<table> <className>');
      const list = await open(rest[0], opts, { createTable: false }).getIndexes(rest[1]);
      const flags = ix =>
        ['unique', 'automatic', 'building', 'sharding', 'caseInsensitive', 'lookupOnly']
          .filter(f => ix[f])
          .concat(ix.shards ? [`shards=${ix.shards}`] : [])
          .join(',');
      return print(list.map(ix => `${ix.name}\t${JSON.stringify(ix.key)}\t${flags(ix)}`.trimEnd()).join('\n'));
    }
    case 'drop-index': {
      need(rest, 3, '<table> <className> <field>');
      const dropped = await open(rest[0], opts, { createTable: false }).dropIndex(rest[1], rest[2]);
      return print(dropped ? `dropped the index on ${rest[1]}.${rest[2]}` : `${rest[1]} keeps no index on ${rest[2]}`);
    }
    case 'shard-index': {
      need(rest, 3, '<table> <className> <field>');
      await open(rest[0], opts, { createTable: false })._call('admin.shardIndex', rest[1], rest[2]);
      return print(`the index on ${rest[1]}.${rest[2]} is sharded`);
    }
    case 'export': {
      need(rest, 2, '<table> <className>');
      const out = typeof opts.out === 'string' ? fs.createWriteStream(opts.out) : process.stdout;
      const n = await exportClass(open(rest[0], opts, { createTable: false }), rest[1], out);
      if (out !== process.stdout) await new Promise(resolve => out.end(resolve));
      process.stderr.write(`exported ${n} objects of ${rest[1]}\n`);
      return undefined;
    }
    case 'import': {
      need(rest, 3, '<table> <className> <file>');
      const r = await importFile(open(rest[0], opts), rest[1], rest[2]);
      return print(`imported ${r.created} objects into ${rest[1]} (${r.existing} already there)`);
    }
    case 'migrate': {
      need(rest, 2, '<oldTable> <newTable>');
      const report = await migrate(rest[0], rest[1], opts);
      return print(report.map(r => `${r.className}\t${r.copied} copied\t${r.existing} already there`).join('\n'));
    }
    case 'import-from': {
      need(rest, 2, '<source> <table>');
      const { importFrom } = require('./import-from');
      const classes = typeof opts.classes === 'string' ? opts.classes.split(',') : undefined;
      const maxWcu = opts['max-wcu'] ? Number(opts['max-wcu']) : 0;
      const dryRun = !!opts['dry-run'];
      const target = open(rest[1], opts, { autoIndex: false, logger: quietLogger });
      const report = await importFrom(rest[0], target, {
        classes,
        dryRun,
        maxWcu,
        progress: name => new Progress(`${dryRun ? 'would import' : 'import'} ${name}`, 0),
        log: m => process.stderr.write(`${m}\n`),
      });
      for (const c of report.classes) print(`${c.className}\t${c.objects}${c.alreadyDone ? '\t(imported before)' : ''}`);
      print(`${dryRun ? 'would import' : 'imported'} ${report.classes.reduce((n, c) => n + (c.objects || 0), 0)} objects of ${report.classes.length} classes; ${report.skipped.length} skipped`);
      for (const s of report.skipped) print(`SKIPPED\t${s.className}\t${s.objectId}\t${s.error}`);
      return report.skipped.length ? 4 : 0;
    }
    case 'verify': {
      need(rest, 2, '<source> <table>');
      const { verify } = require('./import-from');
      const classes = typeof opts.classes === 'string' ? opts.classes.split(',') : undefined;
      let out;
      try {
        out = await verify(rest[0], open(rest[1], opts, { createTable: false, autoIndex: false, logger: quietLogger }), { classes });
      } catch (e) {
        process.stderr.write(`parse-server-dynamodb: the verification could not finish: ${e.message}\n`);
        return 8;
      }
      for (const r of out.rows) {
        print(`${r.same ? 'same' : 'DIFFERENT'}\t${r.className}\t${r.source.count} ${r.source.checksum}\t${r.table.count} ${r.table.checksum}`);
      }
      return out.same ? 0 : 4;
    }
    case 'cost-report': {
      need(rest, 1, '<table>');
      const prices = typeof opts.prices === 'string' ? JSON.parse(fs.readFileSync(opts.prices, 'utf8')) : undefined;
      const region = typeof opts.region === 'string' ? opts.region : undefined;
      const top = opts.top ? Number(opts.top) : 20;
      const report = await open(rest[0], opts, { createTable: false, autoIndex: false, logger: quietLogger })._call('savedCostReport', { region, prices, top });
      return print(opts.json ? report : formatCostReport(report));
    }
    case 'check': {
      need(rest, 1, '<table>');
      const logger = { info: m => process.stderr.write(`${m}\n`), warn: m => process.stderr.write(`${m}\n`), error: m => process.stderr.write(`${m}\n`) };
      let report;
      try {
        report = await open(rest[0], opts, { createTable: false, logger, autoIndex: false })._call('check', !!opts.fix);
      } catch (e) {
        process.stderr.write(`parse-server-dynamodb: the check could not finish: ${e.message}\n`);
        return 8;
      }
      if (opts.json) print(report);
      else {
        for (const p of report.problems) print(`${p.fixed ? 'fixed' : 'FOUND'}\t${p.kind}\t${p.class}\t${p.what}\t${p.detail}`);
        for (const l of report.leftovers) print(`${l.fixed ? 'removed' : 'leftover'}\t${l.kind}\t${l.class}\t${l.what}\t${l.detail}`);
        print(`${report.items} items, ${report.classes} classes: ${report.problems.length} problems, ${report.unfixed} not fixed; ${report.leftovers.length} leftovers no answer shows`);
      }
      if (report.problems.length === 0) return 0;
      return report.unfixed === 0 ? 1 : 4;
    }
    case undefined:
    case 'help':
      return print(USAGE);
    default:
      throw new UsageError(`unknown command ${command}`);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    status => process.exit(typeof status === 'number' ? status : 0),
    e => {
      if (e instanceof UsageError) process.stderr.write(`${e.message}\n\n${USAGE}\n`);
      else process.stderr.write(`parse-server-dynamodb: ${e.message}${e.code ? ` (Parse error ${e.code})` : ''}\n`);
      process.exit(e instanceof UsageError ? 2 : 1);
    }
  );
}

module.exports = { main, formatCostReport };
