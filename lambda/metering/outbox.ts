import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { countOne, type Observability } from '../shared/observability';
import { inPool } from './pool';
import type { LedgerEntry, MeteringStore, ReportRecord } from './store';
import type { MeterReporter, OwedReport } from './stripe-meter';

/**
 * Finishes ledger entries (the outbox): the reports they owe, sent together (the reporter batches them,
 * 100 events a stream request), then on each entry what became of them. A crash anywhere here leaves
 * the entries owing what they owed: the next delivery, window run or replay finishes them, and Stripe
 * de-duplicates a report it had already accepted (same identifier).
 */

export interface EntryCompletion {
  readonly reported: number;
  readonly rejected: number;
  /** Still owed: reporting off, or Stripe kept throttling (sent by a later run). */
  readonly pending: number;
}

export interface OutboxDeps {
  readonly store: Pick<MeteringStore, 'settled'>;
  /** Absent: reporting is off and the reports stay owed. */
  readonly reporter?: MeterReporter;
  readonly logger: Observability['logger'];
  readonly metrics: Observability['metrics'];
}

/** Entries' marks written at once. */
const SETTLE_CONCURRENCY = 8;

export async function completeEntries(deps: OutboxDeps, entries: readonly LedgerEntry[], options: { readonly retryRejected?: boolean } = {}): Promise<EntryCompletion> {
  const { logger, metrics, reporter } = deps;
  const owed = (r: ReportRecord): boolean => r.state === 'pending' || (options.retryRejected === true && r.state === 'rejected');
  const sends: Array<{ readonly entry: number; readonly index: number } & OwedReport> = [];
  entries.forEach((entry, e) =>
    entry.reports.forEach((report, index) => {
      if (owed(report)) sends.push({ entry: e, index, customerId: entry.customerId, report });
    }),
  );
  if (reporter === undefined || sends.length === 0) return { reported: 0, rejected: 0, pending: sends.length };
  const results = await reporter.report(sends);
  const updated = entries.map((entry) => [...entry.reports]);
  const changed = new Set<number>();
  let reported = 0;
  let rejected = 0;
  let pending = 0;
  let units = 0;
  sends.forEach((send, i) => {
    const result = results[i]!;
    const { eventName, value, identifier, timestamp } = send.report;
    if (result.outcome === 'reported') {
      updated[send.entry]![send.index] = { eventName, value, identifier, timestamp, state: 'reported' };
      reported += 1;
      units += value;
    } else if (result.outcome === 'rejected') {
      // Not retried forever: recorded on the entry for `metering replay`, counted for the alarm.
      logger.warn('stripe rejected a meter report', { eventName, error: result.error });
      countOne(metrics, 'MeterReportsRejected', {});
      updated[send.entry]![send.index] = { eventName, value, identifier, timestamp, state: 'rejected', error: result.error };
      rejected += 1;
    } else {
      pending += 1;
      return;
    }
    changed.add(send.entry);
  });
  if (units > 0) metrics.singleMetric().addMetric('MeterUnitsReported', MetricUnit.Count, units);
  if (pending > 0) logger.warn('stripe meter reports still owed, sent by a later run', { pending, error: results.find((r) => r.outcome === 'owed')?.error });
  await inPool([...changed], SETTLE_CONCURRENCY, async (e) => {
    await deps.store.settled(entries[e]!.ledgerId, updated[e]!);
  });
  return { reported, rejected, pending };
}
