import Stripe from 'stripe';
import { RateLimiter, StreamMeterReporter, streamEvent, type StreamReporterOptions } from '../../lambda/metering/meter-event-stream';
import { reportIdentifier, type OwedReport } from '../../lambda/metering/stripe-meter';
import { fakeMeterEventStream, type FakeMeterEventStream } from '../../lib/local/stripe-api/meter-event-stream';
import { fakeMeterEvents, type FakeMeterEvents } from '../../lib/local/stripe-api/meter-events';
import { startFakeStripeApi, stripeError, type FakeStripeApi } from '../../lib/local/stripe-api/server';

const NOW = 1_800_000_000_000;
const STREAM = '/v2/billing/meter_event_stream';
const SESSION = '/v2/billing/meter_event_session';

let api: FakeStripeApi;
let meterEvents: FakeMeterEvents;
let stream: FakeMeterEventStream;
let clock = NOW;
let stripe: Stripe;

beforeAll(async () => {
  meterEvents = fakeMeterEvents({ now: () => clock });
  stream = fakeMeterEventStream(meterEvents, { now: () => clock });
  api = await startFakeStripeApi({ resources: [meterEvents, stream] });
  stripe = new Stripe('sk_test_stream', { host: api.host, port: api.port, protocol: 'http', maxNetworkRetries: 0 });
});
afterAll(() => api.close());
beforeEach(() => {
  clock = NOW;
});

let sequence = 0;
/** `n` reports of one window, a customer each. */
function owed(n: number, value = 2): OwedReport[] {
  const batch = `window-${sequence++}`;
  return Array.from({ length: n }, (_, i) => {
    const customerId = `cus_s${sequence}_${i}`;
    return { customerId, report: { eventName: 'api_units', value, identifier: reportIdentifier(batch, customerId, 'api_units'), timestamp: NOW / 1000 - 30 } };
  });
}

function reporterWith(options: StreamReporterOptions = {}, sleeps: number[] = []) {
  return new StreamMeterReporter(stripe, { now: () => clock, sleep: (ms) => Promise.resolve(void sleeps.push(ms)), random: () => 1, requestsPerSecond: Infinity, ...options });
}

const count = (path: string): number => api.requests.filter((r) => r.path === path).length;
const totalOf = (reports: readonly OwedReport[]): number => reports.reduce((sum, r) => sum + (meterEvents.totals().get(`${r.customerId} api_units`) ?? 0), 0);

