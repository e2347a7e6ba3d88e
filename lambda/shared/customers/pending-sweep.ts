import { QueryCommand, type AttributeValue, type DynamoDBClient, type UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { RESERVATIONS, SWEEP_AT, SWEEP_INDEX, SWEEP_SHARD, SWEEP_SHARDS } from './sweep-mark';
import { decodeWallet, isWalletReservation, numberOf, PENDING_BOUND_SECONDS, readWalletItem, refundsToGrants, rereadOnConflict, walletSettlementUpdate, WALLET_SUFFIX } from './wallet';

/**
 * The sweep of pending reservations nobody settles (#24 item 6). A strict reservation leaves a pending
 * entry on the wallet (wallet.ts); metering removes it when an access-log line names the call, and an
 * entry no line names (the authorizer answered 503 after its write landed, and its own cancel failed
 * too) is given back by the wallet's next settlement past PENDING_BOUND_SECONDS. A customer who never
 * calls again has no next settlement: this sweep is it.
 *
 * Which wallets to visit comes from a sparse global secondary index, so that the clock reads only
 * wallets with something pending, never the table. The reservation's own write (the same UpdateItem, no
 * request added) marks its wallet:
 *
 *   sweepShard  the wallet's shard, fixed per customer (SWEEP_SHARDS of them: the index's partition key,
 *               so that marking spreads over partitions)
 *   sweepAt     epoch s when the wallet is due a visit: set if absent (`if_not_exists`), to the
 *               reservation's time plus the bound and a second, so the first reservation since the
 *               last visit sets it and the rest leave it as it is
 *   reservations  how many reservations the wallet ever recorded: what lets the visit remove the mark
 *               knowing no reservation came after its read
 *
 * Why the marking costs nothing per call: the index is KEYS_ONLY, and DynamoDB writes to an index only
 * when an item enters it, leaves it or changes its key (AWS, DynamoDB developer guide, "Provisioned
 * throughput considerations for global secondary indexes", GSI.html#GSI.Writes); a reservation that
 * finds the mark changes neither key. A wallet enters the index once per visit cycle.
 *
 * A visit (the clock, once a minute, for each wallet whose `sweepAt` has passed) reads the wallet and,
 * in one conditional UpdateItem, gives back every entry older than the bound (to the grants it was
 * drawn from, as metering's refunds do), then either moves `sweepAt` to the oldest remaining entry's
 * due time or, when nothing is left pending and no reservation came since its read (`reservations`
 * unchanged), removes the mark. Each removal is conditional on its
 * entry, as metering's are, so a visit racing metering gives back at most once.
 */

/** What one wallet's visit did. */
export interface WalletVisit {
  /** Entries given back (no line named them within the bound). */
  readonly expired: number;
  /** Units they gave back. */
  readonly units: number;
  /** The mark was removed (nothing left pending), moved to a later time, or left (another visit or a newer mark). */
  readonly mark: 'removed' | 'moved' | 'left';
}

/** At most this many entries per UpdateItem (an expression takes 4 KB), as settlements. */
const MAX_ENTRIES_PER_WRITE = 100;

/**
 * Visits one wallet at `now`: gives back the expired entries and removes or moves its mark, exactly once
 * whatever runs beside it (metering, another visit, new reservations): a condition that fails reads again.
 */
export async function visitWallet(client: DynamoDBClient, table: string, customerId: string, now: Date, attempts = 8): Promise<WalletVisit> {
  const nowSeconds = Math.floor(now.getTime() / 1000);
  const horizon = nowSeconds - PENDING_BOUND_SECONDS;
  // Entries given back by writes that landed before a later one failed (the retry reads them gone).
  let expiredTotal = 0;
  let unitsTotal = 0;
  // Metering settled an entry, a reservation came, or another visit went first: read again.
  return rereadOnConflict(
    () => readWalletItem(client, table, customerId),
    async (item) => {
      const due = numberOf(item?.[SWEEP_AT]);
      if (item === undefined || due === undefined || due > nowSeconds) return { expired: expiredTotal, units: unitsTotal, mark: 'left' as const };
      const wallet = decodeWallet(item)!;
      const pending = [...wallet.pending].filter(([id]) => isWalletReservation(id));
      const expired = pending.filter(([, p]) => p.at < horizon);
      const remaining = pending.filter(([, p]) => p.at >= horizon);
      // Past the first hundred, the extra entries go in their own writes first.
      while (expired.length > MAX_ENTRIES_PER_WRITE) {
        const chunk = expired.splice(0, MAX_ENTRIES_PER_WRITE);
        const units = chunk.reduce((sum, [, p]) => sum + p.units, 0);
        await client.send(walletSettlementUpdate(table, customerId, chunk.map(([id]) => id), units, refundsToGrants(chunk.map(([, p]) => p), wallet.grants)));
        expiredTotal += chunk.length;
        unitsTotal += units;
      }
      const units = expired.reduce((sum, [, p]) => sum + p.units, 0);
      const mark = remaining.length === 0 ? ('removed' as const) : ('moved' as const);
      const toGrants = refundsToGrants(expired.map(([, p]) => p), wallet.grants);
      await client.send(markUpdate(table, customerId, expired.map(([id]) => id), units, toGrants, due, mark === 'removed' ? { reservations: numberOf(item[RESERVATIONS]) } : { nextDue: Math.min(...remaining.map(([, p]) => p.at)) + PENDING_BOUND_SECONDS + 1 }));
      return { expired: expiredTotal + expired.length, units: unitsTotal + units, mark };
    },
    attempts,
  );
}

/** The visit's one write: the expired entries removed and given back, the mark removed or moved, conditional on what the read saw. */
function markUpdate(
  table: string,
  customerId: string,
  entries: readonly string[],
  refund: number,
  toGrants: ReadonlyMap<string, number>,
  due: number,
  next: { readonly reservations: number | undefined } | { readonly nextDue: number },
): UpdateItemCommand {
  const names: Record<string, string> = { '#sweepAt': SWEEP_AT };
  const values: Record<string, AttributeValue> = { ':due': { N: String(due) } };
  const conditions = ['#sweepAt = :due'];
  if ('nextDue' in next) {
    values[':next'] = { N: String(next.nextDue) };
    return walletSettlementUpdate(table, customerId, entries, refund, toGrants, { set: ['#sweepAt = :next'], conditions, names, values });
  }
  names['#sweepShard'] = SWEEP_SHARD;
  names['#reservations'] = RESERVATIONS;
  if (next.reservations === undefined) conditions.push('attribute_not_exists(#reservations)');
  else {
    conditions.push('#reservations = :reservations');
    values[':reservations'] = { N: String(next.reservations) };
  }
  return walletSettlementUpdate(table, customerId, entries, refund, toGrants, { remove: ['#sweepAt', '#sweepShard'], conditions, names, values });
}

/** What one sweep did, over every shard. */
export interface PendingSweep {
  readonly wallets: number;
  readonly expired: number;
  readonly units: number;
  /** Wallets past due were left for the next run (the run's budget ran out). */
  readonly more: boolean;
}

export interface PendingSweepOptions {
  /** Wallets visited per shard per run, at most. @default 1000 */
  readonly perShard?: number;
  /** No visit starts after this many ms (the clock's timeout is 30 s, its flush sweep runs beside). @default 20000 */
  readonly budgetMs?: number;
}

/** Customer ids of one shard's wallets due at `now`, a page at a time. */
async function* dueWallets(client: DynamoDBClient, table: string, shard: string, nowSeconds: number): AsyncGenerator<string> {
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new QueryCommand({
        TableName: table,
        IndexName: SWEEP_INDEX,
        KeyConditionExpression: '#shard = :shard AND #at <= :now',
        ExpressionAttributeNames: { '#shard': SWEEP_SHARD, '#at': SWEEP_AT },
        ExpressionAttributeValues: { ':shard': { S: shard }, ':now': { N: String(nowSeconds) } },
        Limit: 100,
        ...(start === undefined ? {} : { ExclusiveStartKey: start }),
      }),
    );
    for (const item of page.Items ?? []) {
      const key = item.customerId?.S;
      if (key?.endsWith(WALLET_SUFFIX) === true) yield key.slice(0, -WALLET_SUFFIX.length);
    }
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
}

