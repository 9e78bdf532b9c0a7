// The process large-objects.test.js kills: Parse Server on the adapter (table and endpoint
// from argv) rewriting one large object again and again, each version's fields all marked
// with its number, logging each acknowledged version to a file (synchronously, so what the
// log holds was acknowledged before the kill).
'use strict';
const fs = require('node:fs');
const { startStack } = require('./helpers');

// Text deflate shrinks to about three quarters (as random ids or encoded bytes), the same for
// the same seed: pseudo-random letters and digits (mulberry32).
function noise(length, seed) {
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const out = Buffer.alloc(length);
  let a = seed >>> 0;
  for (let i = 0; i < length; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = abc.charCodeAt(((t ^ (t >>> 14)) >>> 0) % 64);
  }
  return out.toString('latin1');
}

// Version `n` of the object, about 1.5 MB: a text and a list of its own.
function version(n) {
  const ids = noise(768 * 1000, n + 1000);
  return { n, blob: noise(768 * 1024, n), ids: Array.from({ length: 768 }, (_, i) => `${n}-${ids.slice(i * 1000, (i + 1) * 1000)}`) };
}

async function main() {
  const [endpoint, table, logFile, phase] = process.argv.slice(2);
  const s = await startStack({ appId: `large-${table}` }, { dynamo: { endpoint }, table });
  const Parse = s.Parse;
  if (phase === 'setup') {
    const o = await new Parse.Object('Doc', version(0)).save(null, { useMasterKey: true });
    fs.writeFileSync(logFile, `${JSON.stringify({ id: o.id, n: 0 })}\n`);
    await s.stop();
    // Parse Server 7 keeps a handle open after its shutdown.
    process.exit(0);
  }
  const id = JSON.parse(fs.readFileSync(logFile, 'utf8').split('\n')[0]).id;
  process.send('working');
  for (let n = 1; ; n++) {
    const o = Parse.Object.fromJSON({ className: 'Doc', objectId: id });
    await o.save(version(n), { useMasterKey: true });
    fs.appendFileSync(logFile, `${JSON.stringify({ n })}\n`);
  }
}

if (require.main === module) {
  main().catch(e => {
    console.error(e);
    process.exit(1);
  });
}

module.exports = { version, noise };
