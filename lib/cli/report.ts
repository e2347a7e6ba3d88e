import { CloudWatchLogsClient, DescribeQueryDefinitionsCommand, GetQueryResultsCommand, StartQueryCommand, type QueryDefinition } from '@aws-sdk/client-cloudwatch-logs';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { accessLogPath, eventsLogPath } from '../local/coordinates';
import { DURATION_EXAMPLES, parseDuration, stringValue, UsageError } from './args';
import { CliError, type CommandGroup, type CommandSpec } from './command';
import { grantView, LEGACY_GRANT_ID, type GrantView } from '../../lambda/shared/credit-grants';
import { readCustomer } from '../../lambda/shared/customers/store';
import { buildReport, insightsRows, localRows, REPORT_QUERIES, reportQueryPrefix, renderReport, type InsightsRow, type ReportQueryName, type ReportRows } from '../report/queries';

/**
 * `tollgate report`: what became of the 402s in a time range. Locally from the files npm start writes
 * (`.tollgate/access.log`, `.tollgate/events.log`); deployed by running the stack's saved Logs
 * Insights queries (lib/operations.ts) with the caller's credentials: nothing in the stack is needed.
 */

/** `--since`/`--until`: an ISO-8601 time, or a duration back from now (`24h`). */
export function parseTime(value: string, option: string, now: Date): Date {
  if (/^\d+[a-z]*$/i.test(value.trim())) return new Date(now.getTime() - parseDuration(value, option) * 1000);
  const at = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(at)) {
    throw new UsageError(`${option} "${value}" is neither an ISO-8601 time nor a duration: use e.g. 2026-11-30T09:00:00Z, or ${DURATION_EXAMPLES}`);
  }
  return new Date(at);
}

const readLines = (file: string): string[] => (existsSync(file) ? readFileSync(file, 'utf8').split('\n') : []);

/** The local run's files, read whole: they hold what one laptop's stack served. */
export function localReportRows(stateDir: string, since: Date, until: Date): ReportRows {
  return localRows(readLines(accessLogPath(stateDir)), readLines(eventsLogPath(stateDir)), since, until);
}

const TERMINAL = new Set(['Complete', 'Failed', 'Cancelled', 'Timeout', 'Unknown']);

/** Runs the stack's saved queries over [since, until) and returns their rows. */
export async function deployedReportRows(client: CloudWatchLogsClient, restApiId: string, since: Date, until: Date, pollMs = 1000): Promise<ReportRows> {
  const prefix = reportQueryPrefix(restApiId);
  const definitions: QueryDefinition[] = [];
  let nextToken: string | undefined;
  do {
    const page = await client.send(new DescribeQueryDefinitionsCommand({ queryDefinitionNamePrefix: prefix, ...(nextToken === undefined ? {} : { nextToken }) }));
    definitions.push(...(page.queryDefinitions ?? []));
    nextToken = page.nextToken;
  } while (nextToken !== undefined);

  const run = async (name: ReportQueryName): Promise<InsightsRow[]> => {
    const definition = definitions.find((d) => d.name === `${prefix}${name}`);
    if (definition?.queryString === undefined || (definition.logGroupNames ?? []).length === 0) {
      throw new CliError(`the stack has no saved query ${prefix}${name}: deploy this version of tollgate (npx cdk deploy), then run the report again`);
    }
    const { queryId } = await client.send(
      new StartQueryCommand({
        logGroupNames: definition.logGroupNames,
        queryString: definition.queryString,
        startTime: Math.floor(since.getTime() / 1000),
        endTime: Math.ceil(until.getTime() / 1000),
      }),
    );
    for (;;) {
      const result = await client.send(new GetQueryResultsCommand({ queryId }));
      if (result.status === 'Complete') return (result.results ?? []);
      if (result.status !== undefined && TERMINAL.has(result.status)) throw new CliError(`the logs insights query ${name} ended ${result.status}: run the report again, or over a shorter range`);
      // Logs Insights has no completion notification: ask again shortly.
      await delay(pollMs);
    }
  };
  const names = Object.keys(REPORT_QUERIES) as ReportQueryName[];
  const results = await Promise.all(names.map(run));
  return insightsRows(Object.fromEntries(names.map((name, i) => [name, results[i]!])) as Record<ReportQueryName, InsightsRow[]>);
}

