import { setTimeout as delay } from 'node:timers/promises';
import { BOUNDARY_KINDS, type BoundaryKind, type RecordedBoundary } from '../shared/boundaries';
import { countOne, type Observability } from '../shared/observability';
import type { AuthorizerCacheFlusher, FlushTarget } from '../shared/ports';
import { dueInstants, flushTimes, planRun, recordedWindow, type Window } from './schedule';

/** Finds recorded boundaries of a kind whose `at` lies in a window. */
export interface BoundaryReader {
  between(kind: BoundaryKind, window: Window): Promise<RecordedBoundary[]>;
}

export interface ClockDeps {
  readonly boundaries: BoundaryReader;
  readonly flusher: AuthorizerCacheFlusher;
  readonly target: FlushTarget;
  readonly gracePeriodSeconds: number;
  /** @default () => new Date() */
  readonly now?: () => Date;
  /** @default node's timers/promises setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly observability?: Observability;
}

/** What one run did. */
export interface ClockRun {
  readonly scheduledFor: string;
  /** Due instants this run flushed for. */
  readonly due: number;
  readonly flushes: number;
}

/** The invocation's remaining time, when Lambda runs it. */
export interface RunContext {
  getRemainingTimeInMillis(): number;
}

/** Stop waiting this long before Lambda's timeout: what is left is caught up by nothing, so log it. */
const DEADLINE_MARGIN_MS = 2_000;

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

/**
 * One scheduled run: one Query per kind (two across an hour), then a wait until each due boundary
 * has settled and a stage-wide flush for it (schedule.ts says which and when).
 */
export function makeClockHandler(deps: ClockDeps) {
  const now = (): number => (deps.now ?? ((): Date => new Date()))().getTime();
  const sleep = deps.sleep ?? ((ms: number) => delay(ms));
  return async (event: unknown, context?: RunContext): Promise<ClockRun> => {
    const scheduled = scheduledTime(event);
    const deadline = context === undefined ? Number.POSITIVE_INFINITY : now() + context.getRemainingTimeInMillis() - DEADLINE_MARGIN_MS;
    const plan = planRun(scheduled);
    const found = await Promise.all(BOUNDARY_KINDS.map((kind) => deps.boundaries.between(kind, recordedWindow(kind, plan.query, deps.gracePeriodSeconds))));
    const due = dueInstants(plan, found.flat(), deps.gracePeriodSeconds);
    const starts = flushTimes(due, now());
    let flushes = 0;
    for (const start of starts) {
      if (start > deadline) {
        deps.observability?.logger.warn('clock run ends before its last boundaries: they wait for the authorizer ttl', { pending: starts.length - flushes });
        break;
      }
      const wait = start - now();
      if (wait > 0) await sleep(wait);
      await deps.flusher.flush(deps.target);
      flushes++;
      if (deps.observability !== undefined) countOne(deps.observability.metrics, 'ClockFlushes', {});
    }
    const run = { scheduledFor: new Date(scheduled).toISOString(), due: due.length, flushes };
    if (flushes > 0) deps.observability?.logger.info('clock run', { ...run });
    return run;
  };
}
