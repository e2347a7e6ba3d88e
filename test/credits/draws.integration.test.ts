import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoCustomerReader } from '../../lambda/authorizer/customer-store';
import { LEGACY_GRANT_ID, MAX_GRANTS } from '../../lambda/shared/credit-grants';
import { grantCredits } from '../../lambda/shared/customers/metered-usage';
import { fundsOfRecord, newReservationId, settleWallet, walletKey } from '../../lambda/shared/customers/wallet';
import { GrantLimitError } from '../../lambda/shared/customers/wallet-grants';
import { freshTables, type TestTables } from '../support/dynamodb';
import { accessLine, delivery, logEvents, meteringHandler, seedCustomer } from '../metering/support';

/**
 * Grants drawn (#26 item 2) against DynamoDB Local: strict reservations and metering's log-metered
 * draws take units from the wallet's grants in draw order, in their one write; a refund goes back to
 * the grants it came from; an expired grant counts for nothing; the balance from before grants is
 * drawn as a paid grant with no expiry, the oldest.
 */

const NOW = new Date('2026-12-01T12:00:00Z');
const T = NOW.getTime() / 1000;
const KEY_ID = 'Kdraw001';
let tables: TestTables;
let documents: DynamoDBDocumentClient;
let seq = 0;

beforeAll(async () => {
  tables = await freshTables('credit-draws');
  documents = DynamoDBDocumentClient.from(tables.client);
});
afterAll(() => tables.client.destroy());

const names = () => ({ customers: tables.names.customers, events: tables.names.events });

async function customer(credits?: number): Promise<string> {
  const customerId = `cus_Draw${++seq}`;
  await seedCustomer(tables, customerId, credits === undefined ? {} : { credits });
  return customerId;
}

const grant = (customerId: string, grantId: string, units: number, extra: { category?: 'paid' | 'promotional'; priority?: number; expiresAt?: number } = {}, now = NOW) =>
  // Grant ids are the ledger's, across customers: each test customer's own.
  grantCredits(tables.client, names(), { customerId, grantId: `${customerId}.${grantId}`, units, reason: 'test', now, ...extra });

const walletItem = async (customerId: string): Promise<Record<string, unknown>> =>
  (await documents.send(new GetCommand({ TableName: tables.names.customers, Key: { customerId: walletKey(customerId) }, ConsistentRead: true }))).Item ?? {};

/** What each grant has left, and the stored balance. */
async function lefts(customerId: string): Promise<{ balance: number; left: Record<string, number> }> {
  const item = await walletItem(customerId);
  const grants = (item.grants ?? {}) as Record<string, { left: number }>;
  return { balance: item.balance as number, left: Object.fromEntries(Object.entries(grants).map(([id, g]) => [id.replace(`${customerId}.`, ''), g.left])) };
}

/** A strict call's reservation as the authorizer makes it: one read of the customer and its wallet, then the write. */
async function reserve(customerId: string, cost: number, now = NOW) {
  const reader = new DynamoCustomerReader(tables.client, tables.names.customers, { deadlineMs: 120_000 });
  const record = (await reader.read(customerId, KEY_ID, { wallet: true }))!;
  const reservation = newReservationId();
  const result = await reader.reserve({ customerId, reservation, cost, now, funds: fundsOfRecord(record) });
  return { reservation, result };
}

