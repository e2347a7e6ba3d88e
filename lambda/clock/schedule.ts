import type { BoundaryKind, RecordedBoundary } from '../shared/boundaries';

/**
 * The clock's pure core: which recorded boundaries one scheduled run flushes, and when.
 *
 * EventBridge runs the clock once a minute (its finest rate), at some second of the minute, and every
 * run carries the time it was scheduled for (a retry of a failed run carries the same). The run
 * scheduled at τ owns the due instants in [τ + PERIOD - OVERLAP, τ + 2·PERIOD): it starts before its
 * window opens, so it waits for each boundary and flushes SETTLE_MS after it. Consecutive runs' windows
 * tile time (OVERLAP absorbs jitter in the scheduled times).
 *
 * A run looks only once. A boundary recorded after the run owning it looked (a key rotated with no
 * overlap, an expiry a minute away) is caught up by the next runs: each also flushes, at once, what
 * fell due since LOOKBACK_MS ago and was recorded since the previous run was scheduled (SKEW_MS for
 * clocks). So a boundary is flushed by one run, at most three, whatever the timing.
 */

/** The schedule's rate. */
export const PERIOD_MS = 60_000;
/** Between the windows of consecutive runs. */
export const OVERLAP_MS = 10_000;
/**
 * After a boundary, the flush waits this long: an authorizer call that read the clock just before the
 * boundary has returned (the authorizer's timeout is 3 s) and its result is in the cache to be flushed.
 */
export const SETTLE_MS = 3_000;
/** Flushes are stage-wide: one per this interval at most, covering every boundary passed by its start. */
export const MIN_FLUSH_INTERVAL_MS = 2_000;
/** Catch-up reaches back this far: two runs and some. */
export const LOOKBACK_MS = 3 * PERIOD_MS;
export const SKEW_MS = 5_000;

/** [from, to), epoch ms. */
export interface Window {
  readonly from: number;
  readonly to: number;
}

export interface RunPlan {
  /** Due instants to query: the catch-up and the run's own window. */
  readonly query: Window;
  /** Due instants this run owns. */
  readonly own: Window;
  /** Earlier due instants are flushed when recorded at or after this (a run that owned them may have missed them). */
  readonly recordedSince: number;
}

export function planRun(scheduled: number): RunPlan {
  const own = { from: scheduled + PERIOD_MS - OVERLAP_MS, to: scheduled + 2 * PERIOD_MS };
  return { query: { from: scheduled - LOOKBACK_MS, to: own.to }, own, recordedSince: scheduled - PERIOD_MS - SKEW_MS };
}

/** When a boundary of this kind recorded at `at` falls due. */
export function dueAt(kind: BoundaryKind, at: number, gracePeriodSeconds: number): number {
  return kind === 'grace' ? at + gracePeriodSeconds * 1000 : at;
}

/** The recorded instants (`at`) whose due instant lies in the window. */
export function recordedWindow(kind: BoundaryKind, window: Window, gracePeriodSeconds: number): Window {
  const shift = dueAt(kind, 0, gracePeriodSeconds);
  return { from: window.from - shift, to: window.to - shift };
}

/** The due instants (sorted, distinct) this run flushes for. */
export function dueInstants(plan: RunPlan, boundaries: readonly RecordedBoundary[], gracePeriodSeconds: number): number[] {
  const due = boundaries
    .map((b) => ({ due: dueAt(b.kind, b.at, gracePeriodSeconds), recordedAt: b.recordedAt }))
    .filter(({ due, recordedAt }) => due < plan.own.to && (due >= plan.own.from || (due >= plan.query.from && recordedAt >= plan.recordedSince)))
    .map(({ due }) => due);
  return [...new Set(due)].sort((a, b) => a - b);
}

/**
 * The flushes for these due instants, given the start of the last flush: each flush starts SETTLE_MS
 * after the first boundary it is for, no sooner than MIN_FLUSH_INTERVAL_MS after the one before, and
 * covers every boundary that settled by its start. Returns the start times (epoch ms).
 */
export function flushTimes(due: readonly number[], now: number): number[] {
  const starts: number[] = [];
  let last = Number.NEGATIVE_INFINITY;
  for (const instant of due) {
    const settled = instant + SETTLE_MS;
    if (settled <= last) continue;
    last = Math.max(settled, last + MIN_FLUSH_INTERVAL_MS, now);
    starts.push(last);
  }
  return starts;
}
