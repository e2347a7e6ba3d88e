import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/**
 * Counts what a DynamoDB client sends, through the SDK's own middleware stack (document clients
 * made with `from()` share it): commands and HTTP attempts per operation, items written and read. The
 * bench and the tests count with this one counter; a new counter on a client replaces the one before
 * it. Constant memory: a long bench run counts without growing the heap it may be measuring.
 */
export interface RequestCounts {
  /** HTTP attempts by operation name (GetItem, TransactWriteItems, …), retries included. */
  readonly attempts: Record<string, number>;
  /** Commands by operation name, once each whatever its retries (a retried read is still one read). */
  readonly commands: Record<string, number>;
  /** Items written: 1 per PutItem/UpdateItem/DeleteItem, one per item of a TransactWriteItems. */
  writes: number;
  /** Items read: 1 per GetItem, one per item of a TransactGetItems. */
  reads: number;
}

export interface RequestCounter {
  readonly counts: RequestCounts;
  /** Starts every count again from zero. */
  reset(): void;
  /** HTTP attempts, retries included. */
  total(): number;
  /** Commands, whatever their retries. */
  commands(): number;
}

const WRITE_OPERATIONS = new Set(['PutItem', 'UpdateItem', 'DeleteItem']);

const operationOf = (context: { commandName?: string }): string => String(context.commandName ?? 'unknown').replace(/Command$/, '');

export function countRequests(client: DynamoDBClient): RequestCounter {
  const counts: RequestCounts = { attempts: {}, commands: {}, writes: 0, reads: 0 };
  const sum = (byOperation: Record<string, number>): number => Object.values(byOperation).reduce((total, n) => total + n, 0);
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = operationOf(context);
      const input = args.input as { TransactItems?: unknown[] };
      counts.commands[operation] = (counts.commands[operation] ?? 0) + 1;
      if (WRITE_OPERATIONS.has(operation)) counts.writes += 1;
      else if (operation === 'TransactWriteItems') counts.writes += input.TransactItems?.length ?? 0;
      else if (operation === 'GetItem') counts.reads += 1;
      else if (operation === 'TransactGetItems') counts.reads += input.TransactItems?.length ?? 0;
      return next(args);
    },
    { step: 'initialize', name: 'tollgateItemCounter', override: true },
  );
  // The retry middleware calls the steps after it once per attempt.
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = operationOf(context);
      counts.attempts[operation] = (counts.attempts[operation] ?? 0) + 1;
      return next(args);
    },
    { step: 'deserialize', name: 'tollgateAttemptCounter', override: true },
  );
  return {
    counts,
    reset: () => {
      for (const byOperation of [counts.attempts, counts.commands]) for (const key of Object.keys(byOperation)) delete byOperation[key];
      counts.writes = 0;
      counts.reads = 0;
    },
    total: () => sum(counts.attempts),
    commands: () => sum(counts.commands),
  };
}
