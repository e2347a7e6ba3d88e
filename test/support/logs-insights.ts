import { buildReport, insightsRows, REPORT_QUERIES, type Report, type ReportQueryName } from '../../lib/report/queries';

/**
 * A small interpreter of the part of CloudWatch Logs Insights QL that tollgate's saved queries and
 * dashboard widgets use, so tests can run those exact query strings over recorded log lines (the
 * queries cannot be run against CloudWatch here). It follows the documented semantics: JSON fields
 * are discovered from each event's message, a comparison with a field the event lacks is false, and
 * `stats … by` groups with `bin()` on `@timestamp`. Anything outside that subset throws, so a query
 * that grows beyond it fails its test instead of passing by accident.
 *
 * Commands: filter, fields, stats (count(*), min, max; by fields, bin(<n><unit>)), sort, limit.
 * Expressions: = != < > <= >=, like /regex/ or "substring", and, or, not, parentheses,
 * if(cond, then, else), ispresent(field), string and number literals.
 */

export interface LogEvent {
  /** Epoch ms: the CloudWatch event's timestamp (`@timestamp`). */
  readonly timestamp: number;
  readonly message: string;
}

/** One result row as GetQueryResults returns it. */
export type InsightsResultRow = Array<{ field: string; value: string }>;

type Value = string | number | boolean | undefined;
type Row = Map<string, Value>;

