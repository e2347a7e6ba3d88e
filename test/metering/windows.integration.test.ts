import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { batchId, decodeSubscriptionEvent } from '../../lambda/metering/logs-event';
import { ledgerId } from '../../lambda/metering/store';
import type { StreamMeterReporter } from '../../lambda/metering/meter-event-stream';
import { DEFAULT_WINDOW, windowOf } from '../../lambda/metering/window';
import { EVENT_LEDGER_RETENTION_SECONDS } from '../../lambda/shared/tables';
import type { FakeMeterEvents } from '../../lib/local/stripe-api/meter-events';
import { freshTables, type TestTables } from '../support/dynamodb';
import { accessLine, delivery, logEvents, meteringHandler, PERIOD_1, SCHEDULED, seedCustomer, usageOf, windowStore, startMeterStripe, type MeterStripe } from './support';

/**
 * Metering with usage windows on DynamoDB Local: customers far from a limit are summed once a window,
 * customers near one are written at once, and neither a redelivery nor a late delivery nor a second
 * run counts a unit twice or drops one.
 */

// The start of a window, in the future: DynamoDB Local expires items by TTL, and the ledger's expiry follows the clock.
const AT = 1_900_000_020_000;
const WINDOW = windowOf(AT, DEFAULT_WINDOW.seconds);
const CLOSABLE_AT = AT + (DEFAULT_WINDOW.seconds + DEFAULT_WINDOW.graceSeconds) * 1000;

let tables: TestTables;
let stripe: MeterStripe;
let meterEvents: FakeMeterEvents;
let reporter: StreamMeterReporter;
beforeAll(async () => {
  tables = await freshTables('metering-windows');
  stripe = await startMeterStripe(() => AT);
  ({ meterEvents, reporter } = stripe);
});
afterAll(async () => {
  await stripe.close();
  tables.client.destroy();
});

/** A metering function whose clock the test moves. */
function windowed() {
  let now = AT + 5_000;
  const { handler } = meteringHandler(tables, { windows: windowStore(tables), window: DEFAULT_WINDOW, reporter, now: () => new Date(now) });
  return { handler, at: (ms: number) => (now = ms) };
}

const ledgerEntry = async (id: string) =>
  (await DynamoDBDocumentClient.from(tables.client).send(new GetCommand({ TableName: tables.names.events, Key: { eventId: id }, ConsistentRead: true }))).Item;

