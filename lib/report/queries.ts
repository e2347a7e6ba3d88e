import { NO_VALUE, parseAccessLogLine, type AccessLogLine } from '../../lambda/shared/access-log';
import { TOOL_CALL_MESSAGE, toolOutcome, type ToolOutcome } from '../../lambda/mcp/call';
import { ACCESS_RESTORED_MESSAGE } from '../../lambda/webhook/recovery';
import { AGENT_PROTOCOLS, AGENT_PURCHASE_MESSAGE, type AgentProtocol } from '../../lambda/purchase/record';

/**
 * The operations report's one core: what `tollgate report` and the local operator page show, computed
 * from the same rows whether they come from `.tollgate/access.log` and `.tollgate/events.log` (local)
 * or from the saved CloudWatch Logs Insights queries the stack defines (deployed; the query strings
 * are here, so the stack and the CLI cannot drift apart).
 *
 * Recoveries join two sources: the webhook's `access restored` lines (when and why a customer was let
 * in again) and the access log's 402 lines (customerId and reason of every denial). The episode a
 * restoration ends began with the customer's first 402 after their previous restoration.
 */

/** One group of requests: status, 402 reason and gateway response type (absent: none). */
export interface RequestRow {
  readonly status: string;
  readonly reason?: string;
  readonly responseType?: string;
  readonly count: number;
}

/** 402s of one customer at one time (a request locally; deployed, a minute's 402s at the first one's time). */
export interface DenialRow {
  readonly customerId: string;
  readonly reason?: string;
  /** Epoch ms. */
  readonly at: number;
  readonly count: number;
}

export interface RestorationRow {
  readonly customerId: string;
  readonly reason: string;
  /** Epoch ms. */
  readonly at: number;
}

/** MCP tool calls of one tool and route status (the MCP function's `tool call` lines). */
export interface ToolRow {
  readonly tool: string;
  readonly status: string;
  readonly count: number;
}

/** Answered purchase attempts of one protocol and outcome (`paid`, or the refusal's problem type). */
export interface PurchaseRow {
  readonly protocol: string;
  readonly outcome: string;
  readonly count: number;
}

/** One paid purchase: who paid, over what, when (epoch ms). */
export interface PaymentRow {
  readonly protocol: string;
  readonly customerId: string;
  readonly at: number;
}

/** 2xx answers of one customer in one minute (UTC, as Logs Insights' bin(1m)): the first and the last, epoch ms. */
export interface SuccessRow {
  readonly customerId: string;
  readonly first: number;
  readonly last: number;
  readonly count: number;
}

export interface ReportRows {
  readonly requests: readonly RequestRow[];
  readonly denials: readonly DenialRow[];
  readonly restorations: readonly RestorationRow[];
  readonly tools: readonly ToolRow[];
  readonly purchases: readonly PurchaseRow[];
  readonly payments: readonly PaymentRow[];
  readonly successes: readonly SuccessRow[];
}

/** Agents' purchases over one protocol: the funnel's paid and first-2xx steps, and the refusals by problem type. */
export interface ProtocolPurchases {
  readonly paid: number;
  /** Refused attempts by problem type (a served challenge, `payment-required`, is not a refusal: it is the 402 step). */
  readonly refused: Readonly<Record<string, number>>;
  /** Paid purchases whose customer then got a 2xx in the range. */
  readonly firstSuccess: number;
  /** Median seconds from the payment to that first 2xx (to the minute's last 2xx when a minute holds 2xx from both sides of the payment). */
  readonly medianSecondsToFirstSuccess: number | null;
}

export type ErrorSource = 'authorizer' | 'integration' | 'gateway';
/** How the gateway answered, as the decision it reflects: allowed (authorized, or a public route), denied (402), unauthorized (401), throttled (429), error (the authorizer failed: 503). */
export type RequestOutcome = 'allowed' | 'denied' | 'unauthorized' | 'throttled' | 'error';

