import type Stripe from 'stripe';
import { batchId, decodeSubscriptionEvent } from '../../lambda/metering/logs-event';
import { StreamMeterReporter } from '../../lambda/metering/meter-event-stream';
import { DynamoMeteringStore, ledgerId, type MeteringStore } from '../../lambda/metering/store';
import { reportIdentifier, type MeterReporter } from '../../lambda/metering/stripe-meter';
import { DEFAULT_WINDOW, windowOf } from '../../lambda/metering/window';
import { stripeError } from '../../lib/local/stripe-api/server';
import { freshTables, type TestTables } from '../support/dynamodb';
import { accessLine, delivery, logEvents, meteringHandler, PERIOD_1, SCHEDULED, seedCustomer, startMeterStripe, usageOf, windowStore, type MeterStripe } from './support';

class Crash extends Error {
  override readonly name = 'Crash';
}

type StreamParams = Parameters<Stripe['v2']['billing']['meterEventStream']['create']>[0];

const NOW = 1_700_000_100_000;
const STREAM = '/v2/billing/meter_event_stream';

describe('metering reports billed units through the v2 meter event stream (fake Stripe API, real SDK)', () => {
  let tables: TestTables;
  let stripe: MeterStripe;
  const sleeps: number[] = [];
  let real: DynamoMeteringStore;
  let clock = NOW;

  beforeAll(async () => {
    tables = await freshTables('metering-stripe');
    stripe = await startMeterStripe(() => clock, {
      meterEvents: { meters: ['api_units', 'translate_chars'], customerExists: (id) => id !== 'cus_gone_at_stripe' },
      // The clock stands still between steps: no limiter waits, only the backoff's are recorded (the limiter has its own test).
      reporter: { sleep: (ms) => Promise.resolve(void sleeps.push(ms)), random: () => 1, requestsPerSecond: Infinity },
    });
    real = new DynamoMeteringStore(tables.client, { customers: tables.names.customers, events: tables.names.events });
  });
  afterAll(async () => {
    await stripe.close();
    tables.client.destroy();
  });
  beforeEach(() => {
    clock = NOW;
    sleeps.length = 0;
  });

  const requests = (path: string): number => stripe.api.requests.filter((r) => r.path === path).length;
  const total = (customerId: string, meter: string): number | undefined => stripe.meterEvents.totals().get(`${customerId} ${meter}`);
  const calls = (customerId: string, n: number, extra: Parameters<typeof accessLine>[0] = {}) =>
    Array.from({ length: n }, () => accessLine({ customerId, periodEnd: PERIOD_1, ...extra }));
  const handlerWith = (overrides: Parameters<typeof meteringHandler>[1] = {}) => meteringHandler(tables, { reporter: stripe.reporter, now: () => new Date(clock), ...overrides });

  it('reports the units past the quota of a bill plan as one event per customer and meter, identified by the batch, customer and meter', async () => {
    await seedCustomer(tables, 'cus_bill1', { plan: 'sample_bill', periodEnd: PERIOD_1 });
    const { handler } = handlerWith();
    const batch = delivery(logEvents(calls('cus_bill1', 14)));
    const before = requests(STREAM);
    await handler(batch);
    expect(requests(STREAM) - before).toBe(1);
    const id = batchId(decodeSubscriptionEvent(batch));
    const sent = stripe.api.requests.at(-1)!;
    // The request as the SDK sent it (JSON, the session's token), read back as the SDK's own params type.
    const params = sent.body as unknown as StreamParams;
    expect(params).toEqual({
      events: [{ event_name: 'api_units', identifier: reportIdentifier(id, 'cus_bill1', 'api_units'), payload: { stripe_customer_id: 'cus_bill1', value: '4' }, timestamp: '2023-11-14T22:13:20.000Z' }],
    });
    expect(total('cus_bill1', 'api_units')).toBe(4);
    expect(stripe.meterEvents.events().at(-1)).toMatchObject({ timestamp: 1_700_000_000 });
    expect(await usageOf(tables, 'cus_bill1')).toMatchObject({ periodUsed: 14 });
    expect(await real.entry(ledgerId(id, 'cus_bill1', 0))).toMatchObject({ reports: [expect.objectContaining({ state: 'reported', value: 4 })] });
    // A redelivered batch finds the reports done: Stripe is not called again.
    await handler(batch);
    expect(requests(STREAM) - before).toBe(1);
  });

  it("reports a metered route's units to the route's own meter", async () => {
    await seedCustomer(tables, 'cus_route1', {});
    const { handler } = handlerWith();
    await handler(delivery(logEvents([accessLine({ customerId: 'cus_route1', path: '/v1/translate' }), accessLine({ customerId: 'cus_route1', path: '/v1/translate' })])));
    expect(total('cus_route1', 'translate_chars')).toBe(4);
  });

  it('batches the events of one delivery: 150 customers owing reports take 2 stream requests, not 150', async () => {
    const customers = Array.from({ length: 150 }, (_, i) => `cus_many${String(i).padStart(3, '0')}`);
    for (const c of customers) await seedCustomer(tables, c, {});
    const { handler } = handlerWith();
    const before = requests(STREAM);
    const batchesBefore = stripe.stream.batches.length;
    await handler(delivery(logEvents(customers.map((c) => accessLine({ customerId: c, path: '/v1/translate' })))));
    expect(requests(STREAM) - before).toBe(2);
    expect(stripe.stream.batches.slice(batchesBefore)).toEqual([100, 50]);
    for (const c of customers) expect(total(c, 'translate_chars')).toBe(2);
  });

  it('sums a window: one event per customer and meter per window, identified by the window; a run that died before the marks re-sends them, de-duplicated', async () => {
    const at = 1_700_000_040_000;
    const window = windowOf(at, DEFAULT_WINDOW.seconds);
    const customers = ['cus_win1', 'cus_win2', 'cus_win3'];
    for (const c of customers) await seedCustomer(tables, c, {});
    clock = at + 10_000;
    const { handler } = handlerWith({ windows: windowStore(tables), window: DEFAULT_WINDOW });
    // Far from any limit, paid by use (a billed plan's headroom is unlimited): buffered, reported once the window is summed.
    const line = (c: string) => accessLine({ customerId: c, path: '/v1/translate', headroom: 'unlimited', basis: 'credits' });
    await handler(delivery(logEvents(customers.map(line), at), 'stream-w1'));
    await handler(delivery(logEvents(customers.map(line), at + 1000), 'stream-w2'));
    expect(total('cus_win1', 'translate_chars')).toBeUndefined();
    const before = requests(STREAM);
    clock = (window + DEFAULT_WINDOW.seconds + DEFAULT_WINDOW.graceSeconds) * 1000 + 1000;
    // The run reports, then dies before marking the entries: the window is not advanced.
    const dying: MeteringStore = { ...bind(real), settled: () => Promise.reject(new Crash('died before marking')) };
    await handlerWith({ store: dying, windows: windowStore(tables), window: DEFAULT_WINDOW }).handler(SCHEDULED);
    expect(requests(STREAM) - before).toBe(1);
    const sent = (stripe.api.requests.at(-1)!.body as unknown as StreamParams).events;
    expect(sent.map((e) => e.identifier).sort()).toEqual(customers.map((c) => reportIdentifier(`window-${window}`, c, 'translate_chars')).sort());
    for (const c of customers) expect(total(c, 'translate_chars')).toBe(4);
    // The next run sums the window again: counted already, its reports still owed, sent with the same identifiers.
    const duplicatesBefore = stripe.meterEvents.duplicates;
    await handler(SCHEDULED);
    expect(requests(STREAM) - before).toBe(2);
    expect(stripe.meterEvents.duplicates - duplicatesBefore).toBe(3);
    for (const c of customers) expect(total(c, 'translate_chars')).toBe(4);
    for (const c of customers) expect((await real.entry(ledgerId(`window-${window}`, c, 0)))?.reports).toEqual([expect.objectContaining({ state: 'reported' })]);
    // Summed and marked: a third run has nothing to send.
    await handler(SCHEDULED);
    expect(requests(STREAM) - before).toBe(2);
  });

  it('crash after the write, before Stripe: the redelivered batch reports once, with the same identifier', async () => {
    await seedCustomer(tables, 'cus_crash1', { plan: 'sample_bill', periodEnd: PERIOD_1 });
    const dying: MeterReporter = { report: () => Promise.reject(new Crash('process died before calling stripe')) };
    const batch = delivery(logEvents(calls('cus_crash1', 13)));
    const crashing: MeteringStore = { ...bind(real), park: () => Promise.reject(new Crash('and could not park')) };
    await expect(handlerWith({ reporter: dying, store: crashing, maxAttempts: 1 }).handler(batch)).rejects.toThrow(Crash);
    expect(total('cus_crash1', 'api_units')).toBeUndefined();
    expect(await usageOf(tables, 'cus_crash1')).toMatchObject({ periodUsed: 13 });
    expect(await handlerWith().handler(batch)).toMatchObject({ duplicates: 1, applied: 0 });
    expect(total('cus_crash1', 'api_units')).toBe(3);
    expect(await usageOf(tables, 'cus_crash1')).toMatchObject({ periodUsed: 13 });
  });

  it('crash after Stripe accepted, before the mark: the re-report is de-duplicated by its identifier, billed once', async () => {
    await seedCustomer(tables, 'cus_crash2', { plan: 'sample_bill', periodEnd: PERIOD_1 });
    const batch = delivery(logEvents(calls('cus_crash2', 15)));
    const crashing: MeteringStore = { ...bind(real), settled: () => Promise.reject(new Crash('died before marking')), park: () => Promise.reject(new Crash('and could not park')) };
    await expect(handlerWith({ store: crashing, maxAttempts: 1 }).handler(batch)).rejects.toThrow(Crash);
    expect(total('cus_crash2', 'api_units')).toBe(5);
    const duplicatesBefore = stripe.meterEvents.duplicates;
    await handlerWith().handler(batch);
    expect(stripe.meterEvents.duplicates).toBe(duplicatesBefore + 1);
    expect(total('cus_crash2', 'api_units')).toBe(5);
    expect(await usageOf(tables, 'cus_crash2')).toMatchObject({ periodUsed: 15 });
  });

  it('write failed before anything: nothing is reported until the write succeeds, then once', async () => {
    await seedCustomer(tables, 'cus_crash3', { plan: 'sample_bill', periodEnd: PERIOD_1 });
    const batch = delivery(logEvents(calls('cus_crash3', 12)));
    const failing: MeteringStore = { ...bind(real), apply: () => Promise.reject(new Crash('write failed')), park: () => Promise.reject(new Crash('and could not park')) };
    const before = requests(STREAM);
    await expect(handlerWith({ store: failing, maxAttempts: 2 }).handler(batch)).rejects.toThrow(Crash);
    expect(requests(STREAM)).toBe(before);
    await handlerWith().handler(batch);
    await handlerWith().handler(batch);
    expect(total('cus_crash3', 'api_units')).toBe(2);
    expect(requests(STREAM)).toBe(before + 1);
  });

  it('backs off on 429 in one loop: 3 429s cost 4 requests, with growing, jittered waits, then reports', async () => {
    await seedCustomer(tables, 'cus_429', { plan: 'sample_bill', periodEnd: PERIOD_1 });
    const before = requests(STREAM);
    stripe.api.failNext(3, stripeError(429, 'rate_limit_error', 'Too many requests'), STREAM);
    await handlerWith().handler(delivery(logEvents(calls('cus_429', 11))));
    expect(requests(STREAM) - before).toBe(4);
    expect(sleeps).toEqual([250, 500, 1000]);
    expect(total('cus_429', 'api_units')).toBe(1);
  });

  it('still throttled after 5 attempts: 5 requests in all (the write is not retried around them), the batch parked, its reports owed; the replay reports once', async () => {
    await seedCustomer(tables, 'cus_429b', { plan: 'sample_bill', periodEnd: PERIOD_1 });
    const batch = delivery(logEvents(calls('cus_429b', 12)));
    const before = requests(STREAM);
    stripe.api.failNext(50, stripeError(429, 'rate_limit_error', 'Too many requests'), STREAM);
    expect(await handlerWith().handler(batch)).toMatchObject({ outcome: 'parked', applied: 1 });
    stripe.api.failNext(0, stripeError(429, 'rate_limit_error', 'Too many requests'));
    expect(requests(STREAM) - before).toBe(5);
    expect(await usageOf(tables, 'cus_429b')).toMatchObject({ periodUsed: 12 });
    const id = ledgerId(batchId(decodeSubscriptionEvent(batch)), 'cus_429b', 0);
    expect((await real.entry(id))?.reports).toEqual([expect.objectContaining({ state: 'pending', value: 2 })]);
    expect(await handlerWith().handler(batch)).toMatchObject({ outcome: 'applied', duplicates: 1 });
    expect(requests(STREAM) - before).toBe(6);
    expect(total('cus_429b', 'api_units')).toBe(2);
    expect((await real.entry(id))?.reports).toEqual([expect.objectContaining({ state: 'reported' })]);
  });

  it('renews the session a minute before it expires, and once when Stripe says it expired, without spending an attempt', async () => {
    await seedCustomer(tables, 'cus_renew', {});
    const { handler } = handlerWith();
    const line = () => accessLine({ customerId: 'cus_renew', path: '/v1/translate' });
    await handler(delivery(logEvents([line()])));
    const sessions = stripe.stream.sessions().length;
    // 14 minutes on: the token has a minute left, so a new one is made first.
    clock += 14 * 60_000 + 1;
    await handler(delivery(logEvents([line()], clock - 5_000)));
    expect(stripe.stream.sessions().length).toBe(sessions + 1);
    // A reporter whose clock lags Stripe's: its token looks valid to it, Stripe answers 401 temporary_session_expired.
    const reporterClock = clock;
    const skewed = new StreamMeterReporter(stripe.stripe, { now: () => reporterClock, sleep: (ms) => Promise.resolve(void sleeps.push(ms)), requestsPerSecond: Infinity });
    await handlerWith({ reporter: skewed }).handler(delivery(logEvents([line()], clock - 5_000)));
    expect(stripe.stream.sessions().length).toBe(sessions + 2);
    clock += 16 * 60_000;
    const streamBefore = requests(STREAM);
    await handlerWith({ reporter: skewed }).handler(delivery(logEvents([line()], clock - 5_000)));
    expect(stripe.stream.sessions().length).toBe(sessions + 3);
    expect(requests(STREAM) - streamBefore).toBe(2);
    expect(sleeps).toEqual([]);
    expect(skewed.counts).toEqual({ requests: 3, sessions: 2, throttled: 0 });
    expect(total('cus_renew', 'translate_chars')).toBe(8);
  });

  it('a request Stripe refuses: each of its events is sent alone once; the bad one is parked on its entry and counted, the others reported', async () => {
    await seedCustomer(tables, 'cus_old', {});
    await seedCustomer(tables, 'cus_fresh', {});
    // Calls logged 40 days ago (a replay long after the fact): Stripe takes events 35 days back at most.
    const old = logEvents([accessLine({ customerId: 'cus_old', path: '/v1/translate' })], NOW - 40 * 86_400_000);
    const fresh = logEvents([accessLine({ customerId: 'cus_fresh', path: '/v1/translate' })], NOW - 60_000);
    const batch = delivery([...old, ...fresh]);
    const before = requests(STREAM);
    const { handler } = handlerWith();
    expect(await handler(batch)).toMatchObject({ outcome: 'applied', applied: 2 });
    expect(requests(STREAM) - before).toBe(3);
    const id = batchId(decodeSubscriptionEvent(batch));
    expect((await real.entry(ledgerId(id, 'cus_old', 0)))?.reports).toEqual([expect.objectContaining({ state: 'rejected', value: 2, error: expect.stringContaining('35 days') })]);
    expect((await real.entry(ledgerId(id, 'cus_fresh', 0)))?.reports).toEqual([expect.objectContaining({ state: 'reported' })]);
    expect(total('cus_fresh', 'translate_chars')).toBe(2);
    expect(total('cus_old', 'translate_chars')).toBeUndefined();
    // A redelivery does not retry a rejection (replay does, once its cause is fixed).
    await handler(batch);
    expect(requests(STREAM) - before).toBe(3);
  });

  it("an event for a customer Stripe does not know is accepted by the stream and dropped by Stripe's later validation", async () => {
    await seedCustomer(tables, 'cus_gone_at_stripe', { plan: 'sample_bill', periodEnd: PERIOD_1 });
    const batch = delivery(logEvents(calls('cus_gone_at_stripe', 12)));
    expect(await handlerWith().handler(batch)).toMatchObject({ outcome: 'applied', applied: 1 });
    expect(total('cus_gone_at_stripe', 'api_units')).toBeUndefined();
    expect(stripe.stream.errorReports().at(-1)).toMatchObject({ event: { payload: { stripe_customer_id: 'cus_gone_at_stripe' } }, message: expect.stringContaining('No such customer') });
  });

  it('keeps billed units pending in the ledger when reporting is off (no Stripe key)', async () => {
    await seedCustomer(tables, 'cus_nokey', { plan: 'sample_bill', periodEnd: PERIOD_1 });
    const batch = delivery(logEvents(calls('cus_nokey', 11)));
    const before = stripe.api.requests.length;
    await meteringHandler(tables).handler(batch);
    expect(stripe.api.requests.length).toBe(before);
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
