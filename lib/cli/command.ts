import type Stripe from 'stripe';
import { CUSTOMER_ID } from '../../lambda/shared/customers/api-key';
import { UsageError, type OptionSpecs, type Values } from './args';
import { stageFlushes } from '../../lambda/shared/aws/flush-coordinator';
import { loadProjectConfig } from '../config/tollgate-config';
import type { Target } from './target';

/** What a command reads and writes: injected, so tests run the CLI in-process. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The project root (cdk.json, the OpenAPI document, `.tollgate/`). */
  readonly root: string;
  /** @default () => new Date() */
  readonly now?: () => Date;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** The Stripe client of `stripe setup`. @default new Stripe(apiKey): api.stripe.com */
  readonly stripe?: (apiKey: string) => Stripe;
}

/** A failure with a message for people; the command exits 1. */
export class CliError extends Error {
  override readonly name = 'CliError';
}

export interface Context {
  readonly io: CliIo;
  readonly values: Values;
  readonly positionals: readonly string[];
  readonly now: Date;
  /** The stack to act on, resolved on first use (usage errors never need it). */
  target(): Target;
  /** The human text, or with `--json` the data as one JSON document. */
  print(human: string, data: unknown): void;
}

export interface ArgumentSpec {
  /** As the synopsis shows it: `<keyId>`. */
  readonly name: string;
  readonly help: string;
  /** The usage error when it is missing: names it and says what to give. */
  readonly missing: string;
}

export interface CommandSpec {
  /** `create` in `tollgate keys create`. */
  readonly name: string;
  /** One line for the group and top-level help. */
  readonly summary: string;
  /** Everything after `tollgate <group> <name>`: every argument and option. */
  readonly synopsis: string;
  readonly description: string;
  readonly arguments: readonly ArgumentSpec[];
  readonly options: OptionSpecs;
  run(ctx: Context): Promise<void>;
}

export interface CommandGroup {
  readonly name: string;
  readonly summary: string;
  readonly commands: readonly CommandSpec[];
}

/** Every command takes these: where the stack is, and how to print. */
export const COMMON_OPTIONS: OptionSpecs = {
  outputs: { type: 'string', value: '<file>', help: 'a deployed stack: the JSON written by cdk deploy --outputs-file <file>' },
  region: { type: 'string', value: '<region>', help: "its AWS region (default: AWS_REGION, else read from the API's URL)" },
  profile: { type: 'string', value: '<name>', help: 'an AWS profile for a deployed stack (default: AWS_PROFILE)' },
  json: { type: 'boolean', help: 'print one JSON document for scripts (errors too, on stderr)' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

/** The `<cus_id>` positional of the commands about one customer (read it with customerArg). */
export const CUSTOMER_ARGUMENT = {
  name: '<cus_id>',
  help: 'the Stripe customer id',
  missing: 'missing the customer id <cus_id>: give a Stripe customer id such as cus_NffrFeUfNV2Hib',
};

export function customerArg(value: string | undefined, what = 'the customer'): string {
  if (value === undefined || value === '') throw new UsageError(`missing ${what}: give a Stripe customer id such as cus_NffrFeUfNV2Hib`);
  if (!CUSTOMER_ID.test(value)) throw new UsageError(`"${value}" is not a Stripe customer id: expected cus_ followed by letters and digits`);
  return value;
}

/**
 * After an operator's change that must apply at once: cached authorizer results would keep the old
 * answer until their TTL. Through the stage's one flusher, as every function asks (the management
 * budget is the account's): a flush it cannot make now is left to the clock, never lost.
 */
export async function flushAfter(ctx: Pick<Context, 'io' | 'now' | 'target'>): Promise<{ readonly flushed: boolean; readonly note: string }> {
  const target = ctx.target();
  const config = loadProjectConfig(ctx.io.root);
  const failures: unknown[] = [];
  const flushes = stageFlushes(
    { eventsTable: target.tables.events, cacheTtlSeconds: config.authorizerCacheTtlSeconds, flushIntervalSeconds: config.cacheFlushIntervalSeconds },
    { dynamodb: target.dynamodb, flusher: target.flusher, onFailure: (_t, err) => failures.push(err) },
  );
  const outcome = await flushes.request(target.flushTarget);
  if (outcome === 'flushed' || outcome === 'covered') return { flushed: true, note: 'authorizer cache flushed' };
  const why = failures.length > 0 && failures[0] instanceof Error ? ` (${failures[0].message})` : '';
  return { flushed: false, note: `authorizer cache flush queued${why}: the clock makes it within a minute, and cached results end with their TTL anyway` };
}

const WIDTH = 100;

/** Wraps a synopsis at option boundaries; continuation lines are indented under the first option. */
export function wrapSynopsis(head: string, synopsis: string, indent: string): string[] {
  const words: string[] = [];
  for (const word of synopsis.match(/(?:\[[^\]]*\]|<[^>]*>|[^\s[<])+/g) ?? []) {
    const previous = words[words.length - 1];
    if (word.startsWith('<') && previous?.startsWith('--') === true) words[words.length - 1] = `${previous} ${word}`;
    else words.push(word);
  }
  const hanging = ' '.repeat(indent.length + head.length + 1);
  const lines: string[] = [];
  let line = `${indent}${head}`;
  for (const word of words) {
    if (line.length + 1 + word.length > WIDTH && line.trim() !== head) {
      lines.push(line);
      line = `${hanging}${word}`;
    } else {
      line += ` ${word}`;
    }
  }
  lines.push(line);
  return lines;
}

const optionLabel = (name: string, spec: OptionSpecs[string]): string =>
  `${spec.short === undefined ? '' : `-${spec.short}, `}--${name}${spec.value === undefined ? '' : ` ${spec.value}`}${spec.multiple === true ? '...' : ''}`;

function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const word of text.split(' ')) {
    const last = lines[lines.length - 1];
    if (last !== undefined && last.length + 1 + word.length <= width) lines[lines.length - 1] = `${last} ${word}`;
    else lines.push(word);
  }
  return lines;
}

