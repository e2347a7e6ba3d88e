import Stripe from 'stripe';
import { batchId, decodeSubscriptionEvent } from '../../lambda/metering/logs-event';
import { DynamoMeteringStore, ledgerId, type MeteringStore } from '../../lambda/metering/store';
import { reportIdentifier, StripeMeterReporter, type MeterReporter } from '../../lambda/metering/stripe-meter';
import { fakeMeterEvents, type FakeMeterEvents } from '../../lib/local/stripe-api/meter-events';
import { startFakeStripeApi, stripeError, type FakeStripeApi } from '../../lib/local/stripe-api/server';
import { freshTables, type TestTables } from '../support/dynamodb';
import { accessLine, delivery, logEvents, meteringHandler, PERIOD_1, seedCustomer, usageOf } from './support';

class Crash extends Error {
  override readonly name = 'Crash';
}

describe('metering reports billed units to Stripe meters (fake Stripe API, real SDK)', () => {
  let tables: TestTables;
  let api: FakeStripeApi;
  let meterEvents: FakeMeterEvents;
  let stripe: Stripe;
  const sleeps: number[] = [];
  let reporter: StripeMeterReporter;
  let real: DynamoMeteringStore;

  beforeAll(async () => {
    tables = await freshTables('metering-stripe');
    meterEvents = fakeMeterEvents({ meters: ['api_units', 'translate_chars'], customerExists: (id) => id !== 'cus_gone_at_stripe', now: () => 1_700_000_100_000 });
    api = await startFakeStripeApi({ resources: [meterEvents] });
    stripe = new Stripe('sk_test_metering', { host: api.host, port: api.port, protocol: 'http', maxNetworkRetries: 0 });
    reporter = new StripeMeterReporter(stripe, { sleep: (ms) => Promise.resolve(void sleeps.push(ms)), random: () => 1 });
    real = new DynamoMeteringStore(tables.client, { customers: tables.names.customers, events: tables.names.events });
  });
  afterAll(async () => {
    await api.close();
    tables.client.destroy();
  });

  const meterRequests = (): number => api.requests.filter((r) => r.path === '/v1/billing/meter_events').length;
  const total = (customerId: string, meter: string): number | undefined => meterEvents.totals().get(`${customerId} ${meter}`);
  const calls = (customerId: string, n: number, extra: Parameters<typeof accessLine>[0] = {}) =>
    Array.from({ length: n }, () => accessLine({ customerId, periodEnd: PERIOD_1, ...extra }));

  it('reports the units past the quota of a bill plan once per customer and meter per batch, with a deterministic identifier', async () => {
    await seedCustomer(tables, 'cus_bill1', { plan: 'sample_bill', periodEnd: PERIOD_1 });
    const { handler } = meteringHandler(tables, { reporter });
    const batch = delivery(logEvents(calls('cus_bill1', 14)));
    const before = meterRequests();
    await handler(batch);
    expect(meterRequests() - before).toBe(1);
    const id = batchId(decodeSubscriptionEvent(batch));
    const sent = api.requests.at(-1)!;
    // The request as the SDK sent it, read back as the SDK's own params type.
    const params = sent.body as unknown as Stripe.Billing.MeterEventCreateParams;
    expect(params).toEqual({ event_name: 'api_units', payload: { stripe_customer_id: 'cus_bill1', value: '4' }, identifier: reportIdentifier(id, 'cus_bill1', 'api_units'), timestamp: '1700000000' });
    expect(sent.idempotencyKey).toBe(params.identifier);
    expect(total('cus_bill1', 'api_units')).toBe(4);
    expect(await usageOf(tables, 'cus_bill1')).toMatchObject({ periodUsed: 14 });
    expect(await real.entry(ledgerId(id, 'cus_bill1', 0))).toMatchObject({ reports: [expect.objectContaining({ state: 'reported', value: 4 })] });
    // A redelivered batch finds the reports done: Stripe is not called again.
    await handler(batch);
    expect(meterRequests() - before).toBe(1);
  });

  it("reports a metered route's units to the route's own meter", async () => {
    await seedCustomer(tables, 'cus_route1', {});
    const { handler } = meteringHandler(tables, { reporter });
    await handler(delivery(logEvents([accessLine({ customerId: 'cus_route1', path: '/v1/translate' }), accessLine({ customerId: 'cus_route1', path: '/v1/translate' })])));
    expect(total('cus_route1', 'translate_chars')).toBe(4);
  });

  it('crash after the write, before Stripe: the redelivered batch reports once, with the same identifier', async () => {
    await seedCustomer(tables, 'cus_crash1', { plan: 'sample_bill', periodEnd: PERIOD_1 });
    const dying: MeterReporter = { report: () => Promise.reject(new Crash('process died before calling stripe')) };
    const batch = delivery(logEvents(calls('cus_crash1', 13)));
    const crashing: MeteringStore = { ...bind(real), park: () => Promise.reject(new Crash('and could not park')) };
    await expect(meteringHandler(tables, { reporter: dying, store: crashing, maxAttempts: 1 }).handler(batch)).rejects.toThrow(Crash);
    expect(total('cus_crash1', 'api_units')).toBeUndefined();
    expect(await usageOf(tables, 'cus_crash1')).toMatchObject({ periodUsed: 13 });
    const { handler } = meteringHandler(tables, { reporter });
    expect(await handler(batch)).toMatchObject({ duplicates: 1, applied: 0 });
    expect(total('cus_crash1', 'api_units')).toBe(3);
    expect(await usageOf(tables, 'cus_crash1')).toMatchObject({ periodUsed: 13 });
  });

  it('crash after Stripe accepted, before the mark: the re-report is de-duplicated by Stripe, billed once', async () => {
    await seedCustomer(tables, 'cus_crash2', { plan: 'sample_bill', periodEnd: PERIOD_1 });
    const batch = delivery(logEvents(calls('cus_crash2', 15)));
    const crashing: MeteringStore = { ...bind(real), settled: () => Promise.reject(new Crash('died before marking')), park: () => Promise.reject(new Crash('and could not park')) };
    await expect(meteringHandler(tables, { reporter, store: crashing, maxAttempts: 1 }).handler(batch)).rejects.toThrow(Crash);
    expect(total('cus_crash2', 'api_units')).toBe(5);
    const duplicatesBefore = meterEvents.duplicates;
    await meteringHandler(tables, { reporter }).handler(batch);
    expect(meterEvents.duplicates).toBe(duplicatesBefore + 1);
    expect(total('cus_crash2', 'api_units')).toBe(5);
    expect(await usageOf(tables, 'cus_crash2')).toMatchObject({ periodUsed: 15 });
  });

  it('write failed before anything: nothing is reported until the write succeeds, then once', async () => {
    await seedCustomer(tables, 'cus_crash3', { plan: 'sample_bill', periodEnd: PERIOD_1 });
    const batch = delivery(logEvents(calls('cus_crash3', 12)));
    const failing: MeteringStore = { ...bind(real), apply: () => Promise.reject(new Crash('write failed')), park: () => Promise.reject(new Crash('and could not park')) };
    const before = meterRequests();
    await expect(meteringHandler(tables, { reporter, store: failing, maxAttempts: 2 }).handler(batch)).rejects.toThrow(Crash);
    expect(meterRequests()).toBe(before);
    await meteringHandler(tables, { reporter }).handler(batch);
    await meteringHandler(tables, { reporter }).handler(batch);
    expect(total('cus_crash3', 'api_units')).toBe(2);
    expect(meterRequests()).toBe(before + 1);
  });

  it('backs off on 429 with growing, jittered waits, then reports', async () => {
    await seedCustomer(tables, 'cus_429', { plan: 'sample_bill', periodEnd: PERIOD_1 });
    sleeps.length = 0;
    api.failNext(3, stripeError(429, 'rate_limit_error', 'Too many requests'));
    await meteringHandler(tables, { reporter }).handler(delivery(logEvents(calls('cus_429', 11))));
    expect(sleeps).toEqual([250, 500, 1000]);
    expect(total('cus_429', 'api_units')).toBe(1);
  });

  it('records a rejection (unknown customer at Stripe) for replay and does not retry it', async () => {
    await seedCustomer(tables, 'cus_gone_at_stripe', { plan: 'sample_bill', periodEnd: PERIOD_1 });
    const batch = delivery(logEvents(calls('cus_gone_at_stripe', 12)));
    const { handler } = meteringHandler(tables, { reporter });
    const before = meterRequests();
    expect(await handler(batch)).toMatchObject({ outcome: 'applied', applied: 1 });
    const entry = await real.entry(ledgerId(batchId(decodeSubscriptionEvent(batch)), 'cus_gone_at_stripe', 0));
    expect(entry?.reports).toEqual([expect.objectContaining({ state: 'rejected', value: 2, error: expect.stringContaining('No such customer') })]);
    await handler(batch);
    expect(meterRequests()).toBe(before + 1);
  });

  it('keeps billed units pending in the ledger when reporting is off (no Stripe key)', async () => {
    await seedCustomer(tables, 'cus_nokey', { plan: 'sample_bill', periodEnd: PERIOD_1 });
    const batch = delivery(logEvents(calls('cus_nokey', 11)));
    const before = meterRequests();
    await meteringHandler(tables).handler(batch);
    expect(meterRequests()).toBe(before);
    const entry = await real.entry(ledgerId(batchId(decodeSubscriptionEvent(batch)), 'cus_nokey', 0));
    expect(entry?.reports).toEqual([expect.objectContaining({ state: 'pending', value: 1 })]);
  });
});

function bind(store: DynamoMeteringStore): MeteringStore {
  return {
    read: (id) => store.read(id),
    apply: (w) => store.apply(w),
    entry: (id) => store.entry(id),
    settled: (id, r) => store.settled(id, r),
    settleWallet: (s) => store.settleWallet(s),
    park: (b) => store.park(b),
  };
}
