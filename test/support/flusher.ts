import type { AccessFlushes, AuthorizerCacheFlusher, FlushOutcome, FlushTarget, OutboxWrite } from '../../lambda/shared/ports';

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

/**
 * The stage's one flusher for handlers tested on a memory store: a flush request is made at once
 * through `flusher` (the ordering of flushes is the coordinator's own test, on DynamoDB Local).
 */
export class ImmediateFlushes implements AccessFlushes {
  constructor(readonly flusher: AuthorizerCacheFlusher) {}
  outboxWrite(target: FlushTarget): { readonly write: OutboxWrite; readonly changedAt: number } {
    const changedAt = Date.now();
    return { changedAt, write: { TableName: 'memory', Key: { eventId: `flush#${target.restApiId}#${target.stage}` }, UpdateExpression: 'SET requestedAt = :t', ExpressionAttributeValues: { ':t': changedAt } } };
  }
  settle(target: FlushTarget): Promise<FlushOutcome> {
    return this.flusher.flush(target).then(
      (): FlushOutcome => 'flushed',
      (): FlushOutcome => 'deferred',
    );
  }
  request(target: FlushTarget): Promise<FlushOutcome> {
    return this.settle(target);
  }
  requestLimited(target: FlushTarget): Promise<FlushOutcome> {
    return this.settle(target);
  }
  sweep(): Promise<FlushOutcome> {
    return Promise.resolve('covered');
  }
}
