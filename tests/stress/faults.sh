#!/usr/bin/env bash
# Long form of the fault workload: more seeds, three times the operations, 10% of requests
# faulted. Prints the faults made per kind and the workload's totals per seed.
#   FAULT_SEEDS="1 2 3 …" FAULT_SCALE=3 bash tests/stress/faults.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/setup.sh
FAULT_SEEDS=${FAULT_SEEDS:-"1 2 3 4 5 6 7 8 9 10"} FAULT_SCALE=${FAULT_SCALE:-3} node -e '
const { runWorkload, KINDS } = require("./__test__/fault-workload");
(async () => {
  const seen = Object.fromEntries(KINDS.map(k => [k, 0]));
  const totals = { requests: 0, ops: 0, acked: 0, failed: 0 };
  for (const seed of process.env.FAULT_SEEDS.split(/\s+/).filter(Boolean).map(Number)) {
    const r = await runWorkload({ seed, rate: 0.1, scale: Number(process.env.FAULT_SCALE), log: m => console.log(m) });
    for (const k of KINDS) seen[k] += r.counts[k];
    totals.requests += r.requests;
    for (const k of ["ops", "acked", "failed"]) totals[k] += r.totals[k];
  }
  console.log("faults made:", JSON.stringify(seen));
  console.log("totals:", JSON.stringify(totals));
  const missing = KINDS.filter(k => seen[k] === 0);
  if (missing.length) throw new Error(`no ${missing.join(", ")} fault was made`);
})().catch(e => { console.error(e); process.exit(1); });
'
