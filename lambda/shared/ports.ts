/**
 * Ports shared between the Lambda functions and the local gateway: what a function needs from the
 * outside world, implemented by AWS in the cloud and by the local gateway on a laptop.
 */

/** The REST API stage whose authorizer cache to flush (the invoking event's requestContext names it). */
export interface FlushTarget {
  readonly restApiId: string;
  readonly stage: string;
}

/** Drops every cached authorizer result of a stage (API Gateway's FlushStageAuthorizersCache). */
export interface AuthorizerCacheFlusher {
  flush(target: FlushTarget): Promise<void>;
}

/** A clock and its waits, together: a test's virtual clock advances itself when the flusher waits. */
export interface FlushClock {
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

/** What became of a request for a flush (aws/flush-coordinator.ts). */
export type FlushOutcome =
  /** This writer's flush covered the change. */
  | 'flushed'
  /** Another writer's flush, started after the change, covered it. */
  | 'covered'
  /** The sweep found a request older than the cache TTL: no decision cached before it can still be served. */
  | 'expired'
  /** Not covered yet: left in the outbox for the clock's sweep (or the next writer). */
  | 'deferred';

/** An Update of a TransactWriteItems (lib-dynamodb's shape): a flush request recorded with the change. */
export interface OutboxWrite {
  readonly TableName: string;
  readonly Key: { readonly eventId: string };
  readonly UpdateExpression: string;
  readonly ExpressionAttributeValues: Readonly<Record<string, number>>;
}

/**
 * The stage's one flusher, as every writer sees it: a writer records its change's flush request (in its
 * own transaction, or alone), then waits for a flush that started after the change. Never throws.
 */
export interface AccessFlushes {
  /** The request, stamped with the flusher's own clock, for the writer's transaction; `settle` with its stamp after it commits. */
  outboxWrite(target: FlushTarget): { readonly write: OutboxWrite; readonly changedAt: number };
  settle(target: FlushTarget, changedAt: number): Promise<FlushOutcome>;
  request(target: FlushTarget): Promise<FlushOutcome>;
  /**
   * `request`, at most once per `seconds` for `limitKey` (a customer's key rotations): beyond it the
   * change waits for the TTL (`limited`), so no caller can spend the stage's flushes in a loop.
   */
  requestLimited(target: FlushTarget, limitKey: string, seconds: number): Promise<FlushOutcome | 'limited'>;
  /** Finishes a request no flush covered yet (the clock, each minute). */
  sweep(target: FlushTarget): Promise<FlushOutcome>;
}
