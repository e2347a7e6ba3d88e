import { createApiKey } from '../../lambda/shared/customers/keys';
import { SERVICES } from '../../lambda/shared/metrics';
import { buildReport, DASHBOARD_QUERIES, localRows } from '../../lib/report/queries';
import { buildStripeEvent, serializeEvent, signPayload } from '../../lib/stripe-events';
import { capturedOutput, jsonLines } from '../support/captured-output';
import { freshTables } from '../support/dynamodb';
import { recordingLocalApi } from '../support/local-api';
import { deployedReport, runInsightsQuery, type LogEvent } from '../support/logs-insights';

/**
 * The deployed report and the local report agree on the same recorded lines. The local gateway writes
 * the stage's access-log line and runs the webhook with its Powertools logger, as deployed; the saved
 * Logs Insights queries (REPORT_QUERIES, the strings the stack deploys) run over those lines through
 * test/support/logs-insights.ts, and `tollgate report` locally reads the same access log and the
 * local events log. A renamed access-log field, a changed log message or a query that no longer
 * matches the lines makes the two differ.
 */

const SECRET = 'whsec_reportParitySecret0123456789';
const T0 = Date.parse('2026-11-30T10:00:00.000Z');

describe('tollgate report, local and deployed, on the lines one run wrote', () => {
  it('gives the same 402s by reason, top customers, recoveries and their time, and 5xx by source', async () => {
    const tables = await freshTables('report-parity');
    let clock = T0;
    const level = process.env.POWERTOOLS_LOG_LEVEL;
    // Before the API is built: its loggers read the level when they are made.
    process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
    const { api, accessLog, eventsLog } = recordingLocalApi(tables, { webhookSecret: SECRET, now: () => clock });
    const { lines } = await capturedOutput(async () => {
      try {
        const keyOf = async (customerId: string): Promise<string> =>
          (await createApiKey({ client: tables.client, tables: { customers: tables.names.customers, apiKeys: tables.names.apiKeys } }, { customerId, name: 'parity' })).key;
        const [payer, waiter] = [await keyOf('cus_ParityPayer'), await keyOf('cus_ParityWaiter')];
        const get = async (key: string | undefined, at: number): Promise<number> => {
          clock = T0 + at * 1000;
          return (await api.gateway.handle({ method: 'GET', path: '/prod/v1/quotes', headers: key === undefined ? {} : { Authorization: `Bearer ${key}` } })).statusCode;
        };
        const pay = async (customer: string, at: number): Promise<number> => {
          clock = T0 + at * 1000;
          const body = serializeEvent(buildStripeEvent('customer.subscription.created', { customer, created: Math.floor(clock / 1000) }));
          const signature = signPayload(body, SECRET, Math.floor(clock / 1000));
          return (await api.gateway.handle({ method: 'POST', path: '/prod/webhooks/stripe', headers: { 'Stripe-Signature': signature, 'Content-Type': 'application/json' }, body })).statusCode;
        };

        expect(await get(payer, 0)).toBe(402);
        expect(await get(payer, 20)).toBe(402);
        expect(await get(waiter, 30)).toBe(402);
        expect(await get(undefined, 35)).toBe(401);
        expect(await pay('cus_ParityPayer', 95)).toBe(200);
        expect(await get(payer, 100)).toBe(200);
      } finally {
        api.destroy();
        if (level === undefined) delete process.env.POWERTOOLS_LOG_LEVEL;
        else process.env.POWERTOOLS_LOG_LEVEL = level;
      }
    });

    const since = new Date(T0);
    const until = new Date(T0 + 3_600_000);
    const local = buildReport(localRows(accessLog, eventsLog, since, until), since, until);

    // Deployed: the access log group holds the stage's lines (event time = the request's), the webhook's
    // log group the webhook function's Powertools lines (event time = the line's own).
    const accessEvents: LogEvent[] = accessLog.map((message) => ({ timestamp: Number((JSON.parse(message) as { requestTime: string }).requestTime), message }));
    const webhookEvents: LogEvent[] = lines.flatMap((message) => {
      const [line] = jsonLines([message]);
      return line?.service === SERVICES.webhook && typeof line.timestamp === 'string' ? [{ timestamp: Date.parse(line.timestamp), message }] : [];
    });
    const deployed = deployedReport({ access: accessEvents, webhook: webhookEvents }, since, until);

    expect(local).toMatchObject({
      requests: 6,
      statuses: { '401': 1, '402': 3, '429': 0, '503': 0 },
      deniedByReason: { no_subscription: 3 },
      topDeniedCustomers: [
        { customerId: 'cus_ParityPayer', denials: 2 },
        { customerId: 'cus_ParityWaiter', denials: 1 },
      ],
      // From the payer's first 402 (0 s) to the payment's access (95 s).
      recoveries: { count: 1, medianSeconds: 95, byReason: { no_subscription: { count: 1, medianSeconds: 95 } }, withoutDenialInRange: 0 },
      serverErrors: { authorizer: 0, integration: 0, gateway: 0 },
    });
    expect(deployed).toEqual(local);

    // The dashboard's top-customers widget says the same.
    expect(runInsightsQuery(DASHBOARD_QUERIES.topDeniedCustomers, accessEvents)).toEqual([
      [{ field: 'customerId', value: 'cus_ParityPayer' }, { field: 'denials', value: '2' }],
      [{ field: 'customerId', value: 'cus_ParityWaiter' }, { field: 'denials', value: '1' }],
    ]);
  });
});
