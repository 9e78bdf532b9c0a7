// Benchmark: what following each Parse request for the cost ledger costs (docs/costs.md):
// Parse Server's CPU per request with the ledger on (the default: an AsyncLocalStorage
// entered from Node's `http.server.request.start` channel, each adapter call tagged and
// metered) against `costLedger: false`, side by side in one run. Each side runs in a child
// process of its own (the channel is process-wide); rounds alternate, best of three. Requests:
// a GET by objectId (the cheapest, where the overhead weighs most) and a query, 8 clients.
'use strict';
const { execFileSync } = require('node:child_process');

const N = Number(process.env.N || 2000);

async function child(ledger) {
  process.env.TESTING = '1';
  const { startStack, masterKey } = require('../__test__/helpers');
  const s = await startStack({ adapterOptions: { autoIndex: false, costLedger: ledger } });
  const h = { 'X-Parse-Application-Id': s.appId, 'X-Parse-Master-Key': masterKey };
  const ids = [];
  for (let i = 0; i < 20; i++) ids.push((await s.rest('POST', '/classes/Post', { n: i })).body.objectId);
  const get = i => fetch(`${s.serverURL}/classes/Post/${ids[i % ids.length]}`, { headers: h }).then(r => r.json());
  const query = i => fetch(`${s.serverURL}/classes/Post?where=${encodeURIComponent(JSON.stringify({ n: i % 20 }))}`, { headers: h }).then(r => r.json());
  const run = async (op, n) => {
    let next = 0;
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (next < n) await op(next++);
    }));
  };
  const out = {};
  for (const [name, op] of [['get', get], ['query', query]]) {
    await run(op, 200);
    const c0 = process.cpuUsage();
    await run(op, N);
    const c = process.cpuUsage(c0);
    out[name] = (c.user + c.system) / N;
  }
  await s.stop();
  process.stdout.write(`\nRESULT ${JSON.stringify(out)}\n`);
}

function main() {
  const best = { on: {}, off: {} };
  for (let round = 0; round < 3; round++) {
    for (const side of ['on', 'off']) {
      const text = execFileSync(process.execPath, [__filename, side], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      const got = JSON.parse(text.match(/^RESULT (.*)$/m)[1]);
      for (const [k, v] of Object.entries(got)) best[side][k] = Math.min(best[side][k] ?? Infinity, v);
    }
  }
  console.log(`cost ledger overhead: CPU µs per request of the Parse Server process (client included), best of 3, ${N} requests, 8 clients`);
  console.log('request        ledger on   costLedger: false   ratio');
  for (const k of Object.keys(best.on)) {
    console.log(`${k.padEnd(14)} ${best.on[k].toFixed(0).padStart(9)}   ${best.off[k].toFixed(0).padStart(17)}   ${(best.on[k] / best.off[k]).toFixed(3)}`);
  }
}

if (process.argv[2] === 'on' || process.argv[2] === 'off') child(process.argv[2] === 'on');
else main();
