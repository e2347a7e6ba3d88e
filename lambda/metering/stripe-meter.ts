import { createHash } from 'node:crypto';
import type { MeterReport } from './store';

/**
 * What metering asks of Stripe Billing Meters: that owed reports be sent, each with an `identifier`
 * derived from where its units were counted (a window or a delivery), the customer and the meter.
 * A report sent again (a retry, a redelivered batch, a re-summed window, a replay) within Stripe's
 * 24 h de-duplication is the same event to Stripe, never a second one. The reporter is the v2 meter
 * event stream (meter-event-stream.ts).
 */

export type ReportResult =
  | { readonly outcome: 'reported' }
  /** For good (Stripe refused the event): kept on the ledger entry for `metering replay`, counted for the alarm. */
  | { readonly outcome: 'rejected'; readonly error: string }
  /** Not sent this time (Stripe kept answering 429, or could not be reached): still pending, sent by a later run. */
  | { readonly outcome: 'owed'; readonly error: string };

export interface OwedReport {
  readonly customerId: string;
  readonly report: MeterReport;
}

export interface MeterReporter {
  /** What became of each report, in order. Never throws for what Stripe answers. */
  report(reports: readonly OwedReport[]): Promise<ReportResult[]>;
}

/** Stripe's identifier is at most 100 characters: a digest keeps it short and deterministic. */
export function reportIdentifier(batchId: string, customerId: string, eventName: string): string {
  return `tollgate_${createHash('sha256').update(`${batchId}\n${customerId}\n${eventName}`).digest('base64url').slice(0, 40)}`;
}
