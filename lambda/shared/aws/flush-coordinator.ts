import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AccessFlushes, AuthorizerCacheFlusher, FlushClock, FlushOutcome, FlushTarget, OutboxWrite } from '../ports';

export type { FlushOutcome, OutboxWrite } from '../ports';
import type { FlushSettings } from '../settings';

/**
 * One flusher per stage, whoever asks: the webhook, the portal, the CLI and the clock's sweep all
 * go through this coordinator, which spends the account's API Gateway management budget (10 calls/s,
 * burst 40, shared with every deployment, and not raisable) at most once per `intervalMs` per stage,
 * however many writers, instances and events there are.
 *
 * The outbox is one item per stage in the event ledger table: `requestedAt` (the newest change that
 * needs a flush), `startedAt` (the last flush's start, which spaces flushes), `flushedAt` (the start of
 * the last flush that succeeded: every change strictly before it is covered; a flush that started in
 * the same millisecond as a change may have started before it) and `leaseUntil` (a flush in
 * flight). A writer records its change, then waits until a flush that started after the change has
 * succeeded: one it makes itself when it wins the lease and the interval has passed, or one another
 * writer makes meanwhile. Concurrent writers share one flush, as the per-process coalescing did within
 * an instance, but across every instance and function.
 *
 * A writer never fails because of the flush: after `maxWaitMs` (a throttled management API, a lease
 * held by a frozen instance) it returns `deferred`, its request stays in the outbox, and the clock's
 * sweep, every minute, finishes it; a later writer's flush covers it too. A request the sweep finds
 * older than the authorizer's cache TTL needs no flush: every decision cached before it has expired.
 * Every time here is the coordinator's own clock (the writer's change is stamped by it), so that the
 * one comparison that matters, a flush's start against a change, is made on one clock.
 */

export interface FlushCoordinatorOptions {
  readonly client: DynamoDBClient;
  /** The event ledger table, where each stage's outbox item lives. */
  readonly table: string;
  /** The management API's FlushStageAuthorizersCache. */
  readonly flusher: AuthorizerCacheFlusher;
  /** The longest TTL any authorizer of the stage caches a decision for. */
  readonly cacheTtlSeconds: number;
  /** Least time between the starts of two flushes of a stage: 1 s spends at most a tenth of the budget. @default 1000 */
  readonly intervalMs?: number;
  /** How long a writer waits for its flush before leaving it to the sweep. @default 5000 */
  readonly maxWaitMs?: number;
  /** How long a flush may hold the stage before another writer may take over (longer than a flush call). @default 10000 */
  readonly leaseMs?: number;
  /** How often a waiting writer looks at the outbox again. @default 100 */
  readonly pollMs?: number;
  /** A flush that failed (throttled or not), for the function's log and metrics. */
  readonly onFailure?: (target: FlushTarget, err: unknown) => void;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default a timer */
  readonly sleep?: (ms: number) => Promise<void>;
}

interface Outbox {
  readonly requestedAt?: number;
  readonly startedAt?: number;
  readonly flushedAt?: number;
  readonly leaseUntil?: number;
}

/** The ledger's key prefixes of the outbox and of the limits (never a Stripe event id: those start with `evt_`). */
export const OUTBOX_ITEM_PREFIX = 'flush#';
export const FLUSH_LIMIT_ITEM_PREFIX = 'flush-limit#';

/** The outbox item's key in the event ledger. */
export const outboxKey = (target: FlushTarget): string => `${OUTBOX_ITEM_PREFIX}${target.restApiId}#${target.stage}`;

const numberOr = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);

