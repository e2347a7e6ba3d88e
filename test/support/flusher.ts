import type { AuthorizerCacheFlusher, FlushTarget } from '../../lambda/shared/ports';

/** An authorizer-cache flusher that records what it flushed; `failNext` makes that many flushes fail first. */
export class RecordingFlusher implements AuthorizerCacheFlusher {
  readonly flushes: FlushTarget[] = [];
  failNext = 0;
  flush(target: FlushTarget): Promise<void> {
    if (this.failNext > 0) {
      this.failNext -= 1;
      return Promise.reject(new Error('flush failed (test)'));
    }
    this.flushes.push(target);
    return Promise.resolve();
  }
}
