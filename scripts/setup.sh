#!/usr/bin/env bash
# Installs what the project needs, once: npm packages (Parse Server, the Parse JS SDK, the
# dynoxide emulator binary, napi-rs CLI) and the native addon, built from source by the npm
# install hook (scripts/install.js). Safe to run again: it does nothing when all is in place.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || { echo "cargo (Rust) is needed to build the addon from source" >&2; exit 1; }
command -v node >/dev/null || { echo "Node.js 20+ is needed" >&2; exit 1; }
# The other Node.js releases the tests run on, and the previous Parse Server majors (with the JS
# SDK each depends on) for the compatibility run; each installed once, while the main install
# builds the addon (downloads beside a compiler), into a log printed after it.
others() {
  source scripts/node-versions.sh
  for v in $NODE_VERSIONS; do node_bin "$v" > /dev/null; done
  for major in 8 7; do
    dir=compat/parse-server-$major
    if [ ! -d "$dir/node_modules/parse-server" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
      echo "== npm ci in $dir (Parse Server $major for the compatibility run) =="
      npm ci --prefix "$dir" --no-audit --no-fund --ignore-scripts
    fi
  done
}
others_log=$(mktemp -t psd-setup.XXXXXX)
others > "$others_log" 2>&1 &
others_pid=$!
if [ ! -d node_modules/parse-server ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # The addon's dependencies compile while npm downloads: the install hook's `napi build`
  # (same profile, target and features) waits for this build and then compiles only the crate.
  build_log=$(mktemp -t psd-build.XXXXXX)
  cargo build --profile "${PSD_CARGO_PROFILE:-test-fast}" --target "$(rustc -vV | sed -n 's/^host: //p')" > "$build_log" 2>&1 &
  build_pid=$!
  echo "== npm ci (installs dependencies and builds the addon) (at ${SECONDS} s) =="
  npm ci --no-audit --no-fund
  # Its errors, if any, were the install hook's too; it has ended (the hook waited for it).
  wait "$build_pid" || true
  rm -f "$build_log"
else
  # Dependencies are in place; rebuild the addon if the Rust sources changed.
  PSD_FORCE_BUILD=1 node scripts/install.js
fi
status=0
wait "$others_pid" || status=$?
cat "$others_log"
rm -f "$others_log"
[ "$status" = 0 ] || { echo "installing the other Node.js releases or Parse Server majors failed" >&2; exit "$status"; }
echo "== set up (at ${SECONDS} s) =="
