#!/usr/bin/env bash
# The project's test command (`npm test`, and `.ci/run`): installs what is missing, builds the
# addon, starts a local DynamoDB-compatible server (dynoxide) and runs every test:
#   1. cargo tests of the Rust core (unit tests, tests against a dynoxide server, and the
#      embedded in-process store), no Node involved;
#   2. node:test integration tests: a real Parse Server on this adapter, driven by the Parse JS SDK.
set -euo pipefail
cd "$(dirname "$0")/.."
export AWS_EC2_METADATA_DISABLED=true
export CARGO_TERM_COLOR=never

bash scripts/setup.sh

echo "== cargo tests (core) =="
# dynoxide for the Rust tests; its watchdog ends it with this script.
DYNOXIDE="node_modules/@dynoxide/linux-x64/dynoxide"
PORT=$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
"$DYNOXIDE" serve --host 127.0.0.1 --port "$PORT" >/dev/null 2>&1 &
DYN_PID=$!
trap 'kill $DYN_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.05; done
DYNAMODB_ENDPOINT="http://127.0.0.1:$PORT" cargo test --profile test-fast --no-default-features --features embedded

echo "== node integration tests (Parse Server + Parse JS SDK) =="
node --test --test-concurrency=2 __test__/