export interface Report {
  readonly since: string;
  readonly until: string;
  readonly requests: number;
  /** Requests by how the gateway answered them. */
  readonly outcomes: Readonly<Record<RequestOutcome, number>>;
  /** Counts of the statuses operators watch. */
  readonly statuses: Readonly<Record<'401' | '402' | '429' | '503', number>>;
  /** 402s by reason, largest first. */
  readonly deniedByReason: Readonly<Record<string, number>>;
  /** Customers with the most 402s (ids only), at most 10. */
  readonly topDeniedCustomers: ReadonlyArray<{ readonly customerId: string; readonly denials: number }>;
  /**
   * Customers answered 402 in the range whom a payment event then let in, by the reason they were
   * denied, with the time from the episode's first 402 to the restored access.
   */
  readonly recoveries: {
    readonly count: number;
    readonly medianSeconds: number | null;
    readonly byReason: Readonly<Record<string, { readonly count: number; readonly medianSeconds: number | null }>>;
    /** Access a payment event granted with no 402 of that customer in the range: a new subscriber who never called, or an episode that began earlier. */
    readonly withoutDenialInRange: number;
  };
  /** 5xx answers by where they came from. */
  readonly serverErrors: Readonly<Record<ErrorSource, number>>;
  /** MCP tool calls by tool, then by outcome (allowed: 2xx, counted; denied: 402; unauthorized: 401; failed: any other). */
  readonly toolCalls: Readonly<Record<string, Readonly<Record<ToolOutcome, number>>>>;
  /** Agents paying the 402 (docs/agents.md): 402 → paid → first 2xx by protocol, and failed verifications by type. */
  readonly agentPurchases: AgentPurchases;
}

export interface AgentPurchases {
  /**
   * Challenges the purchase route served (402 `payment-required`: nothing presented yet). One 402 offers every
   * protocol, so its protocol is not known until the buyer pays: the funnel's first step is not split.
   */
  readonly challenged: number;
  readonly byProtocol: Readonly<Record<AgentProtocol, ProtocolPurchases>>;
}

const minuteOf = (at: number): number => Math.floor(at / 60_000);

/** The purchases by protocol, each payment joined to its customer's first 2xx at or after it. */
export function agentPurchases(rows: Pick<ReportRows, 'purchases' | 'payments' | 'successes'>): AgentPurchases {
  const successes = new Map<string, SuccessRow[]>();
  for (const s of rows.successes) successes.set(s.customerId, [...(successes.get(s.customerId) ?? []), s]);
  for (const list of successes.values()) list.sort((a, b) => a.first - b.first);
  const byProtocol = {} as Record<AgentProtocol, ProtocolPurchases>;
  for (const protocol of AGENT_PROTOCOLS) {
    const mine = rows.purchases.filter((r) => r.protocol === protocol);
    const refused: Record<string, number> = {};
    for (const r of mine) if (r.outcome !== 'paid' && r.outcome !== 'payment-required') refused[r.outcome] = (refused[r.outcome] ?? 0) + r.count;
    const seconds = rows.payments
      .filter((p) => p.protocol === protocol)
      .flatMap((p) => {
        const next = (successes.get(p.customerId) ?? []).find((s) => s.last >= p.at);
        return next === undefined ? [] : [((next.first >= p.at ? next.first : next.last) - p.at) / 1000];
      });
    byProtocol[protocol] = {
      paid: mine.filter((r) => r.outcome === 'paid').reduce((n, r) => n + r.count, 0),
      refused: Object.fromEntries(byCountDesc(Object.entries(refused))),
      firstSuccess: seconds.length,
      medianSecondsToFirstSuccess: median(seconds),
    };
  }
  return { challenged: rows.purchases.filter((r) => r.outcome === 'payment-required').reduce((n, r) => n + r.count, 0), byProtocol };
}

export const TOOL_OUTCOMES: readonly ToolOutcome[] = ['allowed', 'denied', 'unauthorized', 'failed'];

/** Tool rows → calls by tool and outcome, tools by name. */
export function toolCalls(rows: readonly ToolRow[]): Record<string, Record<ToolOutcome, number>> {
  const out: Record<string, Record<ToolOutcome, number>> = {};
  for (const row of [...rows].sort((a, b) => a.tool.localeCompare(b.tool))) {
    const counts = (out[row.tool] ??= Object.fromEntries(TOOL_OUTCOMES.map((o) => [o, 0])) as Record<ToolOutcome, number>);
    counts[toolOutcome(Number(row.status))] += row.count;
  }
  return out;
}

