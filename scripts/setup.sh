#!/usr/bin/env bash
# Installs what the project needs, once: npm packages (Parse Server, the Parse JS SDK, the
# dynoxide emulator binary, napi-rs CLI) and the native addon, built from source by the npm
# install hook (scripts/install.js). Safe to run again: it does nothing when all is in place.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || { echo "cargo (Rust) is needed to build the addon from source" >&2; exit 1; }
command -v node >/dev/null || { echo "Node.js 20+ is needed" >&2; exit 1; }
if [ ! -d node_modules/parse-server ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "== npm ci (installs dependencies and builds the addon) =="
  npm ci --no-audit --no-fund
else
  # Dependencies are in place; rebuild the addon if the Rust sources changed.
  PSD_FORCE_BUILD=1 node scripts/install.js
fi
# The other Node.js releases the tests run on, and the previous Parse Server majors (with the JS
# SDK each depends on) for the compatibility run; each installed once.
source scripts/node-versions.sh
for v in $NODE_VERSIONS; do node_bin "$v" > /dev/null; done
for major in 8 7; do
  dir=compat/parse-server-$major
  if [ ! -d "$dir/node_modules/parse-server" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    echo "== npm ci in $dir (Parse Server $major for the compatibility run) =="
    npm ci --prefix "$dir" --no-audit --no-fund --ignore-scripts
  fi
done
