import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ACCESS_LOG_FIELDS } from '../../lambda/shared/access-log';
import { DEFAULT_OPERATIONS_CONFIG } from '../../lib/config/operations';
import { readPage, ROOT, section } from './markdown';

/** docs/operations.md names every access-log field and every alarm; docs/configuration.md every operations setting. */

describe('docs: operations', () => {
  it('documents every access-log field with its $context variable', () => {
    const table = section(readPage('docs/operations.md'), '## Access-log fields');
    for (const [field, variable] of Object.entries(ACCESS_LOG_FIELDS)) {
      expect(table).toContain(`\`${field}\``);
      expect(table).toContain(variable.replace('$context.', '').split('.').slice(-1)[0]!);
    }
    expect(table).not.toMatch(/\| `ip` \|/);
  });

  it('documents every operations setting in the configuration table', () => {
    const table = section(readPage('docs/configuration.md'), '# Configuration');
    for (const key of [...Object.keys(DEFAULT_OPERATIONS_CONFIG), 'alarmTopicArn', 'alarmEmail']) expect(table).toContain(`tollgate:${key}`);
  });

  it('says what to check first for every alarm the stack defines', () => {
    const source = readFileSync(path.join(ROOT, 'lib', 'operations.ts'), 'utf8');
    const alarms = [...source.matchAll(/'(\w+)Alarm',/g)].map((m) => m[1]!);
    expect(alarms).toHaveLength(7);
    const table = section(readPage('docs/operations.md'), '## Alarms and what to do');
    for (const alarm of alarms) expect(table).toContain(`| \`${alarm}\` |`);
  });
});
