#!/usr/bin/env node
// The `tollgate` bin: runs the TypeScript entry through tsx (no build step), in a clone of the repository.
const { existsSync } = require('node:fs');
const path = require('node:path');

if (!existsSync(path.join(__dirname, 'tollgate.ts'))) {
  // The npm package ships the construct, not the CLI yet (CHANGELOG.md).
  process.stderr.write('tollgate: the CLI runs from a clone of the tollgate repository for now: the package ships the Tollgate construct\n');
  process.exitCode = 1;
} else {
  require('tsx/cjs');
  require('./tollgate.ts');
}