/**
 * Visits every wallet due at `now`, the shards side by side and each shard's wallets one after the other
 * (oldest mark first), up to `perShard` a shard; the index is eventually consistent, so a wallet it
 * lists that a visit already cleared costs a read and changes nothing.
 */
export async function sweepPendingReservations(client: DynamoDBClient, table: string, now: Date, options: PendingSweepOptions = {}): Promise<PendingSweep> {
  const perShard = options.perShard ?? 1000;
  const stopAt = Date.now() + (options.budgetMs ?? 20_000);
  const nowSeconds = Math.floor(now.getTime() / 1000);
  const shards = await Promise.all(
    Array.from({ length: SWEEP_SHARDS }, async (_, shard) => {
      const totals = { wallets: 0, expired: 0, units: 0, more: false };
      for await (const customerId of dueWallets(client, table, String(shard), nowSeconds)) {
        if (totals.wallets >= perShard || Date.now() >= stopAt) {
          totals.more = true;
          break;
        }
        const visit = await visitWallet(client, table, customerId, now);
        totals.wallets += 1;
        totals.expired += visit.expired;
        totals.units += visit.units;
      }
      return totals;
    }),
  );
  return shards.reduce((a, b) => ({ wallets: a.wallets + b.wallets, expired: a.expired + b.expired, units: a.units + b.units, more: a.more || b.more }), { wallets: 0, expired: 0, units: 0, more: false });
}
