import { countOne, type Observability } from '../shared/observability';
import type { AccessFlushes, FlushOutcome, FlushTarget } from '../shared/ports';

/**
 * The clock: once a minute, the stage's flush outbox is swept. A writer whose flush could not be made
 * in time (a throttled management API, an instance frozen mid-flush) left its request there; the
 * sweep makes it, through the same one flusher, so an unlock never waits for the cache TTL because a
 * flush failed once.
 *
 * Time itself needs no flush: a lock that comes with time (a grace period ending, a key expiring, a
 * period rolling over) reaches a cached decision within the standing authorizer's TTL, and the routes
 * sold by use are cached a second at most.
 */

export interface ClockDeps {
  readonly flushes: AccessFlushes;
  readonly target: FlushTarget;
  readonly observability?: Observability;
}

/** What one run did. */
export interface ClockRun {
  readonly scheduledFor: string;
  readonly sweep: FlushOutcome;
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
    const sweep = await deps.flushes.sweep(deps.target);
    const run = { scheduledFor: new Date(scheduled).toISOString(), sweep };
    if (sweep !== 'covered') {
      deps.observability?.logger.info('clock run', { ...run });
      if (deps.observability !== undefined) countOne(deps.observability.metrics, 'ClockSweeps', { outcome: sweep });
    }
    return run;
  };
}
