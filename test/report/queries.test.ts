import { Logger } from '@aws-lambda-powertools/logger';
import { renderAccessLogLine } from '../../lambda/shared/access-log';
import { SERVICES } from '../../lambda/shared/metrics';
import {
  buildReport,
  DASHBOARD_QUERIES,
  errorSource,
  insightsRows,
  insightsTime,
  localRows,
  localSeries,
  median,
  recoveries,
  renderReport,
  REPORT_QUERIES,
} from '../../lib/report/queries';
import { capturedOutput } from '../support/captured-output';
import { deployedReport, runInsightsQuery, type LogEvent } from '../support/logs-insights';

/** Lines as the local gateway and the stage write them (lambda/shared/access-log.ts), one per request. */
const line = (fields: { requestId: string; requestTime: number; status: string; customerId?: string; reason?: string; responseType?: string; resourcePath?: string }): string =>
  renderAccessLogLine({
    'context.requestId': fields.requestId,
    'context.requestTimeEpoch': fields.requestTime,
    'context.httpMethod': 'GET',
    'context.resourcePath': fields.resourcePath ?? '/v1/quotes',
    'context.status': fields.status,
    'context.responseLatency': 12,
    'context.error.responseType': fields.responseType,
    'context.authorizer.customerId': fields.customerId,
    'context.authorizer.reason': fields.reason,
  });

const T = Date.parse('2026-11-30T10:00:00.000Z');
const s = (seconds: number): number => T + seconds * 1000;

const ACCESS_LOG = [
  // Before the range: not counted.
  line({ requestId: 'r0', requestTime: s(-60), status: '402', customerId: 'cus_A', reason: 'payment_failed' }),
  line({ requestId: 'r1', requestTime: s(0), status: '200', customerId: 'cus_P' }),
  line({ requestId: 'r2', requestTime: s(5), status: '402', customerId: 'cus_A', reason: 'payment_failed' }),
  line({ requestId: 'r3', requestTime: s(6), status: '401', responseType: 'UNAUTHORIZED' }),
  line({ requestId: 'r4', requestTime: s(10), status: '402', customerId: 'cus_A', reason: 'payment_failed' }),
  line({ requestId: 'r5', requestTime: s(20), status: '402', customerId: 'cus_B', reason: 'no_subscription' }),
  line({ requestId: 'r6', requestTime: s(25), status: '503', responseType: 'AUTHORIZER_FAILURE' }),
  line({ requestId: 'r7', requestTime: s(26), status: '502', responseType: 'INTEGRATION_FAILURE' }),
  line({ requestId: 'r8', requestTime: s(27), status: '500', resourcePath: '/webhooks/stripe' }),
  line({ requestId: 'r9', requestTime: s(28), status: '504', responseType: 'INTEGRATION_TIMEOUT' }),
  line({ requestId: 'r10', requestTime: s(29), status: '500', responseType: 'DEFAULT_5XX' }),
  line({ requestId: 'r11', requestTime: s(30), status: '429', responseType: 'THROTTLED' }),
  line({ requestId: 'r12', requestTime: s(100), status: '200', customerId: 'cus_A' }),
  // A second episode for cus_A after its recovery at 95 s.
  line({ requestId: 'r13', requestTime: s(200), status: '402', customerId: 'cus_A', reason: 'subscription_canceled' }),
  line({ requestId: 'r14', requestTime: s(201), status: '402', customerId: 'cus_B', reason: 'no_subscription' }),
  'not json',
  '{"unrelated":true}',
];

/** `.tollgate/events.log`: the webhook's `access restored` lines. */
const EVENTS_LOG = [
  JSON.stringify({ message: 'access restored', customerId: 'cus_A', reason: 'payment_failed', restoredAt: new Date(s(95)).toISOString(), eventId: 'evt_1', type: 'invoice.paid' }),
  JSON.stringify({ message: 'access restored', customerId: 'cus_B', reason: 'no_subscription', restoredAt: new Date(s(260)).toISOString(), eventId: 'evt_2', type: 'customer.subscription.created' }),
  JSON.stringify({ message: 'access restored', customerId: 'cus_A', reason: 'subscription_canceled', restoredAt: new Date(s(300)).toISOString(), eventId: 'evt_3', type: 'customer.subscription.created' }),
  // A customer whose 402s all came before the range: not a recovery seen in the range.
  JSON.stringify({ message: 'access restored', customerId: 'cus_C', reason: 'trial_ended', restoredAt: new Date(s(310)).toISOString(), eventId: 'evt_4', type: 'customer.subscription.resumed' }),
  JSON.stringify({ message: 'stripe webhook', customerId: 'cus_A', outcome: 'applied' }),
];