const present = (value: string | undefined): string | undefined => (value === undefined || value === '' || value === NO_VALUE ? undefined : value);

/** Where a 5xx came from: the authorizer (503), the integration (the backend or the webhook, or its failure), or the gateway itself. */
export function errorSource(status: string, responseType: string | undefined): ErrorSource | undefined {
  if (!/^5\d\d$/.test(status)) return undefined;
  const type = present(responseType);
  if (type?.startsWith('AUTHORIZER_') === true) return 'authorizer';
  if (type === undefined || type.startsWith('INTEGRATION_')) return 'integration';
  return 'gateway';
}

export function outcomeOf(row: { readonly status: string; readonly responseType?: string }): RequestOutcome {
  if (row.status === '401') return 'unauthorized';
  if (row.status === '402') return 'denied';
  if (row.status === '429') return 'throttled';
  return present(row.responseType)?.startsWith('AUTHORIZER_') === true ? 'error' : 'allowed';
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export const OUTCOMES: readonly RequestOutcome[] = ['allowed', 'denied', 'unauthorized', 'throttled', 'error'];
const byCountDesc = (entries: Array<[string, number]>): Array<[string, number]> => entries.sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));

/** Each restoration with the seconds since its episode's first 402 (undefined: that 402 is not in the rows). */
export function recoveries(denials: readonly DenialRow[], restorations: readonly RestorationRow[]): Array<RestorationRow & { readonly seconds?: number }> {
  const denialTimes = new Map<string, number[]>();
  for (const d of denials) denialTimes.set(d.customerId, [...(denialTimes.get(d.customerId) ?? []), d.at]);
  for (const times of denialTimes.values()) times.sort((a, b) => a - b);
  const previous = new Map<string, number>();
  return [...restorations]
    .sort((a, b) => a.at - b.at)
    .map((r) => {
      const after = previous.get(r.customerId) ?? Number.NEGATIVE_INFINITY;
      previous.set(r.customerId, r.at);
      const first = (denialTimes.get(r.customerId) ?? []).find((t) => t > after && t <= r.at);
      return first === undefined ? r : { ...r, seconds: (r.at - first) / 1000 };
    });
}

export function buildReport(rows: ReportRows, since: Date, until: Date): Report {
  const outcomes = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<RequestOutcome, number>;
  const statuses = { '401': 0, '402': 0, '429': 0, '503': 0 };
  const serverErrors: Record<ErrorSource, number> = { authorizer: 0, integration: 0, gateway: 0 };
  const reasons = new Map<string, number>();
  let requests = 0;
  for (const row of rows.requests) {
    requests += row.count;
    outcomes[outcomeOf(row)] += row.count;
    if (row.status in statuses) statuses[row.status as keyof typeof statuses] += row.count;
    const source = errorSource(row.status, row.responseType);
    if (source !== undefined) serverErrors[source] += row.count;
    if (row.status === '402') reasons.set(present(row.reason) ?? 'unknown', (reasons.get(present(row.reason) ?? 'unknown') ?? 0) + row.count);
  }
  const customers = new Map<string, number>();
  for (const d of rows.denials) customers.set(d.customerId, (customers.get(d.customerId) ?? 0) + d.count);
  const restored = recoveries(rows.denials, rows.restorations);
  const recovered = restored.filter((r) => r.seconds !== undefined);
  const seconds = (list: typeof recovered): number[] => list.map((r) => r.seconds!);
  const byReason: Record<string, { count: number; medianSeconds: number | null }> = {};
  for (const reason of [...new Set(recovered.map((r) => r.reason))].sort()) {
    const ofReason = recovered.filter((r) => r.reason === reason);
    byReason[reason] = { count: ofReason.length, medianSeconds: median(seconds(ofReason)) };
  }
  return {
    since: since.toISOString(),
    until: until.toISOString(),
    requests,
    outcomes,
    statuses,
    deniedByReason: Object.fromEntries(byCountDesc([...reasons])),
    topDeniedCustomers: byCountDesc([...customers]).slice(0, 10).map(([customerId, denials]) => ({ customerId, denials })),
    recoveries: { count: recovered.length, medianSeconds: median(seconds(recovered)), byReason, withoutDenialInRange: restored.length - recovered.length },
    serverErrors,
    toolCalls: toolCalls(rows.tools),
    agentPurchases: agentPurchases(rows),
  };
}