function table(rows: readonly (readonly [string, string])[], width: number): string[] {
  return rows.flatMap(([left, right]) => wrapText(right, Math.max(40, WIDTH - width - 4)).map((line, i) => `  ${(i === 0 ? left : '').padEnd(width)}  ${line}`));
}

const listing = (group: CommandGroup): string[] =>
  group.commands.flatMap((command) => [...wrapSynopsis(commandPath(group, command), command.synopsis, '  '), `      ${command.summary}`]);

/** `keys create`; a group of one unnamed command is just its name (`report`). */
const commandPath = (group: CommandGroup, command: CommandSpec): string => (command.name === '' ? group.name : `${group.name} ${command.name}`);

const commonSection = (width: number): string[] => [
  'target and output (every command; default target: the local stack started by npm start):',
  ...table(Object.entries(COMMON_OPTIONS).map(([name, spec]) => [optionLabel(name, spec), spec.help]), width),
];

export const rootSynopsis = (groups: readonly CommandGroup[]): string => `usage: tollgate <${groups.map((g) => g.name).join('|')}> <command> [options]`;
export const groupSynopsis = (group: CommandGroup): string => `usage: tollgate ${group.name} <${group.commands.map((c) => c.name).join('|')}> [options]`;
export const commandSynopsis = (group: CommandGroup, command: CommandSpec): string =>
  wrapSynopsis(`usage: tollgate ${commandPath(group, command)}`, command.synopsis, '').join('\n');

const COMMON_WIDTH = Math.max(...Object.entries(COMMON_OPTIONS).map(([name, spec]) => optionLabel(name, spec).length));

export function rootHelp(groups: readonly CommandGroup[]): string {
  return [
    rootSynopsis(groups),
    '',
    'commands:',
    ...groups.flatMap(listing),
    '',
    'run tollgate <group> <command> --help for details.',
    '',
    ...commonSection(COMMON_WIDTH),
  ].join('\n');
}

export function groupHelp(group: CommandGroup): string {
  return [groupSynopsis(group), '', `${group.summary}.`, '', 'commands:', ...listing(group), '', `run tollgate ${group.name} <command> --help for details.`, '', ...commonSection(COMMON_WIDTH)].join(
    '\n',
  );
}

export function commandHelp(group: CommandGroup, command: CommandSpec): string {
  const argumentRows = command.arguments.map((a) => [a.name, a.help] as const);
  const optionRows = Object.entries(command.options).map(([name, spec]) => [optionLabel(name, spec), spec.help] as const);
  const width = Math.max(COMMON_WIDTH, ...[...argumentRows, ...optionRows].map(([left]) => left.length));
  return [
    commandSynopsis(group, command),
    '',
    command.description,
    ...(argumentRows.length === 0 ? [] : ['', 'arguments:', ...table(argumentRows, width)]),
    ...(optionRows.length === 0 ? [] : ['', 'options:', ...table(optionRows, width)]),
    '',
    ...commonSection(width),
  ].join('\n');
}
