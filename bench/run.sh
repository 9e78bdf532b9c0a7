#!/usr/bin/env bash
# `npm run bench`: the benchmark tables of docs/performance.md, on a release build.
#   1. the adapter core vs the raw aws-sdk-dynamodb client (Rust, cargo bench);
#   2. this adapter vs the old JS adapter parse-server-dynamodb-adapter@1.0.1 (installed in
#      bench/legacy only);
#   3. Parse Server REST: this adapter on dynoxide vs the PostgreSQL adapter on a local
#      PostgreSQL (initdb/pg_ctl must be on PATH; the row is skipped otherwise);
#   4. login cost at 1k / 10k / 100k users (BENCH_USERS to change);
#   5. read units per query shape at 1k / 10k / 100k objects, without indexes (automatic
#      indexes) and with indexes declared at class creation, and write units per object write
#      with 0, 3 and 10 indexes (BENCH_SIZES to change);
#   6. memory of one request at two class sizes;
#   7. DynamoDB requests and sequential round trips per Parse operation (a delaying proxy);
#   8. creates per second of one class against DynamoDB's partition limits (the proxy's model);
#   9. import-from of a 100k-object mongodump vs creating the objects one by one;
#  10. LiveQuery event latency across servers through the table's stream;
#  12. the local store's (dynoxide's) CPU per write over 100,000 writes, with and without a
#      table stream;
#  16. the units a 1 MB and a 10 MB object bill to create, read, update and delete, against S3.
# Each prints ratios measured side by side in one run. Not part of the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export AWS_EC2_METADATA_DISABLED=true CARGO_TERM_COLOR=never
# The run's output is kept (bench/out/last-run.md): the charts are drawn from its tables.
mkdir -p bench/out
exec > >(tee bench/out/last-run.md) 2>&1
bash scripts/setup.sh
echo "== release build of the addon (full LTO; several minutes the first time) =="
cargo build --release
cp target/release/libparse_server_dynamodb.so target/release/parse_server_dynamodb.node
export NAPI_RS_NATIVE_LIBRARY_PATH="$PWD/target/release/parse_server_dynamodb.node"
[ -d bench/legacy/node_modules/parse-server-dynamodb-adapter ] ||
  npm ci --prefix bench/legacy --no-audit --no-fund --ignore-scripts

# dynoxide for the Rust side; stopped when this script exits.
source scripts/dynoxide.sh
start_dynoxide

echo "== 1. adapter core vs raw client =="
cargo bench --no-default-features --bench raw_client
echo "== 2. vs the old JS adapter =="
node bench/legacy.js 2>/dev/null
echo "== 3. Parse Server REST vs PostgreSQL =="
if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
  node bench/rest.js 2>/dev/null | grep -v '^warn:'
else
  echo "(skipped: no initdb/pg_ctl on PATH)"
fi
echo "== 4. login cost =="
BENCH_USERS="${BENCH_USERS:-1000,10000,100000}" node bench/login-cost.js 2>/dev/null | grep -v '^warn:'
echo "== 5. query cost =="
BENCH_SIZES="${BENCH_SIZES:-1000,10000,100000}" node bench/query-cost.js
echo "== 6. memory of one request =="
BENCH_MEMORY_SIZES="${BENCH_MEMORY_SIZES:-50000,200000}" node --expose-gc bench/memory.js 2>/dev/null | grep -v '^info:'
echo "== 7. round trips per Parse operation =="
node bench/roundtrips.js 2>/dev/null | grep -v '^warn:'
echo "== 8. creates per second against the partition model =="
node bench/partitions.js
echo "== 9. import-from: objects per second and write units per object =="
node bench/import.js
echo "== 10. LiveQuery event latency across servers through the stream =="
node bench/livequery.js
echo "== 11. spec-suite workloads (push, role graph, GraphQL pages) vs PostgreSQL =="
node bench/parse-workloads.js 2>/dev/null | grep -v '^warn:'
echo "== 12. the local store's CPU per write as writes pile up, with and without a stream =="
node bench/local-store.js 2>/dev/null | grep -v '^info:'
echo "== 13. what a write bills with 0-8 indexes, and a load with 5 indexes vs none =="
node bench/write-costs.js 2>/dev/null | grep -v '^info:\|^warn:'
echo "== 14. geo, text, substring and \$all queries with and without their indexes, and what each index kind adds to a write =="
BENCH_SEARCH_LARGE=${BENCH_SEARCH_LARGE:-100000} node bench/search-costs.js 2>/dev/null | grep -v '^info:\|^warn:'
echo "== 15. following requests for the cost ledger =="
node bench/ledger-overhead.js
echo "== 16. what objects over 400 KB bill, against S3 =="
node bench/large-objects.js 2>/dev/null | grep -v '^info:\|^warn:'
echo "== charts (docs/charts/*.svg, from this run's tables) =="
node bench/charts.js bench/out/last-run.md docs/charts
