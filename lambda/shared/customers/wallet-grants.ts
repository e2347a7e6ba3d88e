import { GRANTS, grantEntry, isLive, LEGACY_GRANT_ID, MAX_GRANTS, newGrant, type CreditGrant } from '../credit-grants';
import { BALANCE, walletBalanceItem, walletKey, type Wallet, type WalletTransactItem } from './wallet';

/**
 * A grant written to the wallet (credit-grants.ts): its entry in the `grants` map and its units on the
 * balance, in one conditional update that a transaction carries with its ledger entry. Planned from the
 * wallet as read; the write requires it unchanged where it relies on it, so a writer that moved it in
 * between makes the caller read again and plan again.
 *
 * - The first grant creates the map, with the balance's units so far as the legacy entry (a paid grant
 *   with no expiry, the oldest): the balance then equals the sum of the entries.
 * - Later grants add their entry and prune entries nothing can draw from or give back to (used up or
 *   expired, named by no pending reservation): an expired entry's units leave the balance with it.
 * - A wallet holds at most MAX_GRANTS entries: past that the grant is refused (GrantLimitError).
 */

export class GrantLimitError extends Error {
  override readonly name = 'GrantLimitError';
}

/** Entries a grant write may remove: nothing left to draw (used up or expired) and no pending reservation to give back to them. */
export function prunableGrants(wallet: Wallet, now: Date): CreditGrant[] {
  const named = new Set([...wallet.pending.values()].flatMap((p) => [...(p.draws?.keys() ?? [])]));
  return (wallet.grants ?? []).filter((g) => !isLive(g, now) && !named.has(g.id));
}

export function grantWalletItem(table: string, customerId: string, wallet: Wallet | undefined, grant: CreditGrant, now: Date): WalletTransactItem {
  const base = { TableName: table, Key: { customerId: walletKey(customerId) } };
  if (wallet?.grants === undefined) {
    const before = wallet?.balance;
    const map: Record<string, unknown> = { [grant.id]: grantEntry(grant) };
    if (before !== undefined && before > 0) {
      map[LEGACY_GRANT_ID] = grantEntry({ id: LEGACY_GRANT_ID, units: before, left: before, category: 'paid', priority: 50, grantedAt: 0 });
    }
    return {
      Update: {
        ...base,
        UpdateExpression: 'SET #g = :map, #b = :balance',
        ConditionExpression: `attribute_not_exists(#g) AND ${before === undefined ? 'attribute_not_exists(#b)' : '#b = :before'}`,
        ExpressionAttributeNames: { '#g': GRANTS, '#b': BALANCE },
        ExpressionAttributeValues: { ':map': map, ':balance': (before ?? 0) + grant.units, ...(before === undefined ? {} : { ':before': before }) },
      },
    };
  }
  const prune = prunableGrants(wallet, now);
  const kept = wallet.grants.length - prune.length;
  if (kept + 1 > MAX_GRANTS) {
    throw new GrantLimitError(`the wallet of ${customerId} holds ${kept} grants with units left or to give back, the most it holds is ${MAX_GRANTS}: grant after some are used up or expire`);
  }
  const names: Record<string, string> = { '#g': GRANTS, '#b': BALANCE, '#new': grant.id };
  const values: Record<string, unknown> = { ':entry': grantEntry(grant), ':size': wallet.grants.length, ':delta': grant.units - prune.reduce((a, g) => a + g.left, 0) };
  const conditions = ['attribute_not_exists(#g.#new)', 'size(#g) = :size'];
  const remove: string[] = [];
  prune.forEach((g, i) => {
    names[`#x${i}`] = g.id;
    names['#left'] = 'left';
    values[`:x${i}`] = g.left;
    conditions.push(`#g.#x${i}.#left = :x${i}`);
    remove.push(`#g.#x${i}`);
  });
  return {
    Update: {
      ...base,
      UpdateExpression: `SET #g.#new = :entry, #b = #b + :delta${remove.length > 0 ? ` REMOVE ${remove.join(', ')}` : ''}`,
      ConditionExpression: conditions.join(' AND '),
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    },
  };
}

/** What a payment bought: `units` paid units, named by the purchase, expiring `expiresInSeconds` after `now` if the pack has a lifetime. */
export interface Purchase {
  /** The grant's id: the purchase's own (a Checkout Session, a PaymentIntent, an agent's claim). */
  readonly id: string;
  readonly units: number;
  readonly now: Date;
  readonly expiresInSeconds?: number;
}

/**
 * A purchase's paid grant on the wallet as read (the webhook's packs and top-ups, the agents' purchase
 * route). A wallet full of grants is credited all the same, to the legacy entry (no expiry): a payment
 * is never refused for want of room.
 */
export function purchasedGrantItem(table: string, customerId: string, wallet: Wallet | undefined, purchase: Purchase): WalletTransactItem {
  const at = Math.floor(purchase.now.getTime() / 1000);
  const grant = newGrant({ id: purchase.id, units: purchase.units, now: purchase.now, ...(purchase.expiresInSeconds === undefined ? {} : { expiresAt: at + purchase.expiresInSeconds }) });
  try {
    return grantWalletItem(table, customerId, wallet, grant, purchase.now);
  } catch (err) {
    if (err instanceof GrantLimitError) return walletBalanceItem(table, customerId, purchase.units)!;
    throw err;
  }
}