describe('the v2 meter event stream reporter (fake Stripe API, real SDK)', () => {
  it('sends 250 reports in 3 requests of at most 100 events, on one session', async () => {
    const reporter = reporterWith();
    const reports = owed(250);
    const before = { stream: count(STREAM), session: count(SESSION), batches: stream.batches.length };
    const results = await reporter.report(reports);
    expect(results.every((r) => r.outcome === 'reported')).toBe(true);
    expect(count(STREAM) - before.stream).toBe(3);
    expect(count(SESSION) - before.session).toBe(1);
    expect([...stream.batches.slice(before.batches)].sort((a, b) => b - a)).toEqual([100, 100, 50]);
    expect(totalOf(reports)).toBe(500);
    expect(reporter.counts).toEqual({ requests: 3, sessions: 1, throttled: 0 });
  });

  it('sends each event as the SDK types it: identifier, payload of strings, RFC 3339 time', () => {
    const [report] = owed(1, 7);
    expect(streamEvent(report!)).toEqual({
      event_name: 'api_units',
      identifier: report!.report.identifier,
      payload: { stripe_customer_id: report!.customerId, value: '7' },
      timestamp: new Date(NOW - 30_000).toISOString(),
    });
  });

  it('sends the same reports again (a retried run): Stripe de-duplicates every one by its identifier', async () => {
    const reports = owed(120);
    await reporterWith().report(reports);
    const duplicates = meterEvents.duplicates;
    expect(await reporterWith().report(reports)).toEqual(reports.map(() => ({ outcome: 'reported' })));
    expect(meterEvents.duplicates - duplicates).toBe(120);
    expect(totalOf(reports)).toBe(240);
  });

  it('N 429s cost N + 1 requests, each wait twice the last, whatever the number of events', async () => {
    const sleeps: number[] = [];
    const reporter = reporterWith({ concurrency: 1 }, sleeps);
    await reporter.report(owed(1));
    const reports = owed(250);
    const before = count(STREAM);
    api.failNext(2, stripeError(429, 'rate_limit_error', 'Too many requests'), STREAM);
    const results = await reporter.report(reports);
    expect(results.every((r) => r.outcome === 'reported')).toBe(true);
    expect(count(STREAM) - before).toBe(3 + 2);
    expect(sleeps).toEqual([250, 500]);
    expect(reporter.counts.throttled).toBe(2);
  });

  it('gives up after maxAttempts on one request and sends nothing more: the rest stays owed, no request multiplied', async () => {
    const sleeps: number[] = [];
    const reporter = reporterWith({ concurrency: 1, maxAttempts: 3 }, sleeps);
    await reporter.report(owed(1));
    const before = count(STREAM);
    api.failNext(100, stripeError(429, 'rate_limit_error', 'Too many requests'), STREAM);
    const results = await reporter.report(owed(300));
    api.failNext(0, stripeError(429, 'rate_limit_error', 'Too many requests'));
    expect(count(STREAM) - before).toBe(3);
    expect(sleeps).toEqual([250, 500]);
    expect(results).toHaveLength(300);
    expect(results.every((r) => r.outcome === 'owed')).toBe(true);
  });

  it('a session Stripe will not create (a bad key) leaves the reports owed, never rejected', async () => {
    const badKey = new StreamMeterReporter(new Stripe('pk_test_not_a_secret', { host: api.host, port: api.port, protocol: 'http', maxNetworkRetries: 0 }), { sleep: () => Promise.resolve() });
    const before = count(STREAM);
    const results = await badKey.report(owed(3));
    expect(results).toEqual(results.map(() => ({ outcome: 'owed', error: expect.stringContaining('meter event session: 401') })));
    expect(count(STREAM)).toBe(before);
  });

  it('concurrent requests share one session and one renewal', async () => {
    const reporter = reporterWith({ concurrency: 4 });
    await reporter.report(owed(400));
    expect(reporter.counts.sessions).toBe(1);
    clock += 14 * 60_000 + 1;
    await reporter.report(owed(400));
    expect(reporter.counts).toMatchObject({ sessions: 2, requests: 8 });
  });

  it('stream requests need a live session token: the API key, or an expired token, is a 401 the SDK names', async () => {
    const event = streamEvent(owed(1)[0]!);
    await expect(stripe.v2.billing.meterEventStream.create({ events: [event] })).rejects.toMatchObject({ statusCode: 401 });
    const session = await stripe.v2.billing.meterEventSession.create();
    expect(session).toMatchObject({ object: 'v2.billing.meter_event_session', expires_at: new Date(clock + 15 * 60_000).toISOString() });
    clock += 15 * 60_000;
    await expect(stripe.v2.billing.meterEventStream.create({ events: [event] }, { apiKey: session.authentication_token })).rejects.toBeInstanceOf(Stripe.errors.TemporarySessionExpiredError);
  });

  it('refuses a request of more than 100 events, or an event dated over 35 days back, as a whole', async () => {
    const { authentication_token: token } = await stripe.v2.billing.meterEventSession.create();
    const events = owed(101).map(streamEvent);
    await expect(stripe.v2.billing.meterEventStream.create({ events }, { apiKey: token })).rejects.toMatchObject({ statusCode: 400 });
    const old = { ...events[0]!, timestamp: new Date(clock - 36 * 86_400_000).toISOString() };
    await expect(stripe.v2.billing.meterEventStream.create({ events: [events[1]!, old] }, { apiKey: token })).rejects.toMatchObject({ statusCode: 400, message: expect.stringContaining('events[1].timestamp') });
    expect(meterEvents.totals().get(`${events[1]!.payload.stripe_customer_id} api_units`)).toBeUndefined();
  });
});

describe('the reporter\'s limiter', () => {
  it('spaces requests evenly at the rate, concurrent callers included', async () => {
    let now = 0;
    const waits: number[] = [];
    const limiter = new RateLimiter(100, () => now, (ms) => Promise.resolve(void waits.push(ms)));
    // Five callers at once: slots 0, 10, 20, 30 and 40 ms.
    await Promise.all(Array.from({ length: 5 }, () => limiter.take()));
    expect(waits).toEqual([10, 20, 30, 40]);
    // Later callers wait only for what is left of their slot.
    now = 45;
    waits.length = 0;
    await limiter.take();
    await limiter.take();
    expect(waits).toEqual([5, 15]);
  });
});
