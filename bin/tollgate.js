#!/usr/bin/env node
// The `tollgate` bin: runs the TypeScript entry through tsx (no build step).
require('tsx/cjs');
require('./tollgate.ts');
