import { TransactionCanceledException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { EVENT_LEDGER_RETENTION_SECONDS } from '../shared/tables';

/**
 * The usage table (lambda/shared/tables.ts, keys pk and sk):
 *
 *   window#<start>#<shard>  <batch>#<chunk>   a delivery's windowed customers (window.ts encoding)
 *   window#<start>          state             `closed` once the window is being summed (expires with its deliveries)
 *   windows                 watermark         `window`: the newest window summed
 *
 * A delivery's items are written in one transaction with a check that the window is still open, and
 * the summing closes the window before it reads it: a delivery either lands before the close, and is
 * read, or is refused, and is written per customer at once instead. Nothing is counted twice or lost.
 */

export type BufferOutcome = 'buffered' | 'duplicate' | 'closed';

export interface WindowStore {
  buffer(window: number, shard: number, batchId: string, chunks: readonly string[], now: Date): Promise<BufferOutcome>;
  /** Closes the window to new deliveries; idempotent. */
  close(window: number, now: Date): Promise<void>;
  /** Every chunk buffered in the window's shards (strongly consistent: after close, this is all there will be). */
  read(window: number, shards: number): Promise<string[]>;
  watermark(): Promise<number | undefined>;
  /** Records that every window up to `window` is summed (never moves back). */
  advance(window: number): Promise<void>;
}

/** At most this many chunks per delivery: a transaction takes 100 items, one is the window's check. */
export const MAX_CHUNKS = 99;

const statePk = (window: number): string => `window#${window}`;
const bufferPk = (window: number, shard: number): string => `window#${window}#${shard}`;
const WATERMARK = { pk: 'windows', sk: 'watermark' } as const;

export class DynamoWindowStore implements WindowStore {
  private readonly documents: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly table: string,
  ) {
    this.documents = DynamoDBDocumentClient.from(client);
  }

  async buffer(window: number, shard: number, batchId: string, chunks: readonly string[], now: Date): Promise<BufferOutcome> {
    const nowSeconds = Math.floor(now.getTime() / 1000);
    const expiresAt = nowSeconds + EVENT_LEDGER_RETENTION_SECONDS;
    // A window whose state item may have expired (close() keeps it for the retention) is treated as closed:
    // buffered there, its units would never be summed.
    if (chunks.length > MAX_CHUNKS || window + EVENT_LEDGER_RETENTION_SECONDS <= nowSeconds) return 'closed';
    const key = (i: number) => ({ pk: bufferPk(window, shard), sk: `${batchId}#${i}` });
    try {
      await this.documents.send(
        new TransactWriteCommand({
          TransactItems: [
            { ConditionCheck: { TableName: this.table, Key: { pk: statePk(window), sk: 'state' }, ConditionExpression: 'attribute_not_exists(closed)' } },
            ...chunks.map((customers, i) => ({
              Put: { TableName: this.table, Item: { ...key(i), customers, expiresAt }, ConditionExpression: 'attribute_not_exists(pk)' },
            })),
          ],
        }),
      );
      return 'buffered';
    } catch (err) {
      if (!(err instanceof TransactionCanceledException)) throw err;
      const reasons = err.CancellationReasons ?? [];
      if (reasons.slice(1).some((r) => r.Code === 'ConditionalCheckFailed')) return 'duplicate';
      if (reasons[0]?.Code !== 'ConditionalCheckFailed') throw err;
      // Closed: but a delivery buffered before the close is a duplicate, not a late one.
      const { Item } = await this.documents.send(new GetCommand({ TableName: this.table, Key: key(0), ConsistentRead: true }));
      return Item === undefined ? 'closed' : 'duplicate';
    }
  }

  /** Kept as long as the buffered items (one a minute would otherwise pile up, 43,200 a month); buffer() refuses a window older. */
  async close(window: number, now: Date): Promise<void> {
    await this.documents.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: statePk(window), sk: 'state' },
        UpdateExpression: 'SET closed = :t, expiresAt = :e',
        ExpressionAttributeValues: { ':t': true, ':e': Math.floor(now.getTime() / 1000) + EVENT_LEDGER_RETENTION_SECONDS },
      }),
    );
  }

  async read(window: number, shards: number): Promise<string[]> {
    const out: string[] = [];
    for (let shard = 0; shard < shards; shard += 1) {
      let start: Record<string, unknown> | undefined;
      do {
        const page = await this.documents.send(
          new QueryCommand({
            TableName: this.table,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': bufferPk(window, shard) },
            ConsistentRead: true,
            ExclusiveStartKey: start,
          }),
        );
        for (const item of page.Items ?? []) if (typeof item.customers === 'string') out.push(item.customers);
        start = page.LastEvaluatedKey;
      } while (start !== undefined);
    }
    return out;
  }

  async watermark(): Promise<number | undefined> {
    const { Item } = await this.documents.send(new GetCommand({ TableName: this.table, Key: WATERMARK, ConsistentRead: true }));
    return typeof Item?.window === 'number' ? Item.window : undefined;
  }

  async advance(window: number): Promise<void> {
    try {
      await this.documents.send(
        new UpdateCommand({
          TableName: this.table,
          Key: WATERMARK,
          UpdateExpression: 'SET #w = :w',
          ConditionExpression: 'attribute_not_exists(#w) OR #w < :w',
          ExpressionAttributeNames: { '#w': 'window' },
          ExpressionAttributeValues: { ':w': window },
        }),
      );
    } catch (err) {
      // Another run got further: nothing to do.
      if (!(err instanceof Error && err.name === 'ConditionalCheckFailedException')) throw err;
    }
  }
}
