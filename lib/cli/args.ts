import { parseArgs } from 'node:util';

/** A mistake in how a command is called: the command exits 2 and shows its usage. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
  readonly short?: string;
  /** What the value is, as help shows it (`<cus_id>`). */
  readonly value?: string;
  /** One line for the help. */
  readonly help: string;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;
export type Values = Readonly<Record<string, string | boolean | string[] | undefined>>;

/** Optimal string alignment distance: Levenshtein plus adjacent transpositions (`--cusotmer`). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i]!;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(d[i - 1]![j]! + 1, row[j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** The closest candidate, if it is close enough to be the one meant (at most 2 edits, and not most of the word). */
export function closest(input: string, candidates: readonly string[]): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(input, candidate);
    if (distance <= 2 && distance < Math.max(input.length, candidate.length) / 2 && (best === undefined || distance < best.distance)) {
      best = { candidate, distance };
    }
  }
  return best?.candidate;
}

export const didYouMean = (input: string, candidates: readonly string[], prefix = ''): string => {
  const match = closest(input, candidates);
  return match === undefined ? '' : `: did you mean ${prefix}${match}?`;
};

/**
 * Parses a command's arguments. node's parseArgs in strict mode words its errors for parser authors
 * ("to specify a positional argument starting with a '-'…"), so it runs lenient here and every token
 * is checked against the command's options.
 */
export function parseCommandArgs(args: readonly string[], options: OptionSpecs): { values: Values; positionals: string[] } {
  const { values, tokens } = parseArgs({ args: [...args], options, allowPositionals: true, strict: false, tokens: true });
  const longNames = Object.keys(options).map((name) => `--${name}`);
  // A negative number (`-5`) is an argument the command refuses with its own message, not an option.
  const isNumber = (index: number): boolean => /^-\d+(\.\d+)?$/.test(args[index] ?? '');
  const positionals: string[] = [];
  const numbers = new Set<number>();
  for (const token of tokens) {
    if (token.kind === 'positional') positionals.push(token.value);
    if (token.kind !== 'option') continue;
    if (isNumber(token.index)) {
      // parseArgs reads `-50` as two short options at one index: the argument once.
      if (!numbers.has(token.index)) positionals.push(args[token.index]!);
      numbers.add(token.index);
      continue;
    }
    const spec = options[token.name];
    if (spec === undefined) throw new UsageError(`unknown option '${token.rawName}'${didYouMean(token.rawName, longNames)}`);
    const flag = `--${token.name}`;
    if (spec.type === 'string' && (token.value === undefined || (!token.inlineValue && token.value.startsWith('-')))) {
      throw new UsageError(`option ${flag} needs a value: ${flag} ${spec.value ?? '<value>'}`);
    }
    if (spec.type === 'boolean' && token.value !== undefined) throw new UsageError(`option ${flag} takes no value: write ${flag} alone`);
  }
  return { values, positionals };
}

export const stringValue = (values: Values, name: string): string | undefined => {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
};

const UNIT_SECONDS = { s: 1, m: 60, h: 3_600, d: 86_400 } as const;
export const DURATION_EXAMPLES = '30s, 15m, 12h or 90d';
const MAX_DURATION_SECONDS = 3650 * UNIT_SECONDS.d;

/** Every duration the CLI takes: a whole number and a unit (`30s`, `15m`, `12h`, `90d`). Returns seconds. */
export function parseDuration(value: string, option: string): number {
  const match = /^(\d+)([smhd])$/.exec(value.trim());
  if (match === null) {
    const hint = /^\d+$/.test(value.trim()) ? `add a unit, as in ${value.trim()}s or ${value.trim()}m` : `give a whole number and a unit (s, m, h, d), such as ${DURATION_EXAMPLES}`;
    throw new UsageError(`${option} "${value}" is invalid: ${hint}`);
  }
  const seconds = Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS];
  if (seconds > MAX_DURATION_SECONDS) throw new UsageError(`${option} "${value}" is longer than 3650d: give a shorter duration`);
  return seconds;
}

/** `--expires`: an ISO-8601 time (`2027-01-31T00:00:00Z`), or a duration from now (`90d`, `12h`, `30m`, `10s`). */
export function parseExpiry(value: string, now: Date): Date {
  if (/^\d+[a-z]*$/i.test(value.trim())) return new Date(now.getTime() + parseDuration(value, '--expires') * 1000);
  const at = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(at)) {
    throw new UsageError(`--expires "${value}" is neither an ISO-8601 time nor a duration: use e.g. 2027-01-31T00:00:00Z, or ${DURATION_EXAMPLES}`);
  }
  return new Date(at);
}
