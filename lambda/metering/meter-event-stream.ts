import { setTimeout as delay } from 'node:timers/promises';
import Stripe from 'stripe';
import { inPool } from './pool';
import type { MeterReporter, OwedReport, ReportResult } from './stripe-meter';

/**
 * Reporting billed units through Stripe's v2 meter event stream: up to 100 events a request and
 * 10,000 requests/s per account (v1's `POST /v1/billing/meter_events` takes one event a request,
 * 1,000/s per account and one concurrent call per customer and meter).
 *
 * - A session (`POST /v2/billing/meter_event_session`, the API key) gives a token valid 15 minutes;
 *   the stream (`POST /v2/billing/meter_event_stream` on meter-events.stripe.com) is called with it.
 *   The token is kept for the instance and renewed a minute before it expires, or once when Stripe
 *   says it expired.
 * - A limiter spaces this instance's requests (`requestsPerSecond` × metering's reserved concurrency
 *   stays under Stripe's rate).
 * - One retry loop per request: a 429, a 5xx or a lost connection waits (exponential, full jitter) and
 *   sends the same events again, so N 429s cost N + 1 requests. When the attempts run out the request's
 *   events, and every one not yet sent, stay owed for a later run: nothing retries around this loop.
 * - A request Stripe refuses (a 4xx) is split: each of its events is sent alone once, so one bad event
 *   is rejected (parked on its ledger entry) and the others are reported.
 *
 * Stripe validates a stream's events after accepting the request (an unknown customer or meter comes
 * back later as `v1.billing.meter.error_report_triggered`, not as an answer), so a rejection here is
 * one Stripe could tell at once.
 */

type StreamParams = Parameters<Stripe['v2']['billing']['meterEventStream']['create']>[0];
export type StreamEvent = StreamParams['events'][number];

/** Stripe's limit on events per stream request. */
export const EVENTS_PER_REQUEST = 100;

export interface StreamReporterOptions {
  /** Attempts per request on a 429, a 5xx or a lost connection. @default 5 */
  readonly maxAttempts?: number;
  /** First backoff; doubles each attempt, with full jitter. @default 250 */
  readonly baseDelayMs?: number;
  /** This instance's stream requests per second at most. @default 1000 */
  readonly requestsPerSecond?: number;
  /** Stream requests in flight at once: at Stripe's 100–200 ms a request, 10 send a window's 1,000 requests (100,000 customers) in 10–20 s. @default 10 */
  readonly concurrency?: number;
  /** A session is renewed this long before it expires. @default 60_000 */
  readonly renewBeforeMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  /** Epoch ms. @default Date.now */
  readonly now?: () => number;
}

/** What this reporter has asked of Stripe (for the bench and the tests). */
export interface StreamCounts {
  /** Stream requests sent, retries included. */
  readonly requests: number;
  /** Sessions created. */
  readonly sessions: number;
  /** Stream answers that were 429. */
  readonly throttled: number;
}

/** Spaces calls evenly at `perSecond` (no burst; Infinity: no limit): each caller takes the next free slot. */
export class RateLimiter {
  private next = 0;

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number,
    private readonly sleep: (ms: number) => Promise<void>,
  ) {}

  async take(): Promise<void> {
    const interval = 1000 / this.perSecond;
    if (interval === 0) return;
    const now = this.now();
    // A slot more than a second ahead means the clock went back: start again from now.
    const at = this.next - now > 1000 ? now : Math.max(now, this.next);
    this.next = at + interval;
    if (at > now) await this.sleep(at - now);
  }
}

/** The event as the stream takes it: the payload keys are the meter's defaults, the time RFC 3339. */
export const streamEvent = ({ customerId, report }: OwedReport): StreamEvent => ({
  event_name: report.eventName,
  identifier: report.identifier,
  // A subscription's payer, when another customer than the one whose calls were counted.
  payload: { stripe_customer_id: report.customer ?? customerId, value: String(report.value) },
  timestamp: new Date(report.timestamp * 1000).toISOString(),
});

type Sent = { readonly kind: 'sent' } | { readonly kind: 'rejected'; readonly error: string } | { readonly kind: 'owed'; readonly error: string };

const statusOf = (err: unknown): number | undefined => (err instanceof Stripe.errors.StripeError ? err.statusCode : undefined);
const describe = (err: unknown): string => `${statusOf(err) ?? 'connection'}: ${err instanceof Error ? err.message : String(err)}`.slice(0, 500);
const retryable = (status: number | undefined): boolean => status === undefined || status === 429 || status === 409 || status >= 500;