describe('the report from the local files', () => {
  const since = new Date(T);
  const until = new Date(s(3600));
  const report = buildReport(localRows(ACCESS_LOG, EVENTS_LOG, since, until), since, until);

  it('counts requests by outcome and the watched statuses in the range only', () => {
    expect(report.requests).toBe(14);
    expect(report.outcomes).toEqual({ allowed: 6, denied: 5, unauthorized: 1, throttled: 1, error: 1 });
    expect(report.statuses).toEqual({ '401': 1, '402': 5, '429': 1, '503': 1 });
  });

  it('counts 402s by reason, largest first, and the customers denied most (ids only)', () => {
    expect(Object.entries(report.deniedByReason)).toEqual([
      ['no_subscription', 2],
      ['payment_failed', 2],
      ['subscription_canceled', 1],
    ]);
    expect(report.topDeniedCustomers).toEqual([
      { customerId: 'cus_A', denials: 3 },
      { customerId: 'cus_B', denials: 2 },
    ]);
  });

  it('times each recovery from the first 402 of its episode', () => {
    // cus_A: 5 s → 95 s (90 s); cus_B: 20 s → 260 s (240 s); cus_A again: 200 s → 300 s (100 s); cus_C: no 402 in range.
    expect(report.recoveries).toEqual({
      count: 3,
      medianSeconds: 100,
      byReason: {
        no_subscription: { count: 1, medianSeconds: 240 },
        payment_failed: { count: 1, medianSeconds: 90 },
        subscription_canceled: { count: 1, medianSeconds: 100 },
      },
      withoutDenialInRange: 1,
    });
  });

  it('splits 5xx by source: authorizer, integration (a backend or the webhook), gateway', () => {
    expect(report.serverErrors).toEqual({ authorizer: 1, integration: 3, gateway: 1 });
  });

  it('renders a table a person reads', () => {
    const text = renderReport(report, 'local');
    expect(text).toContain('2026-11-30T10:00:00.000Z → 2026-11-30T11:00:00.000Z');
    expect(text).toMatch(/no_subscription\s+2/);
    expect(text).toMatch(/cus_A\s+3/);
    expect(text).toContain('recoveries: 3 denied customers let in by a payment (median 100s from their first 402); 1 more got access with no 402 in range');
    expect(text).toMatch(/authorizer\s+1/);
  });

  it('charts outcomes, reasons and recoveries per bucket', () => {
    const series = localSeries(ACCESS_LOG, EVENTS_LOG, since, new Date(s(400)), 100_000);
    expect(series.buckets).toEqual([T, s(100), s(200), s(300)]);
    expect(series.outcomes.denied).toEqual([3, 0, 2, 0]);
    expect(series.deniedByReason).toEqual({ payment_failed: [2, 0, 0, 0], no_subscription: [1, 0, 1, 0], subscription_canceled: [0, 0, 1, 0] });
    expect(series.recoveries).toEqual([1, 0, 1, 1]);
  });
});