// ---- local: the files npm start writes ----

/** Access-log lines whose request time is in [since, until), parsed. */
export function accessLinesIn(lines: Iterable<string>, since: Date, until: Date): Array<AccessLogLine & { readonly at: number }> {
  const out: Array<AccessLogLine & { at: number }> = [];
  for (const text of lines) {
    const line = parseAccessLogLine(text);
    const at = Number(line?.requestTime);
    if (line !== undefined && Number.isFinite(at) && at >= since.getTime() && at < until.getTime()) out.push({ ...line, at });
  }
  return out;
}

/** JSON log lines with `message`, timed by their `timeField` (an ISO time) in [since, until): the records, with that time. */
function recordsIn(lines: Iterable<string>, message: string, timeField: string, since: Date, until: Date): Array<Record<string, unknown> & { readonly at: number }> {
  const out: Array<Record<string, unknown> & { at: number }> = [];
  for (const text of lines) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      continue;
    }
    if (typeof value !== 'object' || value === null || (value as Record<string, unknown>).message !== message) continue;
    const time = (value as Record<string, unknown>)[timeField];
    const at = typeof time === 'string' ? Date.parse(time) : NaN;
    if (Number.isFinite(at) && at >= since.getTime() && at < until.getTime()) out.push({ ...(value as Record<string, unknown>), at });
  }
  return out;
}

/** `access restored` lines (the webhook's log line, or `.tollgate/events.log`) whose time is in [since, until). */
export function restorationsIn(lines: Iterable<string>, since: Date, until: Date): RestorationRow[] {
  return recordsIn(lines, ACCESS_RESTORED_MESSAGE, 'restoredAt', since, until).flatMap(({ customerId, reason, at }) =>
    typeof customerId === 'string' && typeof reason === 'string' ? [{ customerId, reason, at }] : [],
  );
}

/** `tool call` lines (the MCP function's log line, or `.tollgate/events.log`) whose time is in [since, until), each a row. */
export function toolCallsIn(lines: Iterable<string>, since: Date, until: Date): ToolRow[] {
  return recordsIn(lines, TOOL_CALL_MESSAGE, 'calledAt', since, until).flatMap(({ tool, status }) =>
    typeof tool === 'string' && typeof status === 'number' ? [{ tool, status: String(status), count: 1 }] : [],
  );
}

/** `agent purchase` lines (the purchase function's log line, or `.tollgate/events.log`) whose time is in [since, until): the purchase and payment rows. */
export function purchasesIn(lines: Iterable<string>, since: Date, until: Date): Pick<ReportRows, 'purchases' | 'payments'> {
  const records = recordsIn(lines, AGENT_PURCHASE_MESSAGE, 'purchasedAt', since, until);
  return {
    purchases: records.flatMap(({ protocol, outcome }) => (typeof protocol === 'string' && typeof outcome === 'string' ? [{ protocol, outcome, count: 1 }] : [])),
    payments: records.flatMap(({ protocol, outcome, customerId, at }) => (outcome === 'paid' && typeof protocol === 'string' && typeof customerId === 'string' ? [{ protocol, customerId, at }] : [])),
  };
}

/** Access-log 2xx lines of a customer, grouped per customer and minute as the deployed query's bin(1m) groups them. */
export function successesIn(lines: ReadonlyArray<AccessLogLine & { readonly at: number }>): SuccessRow[] {
  const groups = new Map<string, { customerId: string; first: number; last: number; count: number }>();
  for (const l of lines) {
    if (!/^2\d\d$/.test(l.status ?? '') || l.customerId === undefined) continue;
    const key = `${l.customerId} ${minuteOf(l.at)}`;
    const group = groups.get(key);
    if (group === undefined) groups.set(key, { customerId: l.customerId, first: l.at, last: l.at, count: 1 });
    else Object.assign(group, { first: Math.min(group.first, l.at), last: Math.max(group.last, l.at), count: group.count + 1 });
  }
  return [...groups.values()];
}