interface Session {
  readonly token: string;
  readonly expiresAt: number;
}

export class StreamMeterReporter implements MeterReporter {
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly concurrency: number;
  private readonly renewBeforeMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly limiter: RateLimiter;
  private session: Promise<Session> | undefined;
  private readonly tally = { requests: 0, sessions: 0, throttled: 0 };

  constructor(
    private readonly stripe: Stripe,
    options: StreamReporterOptions = {},
  ) {
    this.maxAttempts = options.maxAttempts ?? 5;
    this.baseDelayMs = options.baseDelayMs ?? 250;
    this.concurrency = options.concurrency ?? 10;
    this.renewBeforeMs = options.renewBeforeMs ?? 60_000;
    this.sleep = options.sleep ?? ((ms) => delay(ms));
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
    this.limiter = new RateLimiter(options.requestsPerSecond ?? 1000, this.now, this.sleep);
  }

  get counts(): StreamCounts {
    return { ...this.tally };
  }

  async report(reports: readonly OwedReport[]): Promise<ReportResult[]> {
    const results: ReportResult[] = reports.map(() => ({ outcome: 'owed', error: 'not sent' }));
    const chunks: number[][] = [];
    for (let i = 0; i < reports.length; i += EVENTS_PER_REQUEST) chunks.push(reports.slice(i, i + EVENTS_PER_REQUEST).map((_, j) => i + j));
    // Set once a request gives up: Stripe is throttling or away, so the rest waits for a later run.
    let stopped: string | undefined;
    const send = async (indices: readonly number[]): Promise<Sent> => {
      if (stopped !== undefined) return { kind: 'owed', error: stopped };
      const sent = await this.send(indices.map((i) => streamEvent(reports[i]!)));
      if (sent.kind === 'owed') stopped = sent.error;
      return sent;
    };
    const record = (indices: readonly number[], sent: Sent): void => {
      for (const i of indices) results[i] = sent.kind === 'sent' ? { outcome: 'reported' } : { outcome: sent.kind, error: sent.error };
    };
    await inPool(chunks, this.concurrency, async (chunk) => {
      const sent = await send(chunk);
      if (sent.kind !== 'rejected' || chunk.length === 1) return record(chunk, sent);
      // Which event Stripe refused: each alone, once.
      for (const i of chunk) record([i], await send([i]));
    });
    return results;
  }

  /** One request's retry loop: the only place a request is repeated. */
  private async send(events: readonly StreamEvent[]): Promise<Sent> {
    let renewed = false;
    for (let attempt = 1; ; attempt += 1) {
      let session: Session;
      try {
        session = await this.currentSession();
      } catch (err) {
        // Not the events' fault (a bad key, Stripe away): they stay owed.
        if (!retryable(statusOf(err)) || attempt >= this.maxAttempts) return { kind: 'owed', error: `meter event session: ${describe(err)}` };
        await this.backoff(attempt);
        continue;
      }
      await this.limiter.take();
      this.tally.requests += 1;
      try {
        await this.stripe.v2.billing.meterEventStream.create({ events: [...events] }, { apiKey: session.token });
        return { kind: 'sent' };
      } catch (err) {
        const status = statusOf(err);
        if (!renewed && (err instanceof Stripe.errors.TemporarySessionExpiredError || status === 401)) {
          // Expired early (clocks differ): renew once, without spending an attempt.
          renewed = true;
          this.session = undefined;
          attempt -= 1;
          continue;
        }
        if (status === 429) this.tally.throttled += 1;
        if (!retryable(status)) return { kind: 'rejected', error: describe(err) };
        if (attempt >= this.maxAttempts) return { kind: 'owed', error: describe(err) };
        await this.backoff(attempt);
      }
    }
  }

  private backoff(attempt: number): Promise<void> {
    return this.sleep(Math.floor(this.random() * this.baseDelayMs * 2 ** (attempt - 1)));
  }

  /** The instance's session, renewed before it expires; concurrent requests share one renewal. */
  private async currentSession(): Promise<Session> {
    const pending = this.session;
    const current = pending === undefined ? undefined : await pending.catch(() => undefined);
    if (current !== undefined && current.expiresAt - this.renewBeforeMs > this.now()) return current;
    if (this.session === pending) {
      this.tally.sessions += 1;
      this.session = this.stripe.v2.billing.meterEventSession.create().then((s) => ({ token: s.authentication_token, expiresAt: Date.parse(s.expires_at) }));
    }
    const renewing = this.session!;
    try {
      return await renewing;
    } catch (err) {
      if (this.session === renewing) this.session = undefined;
      throw err;
    }
  }
}