describe('the saved Logs Insights queries over the same lines', () => {
  // The queries' time range is StartQuery's: only events in [since, until) reach them.
  const since = new Date(T);
  const until = new Date(s(3600));
  const inRange = (events: LogEvent[]): LogEvent[] => events.filter((e) => e.timestamp >= since.getTime() && e.timestamp < until.getTime());
  // The stage's log events carry the request's time; lines that are not tollgate's are kept, as in a log group.
  const accessEvents = inRange(ACCESS_LOG.map((message, i) => ({ timestamp: Number((JSON.parse(message.startsWith('{') ? message : '{}') as { requestTime?: string }).requestTime ?? s(i)), message })));
  let webhookEvents: LogEvent[] = [];

  beforeAll(async () => {
    // The webhook function's log lines, as its Powertools logger writes them (lambda/webhook/recovery.ts logs the record's fields).
    const level = process.env.POWERTOOLS_LOG_LEVEL;
    process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
    try {
      const logger = new Logger({ serviceName: SERVICES.webhook });
      const { lines } = await capturedOutput(() => {
        for (const entry of EVENTS_LOG) {
          const { message, ...fields } = JSON.parse(entry) as { message: string };
          logger.info(message, fields);
        }
        return Promise.resolve();
      });
      // Logged as the event is applied: the log event's time is the restoration's (this logger's clock is the machine's).
      webhookEvents = inRange(lines.map((message) => ({ timestamp: Date.parse((JSON.parse(message) as { restoredAt?: string }).restoredAt ?? '') || s(0), message })));
    } finally {
      if (level === undefined) delete process.env.POWERTOOLS_LOG_LEVEL;
      else process.env.POWERTOOLS_LOG_LEVEL = level;
    }
    expect(webhookEvents.filter((e) => e.message.includes('"access restored"'))).toHaveLength(4);
  });


  it('give the report the local files give: counts, reasons, customers, each episode\'s recovery, 5xx by source', () => {
    const local = buildReport(localRows(ACCESS_LOG, EVENTS_LOG, since, until), since, until);
    expect(local.recoveries.count).toBe(3);
    expect(deployedReport({ access: accessEvents, webhook: webhookEvents }, since, until)).toEqual(local);
  });

  it('read the minute\'s first 402 as the episode\'s start', () => {
    const denials = runInsightsQuery(REPORT_QUERIES.denials.query, accessEvents);
    expect(denials).toContainEqual([
      { field: 'customerId', value: 'cus_A' },
      { field: 'reason', value: 'payment_failed' },
      { field: 'bin(1m)', value: '2026-11-30 10:00:00.000' },
      { field: 'count', value: '2' },
      { field: 'at', value: '2026-11-30 10:00:05.000' },
    ]);
  });

  it('chart on the dashboard what the report says of top customers and 5xx by source', () => {
    const local = buildReport(localRows(ACCESS_LOG, EVENTS_LOG, since, until), since, until);
    const rows = (query: string): Array<Record<string, string>> => runInsightsQuery(query, accessEvents).map((row) => Object.fromEntries(row.map((f) => [f.field, f.value])));
    expect(rows(DASHBOARD_QUERIES.topDeniedCustomers)).toEqual(local.topDeniedCustomers.map((c) => ({ customerId: c.customerId, denials: String(c.denials) })));
    const bySource = Object.fromEntries(rows(DASHBOARD_QUERIES.serverErrorsBySource).map((r) => [r.source, Number(r.errors)]));
    expect(bySource).toEqual(local.serverErrors);
  });

  it('refuses what the interpreter does not know, so a query cannot pass by being skipped', () => {
    expect(() => runInsightsQuery('filter status = "402"\n| dedup customerId', accessEvents)).toThrow('unsupported Logs Insights command "dedup"');
    expect(() => runInsightsQuery('fields concat(status, reason) as x', accessEvents)).toThrow('unsupported function concat/2');
  });
});

describe('the report from the saved Logs Insights queries', () => {
  // GetQueryResults rows as CloudWatch Logs returns them for REPORT_QUERIES.
  const results = {
    requests: [
      [{ field: 'status', value: '200' }, { field: 'reason', value: '-' }, { field: 'responseType', value: '-' }, { field: 'count', value: '120' }],
      [{ field: 'status', value: '402' }, { field: 'reason', value: 'payment_failed' }, { field: 'responseType', value: 'ACCESS_DENIED' }, { field: 'count', value: '7' }],
      [{ field: 'status', value: '503' }, { field: 'reason', value: '-' }, { field: 'responseType', value: 'AUTHORIZER_FAILURE' }, { field: 'count', value: '2' }],
      [{ field: 'status', value: '500' }, { field: 'reason', value: '-' }, { field: 'responseType', value: '-' }, { field: 'count', value: '1' }],
    ],
    denials: [
      [{ field: 'customerId', value: 'cus_A' }, { field: 'reason', value: 'payment_failed' }, { field: 'bin(1m)', value: '2026-11-30 10:01:00.000' }, { field: 'count', value: '4' }, { field: 'at', value: '2026-11-30 10:01:12.500' }],
      [{ field: 'customerId', value: 'cus_A' }, { field: 'reason', value: 'payment_failed' }, { field: 'bin(1m)', value: '2026-11-30 10:03:00.000' }, { field: 'count', value: '3' }, { field: 'at', value: '2026-11-30 10:03:40.000' }],
    ],
    restorations: [
      [{ field: 'restoredAt', value: '2026-11-30T10:05:30.000Z' }, { field: 'customerId', value: 'cus_A' }, { field: 'reason', value: 'payment_failed' }, { field: '@ptr', value: 'abc' }],
    ],
    tools: [],
    purchases: [],
    payments: [],
    successes: [],
  };

  it('reads the rows and builds the same report', () => {
    const since = new Date(T);
    const until = new Date(s(3600));
    const report = buildReport(insightsRows(results), since, until);
    expect(report.requests).toBe(130);
    expect(report.deniedByReason).toEqual({ payment_failed: 7 });
    expect(report.topDeniedCustomers).toEqual([{ customerId: 'cus_A', denials: 7 }]);
    // First 402 at 10:01:12.5, restored at 10:05:30: 257.5 s.
    expect(report.recoveries).toMatchObject({ count: 1, withoutDenialInRange: 0, medianSeconds: 257.5 });
    expect(report.serverErrors).toEqual({ authorizer: 2, integration: 1, gateway: 0 });
  });
});