/** A path as the user would write it from here: relative inside the working folder, else as it is. */
function shownPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
}

/** A customer's grants as the report lists them: in draw order, what is left, when each expires. */
export function grantLines(customerId: string, grants: readonly GrantView[]): string {
  if (grants.length === 0) return `credit grants of ${customerId}: none`;
  return [
    `credit grants of ${customerId} (in draw order):`,
    ...grants.map((g) => `  ${g.id === LEGACY_GRANT_ID ? 'earlier credits' : g.id}  ${g.category}, priority ${g.priority}: ${g.left} of ${g.units} units left, ${g.expiresAt === null ? 'never expires' : `${g.expired ? 'expired' : 'expires'} ${g.expiresAt}`}`),
  ].join('\n');
}

const report: CommandSpec = {
  name: '',
  summary: "402s by reason, the customers denied most, recoveries and their median time, 5xx by source",
  synopsis: '[--since <time|duration>] [--until <time|duration>] [--customer <cus_id>]',
  description: [
    'What became of the 402s in a time range: requests by outcome, 402s by reason, the customers with the',
    'most 402s (ids only), how many denied customers got access back after a payment and how long after',
    'their first 402, and 5xx answers by source (authorizer, integration, gateway). Locally from the files',
    'npm start writes (.tollgate/access.log, .tollgate/events.log); on a deployed stack by running its saved',
    'CloudWatch Logs Insights queries (needs logs:DescribeQueryDefinitions, StartQuery and GetQueryResults).',
    "With --customer, also that customer's credit grants in draw order with what is left (one read of its wallet).",
  ].join('\n'),
  arguments: [],
  options: {
    since: { type: 'string', value: '<time|duration>', help: `start: an ISO-8601 time or a duration back from now (${DURATION_EXAMPLES}); default 24h` },
    until: { type: 'string', value: '<time|duration>', help: 'end: an ISO-8601 time or a duration back from now; default now' },
    customer: { type: 'string', value: '<cus_id>', help: "also list this customer's credit grants with what is left" },
  },
  run: async (ctx) => {
    const since = parseTime(stringValue(ctx.values, 'since') ?? '24h', '--since', ctx.now);
    const untilText = stringValue(ctx.values, 'until');
    const until = untilText === undefined ? ctx.now : parseTime(untilText, '--until', ctx.now);
    if (since.getTime() >= until.getTime()) throw new UsageError(`--since (${since.toISOString()}) must be before --until (${until.toISOString()})`);
    const target = ctx.target();
    let rows: ReportRows;
    if (target.kind === 'local') {
      rows = localReportRows(target.stateDir!, since, until);
    } else {
      const client = new CloudWatchLogsClient(target.aws!);
      try {
        rows = await deployedReportRows(client, target.flushTarget.restApiId, since, until);
      } finally {
        client.destroy();
      }
    }
    const built = buildReport(rows, since, until);
    // The files read: the state folder may be anywhere (TOLLGATE_STATE_DIR).
    const source = target.kind === 'local' ? `local: ${shownPath(accessLogPath(target.stateDir!))} and ${path.basename(eventsLogPath(target.stateDir!))}` : 'deployed: CloudWatch Logs Insights';
    const customerId = stringValue(ctx.values, 'customer');
    if (customerId === undefined) {
      ctx.print(renderReport(built, source), { source: target.kind, ...built });
      return;
    }
    const customer = await readCustomer(target.dynamodb, target.tables.customers, customerId);
    if (customer === undefined) throw new CliError(`no customer ${customerId}: check the id (customers list shows them)`);
    const grants = (customer.grants ?? []).map((g) => grantView(g, ctx.now));
    ctx.print(`${renderReport(built, source)}\n\n${grantLines(customerId, grants)}`, { source: target.kind, ...built, customerId, grants });
  },
};

export const REPORT: CommandGroup = {
  name: 'report',
  summary: 'what became of the 402s: reasons, top denied customers, recoveries, 5xx by source',
  commands: [report],
};
