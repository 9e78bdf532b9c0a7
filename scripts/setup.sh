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