describe('report helpers', () => {
  it.each([
    ['503', 'AUTHORIZER_FAILURE', 'authorizer'],
    ['503', 'AUTHORIZER_CONFIGURATION_ERROR', 'authorizer'],
    ['502', 'INTEGRATION_FAILURE', 'integration'],
    ['500', undefined, 'integration'],
    ['500', '-', 'integration'],
    ['500', 'DEFAULT_5XX', 'gateway'],
    ['402', 'ACCESS_DENIED', undefined],
  ])('attributes %s %s to %s', (status, responseType, source) => {
    expect(errorSource(status, responseType)).toBe(source);
  });

  it('reads Logs Insights times in either form it writes them', () => {
    expect(insightsTime('2026-11-30 10:01:12.500')).toBe(Date.parse('2026-11-30T10:01:12.500Z'));
    expect(insightsTime(String(Date.parse('2026-11-30T10:01:12.500Z')))).toBe(Date.parse('2026-11-30T10:01:12.500Z'));
    expect([insightsTime('yesterday'), insightsTime(undefined)]).toEqual([NaN, NaN]);
  });

  it('takes the median of odd and even counts, null of none', () => {
    expect([median([3, 1, 2]), median([4, 1, 3, 2]), median([])]).toEqual([2, 2.5, null]);
  });

  it('starts an episode after the previous restoration', () => {
    const denials = [0, 10, 50].map((at) => ({ customerId: 'cus_X', at: at * 1000, count: 1 }));
    const restorations = [20, 60].map((at) => ({ customerId: 'cus_X', reason: 'payment_failed', at: at * 1000 }));
    expect(recoveries(denials, restorations).map((r) => r.seconds)).toEqual([20, 10]);
  });
});

describe('MCP tool calls by tool and outcome', () => {
  const call = (second: number, tool: string, status: number, extra: Record<string, unknown> = {}): string =>
    JSON.stringify({ message: 'tool call', tool, status, outcome: 'x', calledAt: new Date(s(second)).toISOString(), ...extra });
  const LINES = [
    call(1, 'search', 200),
    call(2, 'search', 200),
    call(3, 'search', 402, { reason: 'quota_exceeded' }),
    call(4, 'search', 500),
    call(5, 'ping', 200),
    call(6, 'ping', 401),
    // Out of range, and not a tool call.
    call(-5, 'ping', 200),
    JSON.stringify({ message: 'access restored', customerId: 'cus_A', reason: 'payment_failed', restoredAt: new Date(s(7)).toISOString() }),
  ];
  const since = new Date(T);
  const until = new Date(s(60));
  const expected = { ping: { allowed: 1, denied: 0, unauthorized: 1, failed: 0 }, search: { allowed: 2, denied: 1, unauthorized: 0, failed: 1 } };

  it('counts them from the local events log, and the saved query over the MCP function\'s log gives the same', () => {
    expect(buildReport(localRows([], LINES, since, until), since, until).toolCalls).toEqual(expected);
    // Deployed, each line is the MCP function's Powertools line: the same members, logged at calledAt.
    const events: LogEvent[] = LINES.map((message) => ({ timestamp: Date.parse((JSON.parse(message) as { calledAt?: string }).calledAt ?? '') || s(7), message }));
    const inRange = events.filter((e) => e.timestamp >= since.getTime() && e.timestamp < until.getTime());
    expect(deployedReport({ access: [], webhook: [], mcp: inRange }, since, until).toolCalls).toEqual(expected);
  });

  it('prints them by tool', () => {
    const text = renderReport(buildReport(localRows([], LINES, since, until), since, until), 'local');
    expect(text).toContain('MCP tool calls by tool (allowed / denied / unauthorized / failed):\n  ping    1 / 0 / 1 / 0\n  search  2 / 1 / 0 / 1');
    expect(renderReport(buildReport(localRows([], [], since, until), since, until), 'local')).toMatch(/MCP tool calls by tool .*:\n {2}none/);
  });
});

