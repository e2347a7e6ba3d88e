import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { requireFresh } from '../../lib/local/reload';

/**
 * Run with plain node + tsx (jest has its own module registry): loads `<dir>/entry.js`, which requires
 * `dep.js` and `kept.js`, edits both, loads again with kept.js kept, and prints what each load saw.
 */
const dir = process.argv[2]!;
const file = (name: string): string => path.join(dir, name);
writeFileSync(file('dep.js'), 'module.exports = 1;\n');
writeFileSync(file('kept.js'), 'module.exports = 1;\n');
writeFileSync(file('entry.js'), "module.exports = { dep: require('./dep'), kept: require('./kept') };\n");
const keep = (f: string): boolean => f === file('kept.js');
const first = requireFresh<{ dep: number; kept: number }>(file('entry.js'), [dir], keep);
writeFileSync(file('dep.js'), 'module.exports = 2;\n');
writeFileSync(file('kept.js'), 'module.exports = 2;\n');
const second = requireFresh<{ dep: number; kept: number }>(file('entry.js'), [dir], keep);
process.stdout.write(`${JSON.stringify({ first, second })}\n`);
