import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { GROUPS } from '../../lib/cli/index';
import { run } from './support';

/** The CLI's help and errors as a user reads them: exact lines. */

const emptyState = mkdtempSync(path.join(tmpdir(), 'tollgate-cli-help-'));
const env = { TOLLGATE_STATE_DIR: emptyState };
afterAll(() => rmSync(emptyState, { recursive: true, force: true }));

const lines = (text: string): string[] => text.split('\n');
const COMMANDS = GROUPS.flatMap((group) => group.commands.map((command) => ({ group, command, label: [group.name, command.name].filter((word) => word !== '').join(' ') })));

describe('tollgate --help', () => {
  it('lists every command with all of its options, each on its own line', async () => {
    const { code, stdout, stderr } = await run(['--help'], env);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(lines(stdout)).toEqual(
      expect.arrayContaining([
        'usage: tollgate <keys|customers|events|usage|credits|budget|metering|tokens|report|stripe|cost> <command> [options]',
        '  customers link-subject <cus_id> --issuer <url> --subject <sub>',
        '  customers unlink-subject --issuer <url> --subject <sub>',
        '  tokens mint --customer <cus_id> [--expires-in <seconds>]',
        '  keys create --customer <cus_id> [--name <name>] [--expires <when>]',
        '  keys list [--customer <cus_id>]',
        '  keys revoke <keyId>',
        '  keys rotate <keyId> [--overlap <duration>] [--name <name>]',
        '  customers show <cus_id>',
        '  customers set-usage <cus_id> --block <credits_exhausted|quota_exceeded|none>',
        '  events send <type> --customer <cus_id> [--status <status>] [--plan <lookup_key>]',
        '              [--entitlement <key>]... [--created <epoch_seconds>] [--credits <units>]',
        '              [--period-end <epoch_seconds>] [--secret-id <id>]',
        '  --outputs <file>   a deployed stack: the JSON written by cdk deploy --outputs-file <file>',
        '  --profile <name>   an AWS profile for a deployed stack (default: AWS_PROFILE)',
        '  -h, --help         show this help',
      ]),
    );
  });

  it.each(COMMANDS.map((c) => [c.label, c] as const))("names every option of %s in the top-level help, the group's help and its own", async (label, { group, command }) => {
    const root = (await run(['--help'], env)).stdout;
    const groupHelp = (await run([group.name, '--help'], env)).stdout;
    const own = await run([group.name, command.name, '--help'].filter((word) => word !== ''), env);
    expect(own.code).toBe(0);
    const usage = own.stdout.slice(0, own.stdout.indexOf('\n\n')).replace(/\s+/g, ' ');
    expect(usage).toBe(`usage: tollgate ${label} ${command.synopsis}`);
    for (const [name, spec] of Object.entries(command.options)) {
      // A flag (--live) has no value to show.
      const after = spec.type === 'boolean' ? '\\b' : ' <';
      const flag = new RegExp(`--${name}${after}`);
      expect(root).toMatch(flag);
      expect(groupHelp).toMatch(flag);
      expect(own.stdout).toMatch(new RegExp(`^  --${name}${after}`, 'm'));
    }
    for (const argument of command.arguments) expect(own.stdout).toMatch(new RegExp(`^  ${argument.name} `, 'm'));
  });

  it('prints a command help with its arguments, options and the target options', async () => {
    const { stdout } = await run(['keys', 'rotate', '-h'], env);
    expect(lines(stdout)).toEqual([
      'usage: tollgate keys rotate <keyId> [--overlap <duration>] [--name <name>]',
      '',
      'Issues a replacement key (printed once); the old key keeps working for the overlap, then expires.',
      '',
      'arguments:',
      '  <keyId>               the key id (the first column of tollgate keys list)',
      '',
      'options:',
      '  --overlap <duration>  how long the old key keeps working: 30s, 15m, 12h or 90d (default 24h)',
      '  --name <name>         the new key\'s label (default: the old key\'s)',
      '',
      'target and output (every command; default target: the local stack started by npm start):',
      '  --outputs <file>      a deployed stack: the JSON written by cdk deploy --outputs-file <file>',
      "  --region <region>     its AWS region (default: AWS_REGION, else read from the API's URL)",
      '  --profile <name>      an AWS profile for a deployed stack (default: AWS_PROFILE)',
      '  --json                print one JSON document for scripts (errors too, on stderr)',
      '  -h, --help            show this help',
      '',
    ]);
  });
});

describe('usage errors', () => {
  it.each([
    [['keys', 'create', '--custmer', 'cus_a'], "unknown option '--custmer': did you mean --customer?", 'usage: tollgate keys create --customer <cus_id> [--name <name>] [--expires <when>]'],
    [['keys', 'list', '--bogus'], "unknown option '--bogus'", 'usage: tollgate keys list [--customer <cus_id>]'],
    [['customers', 'show'], 'missing the customer id <cus_id>: give a Stripe customer id such as cus_NffrFeUfNV2Hib', 'usage: tollgate customers show <cus_id>'],
    [['customers', 'set-usage'], 'missing the customer id <cus_id>: give a Stripe customer id such as cus_NffrFeUfNV2Hib', 'usage: tollgate customers set-usage <cus_id> --block <credits_exhausted|quota_exceeded|none>'],
    [['keys', 'rotate'], 'missing the key id <keyId>: see tollgate keys list', 'usage: tollgate keys rotate <keyId> [--overlap <duration>] [--name <name>]'],
    [['keys', 'rotate', 'abcdefgh', '--overlap', '60'], '--overlap "60" is invalid: add a unit, as in 60s or 60m', 'usage: tollgate keys rotate <keyId> [--overlap <duration>] [--name <name>]'],
    [['keys', 'create', '--customer', 'cus_a', '--expires'], 'option --expires needs a value: --expires <when>', 'usage: tollgate keys create --customer <cus_id> [--name <name>] [--expires <when>]'],
    [['custmers', 'show', 'cus_a'], 'unknown command "custmers": did you mean customers?', 'usage: tollgate <keys|customers|events|usage|credits|budget|metering|tokens|report|stripe|cost> <command> [options]'],
    [['keys', 'lsit'], 'unknown keys command "lsit": did you mean list?', 'usage: tollgate keys <create|list|revoke|rotate> [options]'],
    [[], 'missing a command', 'usage: tollgate <keys|customers|events|usage|credits|budget|metering|tokens|report|stripe|cost> <command> [options]'],
  ])('%j: one line that says what is wrong, then the usage, and exit 2', async (argv, error, usage) => {
    const result = await run(argv, env);
    expect(result).toEqual({ code: 2, stdout: '', stderr: `tollgate: ${error}\n${usage}\n` });
  });

  it('prints the error alone, as one JSON line, with --json', async () => {
    const result = await run(['keys', 'create', '--custmer', 'cus_a', '--json'], env);
    expect(result).toEqual({ code: 2, stdout: '', stderr: `${JSON.stringify({ error: "unknown option '--custmer': did you mean --customer?" })}\n` });
  });
});

describe('failures', () => {
  it('are one line on stderr, exit 1', async () => {
    const result = await run(['keys', 'list'], env);
    expect(result.code).toBe(1);
    expect(lines(result.stderr)).toEqual([`tollgate: no local stack is running (no ${path.basename(emptyState)}/local.json): start it with npm start, or pass --outputs <cdk-outputs.json> for a deployed stack`, '']);
  });
});