/** The report's rows from the local files' lines: each request its own row. */
export function localRows(accessLines: Iterable<string>, eventLines: Iterable<string>, since: Date, until: Date): ReportRows {
  const lines = accessLinesIn(accessLines, since, until);
  const events = [...eventLines];
  return {
    requests: lines.map((l) => ({ status: l.status!, ...(l.reason === undefined ? {} : { reason: l.reason }), ...(l.responseType === undefined ? {} : { responseType: l.responseType }), count: 1 })),
    denials: lines.filter((l) => l.status === '402' && l.customerId !== undefined).map((l) => ({ customerId: l.customerId!, ...(l.reason === undefined ? {} : { reason: l.reason }), at: l.at, count: 1 })),
    restorations: restorationsIn(events, since, until),
    tools: toolCallsIn(events, since, until),
    ...purchasesIn(events, since, until),
    successes: successesIn(lines),
  };
}


// ---- deployed: saved CloudWatch Logs Insights queries ----

export type ReportQueryName = keyof ReportRows;

/** The saved queries, by the log group each runs on. The stack defines them (logs.QueryDefinition); the CLI runs them. */
export const REPORT_QUERIES: Readonly<Record<ReportQueryName, { readonly logGroup: 'access' | 'webhook' | 'mcp' | 'purchase'; readonly query: string }>> = {
  requests: {
    logGroup: 'access',
    query: 'stats count(*) as count by status, reason, responseType\n| limit 10000',
  },
  denials: {
    logGroup: 'access',
    // Per customer and minute, with the minute's first 402: the episode starts at that exact time.
    query: 'filter status = "402" and customerId != "-"\n| stats count(*) as count, min(@timestamp) as at by customerId, reason, bin(1m)\n| limit 10000',
  },
  restorations: {
    logGroup: 'webhook',
    query: `filter message = "${ACCESS_RESTORED_MESSAGE}"\n| fields restoredAt, customerId, reason\n| sort @timestamp asc\n| limit 10000`,
  },
  tools: {
    // The MCP function's log group; without an MCP endpoint the stack runs it on the access log, where it finds nothing.
    logGroup: 'mcp',
    query: `filter message = "${TOOL_CALL_MESSAGE}"\n| stats count(*) as count by tool, status\n| limit 10000`,
  },
  // The purchase function's log group; without agent payments the stack runs these on the access log, where they find nothing.
  purchases: {
    logGroup: 'purchase',
    query: `filter message = "${AGENT_PURCHASE_MESSAGE}"\n| stats count(*) as count by protocol, outcome\n| limit 10000`,
  },
  payments: {
    logGroup: 'purchase',
    query: `filter message = "${AGENT_PURCHASE_MESSAGE}" and outcome = "paid"\n| fields purchasedAt, protocol, customerId\n| sort @timestamp asc\n| limit 10000`,
  },
  successes: {
    logGroup: 'access',
    // Per customer and minute, the minute's first and last 2xx: a payment joins the first minute that ends after it.
    query: 'filter status like /^2/ and customerId != "-"\n| stats count(*) as count, min(@timestamp) as first, max(@timestamp) as last by customerId, bin(1m)\n| limit 10000',
  },
};

/**
 * The dashboard's Logs Insights widgets over the access log (lib/operations.ts): the same figures as
 * the report's `topDeniedCustomers` and `serverErrors`, with the sources `errorSource` names.
 */
export const DASHBOARD_QUERIES = {
  topDeniedCustomers: 'filter status = "402" and customerId != "-"\n| stats count(*) as denials by customerId\n| sort denials desc\n| limit 10',
  serverErrorsBySource:
    'filter status like /^5/\n| fields if(responseType like /^AUTHORIZER_/, "authorizer", if(responseType = "-" or responseType like /^INTEGRATION_/, "integration", "gateway")) as source\n| stats count(*) as errors by source',
  /** Over the purchase function's log: payments by protocol, the first and the last of the range. */
  agentPayments: `filter message = "${AGENT_PURCHASE_MESSAGE}" and outcome = "paid"\n| stats count(*) as paid, min(@timestamp) as firstPaid, max(@timestamp) as lastPaid by protocol`,
} as const;

