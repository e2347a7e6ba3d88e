import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { decodeCustomerItem } from '../../../lambda/shared/customers/item';
import { LEGACY_INVOICE_ID, withoutLegacy } from '../../../lambda/shared/customers/legacy';
import { upgradeLegacyCustomers } from '../../../lambda/shared/customers/upgrade';
import { freshTables, type TestTables } from '../../support/dynamodb';

const T = 1_785_000_000;
const wm = (second: number, rank = 3): string => `${String(second).padStart(11, '0')}:${rank}:evt_${second}`;
const KEY = { hash: 'ab'.repeat(32), createdAt: '2026-08-01T00:00:00.000Z' };

/** A 0.1 customer: past_due, its failed invoice, entitlements and a key. */
const legacy = (customerId: string): Record<string, unknown> => ({
  customerId,
  subscriptionId: 'sub_1',
  subscriptionStatus: 'past_due',
  plan: 'pro',
  cancelAtPeriodEnd: false,
  currentPeriodEnd: T + 86_400,
  subscriptionOrder: '01784000000:sub_1',
  wm_sub_1: wm(T - 100, 5),
  pastDueSince: T - 200,
  paymentUrl: 'https://invoice.stripe.com/i/x',
  wm_invoices: wm(T - 200, 1),
  entitlements: ['premium-reports'],
  wm_entitlements: wm(T - 300, 0),
  updatedAt: '2026-07-21T00:00:00.000Z',
  key_abcdEFGH: KEY,
});

let tables: TestTables;
let documents: DynamoDBDocumentClient;
beforeEach(async () => {
  tables = await freshTables('upgrade');
  documents = DynamoDBDocumentClient.from(tables.client);
});
afterEach(() => tables.client.destroy());

const put = (item: Record<string, unknown>): Promise<unknown> => documents.send(new PutCommand({ TableName: tables.names.customers, Item: item }));
const get = async (customerId: string): Promise<Record<string, unknown>> =>
  (await documents.send(new GetCommand({ TableName: tables.names.customers, Key: { customerId }, ConsistentRead: true }))).Item!;
const upgrade = (client: DynamoDBClient = tables.client) => upgradeLegacyCustomers(client, tables.names.customers);

/** Runs `write` once, just before the upgrade's first UpdateItem: a webhook racing the upgrade. */
function racing(write: () => Promise<unknown>): DynamoDBClient {
  let raced = false;
  tables.client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'UpdateItemCommand' && !raced) {
        raced = true;
        await write();
      }
      return next(args);
    },
    { step: 'initialize' },
  );
  return tables.client;
}

describe('upgradeLegacyCustomers', () => {
  it('moves every 0.1 customer to the current layout and leaves the others alone', async () => {
    const current = { customerId: 'cus_Current', subscriptions: { sub_9: { status: 'active', watermark: wm(T) } }, invoices: {}, pastDue: {} };
    const noSubscription = { customerId: 'cus_Deleted', deleted: true, wm_customer: wm(T - 10, 0), key_abcdEFGH: KEY };
    await Promise.all([put(legacy('cus_Legacy')), put(current), put(noSubscription)]);

    expect(await upgrade()).toEqual({ scanned: 3, upgraded: 2, skipped: 0, skippedCustomers: [] });

    const stored = await get('cus_Legacy');
    expect(stored).toEqual({
      customerId: 'cus_Legacy',
      subscriptions: { sub_1: { status: 'past_due', plan: 'pro', cancelAtPeriodEnd: false, currentPeriodEnd: T + 86_400, watermark: wm(T - 100, 5) } },
      invoices: { sub_1: { invoiceId: LEGACY_INVOICE_ID, watermark: wm(T - 200, 1), pastDueSince: T - 200, paymentUrl: 'https://invoice.stripe.com/i/x' } },
      pastDue: { sub_1: T - 200 },
      entitlements: ['premium-reports'],
      entitlementsWatermark: wm(T - 300, 0),
      updatedAt: '2026-07-21T00:00:00.000Z',
      key_abcdEFGH: KEY,
    });
    expect(stored).toEqual(withoutLegacy(legacy('cus_Legacy')));
    expect(await get('cus_Deleted')).toEqual({ customerId: 'cus_Deleted', deleted: true, customerWatermark: wm(T - 10, 0), key_abcdEFGH: KEY });
    expect(await get('cus_Current')).toEqual(current);
  });

  it('changes nothing when run again', async () => {
    await put(legacy('cus_Legacy'));
    await upgrade();
    const once = await get('cus_Legacy');
    expect(await upgrade()).toEqual({ scanned: 1, upgraded: 0, skipped: 0, skippedCustomers: [] });
    expect(await get('cus_Legacy')).toEqual(once);
  });

  it('skips and reports a customer a 0.1 webhook changes meanwhile, writing nothing, and upgrades it on the next run', async () => {
    await put(legacy('cus_Raced'));
    const changed = { ...legacy('cus_Raced'), subscriptionStatus: 'active', wm_sub_1: wm(T, 3) };
    const client = racing(() => put(changed));

    expect(await upgrade(client)).toEqual({
      scanned: 1,
      upgraded: 0,
      skipped: 1,
      skippedCustomers: [{ customerId: 'cus_Raced', reason: 'customer cus_Raced changed while it was upgraded: run the upgrade again' }],
    });
    expect(await get('cus_Raced')).toEqual(changed);

    expect((await upgrade()).upgraded).toBe(1);
    expect(decodeCustomerItem(await get('cus_Raced')).subscriptions.sub_1).toMatchObject({ status: 'active', watermark: wm(T, 3) });
  });

  it('keeps what the current webhook writes meanwhile: the newer entry wins', async () => {
    await put({ ...legacy('cus_Raced'), subscriptions: {}, invoices: {}, pastDue: {} });
    const newer = { status: 'active', plan: 'pro', watermark: wm(T + 10, 3) };
    const client = racing(() =>
      documents.send(
        new UpdateCommand({
          TableName: tables.names.customers,
          Key: { customerId: 'cus_Raced' },
          UpdateExpression: 'SET subscriptions.sub_1 = :entry',
          ExpressionAttributeValues: { ':entry': newer },
        }),
      ),
    );

    expect((await upgrade(client)).upgraded).toBe(1);
    const stored = await get('cus_Raced');
    expect(stored.subscriptions).toEqual({ sub_1: newer });
    expect(Object.keys(stored).filter((name) => name.startsWith('wm_') || name === 'subscriptionStatus')).toEqual([]);
    expect(decodeCustomerItem(stored).subscriptions).toEqual({ sub_1: newer });
  });

  it('skips and reports a malformed 0.1 customer, upgrading the others', async () => {
    await Promise.all([put({ ...legacy('cus_Broken'), currentPeriodEnd: 'soon' }), put(legacy('cus_Fine'))]);
    const report = await upgrade();
    expect(report).toMatchObject({ scanned: 2, upgraded: 1, skipped: 1 });
    expect(report.skippedCustomers).toEqual([
      { customerId: 'cus_Broken', reason: 'customer cus_Broken: 0.1 attribute currentPeriodEnd is not a number: fix or remove it in the customers table' },
    ]);
    expect((await get('cus_Broken')).currentPeriodEnd).toBe('soon');
  });
});
