import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { countOne, type Observability } from './observability';
import type { AuthorizerCacheFlusher } from './ports';

/**
 * The metrics the functions publish (namespace `Tollgate`, Powertools EMF) and their dimensions: the
 * one list the dashboard and the alarms (lib/operations.ts) read. Powertools adds a `service`
 * dimension (`tollgate-<function>`) to every metric.
 */
export const METRICS = {
  /** Authorizer decisions: `outcome` allow | deny | unauthorized | error, `reason` (a 402 reason, a 401 reason, an error reason, or none). */
  decisions: 'Decisions',
  /** Webhook deliveries: `type` (handled types by name, else other), `outcome` (applied … failed). */
  webhookEvents: 'WebhookEvents',
  /** Scheduled flushes of the clock (no dimension but service). */
  clockFlushes: 'ClockFlushes',
  /** FlushStageAuthorizersCache calls: `outcome` flushed | failed; `service` says who flushed. */
  cacheFlushes: 'CacheFlushes',
  /** Milliseconds from a Stripe event's `created` to the end of the flush it caused (no dimension but service). */
  paymentToFlush: 'PaymentToFlushMs',
  /** A Stripe event that let a denied customer in again: `reason` they were denied for. */
  accessRestored: 'AccessRestored',
  /** Units of strict reservations no access-log line named, given back by the clock's sweep (no dimension but service). */
  reservationUnitsReturned: 'ReservationUnitsReturned',
} as const;

/**
 * What the metering functions publish (lambda/metering and lambda/metering-dead-letter, the metering
 * branch's handler.ts and dead-letter.ts), read here by name: no count per customer, all in `Tollgate`.
 */
export const METERING_METRICS = {
  /** Calls counted against quotas, credits or meters (dimension: service only). */
  unitsCounted: 'UnitsCounted',
  /** Units Stripe accepted as meter events. */
  unitsReported: 'MeterUnitsReported',
  /** Meter events Stripe refused (kept on the ledger entry for a replay). */
  reportsRejected: 'MeterReportsRejected',
  /** Batches parked for replay: by the metering function (no dimension), by its dead-letter function (`outcome` dead-letter | unreadable). */
  batchesParked: 'MeteringBatchesParked',
  /** Subscription batches that could not be decoded (skipped). */
  batchesUndecodable: 'MeteringBatchesUndecodable',
  /** Milliseconds from the oldest call of a batch to its metering: log delivery plus the wait (dimension: service only). */
  lag: 'MeteringLagMs',
  /** Auto top-up charges metering made: `outcome` charged | failed | unanswered (lambda/metering/top-up.ts). */
  topUpCharges: 'TopUpCharges',
} as const;

export const SERVICES = {
  authorizer: 'tollgate-authorizer',
  webhook: 'tollgate-webhook',
  clock: 'tollgate-clock',
  portal: 'tollgate-portal',
  metering: 'tollgate-metering',
  meteringDeadLetter: 'tollgate-metering-dead-letter',
} as const;

export type FlushOutcome = 'flushed' | 'failed';

/** A flusher that counts each call by outcome and logs a failure (then rethrows it: the caller decides). */
export function countedFlusher(inner: AuthorizerCacheFlusher, observability: Observability): AuthorizerCacheFlusher {
  return {
    async flush(target) {
      try {
        await inner.flush(target);
      } catch (err) {
        countFlush(observability.metrics, 'failed');
        observability.logger.error('authorizer cache flush failed', { restApiId: target.restApiId, stage: target.stage, error: describe(err) });
        throw err;
      }
      countFlush(observability.metrics, 'flushed');
    },
  };
}

const countFlush = (metrics: Metrics, outcome: FlushOutcome): void => countOne(metrics, METRICS.cacheFlushes, { outcome });

/** An error's name and message only: never its request or response (an SDK error carries both). */
const describe = (err: unknown): string => (err instanceof Error ? `${err.name}: ${err.message}` : 'non-error thrown');

/** One timing, published at once (see countOne). */
export function recordMilliseconds(metrics: Metrics, name: string, milliseconds: number): void {
  metrics.singleMetric().addMetric(name, MetricUnit.Milliseconds, milliseconds);
}