describe('strict reservations draw from the grants in order', () => {
  it('promotional first, then by priority, then soonest expiry, then the balance from before grants (paid, no expiry, oldest), then later paid grants; each in the one write', async () => {
    const customerId = await customer(5);
    await grant(customerId, 'paid-late', 10);
    await grant(customerId, 'paid-soon', 10, { expiresAt: T + 86_400 });
    await grant(customerId, 'promo', 4, { category: 'promotional', expiresAt: T + 3_600 });
    await grant(customerId, 'paid-first', 3, { priority: 10 });
    // The balance from before grants became the legacy entry when the first grant created the map.
    expect(await lefts(customerId)).toEqual({ balance: 32, left: { [LEGACY_GRANT_ID]: 5, 'paid-late': 10, 'paid-soon': 10, promo: 4, 'paid-first': 3 } });

    expect((await reserve(customerId, 6)).result).toEqual({ reserved: true, balance: 26 });
    expect(await lefts(customerId)).toEqual({ balance: 26, left: { [LEGACY_GRANT_ID]: 5, 'paid-late': 10, 'paid-soon': 10, promo: 0, 'paid-first': 1 } });
    const second = await reserve(customerId, 12);
    expect(second.result).toEqual({ reserved: true, balance: 14 });
    expect(await lefts(customerId)).toEqual({ balance: 14, left: { [LEGACY_GRANT_ID]: 4, 'paid-late': 10, 'paid-soon': 0, promo: 0, 'paid-first': 0 } });
    // The pending entry records where the units came from.
    expect((await walletItem(customerId))[`p_${second.reservation}`]).toEqual([12, T, { [`${customerId}.paid-first`]: 1, [`${customerId}.paid-soon`]: 10, [LEGACY_GRANT_ID]: 1 }]);
    expect((await reserve(customerId, 7)).result).toEqual({ reserved: true, balance: 7 });
    expect(await lefts(customerId)).toEqual({ balance: 7, left: { [LEGACY_GRANT_ID]: 0, 'paid-late': 7, 'paid-soon': 0, promo: 0, 'paid-first': 0 } });

    // The call failed: its 12 units go back to the grants they came from, once.
    const refund = { customerId, kept: [], refunds: new Map([[second.reservation, 12]]) };
    expect(await settleWallet(tables.client, tables.names.customers, refund)).toMatchObject({ refunded: 1 });
    expect(await settleWallet(tables.client, tables.names.customers, refund)).toMatchObject({ refunded: 0, settledBefore: 1 });
    expect(await lefts(customerId)).toEqual({ balance: 19, left: { [LEGACY_GRANT_ID]: 1, 'paid-late': 7, 'paid-soon': 10, promo: 0, 'paid-first': 1 } });
    // And they are drawn again in order: the refunded grants come before the later paid one.
    expect((await reserve(customerId, 2)).result).toEqual({ reserved: true, balance: 17 });
    expect(await lefts(customerId)).toEqual({ balance: 17, left: { [LEGACY_GRANT_ID]: 1, 'paid-late': 7, 'paid-soon': 9, promo: 0, 'paid-first': 0 } });
  });

  it('an expired grant counts for nothing: not drawn, not spendable, and a cost only it would cover is refused without a write', async () => {
    const customerId = await customer();
    await grant(customerId, 'promo', 10, { category: 'promotional', expiresAt: T + 60 });
    await grant(customerId, 'paid', 3);
    const later = new Date(NOW.getTime() + 61_000);
    expect((await reserve(customerId, 5, later)).result).toEqual({ reserved: false, balance: 3, budget: {} });
    expect(Object.keys(await walletItem(customerId)).filter((k) => k.startsWith('p_'))).toEqual([]);
    expect((await reserve(customerId, 2, later)).result).toEqual({ reserved: true, balance: 1 });
    // The expired units stay stored (the balance counts them) until a grant write prunes the grant.
    expect(await lefts(customerId)).toEqual({ balance: 11, left: { promo: 10, paid: 1 } });
    await grant(customerId, 'next', 4, {}, later);
    expect(await lefts(customerId)).toEqual({ balance: 5, left: { paid: 1, next: 4 } });
  });

  it('concurrent reservations across grants never take a grant below zero and take the units in order', async () => {
    const customerId = await customer();
    await grant(customerId, 'promo', 7, { category: 'promotional' });
    await grant(customerId, 'paid', 7);
    const results = await Promise.all(Array.from({ length: 8 }, () => reserve(customerId, 2)));
    expect(results.filter((r) => r.result.reserved)).toHaveLength(7);
    expect(await lefts(customerId)).toEqual({ balance: 0, left: { promo: 0, paid: 0 } });
  });

  it('refuses a grant past the most a wallet holds, after pruning the used-up ones', async () => {
    const customerId = await customer();
    for (let i = 0; i < MAX_GRANTS; i += 1) await grant(customerId, `g${i}`, 1);
    await expect(grant(customerId, 'one-more', 1)).rejects.toThrow(GrantLimitError);
    await expect(grant(customerId, 'one-more', 1)).rejects.toThrow(`the wallet of ${customerId} holds ${MAX_GRANTS} grants with units left or to give back, the most it holds is ${MAX_GRANTS}`);
    const used = await reserve(customerId, 1);
    // Used up, but its reservation may still give back: kept.
    await expect(grant(customerId, 'one-more', 1)).rejects.toThrow(GrantLimitError);
    await settleWallet(tables.client, tables.names.customers, { customerId, kept: [used.reservation], refunds: new Map() });
    expect(await grant(customerId, 'one-more', 1)).toBe('granted');
    expect(Object.keys((await walletItem(customerId)).grants as object)).toHaveLength(MAX_GRANTS);
  });
});

describe('metering draws from the grants in order', () => {
  it('takes log-metered units promotional first, once per batch however often it is delivered', async () => {
    const customerId = await customer(2);
    await grant(customerId, 'paid', 5);
    await grant(customerId, 'promo', 3, { category: 'promotional' });
    const { handler } = meteringHandler(tables, { now: () => NOW });
    const batch = delivery(logEvents(Array.from({ length: 4 }, () => accessLine({ customerId }))));
    expect(await handler(batch)).toMatchObject({ applied: 1 });
    expect(await handler(batch)).toMatchObject({ duplicates: 1 });
    expect(await lefts(customerId)).toEqual({ balance: 6, left: { promo: 0, [LEGACY_GRANT_ID]: 1, paid: 5 } });
    // More than is left: every grant down to zero, the rest counted as overshoot, never below zero.
    expect(await handler(delivery(logEvents(Array.from({ length: 9 }, () => accessLine({ customerId })))))).toMatchObject({ applied: 1 });
    expect(await lefts(customerId)).toEqual({ balance: 0, left: { promo: 0, [LEGACY_GRANT_ID]: 0, paid: 0 } });
  });
});
