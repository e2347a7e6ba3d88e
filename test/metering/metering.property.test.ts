import { randomUUID } from 'node:crypto';
import { grantCredits } from '../../lambda/shared/customers/metered-usage';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import type { StreamMeterReporter } from '../../lambda/metering/meter-event-stream';
import type { FakeMeterEvents } from '../../lib/local/stripe-api/meter-events';
import { freshTables, type TestTables } from '../support/dynamodb';
import { DEFAULT_WINDOW } from '../../lambda/metering/window';
import { MAX_WINDOWS_PER_RUN, type MeteringResult } from '../../lambda/metering/handler';
import { accessLine, delivery, logEvents, meteringHandler, PERIOD_1, RULES, SCHEDULED, seedCustomer, usageOf, windowStore, startMeterStripe, type MeterStripe } from './support';

/** Ten-minute windows: a few per scenario, so each run of the sum reads a few. */
const WINDOW = { ...DEFAULT_WINDOW, seconds: 600 };
/** A billing period's calls, each in windows of their own. */
const PERIOD_SPACING = 1_800_000;
/** A window start far in the future of any test clock (DynamoDB Local expires items by TTL). */
const FIRST_WINDOW = 2_000_000_400_000;
/** When the window of calls made at `at` (a window start) can be summed. */
const summable = (at: number): number => at + (WINDOW.seconds + WINDOW.graceSeconds) * 1000;

/**
 * Random calls (2xx and not, routes that cost and routes that do not), cut into batches that arrive
 * shuffled and duplicated, over several billing periods with top-ups between them, with usage windows
 * or without (customers near and far from their limits, windows summed while late deliveries of
 * theirs still come): the period's
 * counter equals the cost of its 2xx calls, credits pay exactly the units past the quota (never below
 * zero), and a bill plan's overage reaches Stripe exactly once.
 */

const STATUSES = [200, 201, 204, 400, 402, 403, 429, 500, 503] as const;
const ROUTES = [
  { method: 'GET', path: '/v1/search', cost: 1 },
  { method: 'POST', path: '/v1/reports/{reportId}', cost: 5 },
  { method: 'GET', path: '/v1/quotes', cost: 0 },
] as const;
const PERIOD = 30 * 86_400;

const call = fc.record({ status: fc.constantFrom(...STATUSES), route: fc.constantFrom(...ROUTES) });
const period = fc.record({
  calls: fc.array(call, { maxLength: 40 }),
  cuts: fc.array(fc.nat(), { maxLength: 5 }),
  order: fc.array(fc.nat(), { minLength: 8, maxLength: 8 }),
  duplicate: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
  topUp: fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined }),
  // What the authorizer logged of the customer's headroom per call: near, far, unlimited or unsaid.
  headroom: fc.array(fc.constantFrom<number | 'unlimited' | undefined>(1, 5, 10_000, 'unlimited', undefined), { minLength: 1, maxLength: 6 }),
  // Deliveries that come after their window was summed (written at once instead).
  lateFrom: fc.nat({ max: 8 }),
});
const scenario = fc.record({
  plan: fc.constantFrom('sample_metered', 'sample_bill'),
  credits: fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined }),
  periods: fc.array(period, { minLength: 1, maxLength: 3 }),
  windows: fc.boolean(),
});

let tables: TestTables;
let stripe: MeterStripe;
let meterEvents: FakeMeterEvents;
let reporter: StreamMeterReporter;
beforeAll(async () => {
  tables = await freshTables('metering-property');
  // Stripe's clock is the scenario's: it refuses a meter event dated in its future.
  stripe = await startMeterStripe(() => now);
  ({ meterEvents, reporter } = stripe);
});
afterAll(async () => {
  await stripe.close();
  tables.client.destroy();
});

let customerSequence = 0;
/** The scenario's clock, read by metering and by the fake Stripe API. */
let now = 0;

/** Cuts `items` at the given positions into consecutive, non-empty batches. */
function cut<T>(items: readonly T[], cuts: readonly number[]): T[][] {
  const at = [...new Set(cuts.map((c) => (items.length === 0 ? 0 : c % items.length)))].filter((c) => c > 0).sort((a, b) => a - b);
  const batches: T[][] = [];
  let from = 0;
  for (const to of [...at, items.length]) {
    if (to > from) batches.push(items.slice(from, to));
    from = to;
  }
  return batches;
}

