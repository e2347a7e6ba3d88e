#!/usr/bin/env node
// The `tollgate` bin. From the npm package it runs the compiled CLI (dist/); in a clone of the
// repository, the TypeScript sources through tsx (no build step). `tollgate start` is the local run.
const { existsSync } = require('node:fs');
const path = require('node:path');

const compiled = path.join(__dirname, '..', 'dist');
const packaged = existsSync(path.join(compiled, 'bin', 'tollgate.js')) && !existsSync(path.join(__dirname, 'tollgate.ts'));
if (!packaged) require('tsx/cjs');
if (process.argv[2] === 'start') {
  // The local run reads its own options: `tollgate start --port 3001` is `npm start -- --port 3001`.
  process.argv.splice(2, 1);
  require(packaged ? path.join(compiled, 'lib', 'local', 'start.js') : '../lib/local/start.ts');
} else {
  require(packaged ? path.join(compiled, 'bin', 'tollgate.js') : './tollgate.ts');
}