/** The saved queries' names: `tollgate/<restApiId>/report/<query>`, so the CLI finds them from the stack outputs. */
export const reportQueryPrefix = (restApiId: string): string => `tollgate/${restApiId}/report/`;

/** One result row of GetQueryResults. */
export type InsightsRow = ReadonlyArray<{ readonly field?: string; readonly value?: string }>;

const fieldsOf = (row: InsightsRow): Record<string, string> =>
  Object.fromEntries(row.flatMap((f) => (f.field === undefined || f.value === undefined ? [] : [[f.field, f.value]])));

/** Logs Insights writes times as `2026-11-30 16:27:00.000`, in UTC; an aggregate of `@timestamp` may come as epoch ms. */
export const insightsTime = (value: string | undefined): number =>
  value === undefined ? NaN : /^\d{10,}$/.test(value) ? Number(value) : /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?$/.test(value) ? Date.parse(`${value.replace(' ', 'T')}Z`) : NaN;

const count = (value: string | undefined): number => {
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? n : 0;
};

/** The report's rows from the three queries' results. */
export function insightsRows(results: Readonly<Record<ReportQueryName, readonly InsightsRow[]>>): ReportRows {
  const optional = (name: 'reason' | 'responseType', value: string | undefined): Record<string, string> => {
    const v = present(value);
    return v === undefined ? {} : { [name]: v };
  };
  return {
    requests: results.requests.map(fieldsOf).flatMap((r) =>
      r.status === undefined ? [] : [{ status: r.status, ...optional('reason', r.reason), ...optional('responseType', r.responseType), count: count(r.count) }],
    ),
    denials: results.denials.map(fieldsOf).flatMap((r) => {
      const at = insightsTime(r.at);
      return present(r.customerId) === undefined || !Number.isFinite(at) ? [] : [{ customerId: r.customerId!, ...optional('reason', r.reason), at, count: count(r.count) }];
    }),
    restorations: results.restorations.map(fieldsOf).flatMap((r) => {
      const at = Date.parse(r.restoredAt ?? '');
      return r.customerId === undefined || r.reason === undefined || !Number.isFinite(at) ? [] : [{ customerId: r.customerId, reason: r.reason, at }];
    }),
    tools: results.tools.map(fieldsOf).flatMap((r) => (r.tool === undefined || r.status === undefined ? [] : [{ tool: r.tool, status: r.status, count: count(r.count) }])),
    purchases: results.purchases.map(fieldsOf).flatMap((r) => (r.protocol === undefined || r.outcome === undefined ? [] : [{ protocol: r.protocol, outcome: r.outcome, count: count(r.count) }])),
    payments: results.payments.map(fieldsOf).flatMap((r) => {
      const at = Date.parse(r.purchasedAt ?? '');
      return r.protocol === undefined || present(r.customerId) === undefined || !Number.isFinite(at) ? [] : [{ protocol: r.protocol, customerId: r.customerId!, at }];
    }),
    successes: results.successes.map(fieldsOf).flatMap((r) => {
      const [first, last] = [insightsTime(r.first), insightsTime(r.last)];
      return present(r.customerId) === undefined || !Number.isFinite(first) || !Number.isFinite(last) ? [] : [{ customerId: r.customerId!, first, last, count: count(r.count) }];
    }),
  };
}

// ---- the operator page's series ----

export interface ReportSeries {
  /** Bucket starts, epoch ms. */
  readonly buckets: readonly number[];
  readonly outcomes: Readonly<Record<RequestOutcome, readonly number[]>>;
  readonly deniedByReason: Readonly<Record<string, readonly number[]>>;
  readonly recoveries: readonly number[];
}

