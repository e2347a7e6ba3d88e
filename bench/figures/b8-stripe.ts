import Stripe from 'stripe';
import { StreamMeterReporter } from '../../lambda/metering/meter-event-stream';
import { reportIdentifier, type OwedReport } from '../../lambda/metering/stripe-meter';
import { DEFAULT_WINDOW } from '../../lambda/metering/window';
import { fakeMeterEventStream, type FakeMeterEventStream } from '../../lib/local/stripe-api/meter-event-stream';
import { fakeMeterEvents, type FakeMeterEvents } from '../../lib/local/stripe-api/meter-events';
import { startFakeStripeApi } from '../../lib/local/stripe-api/server';
import { exactMeasure } from '../lib/stats';
import type { Measure, Mode } from '../lib/types';

/**
 * B8's Stripe side: metering's reporter as the function runs it (the v2 meter event stream, a session,
 * the limiter), against the local fake of Stripe's API over loopback HTTP, the requests counted at the
 * fake. Stripe's published limits are the denominators: 10,000 stream requests/s of up to 100 events
 * (v1: 1,000 requests/s of one event).
 */

export const STREAM_REQUESTS_PER_SECOND = 10_000;
export const V1_REQUESTS_PER_SECOND = 1_000;

export interface BenchStripe {
  readonly reporter: StreamMeterReporter;
  readonly stream: FakeMeterEventStream;
  readonly meterEvents: FakeMeterEvents;
  close(): Promise<void>;
}

/** The fake Stripe API on loopback, and the reporter pointed at it; `now` is both clocks (epoch ms). */
export async function startBenchStripe(now: () => number): Promise<BenchStripe> {
  const meterEvents = fakeMeterEvents({ now });
  const stream = fakeMeterEventStream(meterEvents, { now });
  const api = await startFakeStripeApi({ resources: [meterEvents, stream] });
  const stripe = new Stripe('sk_test_bench', { host: api.host, port: api.port, protocol: 'http', maxNetworkRetries: 0 });
  return { reporter: new StreamMeterReporter(stripe, { now }), stream, meterEvents, close: () => api.close() };
}

/** Customers in the simulation: every one active and billed in the window. */
const SIMULATED: Readonly<Record<Mode, number>> = { full: 100_000, quick: 100_000, smoke: 5_000 };
/** The capacity model's shape: 100,000 customers sharing 10,000 calls/s. */
const CALLS_PER_SECOND = 10_000;

export interface StripeAtScale {
  readonly measures: Measure[];
  readonly facts: Record<string, number>;
  readonly notes: string[];
}

/**
 * 100,000 customers at 10,000 calls/s, each owing one report in a 60-s window (the worst case: every
 * customer billed every window), handed to the reporter as the window's run hands them: Stripe
 * requests per second of the window against the stream's limit, and what v1 would need.
 */
export async function stripeAtScale(mode: Mode): Promise<StripeAtScale> {
  const customers = SIMULATED[mode];
  const window = DEFAULT_WINDOW.seconds;
  const at = 2_000_000_400;
  const stripe = await startBenchStripe(() => (at + window + 30) * 1000);
  try {
    const reports: OwedReport[] = Array.from({ length: customers }, (_, i) => {
      const customerId = `cus_sim${String(i).padStart(6, '0')}`;
      return { customerId, report: { eventName: 'api_units', value: 1 + (i % 7), identifier: reportIdentifier(`window-${at}`, customerId, 'api_units'), timestamp: at + (i % window) } };
    });
    const started = performance.now();
    const results = await stripe.reporter.report(reports);
    const seconds = (performance.now() - started) / 1000;
    const reported = results.filter((r) => r.outcome === 'reported').length;
    const { requests, sessions } = stripe.reporter.counts;
    const perSecond = requests / window;
    const v1PerSecond = customers / window;
    const scale = customers / 100_000;
    return {
      measures: [
        exactMeasure(`${customers} customers at ${CALLS_PER_SECOND * scale} calls/s: Stripe stream requests/s / ${STREAM_REQUESTS_PER_SECOND} (its limit)`, perSecond / STREAM_REQUESTS_PER_SECOND, {
          a: perSecond,
          b: STREAM_REQUESTS_PER_SECOND,
          target: { op: '<=', value: 1 },
        }),
        exactMeasure(`the same on v1 (one event a request): requests/s / ${V1_REQUESTS_PER_SECOND} (its limit)`, v1PerSecond / V1_REQUESTS_PER_SECOND, { a: v1PerSecond, b: V1_REQUESTS_PER_SECOND }),
      ],
      facts: {
        simulatedCustomers: customers,
        simulatedStreamRequests: requests,
        simulatedSessions: sessions,
        simulatedEventsReported: reported,
        simulatedEventsRecorded: stripe.meterEvents.events().length,
        simulatedSendSeconds: Number(seconds.toFixed(2)),
      },
      notes: [
        `Stripe at scale: ${customers} customers each owing one report in a ${window}-s window (every customer billed every window, the worst case), sent by the reporter as a window's run sends them: ${requests} stream requests of up to 100 events and ${sessions} session, ${reported} events reported; the burst took ${seconds.toFixed(1)} s locally (the limiter allows 1,000 requests/s per instance, metering reserves 5 instances).`,
      ],
    };
  } finally {
    await stripe.close();
  }
}
