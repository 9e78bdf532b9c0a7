// Packs the npm packages the way the release workflow publishes them: the per-platform package
// of this machine (npm/<platform>/, holding the .node binary) and the main package, whose
// `optionalDependencies` name every platform package at this version (added here, as
// `napi prepublish` does, so the repository's own `npm ci` never looks for them).
//   node scripts/pack.js [--node <file.node>] [--out <dir>]
// Default binary: target/release/libparse_server_dynamodb.so (build it with `cargo build
// --release`). Prints the two tarball paths as JSON.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const args = process.argv.slice(2);
const opt = name => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};

const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const platformDirs = {
  'linux-x64': 'linux-x64-gnu',
  'linux-arm64': 'linux-arm64-gnu',
  'darwin-x64': 'darwin-x64',
  'darwin-arm64': 'darwin-arm64',
  'win32-x64': 'win32-x64-msvc',
};
const here = platformDirs[`${process.platform}-${process.arch}`];
if (!here) throw new Error(`no npm package for ${process.platform}-${process.arch}`);
const out = path.resolve(opt('out') || path.join(root, 'dist'));
fs.mkdirSync(out, { recursive: true });

const binary = path.resolve(opt('node') || path.join(root, 'target', 'release', 'libparse_server_dynamodb.so'));
const platformDir = path.join(root, 'npm', here);
const platformPkg = JSON.parse(fs.readFileSync(path.join(platformDir, 'package.json'), 'utf8'));
const nodeFile = path.join(platformDir, platformPkg.main);
fs.copyFileSync(binary, nodeFile);

const npmPack = cwd => {
  const json = execFileSync('npm', ['pack', '--json', '--pack-destination', out, '--ignore-scripts'], { cwd, encoding: 'utf8' });
  return path.join(out, JSON.parse(json)[0].filename);
};

let platformTgz;
let mainTgz;
try {
  platformTgz = npmPack(platformDir);
} finally {
  fs.rmSync(nodeFile, { force: true });
}
const original = fs.readFileSync(path.join(root, 'package.json'), 'utf8');
try {
  const published = { ...pkg, optionalDependencies: {} };
  for (const dir of Object.values(platformDirs)) published.optionalDependencies[`${pkg.name}-${dir}`] = pkg.version;
  fs.writeFileSync(path.join(root, 'package.json'), `${JSON.stringify(published, null, 2)}\n`);
  mainTgz = npmPack(root);
} finally {
  fs.writeFileSync(path.join(root, 'package.json'), original);
}
console.log(JSON.stringify({ main: mainTgz, platform: platformTgz }));
