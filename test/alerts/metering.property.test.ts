import { DynamoDBDocumentClient, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { ALERT_PREFIX, decodeAlertItem } from '../../lambda/shared/alerts/outbox';
import { thresholdOf, type AlertRules } from '../../lambda/shared/alerts/rules';
import { DynamoAlertStore } from '../../lambda/metering/alerts';
import { DynamoMeteringStore, type MeteringWrite } from '../../lambda/metering/store';
import { walletKey } from '../../lambda/shared/customers/wallet';
import { budgetEntryString } from '../../lambda/shared/budgets';
import { freshTables, type TestTables } from '../support/dynamodb';
import { accessLine, delivery, logEvents, meteringHandler, PERIOD_1, RULES, seedCustomer } from '../metering/support';

/**
 * Random 2xx and failed calls, cut into batches that arrive shuffled, duplicated and partly at once
 * (concurrent deliveries of one customer): each threshold of the quota, the credits and the budget
 * fires exactly once per period, exactly when the period's counters reach it, whatever the batching.
 */

const RULES_UNDER_TEST: AlertRules = { quota: [50, 80, 100], creditsBelow: [5, 15], budget: [50, 100], paymentRecovered: false };
const QUOTA = RULES.plans.sample_metered!.quota!;
const BUDGET_LIMIT = 40;

const call = fc.record({ ok: fc.boolean(), cost5: fc.boolean() });
const scenario = fc.record({
  calls: fc.array(call, { minLength: 1, maxLength: 30 }),
  cuts: fc.array(fc.nat(), { maxLength: 6 }),
  order: fc.array(fc.nat(), { minLength: 8, maxLength: 8 }),
  duplicate: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
  together: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
  credits: fc.integer({ min: 0, max: 40 }),
  budget: fc.boolean(),
});

let tables: TestTables;
beforeAll(async () => {
  tables = await freshTables('alerts-property');
});
afterAll(() => tables.client.destroy());

function cut<T>(items: readonly T[], cuts: readonly number[]): T[][] {
  const at = [...new Set(cuts.map((c) => c % items.length))].filter((c) => c > 0).sort((a, b) => a - b);
  const out: T[][] = [];
  let from = 0;
  for (const to of [...at, items.length]) {
    if (to > from) out.push(items.slice(from, to));
    from = to;
  }
  return out;
}

let sequence = 0;

describe('alerts fired by metering (DynamoDB Local)', () => {
  it('fires each quota, credits and budget threshold exactly once per period under duplicated, reordered and concurrent batches', async () => {
    const documents = DynamoDBDocumentClient.from(tables.client);
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const customerId = `cus_alert${sequence++}`;
        await seedCustomer(tables, customerId, { plan: 'sample_metered', periodEnd: PERIOD_1, credits: s.credits });
        if (s.budget) {
          await documents.send(
            new PutCommand({
              TableName: tables.names.customers,
              Item: { customerId: walletKey(customerId), balance: s.credits, budget: budgetEntryString({ limit: BUDGET_LIMIT, window: 'day', resetsAt: 2_000_000_000 }), budgetLeft: BUDGET_LIMIT },
            }),
          );
        }
        // Every write that lands, with the alerts it carried.
        const landed: MeteringWrite[] = [];
        const store = new DynamoMeteringStore(tables.client, { customers: tables.names.customers, events: tables.names.events });
        const apply = store.apply.bind(store);
        store.apply = async (write) => {
          const outcome = await apply(write);
          if (outcome.outcome === 'applied') landed.push(write);
          return outcome;
        };
        // Three instances, each remembering what it saw; every alert put outside a transaction is recorded.
        const putAlone: string[] = [];
        const handlers = Array.from({ length: 3 }, () => {
          const alertStore = new DynamoAlertStore(tables.client, { customers: tables.names.customers, events: tables.names.events });
          const put = alertStore.put.bind(alertStore);
          alertStore.put = async (item) => {
            const landed = await put(item);
            if (landed) putAlone.push(item.eventId);
            return landed;
          };
          return meteringHandler(tables, { store, alerts: { rules: RULES_UNDER_TEST, store: alertStore } }).handler;
        });
        const lines = s.calls.map((c) => accessLine({ customerId, periodEnd: PERIOD_1, status: c.ok ? 200 : 500, method: c.cost5 ? 'POST' : 'GET', path: c.cost5 ? '/v1/reports/{reportId}' : '/v1/search' }));
        const batches = cut(logEvents(lines), s.cuts).map((events, i) => delivery(events, `stream-${i}`));
        const deliveries = batches
          .map((b, i) => ({ b, key: s.order[i % 8]! * 100 + i, twice: s.duplicate[i % 8]!, together: s.together[i % 8]! }))
          .sort((x, y) => x.key - y.key)
          .flatMap(({ b, twice, together }) => (twice ? [{ b, together }, { b, together }] : [{ b, together }]));
        // Runs of deliveries marked `together` go at once, each to its own instance.
        for (let i = 0; i < deliveries.length; ) {
          let j = i + 1;
          while (j < deliveries.length && deliveries[j]!.together && deliveries[i]!.together && j - i < 3) j += 1;
          await Promise.all(deliveries.slice(i, j).map((d, k) => handlers[k % handlers.length]!(d.b)));
          i = j;
        }

        const used = s.calls.filter((c) => c.ok).reduce((sum, c) => sum + (c.cost5 ? 5 : 1), 0);
        const overQuota = Math.max(0, used - QUOTA);
        const balance = s.credits - Math.min(s.credits, overQuota);
        const expected = new Set<string>();
        for (const pct of RULES_UNDER_TEST.quota) if (used >= thresholdOf(QUOTA, pct)) expected.add(`quota#${pct}#sub_1#${PERIOD_1}`);
        // Credits alerts: the calls drew on the balance and left it below the threshold.
        if (overQuota > 0) for (const below of RULES_UNDER_TEST.creditsBelow) if (balance < below) expected.add(`credits#${below}#${PERIOD_1}`);
        if (s.budget) for (const pct of RULES_UNDER_TEST.budget) if (used >= thresholdOf(BUDGET_LIMIT, pct)) expected.add(`budget#${pct}#customer#2000000000`);

        const { Items = [] } = await documents.send(
          new ScanCommand({ TableName: tables.names.events, ConsistentRead: true, FilterExpression: 'begins_with(eventId, :p)', ExpressionAttributeValues: { ':p': `${ALERT_PREFIX}${customerId}#` } }),
        );
        const stored = Items.map((item) => decodeAlertItem(item)!);
        expect(new Set(stored.map((a) => a.eventId.slice(`${ALERT_PREFIX}${customerId}#`.length)))).toEqual(expected);
        // Fired exactly once: one landed write carried each quota alert, one put landed each other one.
        const fired = [...landed.flatMap((w) => (w.alerts ?? []).map((a) => a.eventId)), ...putAlone];
        expect(fired.sort()).toEqual(stored.map((a) => a.eventId).sort());
        // Each quota alert says the counter that reached it.
        for (const alert of stored) if (alert.detail.rule === 'quota') expect(alert.detail.used).toBeGreaterThanOrEqual(thresholdOf(QUOTA, alert.detail.percent));
      }),
      { numRuns: 25 },
    );
  }, 180_000);
});
