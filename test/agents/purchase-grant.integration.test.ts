import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { grantPurchasedCredits, purchaseGrantId } from '../../lambda/purchase/claims';
import { LEGACY_GRANT_ID, MAX_GRANTS } from '../../lambda/shared/credit-grants';
import { grantCredits } from '../../lambda/shared/customers/metered-usage';
import { readWallet, walletBalanceItem } from '../../lambda/shared/customers/wallet';
import { freshTables, setCustomerAttributes, type TestTables } from '../support/dynamodb';

// An agent's purchase of credits is a paid grant on the wallet, as a Checkout purchase's is (docs/agents.md):
// named by its claim, expiring with the pack's lifetime, once per claim, and never lost to a wallet moved meanwhile.

const NOW = new Date('2026-12-07T12:00:00Z');
const T = NOW.getTime() / 1000;
const DAY = 86_400;

let tables: TestTables;
beforeAll(async () => {
  tables = await freshTables('purchase-grant');
});
afterAll(() => tables.client.destroy());

const names = () => ({ customers: tables.names.customers, events: tables.names.events });
let seq = 0;
async function customer(attributes: Record<string, unknown> = {}): Promise<string> {
  const customerId = `cus_AgentGrant${++seq}`;
  await setCustomerAttributes(DynamoDBDocumentClient.from(tables.client), tables.names.customers, customerId, { subscriptions: {}, invoices: {}, pastDue: {}, ...attributes });
  return customerId;
}
const buy = (customerId: string, challengeId: string, expiresInSeconds?: number) =>
  grantPurchasedCredits(tables.client, names(), { challengeId, customerId, credits: 100, reason: 'mpp purchase of credits_100', now: NOW, ...(expiresInSeconds === undefined ? {} : { expiresInSeconds }) });

describe("an agent's purchase of credits (DynamoDB Local)", () => {
  it("is a paid grant named by its claim that expires with the pack's lifetime, granted once however often it is redeemed", async () => {
    const customerId = await customer();
    expect(await buy(customerId, 'challengeA', 90 * DAY)).toBe('granted');
    expect(await buy(customerId, 'challengeA', 90 * DAY)).toBe('duplicate');
    const wallet = (await readWallet(tables.client, tables.names.customers, customerId))!;
    expect(wallet.balance).toBe(100);
    expect(wallet.grants).toEqual([{ id: purchaseGrantId('challengeA'), units: 100, left: 100, category: 'paid', priority: 50, grantedAt: T, expiresAt: T + 90 * DAY }]);
  });

  it('keeps units bought before grants as the earlier credits, and a pack without a lifetime never expires', async () => {
    const customerId = await customer();
    await DynamoDBDocumentClient.from(tables.client).send(walletUpdate(customerId, 40));
    expect(await buy(customerId, 'challengeB')).toBe('granted');
    const wallet = (await readWallet(tables.client, tables.names.customers, customerId))!;
    expect(wallet.balance).toBe(140);
    expect(new Map(wallet.grants!.map((g) => [g.id, { left: g.left, expiresAt: g.expiresAt }]))).toEqual(
      new Map([
        [purchaseGrantId('challengeB'), { left: 100, expiresAt: undefined }],
        [LEGACY_GRANT_ID, { left: 40, expiresAt: undefined }],
      ]),
    );
  });

  it('lifts a credits_exhausted block, and grants every purchase of concurrent ones though each moves the wallet the others read', async () => {
    const customerId = await customer({ usageBlock: 'credits_exhausted' });
    const outcomes = await Promise.all(['c1', 'c2', 'c3', 'c4'].map((id) => buy(customerId, id, 30 * DAY)));
    expect(outcomes).toEqual(['granted', 'granted', 'granted', 'granted']);
    const wallet = (await readWallet(tables.client, tables.names.customers, customerId))!;
    expect(wallet.balance).toBe(400);
    expect(wallet.grants!.map((g) => g.id).sort()).toEqual(['c1', 'c2', 'c3', 'c4'].map(purchaseGrantId).sort());
    const { Item } = await DynamoDBDocumentClient.from(tables.client).send(new GetCommand({ TableName: tables.names.customers, Key: { customerId }, ConsistentRead: true }));
    expect(Item!.usageBlock).toBeUndefined();
  });

  it('credits a wallet already full of grants all the same, to the earlier credits', async () => {
    const customerId = await customer();
    for (let i = 0; i < MAX_GRANTS; i += 1) await grantCredits(tables.client, names(), { customerId, units: 1, reason: 'filler', grantId: `filler${i}`, now: NOW });
    expect(await buy(customerId, 'challengeFull', 30 * DAY)).toBe('granted');
    const wallet = (await readWallet(tables.client, tables.names.customers, customerId))!;
    expect(wallet.balance).toBe(MAX_GRANTS + 100);
    expect(wallet.grants!.find((g) => g.id === purchaseGrantId('challengeFull'))).toBeUndefined();
  });
});

/** Units on the wallet's balance alone, as before grants. */
function walletUpdate(customerId: string, units: number) {
  const item = walletBalanceItem(tables.names.customers, customerId, units)!;
  if (!('Update' in item)) throw new Error('expected an update');
  return new UpdateCommand(item.Update);
}