describe('metering windows (DynamoDB Local, fake Stripe API)', () => {
  it('sums the customers far from a limit once per window, and writes one near its limit at once', async () => {
    await seedCustomer(tables, 'cus_far1', { plan: 'sample_bill', periodEnd: PERIOD_1 });
    await seedCustomer(tables, 'cus_far2', { plan: 'sample_bill', periodEnd: PERIOD_1 });
    await seedCustomer(tables, 'cus_near1', { plan: 'sample_metered', periodEnd: PERIOD_1 });
    const { handler, at } = windowed();
    const line = (customerId: string, headroom: number | 'unlimited') => accessLine({ customerId, periodEnd: PERIOD_1, headroom });
    const first = delivery(logEvents([line('cus_far1', 'unlimited'), line('cus_far1', 'unlimited'), line('cus_far2', 'unlimited'), line('cus_near1', 3)], AT + 1_000), 'stream-w1');
    const second = delivery(logEvents([...Array.from({ length: 12 }, () => line('cus_far1', 'unlimited')), line('cus_near1', 2)], AT + 20_000), 'stream-w2');

    expect(await handler(first)).toMatchObject({ outcome: 'applied', customers: 3, applied: 1, windowed: 2 });
    expect(await handler(second)).toMatchObject({ outcome: 'applied', customers: 2, applied: 1, windowed: 1 });
    // Near its limit: counted at once; far: nothing yet.
    expect(await usageOf(tables, 'cus_near1')).toMatchObject({ periodUsed: 2 });
    expect((await usageOf(tables, 'cus_far1')).periodUsed).toBeUndefined();

    // Not summed before the window has ended and its grace has passed.
    at(CLOSABLE_AT - 1);
    expect(await handler(SCHEDULED)).toMatchObject({ outcome: 'summed', customers: 0 });
    expect((await usageOf(tables, 'cus_far1')).periodUsed).toBeUndefined();

    at(CLOSABLE_AT);
    expect(await handler(SCHEDULED)).toMatchObject({ outcome: 'summed', windows: 1, customers: 2, applied: 2 });
    expect(await usageOf(tables, 'cus_far1')).toMatchObject({ periodUsed: 14, usagePeriodEnd: PERIOD_1 });
    expect(await usageOf(tables, 'cus_far2')).toMatchObject({ periodUsed: 1, usagePeriodEnd: PERIOD_1 });
    // One ledger entry per customer per window, none per delivery for them.
    expect(await ledgerEntry(ledgerId(`window-${WINDOW}`, 'cus_far1', 0))).toMatchObject({ outcome: 'metered' });
    expect(await ledgerEntry(ledgerId(batchId(decodeSubscriptionEvent(first)), 'cus_far1', 0))).toBeUndefined();
    expect(await ledgerEntry(ledgerId(batchId(decodeSubscriptionEvent(first)), 'cus_near1', 0))).toMatchObject({ outcome: 'metered' });
    // The bill plan's overage past its 10 units reaches Stripe in one report for the window.
    expect(meterEvents.totals().get('cus_far1 api_units')).toBe(4);
    expect(meterEvents.events().filter((e) => e.payload.stripe_customer_id === 'cus_far1')).toHaveLength(1);

    // A second run, and the same deliveries again (now into a closed window): nothing more.
    expect(await handler(SCHEDULED)).toMatchObject({ windows: 0 });
    expect(await handler(first)).toMatchObject({ applied: 0, duplicates: 1, windowed: 2 });
    expect(await handler(second)).toMatchObject({ applied: 0, duplicates: 1, windowed: 1 });
    expect(await usageOf(tables, 'cus_far1')).toMatchObject({ periodUsed: 14 });
    expect(await usageOf(tables, 'cus_near1')).toMatchObject({ periodUsed: 2 });
    expect(meterEvents.totals().get('cus_far1 api_units')).toBe(4);
  });

  it('writes at once a delivery whose window has closed, and only once when it comes again', async () => {
    await seedCustomer(tables, 'cus_late1', { plan: 'sample_metered', periodEnd: PERIOD_1 });
    const { handler, at } = windowed();
    at(CLOSABLE_AT + 60_000);
    await handler(SCHEDULED); // closes the window the late delivery belongs to
    const late = delivery(logEvents([accessLine({ customerId: 'cus_late1', periodEnd: PERIOD_1, headroom: 'unlimited' })], AT + 30_000), 'stream-late');
    expect(await handler(late)).toMatchObject({ applied: 1, windowed: 0 });
    expect(await handler(late)).toMatchObject({ applied: 0, duplicates: 1, windowed: 0 });
    expect(await usageOf(tables, 'cus_late1')).toMatchObject({ periodUsed: 1 });
  });

  it("keeps a closed window's state as long as its deliveries, and writes at once a delivery older than that", async () => {
    const store = windowStore(tables);
    const closedAt = new Date(AT + 120_000);
    await store.close(WINDOW, closedAt);
    const { Item } = await DynamoDBDocumentClient.from(tables.client).send(new GetCommand({ TableName: tables.names.usage, Key: { pk: `window#${WINDOW}`, sk: 'state' }, ConsistentRead: true }));
    expect(Item).toMatchObject({ closed: true, expiresAt: Math.floor(closedAt.getTime() / 1000) + EVENT_LEDGER_RETENTION_SECONDS });
    // A window never closed here, but as old as the retention: its state may be gone, so nothing is buffered in it.
    const old = WINDOW - 3600;
    const justInside = new Date((old + EVENT_LEDGER_RETENTION_SECONDS - 1) * 1000);
    expect(await store.buffer(old, 0, 'batch-old', ['x'], justInside)).toBe('buffered');
    expect(await store.buffer(old, 0, 'batch-old-2', ['x'], new Date((old + EVENT_LEDGER_RETENTION_SECONDS) * 1000))).toBe('closed');
  });

  it('sums a window again after a run that could not write a customer, adding only what is missing', async () => {
    await seedCustomer(tables, 'cus_retry1', { plan: 'sample_metered', periodEnd: PERIOD_1 });
    await seedCustomer(tables, 'cus_retry2', { plan: 'sample_metered', periodEnd: PERIOD_1 });
    const later = AT + 10 * 60_000; // a window of its own
    let now = later + 5_000;
    let failFor: string | undefined = 'cus_retry2';
    const base = meteringHandler(tables).store;
    const store = { ...base, read: base.read.bind(base), apply: (w: Parameters<typeof base.apply>[0]) => (w.customerId === failFor ? Promise.reject(new Error('ProvisionedThroughputExceededException')) : base.apply(w)), entry: base.entry.bind(base), settled: base.settled.bind(base), park: base.park.bind(base) };
    const { handler } = meteringHandler(tables, { store, windows: windowStore(tables), window: DEFAULT_WINDOW, maxAttempts: 2, now: () => new Date(now) });
    const lines = ['cus_retry1', 'cus_retry2', 'cus_retry2'].map((customerId) => accessLine({ customerId, periodEnd: PERIOD_1, headroom: 'unlimited' }));
    expect(await handler(delivery(logEvents(lines, later + 1_000), 'stream-retry'))).toMatchObject({ windowed: 2 });
    now = later + (DEFAULT_WINDOW.seconds + DEFAULT_WINDOW.graceSeconds) * 1000;
    // Earlier windows (the first test's) are summed first; this one fails on cus_retry2.
    const failed = await handler(SCHEDULED);
    expect(failed.windows).toBeLessThan(10);
    expect(await usageOf(tables, 'cus_retry1')).toMatchObject({ periodUsed: 1 });
    expect((await usageOf(tables, 'cus_retry2')).periodUsed).toBeUndefined();
    failFor = undefined;
    expect(await handler(SCHEDULED)).toMatchObject({ outcome: 'summed', windows: 1, applied: 1, duplicates: 1 });
    expect(await usageOf(tables, 'cus_retry1')).toMatchObject({ periodUsed: 1 });
    expect(await usageOf(tables, 'cus_retry2')).toMatchObject({ periodUsed: 2 });
  });
});
