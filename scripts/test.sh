#!/usr/bin/env bash
# The project's test command (`npm test`, and `.ci/run`): installs what is missing, builds the
# addon, starts a local DynamoDB-compatible server (dynoxide) and runs every test:
#   0. the files napi-rs generates (binding.js, binding.d.ts) must be the committed ones;
#   1. cargo tests of the Rust core (unit tests, tests against a dynoxide server, and the
#      embedded in-process store), no Node involved;
#   2. node:test integration tests: a real Parse Server on this adapter, driven by the Parse JS SDK,
#      all of them on the Node on PATH, and a representative part of them (what users run, and
#      what differs between Node releases: loading the addon, ESM, the embedded store,
#      WebSockets) on Node 22 and 24 (scripts/node-versions.sh);
#   3. the representative part on Parse Server 8 and 7 (compat/), with their JS SDKs.
# Every request of each goes through DynamoDB's documented rules (scripts/dynamo-rules.js): one that AWS would refuse is refused, and
# recorded, and this script fails if any was.
set -euo pipefail
cd "$(dirname "$0")/.."
export AWS_EC2_METADATA_DISABLED=true
export CARGO_TERM_COLOR=never
export DYNAMO_RULES=1

# "== step (at N s) ==": where the time goes (CONTRIBUTING.md gives a fresh clone's).
step() { echo "== $1 (at ${SECONDS} s) =="; }

# Fails when the rules log $2 holds a request of the step named $1.
check_rules() {
  if [ -s "$2" ]; then
    echo "requests that AWS would refuse were sent during the $1:" >&2
    head -50 "$2" >&2
    exit 1
  fi
  echo "== DynamoDB's rules: no request of the $1 broke one =="
}

bash scripts/setup.sh

if [ -d .git ]; then
  # setup.sh built the addon with `napi build`, which writes them anew.
  step "generated files: binding.js and binding.d.ts are what the build writes"
  git diff --exit-code --stat -- binding.js binding.d.ts ||
    { echo "binding.js/binding.d.ts differ from what 'npm run build' writes: run it and commit them" >&2; exit 1; }
fi

# 1. The cargo tests, with a dynoxide server of their own (stopped when the run ends). For the
# target triple `napi build` names, so they reuse the dependencies the addon's build compiled
# (target/<triple>/test-fast; Cargo.toml asks the same features of both). Built once, then run:
# the property test (tests/pushdown.rs) keeps one core busy for most of a minute, so it runs
# beside the other test binaries, which cargo would run after it, one at a time.
cargo_tests() {
  source scripts/dynoxide.sh
  start_dynoxide
  local host bins pushdown="" others=() pid status=0
  host=$(rustc -vV | sed -n 's/^host: //p')
  bins=$(cargo test --profile test-fast --no-default-features --features embedded --target "$host" \
    --no-run --message-format=json-render-diagnostics |
    node -e 'let s = ""; process.stdin.on("data", d => (s += d)).on("end", () => {
      for (const l of s.split("\n").filter(Boolean)) {
        const m = JSON.parse(l);
        if (m.reason === "compiler-artifact" && m.executable && m.profile.test) console.log(`${m.target.name} ${m.executable}`);
      }
    });')
  while read -r name path; do
    if [ "$name" = pushdown ]; then pushdown=$path; else others+=("$name $path"); fi
  done <<< "$bins"
  [ -n "$pushdown" ] && [ ${#others[@]} -gt 0 ] || { echo "no test binaries were built" >&2; return 1; }
  "$pushdown" > "$logs/pushdown.out" 2>&1 &
  pid=$!
  for o in "${others[@]}"; do
    echo "     Running ${o%% *}"
    "${o#* }"
  done
  wait "$pid" || status=$?
  echo "     Running pushdown"
  cat "$logs/pushdown.out"
  return "$status"
}

# 2. Every node test on the Node on PATH. The files are named (Node 22 and later take a folder
# argument as a file, not as "its tests"); each starts its own stores.
node_tests() {
  node --test --test-concurrency=2 __test__/*.test.js __test__/*.test.mjs
}

# 3. A representative part (CRUD, queries, users and sessions, relations, transactions, schemas
# and indexes, ACLs) on Parse Server's previous majors; on the other Node.js releases users run
# (one addon build serves them all: it is N-API), CRUD and queries, users and sessions, and
# what depends on the Node release (loading the addon, ESM, the embedded store, LiveQuery's
# WebSockets, the demo, the seed's API, request de-duplication). The long fault, crash,
# partition-model and packaging tests run on the first Node only.
COMPAT_TESTS="__test__/objects.test.js __test__/users.test.js __test__/updates.test.js __test__/schema.test.js __test__/acl.test.js __test__/exactness.test.js __test__/large-objects.test.js"
NODE_RELEASE_TESTS="__test__/objects.test.js __test__/users.test.js __test__/esm.test.mjs __test__/embedded.test.js __test__/livequery.test.js __test__/start.test.js __test__/partition.test.js __test__/idempotency.test.js"
other_releases() {
  source scripts/node-versions.sh
  for v in $NODE_VERSIONS; do
    step "Node $v (representative part)"
    # shellcheck disable=SC2086
    PATH="$(node_bin "$v"):$PATH" node --test --test-concurrency=2 $NODE_RELEASE_TESTS
  done
  for major in 8 7; do
    dir=compat/parse-server-$major
    step "Parse Server $(node -p "require('./$dir/node_modules/parse-server/package.json').version") with JS SDK $(node -p "require('./$dir/node_modules/parse/package.json').version") (representative part)"
    # --test-force-exit: Parse Server 7 keeps a handle open after its shutdown (8 and 9 do not).
    # shellcheck disable=SC2086
    PSD_PARSE_SERVER_DIR="$dir" node --test --test-force-exit --test-concurrency=2 $COMPAT_TESTS
  done
}

# One after another, each with its own rules log: on 2 cores the three are CPU-bound, so
# running them at once ended no sooner (measured: 354 s at once, 355 s in turn) and made the
# cost measures of the tests wait behind each other.
logs=$(mktemp -d -t psd-test.XXXXXX)
trap 'rm -rf "$logs"' EXIT
run() {
  local name=$1
  shift
  step "$name"
  (
    export DYNAMO_RULES_LOG="$logs/$name.rules"
    : > "$DYNAMO_RULES_LOG"
    "$@"
  )
  check_rules "$name" "$logs/$name.rules"
}
run "cargo tests (core)" cargo_tests
run "node tests on Node $(node --version)" node_tests
run "node tests on Node 22 and 24 and Parse Server 8 and 7" other_releases
step "all tests passed"
