import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createApiKey } from '../../lambda/shared/customers/keys';
import { accessLogPath, eventsLogPath } from '../../lib/local/coordinates';
import { operatorData } from '../../lib/local/operator/page';
import { buildReport, localRows } from '../../lib/report/queries';
import { buildStripeEvent, serializeEvent, signPayload, type StripeEventOverrides } from '../../lib/stripe-events';
import { freshTables, setCustomerAttributes, type TestTables } from '../support/dynamodb';
import { recordingLocalApi } from '../support/local-api';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

/**
 * Every way out of a 402 is a recovery, by the reason of the 402: the usage ones too. Through the
 * in-process local stack (its gateway, authorizer and webhook, the access log and events log it writes):
 * a renewal lifts quota_exceeded, a top-up or a credit pack lifts credits_exhausted, and `tollgate report`
 * and the operator page count each from the customer's first 402.
 */

const SECRET = 'whsec_usageRecoveriesSecret0123456789';
const T0 = Date.parse('2026-11-30T10:00:00.000Z');
const PERIOD_1 = Math.floor(T0 / 1000) + 3 * 24 * 3600;
const PERIOD_2 = PERIOD_1 + 30 * 24 * 3600;

let tables: TestTables;
beforeAll(async () => {
  tables = await freshTables('usage-recoveries');
});
afterAll(() => tables.client.destroy());

it('records the recoveries from quota_exceeded (renewal) and credits_exhausted (top-up, credit pack), and the report and operator page count them', async () => {
  let clock = T0;
  const { api, accessLog, eventsLog } = recordingLocalApi(tables, { webhookSecret: SECRET, now: () => clock });
  const documents = DynamoDBDocumentClient.from(tables.client);
  const at = (seconds: number): void => {
    clock = T0 + seconds * 1000;
  };
  const keyOf = async (customerId: string): Promise<string> => (await createApiKey({ client: tables.client, tables: tables.names }, { customerId })).key;
  // `credits` is the balance, on the wallet (setCustomerAttributes); the usage counters are the customer item's.
  const counters = (customerId: string, values: Record<string, number>) =>
    setCustomerAttributes(documents, tables.names.customers, customerId, values);
  const search = async (key: string): Promise<{ status: number; reason?: string }> => {
    const answer = await api.gateway.handle({ method: 'GET', path: '/prod/v1/search?q=books', headers: { Authorization: `Bearer ${key}` } });
    return { status: answer.statusCode, ...(answer.statusCode === 402 ? { reason: (JSON.parse(answer.body.toString('utf8')) as { reason: string }).reason } : {}) };
  };
  const send = async (type: Parameters<typeof buildStripeEvent>[0], overrides: StripeEventOverrides): Promise<void> => {
    const body = serializeEvent(buildStripeEvent(type, { ...overrides, created: Math.floor(clock / 1000) }));
    const answer = await api.gateway.handle({ method: 'POST', path: '/prod/webhooks/stripe', headers: { 'Stripe-Signature': signPayload(body, SECRET, Math.floor(clock / 1000)), 'Content-Type': 'application/json' }, body });
    expect(answer.statusCode).toBe(200);
  };

  try {
    // A metered subscriber whose quota is used up, renewed.
    const renewed = await keyOf('cus_UsageRenewed');
    at(1);
    await send('customer.subscription.created', { customer: 'cus_UsageRenewed', subscription: 'sub_UsageRenewed', lookupKey: 'sample_metered', currentPeriodEnd: PERIOD_1 });
    await counters('cus_UsageRenewed', { periodUsed: 20, usagePeriodEnd: PERIOD_1 });
    at(10);
    expect(await search(renewed)).toEqual({ status: 402, reason: 'quota_exceeded' });
    at(70);
    await send('customer.subscription.updated', { customer: 'cus_UsageRenewed', subscription: 'sub_UsageRenewed', lookupKey: 'sample_metered', currentPeriodEnd: PERIOD_2 });
    at(71);
    expect(await search(renewed)).toEqual({ status: 200 });

    // Pay-as-you-go callers out of credits: one tops up, one buys a credit pack.
    for (const [customerId, topUpAt] of [['cus_UsageTopUp', 40], ['cus_UsagePack', 100]] as const) {
      const key = await keyOf(customerId);
      await counters(customerId, { credits: 0 });
      at(20);
      expect(await search(key)).toEqual({ status: 402, reason: 'credits_exhausted' });
      at(topUpAt);
      await send('checkout.session.completed', { customer: customerId, checkoutMode: 'payment', credits: 100 });
      at(topUpAt + 1);
      expect(await search(key)).toEqual({ status: 200 });
    }
  } finally {
    api.destroy();
  }

  const restored = eventsLog.map((line) => JSON.parse(line) as { customerId: string; reason: string; type: string });
  expect(restored.map(({ customerId, reason, type }) => ({ customerId, reason, type }))).toEqual([
    // Its first subscription: access it never asked for before, so no 402 in range.
    { customerId: 'cus_UsageRenewed', reason: 'no_subscription', type: 'customer.subscription.created' },
    { customerId: 'cus_UsageRenewed', reason: 'quota_exceeded', type: 'customer.subscription.updated' },
    { customerId: 'cus_UsageTopUp', reason: 'credits_exhausted', type: 'checkout.session.completed' },
    { customerId: 'cus_UsagePack', reason: 'credits_exhausted', type: 'checkout.session.completed' },
  ]);

  const since = new Date(T0);
  const until = new Date(T0 + 3_600_000);
  const report = buildReport(localRows(accessLog, eventsLog, since, until), since, until);
  expect(report.recoveries).toEqual({
    count: 3,
    medianSeconds: 60,
    byReason: { credits_exhausted: { count: 2, medianSeconds: 50 }, quota_exceeded: { count: 1, medianSeconds: 60 } },
    withoutDenialInRange: 1,
  });

  // The operator page reads the same files npm start writes.
  const stateDir = mkdtempSync(path.join(tmpdir(), 'tollgate-usage-recoveries-'));
  try {
    writeFileSync(accessLogPath(stateDir), `${accessLog.join('\n')}\n`);
    writeFileSync(eventsLogPath(stateDir), `${eventsLog.join('\n')}\n`);
    const page = operatorData(stateDir, new Date(T0 + 10 * 60_000), 60);
    expect(page.report.recoveries.byReason).toEqual(report.recoveries.byReason);
    expect(page.series.recoveries.reduce((a, b) => a + b, 0)).toBe(3);
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
});