/** Requests by outcome, 402s by reason and recoveries per bucket of `bucketMs` from `since` to `until`. */
export function localSeries(accessLines: Iterable<string>, eventLines: Iterable<string>, since: Date, until: Date, bucketMs: number): ReportSeries {
  const n = Math.max(1, Math.ceil((until.getTime() - since.getTime()) / bucketMs));
  const buckets = Array.from({ length: n }, (_, i) => since.getTime() + i * bucketMs);
  const index = (at: number): number => Math.min(n - 1, Math.floor((at - since.getTime()) / bucketMs));
  const zeros = (): number[] => new Array<number>(n).fill(0);
  const outcomes = Object.fromEntries(OUTCOMES.map((o) => [o, zeros()])) as Record<RequestOutcome, number[]>;
  const deniedByReason: Record<string, number[]> = {};
  const lines = accessLinesIn(accessLines, since, until);
  for (const line of lines) {
    const i = index(line.at);
    outcomes[outcomeOf({ status: line.status!, ...line })][i]! += 1;
    if (line.status === '402') (deniedByReason[line.reason ?? 'unknown'] ??= zeros())[i]! += 1;
  }
  const recovered = zeros();
  const denials = lines.filter((l) => l.status === '402' && l.customerId !== undefined).map((l) => ({ customerId: l.customerId!, at: l.at, count: 1 }));
  for (const r of recoveries(denials, restorationsIn(eventLines, since, until))) if (r.seconds !== undefined) recovered[index(r.at)]! += 1;
  return { buckets, outcomes, deniedByReason, recoveries: recovered };
}

/** The report as a person reads it. */
export function renderReport(report: Report, source: string): string {
  const lines: string[] = [];
  const rows = (pairs: Array<[string, string | number]>): void => {
    const width = Math.max(0, ...pairs.map(([k]) => k.length));
    for (const [k, v] of pairs) lines.push(`  ${k.padEnd(width)}  ${v}`);
  };
  const seconds = (s: number | null): string => (s === null ? '-' : s < 120 ? `${Math.round(s)}s` : `${(s / 60).toFixed(1)}m`);
  lines.push(`tollgate report ${report.since} → ${report.until} (${source})`, '');
  lines.push(`requests: ${report.requests}`);
  rows(Object.entries(report.outcomes).map(([k, v]) => [k, v]));
  lines.push('', 'statuses:');
  rows(Object.entries(report.statuses).map(([k, v]) => [k, v]));
  lines.push('', '402 by reason:');
  if (Object.keys(report.deniedByReason).length === 0) lines.push('  none');
  rows(Object.entries(report.deniedByReason));
  lines.push('', 'top customers by 402s:');
  if (report.topDeniedCustomers.length === 0) lines.push('  none');
  rows(report.topDeniedCustomers.map((c) => [c.customerId, c.denials]));
  const { recoveries: r } = report;
  lines.push('', `recoveries: ${r.count} denied customers let in by a payment (median ${seconds(r.medianSeconds)} from their first 402); ${r.withoutDenialInRange} more got access with no 402 in range`);
  rows(Object.entries(r.byReason).map(([reason, v]) => [reason, `${v.count}, median ${seconds(v.medianSeconds)}`]));
  lines.push('', '5xx by source:');
  rows(Object.entries(report.serverErrors));
  lines.push('', 'MCP tool calls by tool (allowed / denied / unauthorized / failed):');
  if (Object.keys(report.toolCalls).length === 0) lines.push('  none');
  rows(Object.entries(report.toolCalls).map(([tool, c]) => [tool, TOOL_OUTCOMES.map((o) => c[o]).join(' / ')]));
  lines.push('', `agents: ${report.agentPurchases.challenged} challenges at the purchase route; by protocol, paid → first 2xx (median from payment), refused by type:`);
  rows(
    Object.entries(report.agentPurchases.byProtocol).map(([protocol, p]) => [
      protocol,
      `${p.paid} → ${p.firstSuccess} (${seconds(p.medianSecondsToFirstSuccess)})${Object.keys(p.refused).length === 0 ? '' : `; refused ${Object.entries(p.refused).map(([type, n]) => `${type} ${n}`).join(', ')}`}`,
    ]),
  );
  return lines.join('\n');
}
