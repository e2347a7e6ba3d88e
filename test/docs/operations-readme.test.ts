import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ACCESS_LOG_FIELDS } from '../../lambda/shared/access-log';
import { DEFAULT_OPERATIONS_CONFIG } from '../../lib/config/operations';

/** The README's Operations section names every access-log field, every operations setting and every alarm. */

const README = readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
const section = (heading: string): string => {
  const start = README.indexOf(heading);
  expect(start).toBeGreaterThanOrEqual(0);
  const end = README.indexOf('\n#', start + heading.length);
  return README.slice(start, end === -1 ? undefined : end);
};

describe('README: Operations', () => {
  it('documents every access-log field with its $context variable', () => {
    const table = section('### Access-log fields');
    for (const [field, variable] of Object.entries(ACCESS_LOG_FIELDS)) {
      expect(table).toContain(`\`${field}\``);
      expect(table).toContain(variable.replace('$context.', '').split('.').slice(-1)[0]!);
    }
    expect(table).not.toMatch(/\| `ip` \|/);
  });

  it('documents every operations setting in the configuration table', () => {
    const table = section('## Configuration');
    for (const key of [...Object.keys(DEFAULT_OPERATIONS_CONFIG), 'alarmTopicArn', 'alarmEmail']) expect(table).toContain(`tollgate:${key}`);
  });

  it('says what to check first for every alarm the stack defines', () => {
    const source = readFileSync(path.join(__dirname, '..', '..', 'lib', 'operations.ts'), 'utf8');
    const alarms = [...source.matchAll(/'(\w+)Alarm',/g)].map((m) => m[1]!);
    expect(alarms).toHaveLength(7);
    const table = section('### Alarms and what to do');
    for (const alarm of alarms) expect(table).toContain(`| \`${alarm}\` |`);
  });
});
