// The process crash.test.js kills: Parse Server on the adapter (table and endpoint from argv)
// running a workload, logging each acknowledged write to a file (synchronously, so what the
// log holds was acknowledged before the kill).
'use strict';
const fs = require('node:fs');
const { startStack } = require('./helpers');

async function main() {
  const [endpoint, table, logFile, phase] = process.argv.slice(2);
  const s = await startStack({ appId: `crash-${table}` }, { dynamo: { endpoint }, table });
  const Parse = s.Parse;
  const adapter = s.db.getAdapter();
  const schema = { fields: {} };
  if (phase === 'setup') {
    await new Parse.Object('Counter', { n: 0 }).save(null, { useMasterKey: true }).then(c => fs.writeFileSync(logFile, `${JSON.stringify({ counter: c.id })}\n`));
    // Items are created on a sharded index's layout (issue 22).
    await adapter.ensureIndex('Item', schema, ['i']);
    await adapter._call('admin.shardIndex', 'Item', 'i');
    for (let i = 0; i < 300; i += 50) {
      await Parse.Object.saveAll(Array.from({ length: 50 }, (_, k) => new Parse.Object('Big', { k: `k${(i + k) % 7}`, code: `c${i + k}`, n: i + k })));
    }
    await s.stop();
    return;
  }
  const ack = line => fs.appendFileSync(logFile, `${JSON.stringify(line)}\n`);
  const counterId = JSON.parse(fs.readFileSync(logFile, 'utf8').split('\n')[0]).counter;
  process.send('working');
  const lanes = [
    async i => {
      const o = await new Parse.Object('Item', { i }).save();
      ack({ item: o.id });
    },
    async i => {
      const r = await s.rest('POST', '/users', { username: `u${i % 40}`, password: 'pw' }, { 'X-Parse-Installation-Id': `c${i}` });
      if (r.status === 201) ack({ user: `u${i % 40}`, id: r.body.objectId });
    },
    async () => {
      const c = Parse.Object.fromJSON({ className: 'Counter', objectId: counterId });
      c.increment('n');
      await c.save();
      ack({ inc: 1 });
    },
    async i => {
      // Index work a kill can cut in the middle: registrations, back-fills, shardings, drops.
      const f = ['k', 'n', 'code'][i % 3];
      await adapter.ensureIndex('Big', schema, [f]);
      if (f === 'n' && i % 4 === 1) await adapter._call('admin.shardIndex', 'Big', 'n');
      else if (i % 2) await adapter.dropIndex('Big', f);
      if (i === 0) await adapter.ensureUniqueness('Big', schema, ['code']);
    },
  ];
  await Promise.all(
    lanes.map(async lane => {
      for (let i = 0; ; i++) await lane(i).catch(() => {});
    })
  );
}

main().catch(e => {
  console.error(e);
  process.exit(1);
});
