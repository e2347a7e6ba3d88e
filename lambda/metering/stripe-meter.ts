import { createHash } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import Stripe from 'stripe';
import type { MeterReport } from './store';

/**
 * Reporting billed units to Stripe Billing Meters (v1 `POST /v1/billing/meter_events`).
 *
 * Each report carries an `identifier` derived from the batch, the customer and the meter, and the same
 * string as the request's idempotency key: a report sent again (a retry, a redelivered batch, a replay)
 * within Stripe's 24 h de-duplication window is the same event to Stripe, never a second one.
 */

export type ReportResult = { readonly outcome: 'reported' } | { readonly outcome: 'rejected'; readonly error: string };

export interface MeterReporter {
  /** Reported or rejected for good (a 4xx: unknown customer, no such meter); throws when it may succeed later. */
  report(customerId: string, report: MeterReport): Promise<ReportResult>;
}

/** Stripe's identifier is at most 100 characters: a digest keeps it short and deterministic. */
export function reportIdentifier(batchId: string, customerId: string, eventName: string): string {
  return `tollgate_${createHash('sha256').update(`${batchId}\n${customerId}\n${eventName}`).digest('base64url').slice(0, 40)}`;
}

export interface StripeMeterReporterOptions {
  /** Attempts on a 429 (or a connection error) before giving up for this invocation. @default 5 */
  readonly maxAttempts?: number;
  /** First backoff; doubles each attempt, with full jitter. @default 250 */
  readonly baseDelayMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

const statusOf = (err: unknown): number | undefined =>
  err instanceof Stripe.errors.StripeError ? err.statusCode : undefined;

export class StripeMeterReporter implements MeterReporter {
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(
    private readonly stripe: Stripe,
    options: StripeMeterReporterOptions = {},
  ) {
    this.maxAttempts = options.maxAttempts ?? 5;
    this.baseDelayMs = options.baseDelayMs ?? 250;
    this.sleep = options.sleep ?? ((ms) => delay(ms));
    this.random = options.random ?? Math.random;
  }

  async report(customerId: string, report: MeterReport): Promise<ReportResult> {
    const params: Stripe.Billing.MeterEventCreateParams = {
      event_name: report.eventName,
      payload: { stripe_customer_id: customerId, value: String(report.value) },
      identifier: report.identifier,
      timestamp: report.timestamp,
    };
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.stripe.billing.meterEvents.create(params, { idempotencyKey: report.identifier });
        return { outcome: 'reported' };
      } catch (err) {
        const status = statusOf(err);
        const retryable = status === undefined || status === 429 || status === 409 || status >= 500;
        if (!retryable) {
          return { outcome: 'rejected', error: `${status}: ${err instanceof Error ? err.message : String(err)}`.slice(0, 500) };
        }
        if (attempt >= this.maxAttempts) throw err;
        // Bursts of meter calls get 429s: spread the retries (exponential, full jitter).
        await this.sleep(Math.floor(this.random() * this.baseDelayMs * 2 ** (attempt - 1)));
      }
    }
  }
}
