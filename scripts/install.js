// npm `install` hook: make sure a native binary is there. A prebuilt one (per-platform npm
// package, or a .node file already built here) is used as is; otherwise the addon is built
// from source with cargo and copied where binding.js looks for it.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');

function loadable() {
  try {
    require(path.join(root, 'binding.js'));
    return true;
  } catch (_) {
    return false;
  }
}

function nodeFileName() {
  const { platform, arch } = process;
  let abi = '';
  if (platform === 'linux') {
    const report = process.report && process.report.getReport ? process.report.getReport() : null;
    abi = report && report.header && report.header.glibcVersionRuntime ? '-gnu' : '-musl';
  } else if (platform === 'win32') {
    abi = '-msvc';
  }
  return `parse-server-dynamodb.${platform}-${arch}${abi}.node`;
}

function build() {
  const inRepo = fs.existsSync(path.join(root, '.git')) || fs.existsSync(path.join(root, '.ci'));
  const profile = process.env.PSD_CARGO_PROFILE || (inRepo ? 'test-fast' : 'release');
  console.log(`parse-server-dynamodb: building the native addon from source (cargo, profile ${profile})…`);
  execFileSync('cargo', ['build', '--profile', profile], { cwd: root, stdio: 'inherit' });
  const dir = path.join(root, 'target', profile === 'dev' ? 'debug' : profile);
  const lib = { linux: 'libparse_server_dynamodb.so', darwin: 'libparse_server_dynamodb.dylib', win32: 'parse_server_dynamodb.dll' }[
    process.platform
  ];
  fs.copyFileSync(path.join(dir, lib), path.join(root, nodeFileName()));
}

if (process.env.PSD_FORCE_BUILD === '1' || !loadable()) {
  build();
  if (!loadable()) {
    console.error('parse-server-dynamodb: the addon was built but cannot be loaded');
    process.exit(1);
  }
}