export class FlushCoordinator implements AccessFlushes {
  private readonly doc: DynamoDBDocumentClient;
  private readonly intervalMs: number;
  private readonly maxWaitMs: number;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: FlushCoordinatorOptions) {
    this.doc = DynamoDBDocumentClient.from(options.client);
    this.intervalMs = options.intervalMs ?? 1000;
    this.maxWaitMs = options.maxWaitMs ?? 5000;
    this.leaseMs = options.leaseMs ?? 10_000;
    this.pollMs = options.pollMs ?? 100;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /**
   * The outbox write, for the writer's own transaction: the request is then recorded exactly when the
   * change is. Unconditional (a transaction cannot skip one item); a writer whose request is
   * overwritten by an older one records it again before it leaves it to the sweep.
   */
  outboxWrite(target: FlushTarget): { readonly write: OutboxWrite; readonly changedAt: number } {
    const changedAt = this.now();
    return {
      changedAt,
      write: { TableName: this.options.table, Key: { eventId: outboxKey(target) }, UpdateExpression: 'SET requestedAt = :t', ExpressionAttributeValues: { ':t': changedAt } },
    };
  }

  /** Asks for a flush that starts after now (the caller's change is written). Never throws. */
  async request(target: FlushTarget): Promise<FlushOutcome> {
    const changedAt = this.now();
    try {
      await this.record(target, changedAt);
    } catch (err) {
      this.options.onFailure?.(target, err);
      return 'deferred';
    }
    return this.settle(target, changedAt);
  }

  /**
   * Waits until a flush that started after `changedAt` has succeeded, making it when it is this
   * writer's turn; the request must be in the outbox already (`outboxWrite` or `request`). Never throws.
   */
  async settle(target: FlushTarget, changedAt: number): Promise<FlushOutcome> {
    try {
      const outcome = await this.flushAfter(target, changedAt);
      // A concurrent writer's older time may have overwritten this one's: the sweep must see it.
      if (outcome === 'deferred') await this.record(target, changedAt);
      return outcome;
    } catch (err) {
      this.options.onFailure?.(target, err);
      return 'deferred';
    }
  }

  async requestLimited(target: FlushTarget, limitKey: string, seconds: number): Promise<FlushOutcome | 'limited'> {
    const now = this.now();
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.options.table,
          Item: { eventId: `${FLUSH_LIMIT_ITEM_PREFIX}${limitKey}`, at: now, expiresAt: Math.ceil(now / 1000) + seconds },
          // DynamoDB deletes expired items late: an expired entry counts as none.
          ConditionExpression: 'attribute_not_exists(eventId) OR expiresAt <= :now',
          ExpressionAttributeValues: { ':now': Math.floor(now / 1000) },
        }),
      );
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return 'limited';
      this.options.onFailure?.(target, err);
      return 'deferred';
    }
    return this.request(target);
  }

  /** The clock's sweep: finishes a request that no flush has covered yet (none: `covered`). */
  async sweep(target: FlushTarget): Promise<FlushOutcome> {
    const { requestedAt, flushedAt } = await this.read(target);
    if (requestedAt === undefined || (flushedAt !== undefined && flushedAt > requestedAt)) return 'covered';
    if (this.now() - requestedAt >= this.options.cacheTtlSeconds * 1000) return 'expired';
    return this.settle(target, requestedAt);
  }

  private record(target: FlushTarget, changedAt: number): Promise<boolean> {
    return this.update(target, 'SET requestedAt = :t', 'attribute_not_exists(requestedAt) OR requestedAt < :t', { ':t': changedAt });
  }

  private async flushAfter(target: FlushTarget, changedAt: number): Promise<FlushOutcome> {
    const deadline = this.now() + this.maxWaitMs;
    for (;;) {
      const outbox = await this.read(target);
      if (outbox.flushedAt !== undefined && outbox.flushedAt > changedAt) return 'covered';
      const t = this.now();
      if (t >= deadline) return 'deferred';
      const leased = outbox.leaseUntil !== undefined && outbox.leaseUntil > t;
      const next = outbox.startedAt === undefined ? t : outbox.startedAt + this.intervalMs;
      if (leased || next > t) {
        await this.sleep(Math.max(1, Math.min(leased ? this.pollMs : next - t, deadline - t)));
        continue;
      }
      if (!(await this.acquire(target, outbox.startedAt, t))) continue;
      try {
        await this.options.flusher.flush(target);
      } catch (err) {
        this.options.onFailure?.(target, err);
        // The next try waits out the interval from this start: the budget refills meanwhile.
        await this.update(target, 'SET leaseUntil = :zero', 'startedAt = :t', { ':t': t, ':zero': 0 });
        continue;
      }
      await this.update(target, 'SET flushedAt = :t, leaseUntil = :zero', 'attribute_not_exists(flushedAt) OR flushedAt < :t', { ':t': t, ':zero': 0 });
      return 'flushed';
    }
  }

  /** Takes the stage's lease for a flush starting at `t`, if nobody started one since `previousStart`. */
  private acquire(target: FlushTarget, previousStart: number | undefined, t: number): Promise<boolean> {
    return this.update(
      target,
      'SET startedAt = :t, leaseUntil = :until',
      `${previousStart === undefined ? 'attribute_not_exists(startedAt)' : 'startedAt = :previous'} AND (attribute_not_exists(leaseUntil) OR leaseUntil <= :t)`,
      { ':t': t, ':until': t + this.leaseMs, ...(previousStart === undefined ? {} : { ':previous': previousStart }) },
    );
  }

  private async read(target: FlushTarget): Promise<Outbox> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.options.table, Key: { eventId: outboxKey(target) }, ConsistentRead: true }));
    return {
      requestedAt: numberOr(Item?.requestedAt),
      startedAt: numberOr(Item?.startedAt),
      flushedAt: numberOr(Item?.flushedAt),
      leaseUntil: numberOr(Item?.leaseUntil),
    };
  }

  /** A conditional update of the outbox item; false when its condition did not hold. */
  private async update(target: FlushTarget, expression: string, condition: string, values: Record<string, number>): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.options.table,
          Key: { eventId: outboxKey(target) },
          UpdateExpression: expression,
          ConditionExpression: condition,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }
}

/** The stage's flusher as a function wires it, from its settings: the API Gateway flusher it spends the budget through. */
export function stageFlushes(
  settings: FlushSettings,
  clients: {
    readonly dynamodb: DynamoDBClient;
    readonly flusher: AuthorizerCacheFlusher;
    readonly onFailure?: FlushCoordinatorOptions['onFailure'];
    /** @default the system clock and timers */
    readonly clock?: FlushClock;
  },
): FlushCoordinator {
  return new FlushCoordinator({
    client: clients.dynamodb,
    table: settings.eventsTable,
    flusher: clients.flusher,
    cacheTtlSeconds: settings.cacheTtlSeconds,
    intervalMs: settings.flushIntervalSeconds * 1000,
    ...(clients.onFailure === undefined ? {} : { onFailure: clients.onFailure }),
    ...(clients.clock === undefined ? {} : { now: clients.clock.now, sleep: clients.clock.sleep }),
  });
}
