import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/**
 * Counts what a DynamoDB client sends, through the SDK's own middleware stack (document clients
 * made with `from()` share it): HTTP attempts per operation (retries included) and items written.
 */
export interface RequestCounts {
  /** HTTP attempts by operation name (GetItem, TransactWriteItems, …). */
  readonly attempts: Record<string, number>;
  /** Items written: 1 per PutItem/UpdateItem/DeleteItem, one per item of a TransactWriteItems. */
  writes: number;
  /** Items read: 1 per GetItem, one per item of a TransactGetItems. */
  reads: number;
}

const WRITE_OPERATIONS = new Set(['PutItem', 'UpdateItem', 'DeleteItem']);

export function countRequests(client: DynamoDBClient): { counts: RequestCounts; reset(): void; total(): number } {
  const counts: RequestCounts = { attempts: {}, writes: 0, reads: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = String(context.commandName ?? 'unknown').replace(/Command$/, '');
      const input = args.input as { TransactItems?: unknown[] };
      if (WRITE_OPERATIONS.has(operation)) counts.writes += 1;
      else if (operation === 'TransactWriteItems') counts.writes += input.TransactItems?.length ?? 0;
      else if (operation === 'GetItem') counts.reads += 1;
      else if (operation === 'TransactGetItems') counts.reads += input.TransactItems?.length ?? 0;
      return next(args);
    },
    { step: 'initialize', name: 'tollgateBenchItemCounter', override: true },
  );
  // The retry middleware calls the steps after it once per attempt.
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = String(context.commandName ?? 'unknown').replace(/Command$/, '');
      counts.attempts[operation] = (counts.attempts[operation] ?? 0) + 1;
      return next(args);
    },
    { step: 'deserialize', name: 'tollgateBenchAttemptCounter', override: true },
  );
  return {
    counts,
    reset: () => {
      for (const key of Object.keys(counts.attempts)) delete counts.attempts[key];
      counts.writes = 0;
      counts.reads = 0;
    },
    total: () => Object.values(counts.attempts).reduce((sum, n) => sum + n, 0),
  };
}
