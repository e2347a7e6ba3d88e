import { setTimeout as delay } from 'node:timers/promises';
import type { AuthorizerCacheFlusher, FlushTarget } from '../ports';

export interface CoalescingFlusherOptions {
  /** Least time between the starts of two flushes of one stage. @default 2000 */
  readonly minIntervalMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default node's timers/promises setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

interface StageState {
  lastStart: number;
  running?: Promise<void>;
  /** A flush that has not started yet: whoever asks now is covered by it. */
  next?: Promise<void>;
}

/**
 * At most one flush per stage per `minIntervalMs`, one at a time, and never a lost one.
 *
 * A caller needs a flush that STARTS after its write (a flush already running may have let the
 * authorizer cache the old state again). So `flush()` resolves only when such a flush has
 * completed: immediately started when the stage is idle, otherwise one trailing flush shared by
 * every caller that arrives meanwhile. The webhook awaits it before answering, because Lambda
 * freezes the process after the response and a pending timer would not run; if the flush fails the
 * event is answered 5xx and its ledger entry keeps `flushPending`, so Stripe's retry flushes.
 *
 * Worst case, a caller waits `minIntervalMs` plus the duration of one flush (and of the flush
 * running when it arrived, if that one takes longer than the interval).
 */
export class CoalescingFlusher implements AuthorizerCacheFlusher {
  private readonly stages = new Map<string, StageState>();
  private readonly minIntervalMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly inner: AuthorizerCacheFlusher,
    options: CoalescingFlusherOptions = {},
  ) {
    this.minIntervalMs = options.minIntervalMs ?? 2000;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => delay(ms));
  }

  flush(target: FlushTarget): Promise<void> {
    const key = `${target.restApiId}/${target.stage}`;
    let state = this.stages.get(key);
    if (state === undefined) {
      state = { lastStart: Number.NEGATIVE_INFINITY };
      this.stages.set(key, state);
    }
    if (state.next !== undefined) return state.next;
    const stage = state;
    if (stage.running === undefined && this.now() - stage.lastStart >= this.minIntervalMs) return this.start(stage, target);
    const next = (async () => {
      // The running flush's failure belongs to its own callers; this one starts afresh.
      await stage.running?.catch(() => undefined);
      const wait = stage.lastStart + this.minIntervalMs - this.now();
      if (wait > 0) await this.sleep(wait);
      return this.start(stage, target);
    })();
    stage.next = next;
    return next;
  }

  private start(stage: StageState, target: FlushTarget): Promise<void> {
    stage.next = undefined;
    stage.lastStart = this.now();
    const running = this.inner.flush(target).finally(() => {
      if (stage.running === running) stage.running = undefined;
    });
    stage.running = running;
    return running;
  }
}
