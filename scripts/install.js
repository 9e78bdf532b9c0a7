// npm `install` hook: make sure a native binary is there. A prebuilt one (per-platform npm
// package, or a .node file already built here) is used as is; otherwise the addon is built
// from source (in a checkout with napi-rs's CLI, elsewhere with cargo) and put where
// binding.js looks for it.
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

function cargoMissing() {
  try {
    execFileSync('cargo', ['--version'], { stdio: 'ignore' });
    return false;
  } catch (_) {
    return true;
  }
}

function build() {
  if (cargoMissing()) {
    // One line: what is missing, and the two ways out.
    console.error(
      `parse-server-dynamodb: no prebuilt binary for ${process.platform}-${process.arch} and no cargo to build one: ` +
        'install on linux x64/arm64 (glibc), macOS x64/arm64 or Windows x64, where npm adds the prebuilt package, ' +
        'or install Rust (https://rustup.rs) and reinstall.',
    );
    process.exit(1);
  }
  const inRepo = fs.existsSync(path.join(root, '.git')) || fs.existsSync(path.join(root, '.ci'));
  const profile = process.env.PSD_CARGO_PROFILE || (inRepo ? 'test-fast' : 'release');
  const napiCli = path.join(root, 'node_modules', '@napi-rs', 'cli', 'dist', 'cli.js');
  if (inRepo && fs.existsSync(napiCli)) {
    // In a checkout: napi-rs's own build, which also writes binding.js and binding.d.ts (the
    // test script checks they are the committed ones) and puts the .node file here.
    console.log(`parse-server-dynamodb: building the native addon (napi build, profile ${profile})…`);
    const args = ['build', '--platform', '--js', 'binding.js', '--dts', 'binding.d.ts', '--profile', profile];
    execFileSync(process.execPath, [napiCli, ...args], { cwd: root, stdio: 'inherit' });
    return;
  }
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
