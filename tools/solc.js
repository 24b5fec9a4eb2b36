#!/usr/bin/env node
// A native-solc-compatible front end over the npm `solc` package (the official
// compiler built to WebAssembly). It implements the two calls that py-solc-x,
// ape-solidity and forge make: `--version` and `--standard-json` (input on
// stdin). Everything runs offline: no compiler is ever downloaded.
'use strict';
const fs = require('fs');
const path = require('path');
const solc = require(path.join(__dirname, '..', 'node_modules', 'solc'));

function nativeVersion() {
  // solc.version() looks like "0.8.28+commit.7893614a.Emscripten.clang";
  // py-solc-x parses the "Version:" line of the native output.
  const v = solc.version().replace('.Emscripten.clang', '.Linux.g++');
  return `solc, the solidity compiler commandline interface\nVersion: ${v}\n`;
}

function parseArgs(argv) {
  const out = { standardJson: false, version: false, basePath: null, includePaths: [], allowPaths: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => (a.includes('=') ? a.split('=').slice(1).join('=') : argv[++i]);
    if (a === '--standard-json') out.standardJson = true;
    else if (a === '--version') out.version = true;
    else if (a.startsWith('--base-path')) out.basePath = value();
    else if (a.startsWith('--include-path')) out.includePaths.push(value());
    else if (a.startsWith('--allow-paths')) out.allowPaths.push(...value().split(','));
    // Any other flag (e.g. --no-color) has no effect on standard JSON output.
  }
  return out;
}

function makeImportCallback(args) {
  const roots = [args.basePath || process.cwd(), ...args.includePaths, ...args.allowPaths, process.cwd(),
    path.join(__dirname, '..', 'node_modules')];
  return (importPath) => {
    for (const root of roots) {
      const candidate = path.isAbsolute(importPath) ? importPath : path.join(root, importPath);
      if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) {
        return { contents: fs.readFileSync(candidate, 'utf8') };
      }
    }
    return { error: `File not found: ${importPath} (searched ${roots.join(', ')})` };
  };
}

function writeAndExit(text, code) {
  // Exit only after stdout has flushed: an early process.exit() truncates piped
  // output at 64 KiB.
  process.stdout.write(text, () => process.exit(code));
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.version) return writeAndExit(nativeVersion(), 0);
  if (!args.standardJson) {
    process.stderr.write('poq solc: only --version and --standard-json are supported\n');
    process.exit(2);
  }
  let input = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => { input += chunk; });
  process.stdin.on('end', () => {
    const output = solc.compile(input, { import: makeImportCallback(args) });
    writeAndExit(output, 0);
  });
}

main();