type Token =
  | { kind: 'string'; text: string }
  | { kind: 'number'; value: number }
  | { kind: 'duration'; ms: number; text: string }
  | { kind: 'regex'; regex: RegExp; text: string }
  | { kind: 'ident'; text: string }
  | { kind: 'op'; text: string };

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < query.length) {
    const c = query[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"' || c === "'") {
      let text = '';
      i++;
      while (i < query.length && query[i] !== c) {
        if (query[i] === '\\') i++;
        text += query[i] ?? '';
        i++;
      }
      if (i >= query.length) throw new Error(`unterminated string in query: ${query}`);
      i++;
      tokens.push({ kind: 'string', text });
    } else if (c === '/') {
      let source = '';
      i++;
      while (i < query.length && query[i] !== '/') {
        source += query[i] === '\\' ? query[i]! + (query[++i] ?? '') : query[i]!;
        i++;
      }
      if (i >= query.length) throw new Error(`unterminated regular expression in query: ${query}`);
      i++;
      const insensitive = source.startsWith('(?i)');
      tokens.push({ kind: 'regex', regex: new RegExp(insensitive ? source.slice(4) : source, insensitive ? 'i' : ''), text: `/${source}/` });
    } else if (/\d/.test(c)) {
      const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?\b/.exec(query.slice(i));
      if (match === null) throw new Error(`unreadable number at "${query.slice(i, i + 10)}"`);
      tokens.push(match[2] === undefined ? { kind: 'number', value: Number(match[1]) } : { kind: 'duration', ms: Number(match[1]) * UNITS[match[2]]!, text: match[0] });
      i += match[0].length;
    } else if (/[@A-Za-z_`]/.test(c)) {
      const match = /^(`[^`]+`|[@A-Za-z_][\w.@]*)/.exec(query.slice(i))!;
      tokens.push({ kind: 'ident', text: match[0].replace(/`/g, '') });
      i += match[0].length;
    } else {
      const op = ['!=', '<=', '>=', '=', '<', '>', '(', ')', ',', '|', '*'].find((o) => query.startsWith(o, i));
      if (op === undefined) throw new Error(`unsupported character "${c}" in query: ${query}`);
      tokens.push({ kind: 'op', text: op });
      i += op.length;
    }
  }
  return tokens;
}

type Expr = (row: Row) => Value;
interface Named {
  readonly name: string;
  readonly expr: Expr;
}
interface Aggregate {
  readonly name: string;
  readonly fn: 'count' | 'min' | 'max';
  readonly arg?: Expr;
  readonly timestamp: boolean;
}

class Parser {
  private position = 0;
  constructor(private readonly tokens: Token[]) {}

  get done(): boolean {
    return this.position >= this.tokens.length;
  }
  peek(): Token | undefined {
    return this.tokens[this.position];
  }
  next(): Token {
    const token = this.tokens[this.position++];
    if (token === undefined) throw new Error('query ends too early');
    return token;
  }
  isWord(word: string): boolean {
    const t = this.peek();
    return t?.kind === 'ident' && t.text.toLowerCase() === word;
  }
  isOp(op: string): boolean {
    const t = this.peek();
    return t?.kind === 'op' && t.text === op;
  }
  expectOp(op: string): void {
    const t = this.next();
    if (t.kind !== 'op' || t.text !== op) throw new Error(`expected "${op}" in query, found ${JSON.stringify(t)}`);
  }
  ident(): string {
    const t = this.next();
    if (t.kind !== 'ident') throw new Error(`expected a field name in query, found ${JSON.stringify(t)}`);
    return t.text;
  }

  expression(): Expr {
    let left = this.conjunction();
    while (this.isWord('or')) {
      this.next();
      const [a, b] = [left, this.conjunction()];
      left = (row) => a(row) === true || b(row) === true;
    }
    return left;
  }
  private conjunction(): Expr {
    let left = this.negation();
    while (this.isWord('and')) {
      this.next();
      const [a, b] = [left, this.negation()];
      left = (row) => a(row) === true && b(row) === true;
    }
    return left;
  }
  private negation(): Expr {
    if (this.isWord('not')) {
      this.next();
      const inner = this.negation();
      return (row) => inner(row) !== true;
    }
    return this.comparison();
  }
  private comparison(): Expr {
    const left = this.primary();
    if (this.isWord('like')) {
      this.next();
      const pattern = this.next();
      if (pattern.kind === 'regex') return (row) => present(left(row)) && pattern.regex.test(String(left(row)));
      if (pattern.kind === 'string') return (row) => present(left(row)) && String(left(row)).includes(pattern.text);
      throw new Error(`like takes a /regex/ or a "string", found ${JSON.stringify(pattern)}`);
    }
    const t = this.peek();
    if (t?.kind === 'op' && ['=', '!=', '<', '>', '<=', '>='].includes(t.text)) {
      this.next();
      const right = this.primary();
      return (row) => compare(t.text, left(row), right(row));
    }
    return left;
  }
  private primary(): Expr {
    const t = this.next();
    if (t.kind === 'op' && t.text === '(') {
      const inner = this.expression();
      this.expectOp(')');
      return inner;
    }
    if (t.kind === 'string') return () => t.text;
    if (t.kind === 'number') return () => t.value;
    if (t.kind === 'ident' && this.isOp('(')) {
      this.next();
      const name = t.text.toLowerCase();
      const args: Expr[] = [];
      while (!this.isOp(')')) {
        args.push(this.expression());
        if (!this.isOp(')')) this.expectOp(',');
      }
      this.expectOp(')');
      if (name === 'if' && args.length === 3) return (row) => (args[0]!(row) === true ? args[1]!(row) : args[2]!(row));
      if (name === 'ispresent' && args.length === 1) return (row) => present(args[0]!(row));
      throw new Error(`unsupported function ${t.text}/${args.length} in query`);
    }
    if (t.kind === 'ident') return (row) => row.get(t.text);
    throw new Error(`unexpected ${JSON.stringify(t)} in query`);
  }

  /** `<expr> [as <name>]`; a bare field names itself. */
  named(): Named {
    const start = this.peek();
    const expr = this.expression();
    if (this.isWord('as')) {
      this.next();
      return { name: this.ident(), expr };
    }
    if (start?.kind === 'ident') return { name: start.text, expr };
    throw new Error('an expression in fields or by needs "as <name>"');
  }

  aggregate(): Aggregate {
    const fn = this.ident().toLowerCase();
    this.expectOp('(');
    let arg: Expr | undefined;
    let timestamp = false;
    if (fn === 'count' && this.isOp('*')) {
      this.next();
    } else {
      const t = this.peek();
      timestamp = t?.kind === 'ident' && t.text === '@timestamp';
      arg = this.expression();
    }
    this.expectOp(')');
    if (fn !== 'count' && fn !== 'min' && fn !== 'max') throw new Error(`unsupported stats function ${fn}`);
    if (!this.isWord('as')) throw new Error(`name the aggregate ${fn}(…) with "as"`);
    this.next();
    return { name: this.ident(), fn, ...(arg === undefined ? {} : { arg }), timestamp };
  }

  /** A group of stats … by: a field, an expression with "as", or bin(<duration>) on @timestamp. */
  group(): Named & { timestamp: boolean } {
    if (this.isWord('bin')) {
      this.next();
      this.expectOp('(');
      const d = this.next();
      if (d.kind !== 'duration') throw new Error(`bin() takes a duration such as 1m, found ${JSON.stringify(d)}`);
      this.expectOp(')');
      let name = `bin(${d.text})`;
      if (this.isWord('as')) {
        this.next();
        name = this.ident();
      }
      return { name, expr: (row) => Math.floor((row.get('@timestamp') as number) / d.ms) * d.ms, timestamp: true };
    }
    return { ...this.named(), timestamp: false };
  }
}

const present = (v: Value): boolean => v !== undefined && v !== null && v !== '';

function compare(op: string, a: Value, b: Value): boolean {
  if (!present(a) || !present(b)) return false;
  const numeric = (typeof a === 'number' || typeof b === 'number') && Number.isFinite(Number(a)) && Number.isFinite(Number(b));
  const [x, y] = numeric ? [Number(a), Number(b)] : [String(a), String(b)];
  switch (op) {
    case '=':
      return x === y;
    case '!=':
      return x !== y;
    case '<':
      return x < y;
    case '>':
      return x > y;
    case '<=':
      return x <= y;
    default:
      return x >= y;
  }
}

/** Logs Insights writes times as `2026-11-30 16:27:00.000` (UTC). */
export const insightsTimestamp = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

/** The fields Logs Insights discovers in one event: `@timestamp`, `@message` and, for a JSON message, its fields (nested ones flattened with dots). */
function discover(event: LogEvent): Row {
  const row: Row = new Map<string, Value>([
    ['@timestamp', event.timestamp],
    ['@message', event.message],
  ]);
  const flatten = (prefix: string, value: unknown): void => {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) flatten(prefix === '' ? k : `${prefix}.${k}`, v);
    } else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      row.set(prefix, value);
    }
  };
  try {
    flatten('', JSON.parse(event.message));
  } catch {
    // Not JSON: only @timestamp and @message.
  }
  return row;
}

/** Runs `query` over `events` as Logs Insights would, returning GetQueryResults rows. */
export function runInsightsQuery(query: string, events: readonly LogEvent[]): InsightsResultRow[] {
  const commands: Token[][] = [[]];
  for (const token of tokenize(query)) {
    if (token.kind === 'op' && token.text === '|') commands.push([]);
    else commands.at(-1)!.push(token);
  }
  let rows: Row[] = events.map(discover);
  let timestamps = new Set(['@timestamp']);
  let display: string[] | undefined;
  events.forEach((_, i) => rows[i]!.set('@ptr', `ptr-${i}`));

  for (const tokens of commands) {
    const parser = new Parser(tokens);
    const command = parser.ident().toLowerCase();
    if (command === 'filter') {
      const keep = parser.expression();
      rows = rows.filter((row) => keep(row) === true);
    } else if (command === 'fields') {
      const list: Named[] = [parser.named()];
      while (parser.isOp(',')) {
        parser.next();
        list.push(parser.named());
      }
      for (const row of rows) for (const { name, expr } of list) row.set(name, expr(row));
      display = [...(display ?? []), ...list.map((f) => f.name)];
    } else if (command === 'stats') {
      const aggregates: Aggregate[] = [parser.aggregate()];
      while (parser.isOp(',')) {
        parser.next();
        aggregates.push(parser.aggregate());
      }
      const groups: Array<Named & { timestamp: boolean }> = [];
      if (parser.isWord('by')) {
        parser.next();
        groups.push(parser.group());
        while (parser.isOp(',')) {
          parser.next();
          groups.push(parser.group());
        }
      }
      const grouped = new Map<string, Row[]>();
      for (const row of rows) {
        const key = JSON.stringify(groups.map((g) => g.expr(row) ?? null));
        grouped.set(key, [...(grouped.get(key) ?? []), row]);
      }
      rows = [...grouped.values()].map((members) => {
        const out: Row = new Map();
        for (const g of groups) out.set(g.name, g.expr(members[0]!));
        for (const a of aggregates) {
          if (a.fn === 'count') {
            out.set(a.name, members.length);
          } else {
            const values = members.map((m) => Number(a.arg!(m))).filter(Number.isFinite);
            out.set(a.name, values.length === 0 ? undefined : a.fn === 'min' ? Math.min(...values) : Math.max(...values));
          }
        }
        return out;
      });
      timestamps = new Set([...groups.filter((g) => g.timestamp).map((g) => g.name), ...aggregates.filter((a) => a.timestamp).map((a) => a.name)]);
      display = [...groups.map((g) => g.name), ...aggregates.map((a) => a.name)];
    } else if (command === 'sort') {
      const by = parser.named();
      const descending = parser.isWord('desc');
      if (descending || parser.isWord('asc')) parser.next();
      const key = (row: Row): Value => by.expr(row);
      rows = [...rows].sort((a, b) => {
        const [x, y] = [key(a), key(b)];
        const order = compare('<', x, y) ? -1 : compare('>', x, y) ? 1 : 0;
        return descending ? -order : order;
      });
    } else if (command === 'limit') {
      const n = parser.next();
      if (n.kind !== 'number') throw new Error('limit takes a number');
      rows = rows.slice(0, n.value);
    } else {
      throw new Error(`unsupported Logs Insights command "${command}"`);
    }
    if (!parser.done) throw new Error(`unexpected ${JSON.stringify(parser.peek())} after ${command}`);
  }

  return rows.map((row) => {
    const names = display === undefined ? [...row.keys()] : [...display, ...(row.has('@ptr') ? ['@ptr'] : [])];
    return names.flatMap((field) => {
      const value = row.get(field);
      if (value === undefined) return [];
      return [{ field, value: timestamps.has(field) && typeof value === 'number' ? insightsTimestamp(value) : String(value) }];
    });
  });
}

/**
 * The report as a deployed stack computes it: each saved query (REPORT_QUERIES, the strings the stack
 * deploys) run over the events of its log group, the rows read by insightsRows.
 */
export function deployedReport(groups: Readonly<Record<'access' | 'webhook', readonly LogEvent[]>> & { readonly mcp?: readonly LogEvent[]; readonly purchase?: readonly LogEvent[] }, since: Date, until: Date): Report {
  const names = Object.keys(REPORT_QUERIES) as ReportQueryName[];
  const results = Object.fromEntries(names.map((name) => [name, runInsightsQuery(REPORT_QUERIES[name].query, groups[REPORT_QUERIES[name].logGroup] ?? [])]));
  return buildReport(insightsRows(results as Record<ReportQueryName, InsightsResultRow[]>), since, until);
}
