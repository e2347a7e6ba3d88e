import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRICS } from '../shared/metrics';
import { countOne, type Observability } from '../shared/observability';
import type { PendingSweep } from '../shared/customers/pending-sweep';
import type { AccessFlushes, FlushOutcome, FlushTarget } from '../shared/ports';

/**
 * The clock: once a minute, the stage's flush outbox is swept. A writer whose flush could not be made
 * in time (a throttled management API, an instance frozen mid-flush) left its request there; the
 * sweep makes it, through the same one flusher, so an unlock never waits for the cache TTL because a
 * flush failed once. And the wallets whose strict reservations nobody settled (the authorizer answered
 * 503 after its write landed, its cancel failed, and no later call brought a settlement) get those
 * units back once no access-log line can name them any more (lambda/shared/customers/pending-sweep.ts).
 *
 * Time itself needs no flush: a lock that comes with time (a grace period ending, a key expiring, a
 * period rolling over) reaches a cached decision within the standing authorizer's TTL, and the routes
 * sold by use are cached a second at most.
 */

export interface ClockDeps {
  readonly flushes: AccessFlushes;
  readonly target: FlushTarget;
  /** Gives back the reservations due at the run's scheduled time. */
  readonly reservations: { sweep(now: Date): Promise<PendingSweep> };
  readonly observability?: Observability;
}

/** What one run did. */
export interface ClockRun {
  readonly scheduledFor: string;
  readonly sweep: FlushOutcome;
  readonly reservations: PendingSweep;
}

export class ClockEventError extends Error {
  override readonly name = 'ClockEventError';
}

/** The time the run was scheduled for: EventBridge's `time`, or the local timer's. */
function scheduledTime(event: unknown): number {
  const time = typeof event === 'object' && event !== null ? (event as { time?: unknown }).time : undefined;
  const parsed = typeof time === 'string' ? Date.parse(time) : Number.NaN;
  if (!Number.isFinite(parsed)) {
    throw new ClockEventError(`the clock needs a scheduled event with an ISO-8601 "time", got ${JSON.stringify(time) ?? 'none'}: invoke it from its schedule`);
  }
  return parsed;
}

export function makeClockHandler(deps: ClockDeps) {
  return async (event: unknown): Promise<ClockRun> => {
    const scheduled = scheduledTime(event);
    // Independent: a failed flush sweep must not keep units from their owners, nor the reverse.
    const [flushed, swept] = await Promise.allSettled([deps.flushes.sweep(deps.target), deps.reservations.sweep(new Date(scheduled))]);
    if (flushed.status === 'rejected') throw flushed.reason;
    if (swept.status === 'rejected') throw swept.reason;
    const sweep = flushed.value;
    const reservations = swept.value;
    const run = { scheduledFor: new Date(scheduled).toISOString(), sweep, reservations };
    if (sweep !== 'covered' || reservations.expired > 0 || reservations.more) {
      deps.observability?.logger.info('clock run', { ...run });
      if (deps.observability !== undefined && sweep !== 'covered') countOne(deps.observability.metrics, 'ClockSweeps', { outcome: sweep });
    }
    if (deps.observability !== undefined && reservations.units > 0) deps.observability.metrics.singleMetric().addMetric(METRICS.reservationUnitsReturned, MetricUnit.Count, reservations.units);
    return run;
  };
}