/**
 * The minute's schedule, run until it has caught up: one run sums at most MAX_WINDOWS_PER_RUN windows,
 * and the scenarios without windows leave the shared watermark behind by a few hours of them.
 */
async function sumAll(handler: (event: typeof SCHEDULED) => Promise<MeteringResult>): Promise<void> {
  for (let runs = 0; runs < 20; runs += 1) {
    const result = await handler(SCHEDULED);
    if ((result.windows ?? 0) < MAX_WINDOWS_PER_RUN) return;
  }
  throw new Error('the scheduled sum never caught up');
}

describe('metering properties (DynamoDB Local, fake Stripe API)', () => {
  it('counts exactly the 2xx units per period, draws credits past the quota, bills the overage once', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ plan, credits, periods, windows }) => {
        const customerId = `cus_prop${customerSequence++}`;
        const quota = RULES.plans[plan]!.quota!;
        await seedCustomer(tables, customerId, { plan, periodEnd: PERIOD_1, ...(credits === undefined ? {} : { credits }) });
        const start = FIRST_WINDOW + customerSequence * 4 * PERIOD_SPACING;
        now = start;
        const { handler } = meteringHandler(tables, { reporter, now: () => new Date(now), ...(windows ? { windows: windowStore(tables), window: WINDOW } : {}) });
        let balance = credits;
        let billedExpected = 0;
        for (const [index, p] of periods.entries()) {
          const periodEnd = PERIOD_1 + index * PERIOD;
          if (index > 0) {
            // A renewal: the subscription's period moves on (the webhook's write, arranged here).
            await DynamoDBDocumentClient.from(tables.client).send(
              new UpdateCommand({ TableName: tables.names.customers, Key: { customerId }, UpdateExpression: 'SET subscriptions.sub_1.currentPeriodEnd = :pe', ExpressionAttributeValues: { ':pe': periodEnd } }),
            );
          }
          const at = start + index * PERIOD_SPACING;
          const lines = p.calls.map((c, i) => accessLine({ customerId, periodEnd, method: c.route.method, path: c.route.path, status: c.status, headroom: p.headroom[i % p.headroom.length] }));
          const batches = cut(logEvents(lines, at), p.cuts).map((events, i) => delivery(events, `stream-${index}-${i}`));
          // Shuffled, some delivered twice.
          const deliveries = batches
            .map((b, i) => ({ b, key: p.order[i % p.order.length]! * 100 + i, twice: p.duplicate[i % p.duplicate.length]! }))
            .sort((x, y) => x.key - y.key)
            .flatMap(({ b, twice }) => (twice ? [b, b] : [b]));
          now = at + 5_000;
          for (const [i, d] of deliveries.entries()) {
            if (i === p.lateFrom) {
              // The window is summed while deliveries of it are still coming.
              now = summable(at);
              await sumAll(handler);
            }
            await handler(d);
          }
          now = summable(at);
          await sumAll(handler);

          const used = p.calls.filter((c) => c.status >= 200 && c.status < 300).reduce((sum, c) => sum + c.route.cost, 0);
          const over = Math.max(0, used - quota);
          const drawn = balance === undefined ? 0 : Math.min(balance, over);
          const creditsAfter = balance === undefined ? undefined : balance - drawn;
          if (plan === 'sample_bill') billedExpected += over - drawn;
          const stored = await usageOf(tables, customerId);
          if (used > 0) expect(stored).toMatchObject({ periodUsed: used, usagePeriodEnd: periodEnd });
          expect(stored.credits).toBe(creditsAfter);
          expect(meterEvents.totals().get(`${customerId} api_units`) ?? 0).toBe(billedExpected);

          balance = creditsAfter;
          if (p.topUp !== undefined) {
            await grantCredits(tables.client, { customers: tables.names.customers, events: tables.names.events }, { customerId, units: p.topUp, reason: 'top-up', grantId: randomUUID(), now: new Date() });
            balance = (balance ?? 0) + p.topUp;
          }
        }
      }),
      { numRuns: 25 },
    );
    // 25 scenarios of DynamoDB Local round trips: about 20 s alone, more on a loaded machine.
  }, 180_000);
});