describe("agents' purchases in the report", () => {
  const purchase = (second: number, protocol: string, outcome: string, customerId?: string): string =>
    JSON.stringify({ message: 'agent purchase', protocol, outcome, offer: 'credits_100', ...(customerId === undefined ? {} : { customerId, reference: 'pi_1', newKey: true }), purchasedAt: new Date(s(second)).toISOString() });
  const EVENTS = [
    purchase(1, 'mpp', 'payment-required'),
    purchase(2, 'mpp', 'payment-required'),
    purchase(3, 'mpp', 'verification-failed'),
    purchase(4, 'x402', 'payment-expired'),
    purchase(5, 'mpp', 'invalid-challenge'),
    purchase(6, 'mpp', 'invalid-challenge'),
    purchase(10, 'mpp', 'paid', 'cus_M'),
    purchase(70, 'x402', 'paid', 'cus_X'),
    purchase(200, 'mpp', 'paid', 'cus_K'),
    // Out of range.
    purchase(-100, 'mpp', 'paid', 'cus_M'),
    JSON.stringify({ message: 'stripe webhook', customerId: 'cus_M', outcome: 'applied' }),
  ];
  const ACCESS = [
    line({ requestId: 'a1', requestTime: s(30), status: '200', customerId: 'cus_M' }),
    line({ requestId: 'a2', requestTime: s(45), status: '200', customerId: 'cus_M' }),
    // cus_X had a 2xx before it paid, in the minute of its payment, and one after: the minute's last counts.
    line({ requestId: 'a3', requestTime: s(65), status: '200', customerId: 'cus_X' }),
    line({ requestId: 'a4', requestTime: s(100), status: '200', customerId: 'cus_X' }),
    line({ requestId: 'a5', requestTime: s(300), status: '402', customerId: 'cus_K', reason: 'credits_exhausted' }),
  ];
  const since = new Date(T);
  const until = new Date(s(3600));
  const expected = {
    challenged: 2,
    byProtocol: {
      mpp: { paid: 2, refused: { 'invalid-challenge': 2, 'verification-failed': 1 }, firstSuccess: 1, medianSecondsToFirstSuccess: 20 },
      x402: { paid: 1, refused: { 'payment-expired': 1 }, firstSuccess: 1, medianSecondsToFirstSuccess: 30 },
    },
  };

  it('counts challenges, payments by protocol, refusals by type, and each payment to its first 2xx, locally and from the saved queries alike', () => {
    const local = buildReport(localRows(ACCESS, EVENTS, since, until), since, until);
    expect(local.agentPurchases).toEqual(expected);
    // Deployed: the purchase function's Powertools lines (the same members, logged at purchasedAt) and the stage's access log.
    const at = (message: string): number => Date.parse((JSON.parse(message) as { purchasedAt?: string }).purchasedAt ?? '') || s(3);
    const purchaseEvents: LogEvent[] = EVENTS.map((message) => ({ timestamp: at(message), message })).filter((e) => e.timestamp >= since.getTime() && e.timestamp < until.getTime());
    const accessEvents: LogEvent[] = ACCESS.map((message) => ({ timestamp: Number((JSON.parse(message) as { requestTime: string }).requestTime), message }));
    expect(deployedReport({ access: accessEvents, webhook: [], purchase: purchaseEvents }, since, until)).toEqual(local);
  });

  it("chart on the dashboard the payments by protocol the report counts", () => {
    const local = buildReport(localRows(ACCESS, EVENTS, since, until), since, until);
    const events: LogEvent[] = EVENTS.map((message) => ({ timestamp: Date.parse((JSON.parse(message) as { purchasedAt?: string }).purchasedAt ?? '') || s(3), message })).filter((e) => e.timestamp >= since.getTime());
    const rows = runInsightsQuery(DASHBOARD_QUERIES.agentPayments, events).map((row) => Object.fromEntries(row.map((f) => [f.field, f.value])));
    expect(Object.fromEntries(rows.map((r) => [r.protocol, Number(r.paid)]))).toEqual(Object.fromEntries(Object.entries(local.agentPurchases.byProtocol).map(([p, v]) => [p, v.paid])));
  });

  it('prints the funnel by protocol', () => {
    const text = renderReport(buildReport(localRows(ACCESS, EVENTS, since, until), since, until), 'local');
    expect(text).toContain('agents: 2 challenges at the purchase route; by protocol, paid → first 2xx (median from payment), refused by type:\n  mpp   2 → 1 (20s); refused invalid-challenge 2, verification-failed 1\n  x402  1 → 1 (30s); refused payment-expired 1');
  });
});
