import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/**
 * The mark a strict reservation leaves on its wallet for the sweep of pending reservations
 * (pending-sweep.ts, which says why): the index, its attributes, and the reservation's part of its write.
 */

export const SWEEP_INDEX = 'pendingSweep';
export const SWEEP_SHARD = 'sweepShard';
export const SWEEP_AT = 'sweepAt';
export const RESERVATIONS = 'reservations';
/**
 * Shards of the index's partition key. A mark enters and leaves the index at most once per customer per
 * bound (15 min): 8 shards of ~1,000 index writes a second each hold millions of active customers.
 */
export const SWEEP_SHARDS = 8;
/** The attributes a reservation writes for the sweep (the authorizer's IAM grant names them). */
export const SWEEP_WALLET_ATTRIBUTES = [SWEEP_SHARD, SWEEP_AT, RESERVATIONS] as const;

/** The customer's shard: FNV-1a of its id, so every reservation of a customer names the same one. */
export function sweepShardOf(customerId: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < customerId.length; i += 1) {
    hash ^= customerId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return String(hash % SWEEP_SHARDS);
}

/** The reservation's part of its UpdateItem: the SET and ADD clauses, names and values. */
export function sweepMarkPart(customerId: string, dueSeconds: number): { readonly set: string; readonly add: string; readonly names: Record<string, string>; readonly values: Record<string, AttributeValue> } {
  return {
    set: '#sweepAt = if_not_exists(#sweepAt, :sweepDue), #sweepShard = :sweepShard',
    add: '#reservations :one',
    names: { '#sweepAt': SWEEP_AT, '#sweepShard': SWEEP_SHARD, '#reservations': RESERVATIONS },
    values: {
      ':sweepDue': { N: String(dueSeconds) },
      ':sweepShard': { S: sweepShardOf(customerId) },
      ':one': { N: '1' },
    },
  };
}
