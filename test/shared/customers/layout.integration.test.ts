import { ConditionalCheckFailedException, ScanCommand, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { countRun, LAYOUT_KEY, LAYOUT_VERSION, migrateLayout, moveCreditsToWallet, readLayout } from '../../../lambda/shared/customers/layout';
import { readCustomer } from '../../../lambda/shared/customers/store';
import { newReservationId, reserveInWallet, walletKey } from '../../../lambda/shared/customers/wallet';
import { makeMigrateHandler, type CustomResourceResponse } from '../../../lambda/migrate/handler';
import { freshTables, type TestTables } from '../../support/dynamodb';

/**
 * The customers table's layout migration (lambda/shared/customers/layout.ts) on DynamoDB Local: a table
 * in layout 1 (the balance on the customer item's `credits`) moves to layout 2 (the wallet item) with
 * every customer's balance preserved, while the previous functions keep reserving and granting; a
 * second run changes nothing; a run stopped by its budget resumes where it stopped.
 */

let seq = 0;
const NOW = new Date('2026-12-01T12:00:00Z');

async function tablesWith(label: string): Promise<{ tables: TestTables; documents: DynamoDBDocumentClient }> {
  const tables = await freshTables(label);
  return { tables, documents: DynamoDBDocumentClient.from(tables.client) };
}

/** A customer as layout 1 left it: `credits` on the item, and a wallet with a balance already when `wallet` is given. */
async function legacyCustomer(t: { tables: TestTables; documents: DynamoDBDocumentClient }, credits: number | undefined, wallet?: number): Promise<string> {
  const customerId = `cus_Lay${++seq}x${Math.random().toString(36).slice(2, 8)}`;
  const table = t.tables.names.customers;
  await t.documents.send(new PutCommand({ TableName: table, Item: { customerId, subscriptions: {}, invoices: {}, pastDue: {}, ...(credits === undefined ? {} : { credits }) } }));
  if (wallet !== undefined) await t.documents.send(new PutCommand({ TableName: table, Item: { customerId: walletKey(customerId), balance: wallet } }));
  return customerId;
}

const itemOf = async (t: { tables: TestTables; documents: DynamoDBDocumentClient }, customerId: string): Promise<Record<string, unknown> | undefined> =>
  (await t.documents.send(new GetCommand({ TableName: t.tables.names.customers, Key: { customerId }, ConsistentRead: true }))).Item;

/** Every item of the table, sorted by key: what a run changed. */
async function snapshot(t: { tables: TestTables }): Promise<Array<Record<string, AttributeValue>>> {
  const items: Array<Record<string, AttributeValue>> = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await t.tables.client.send(new ScanCommand({ TableName: t.tables.names.customers, ConsistentRead: true, ...(start === undefined ? {} : { ExclusiveStartKey: start }) }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return items.sort((a, b) => a.customerId!.S!.localeCompare(b.customerId!.S!));
}

/** The balance as layout 1's functions saw it: the wallet's once written, else the item's `credits`. */
async function layout1Balance(t: { tables: TestTables; documents: DynamoDBDocumentClient }, customerId: string): Promise<number | undefined> {
  const wallet = await itemOf(t, walletKey(customerId));
  return (wallet?.balance ?? (await itemOf(t, customerId))?.credits) as number | undefined;
}

/** A strict reservation as layout 1's authorizer wrote it: the wallet starts from `legacy` (the item's credits it read) on its first write. */
async function layout1Reserve(t: { tables: TestTables }, customerId: string, legacy: number | undefined, cost: number): Promise<boolean> {
  try {
    await t.tables.client.send(
      new UpdateItemCommand({
        TableName: t.tables.names.customers,
        Key: { customerId: { S: walletKey(customerId) } },
        UpdateExpression: 'SET #b = if_not_exists(#b, :legacy) - :cost, #p = :entry',
        ConditionExpression: `attribute_not_exists(#p) AND (${legacy !== undefined && legacy >= cost ? 'attribute_not_exists(#b) OR ' : ''}#b >= :cost)`,
        ExpressionAttributeNames: { '#b': 'balance', '#p': `p_${newReservationId()}` },
        ExpressionAttributeValues: { ':legacy': { N: String(legacy ?? 0) }, ':cost': { N: String(cost) }, ':entry': { L: [{ N: String(cost) }, { N: '1764590400' }] } },
      }),
    );
    return true;
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return false;
    throw err;
  }
}

/** A credits grant as layout 1's webhook wrote it: onto the wallet, starting from the item's credits it read. */
async function layout1Grant(t: { tables: TestTables }, customerId: string, legacy: number | undefined, units: number): Promise<void> {
  await t.tables.client.send(
    new UpdateItemCommand({
      TableName: t.tables.names.customers,
      Key: { customerId: { S: walletKey(customerId) } },
      UpdateExpression: 'SET #b = if_not_exists(#b, :legacy) + :delta',
      ExpressionAttributeNames: { '#b': 'balance' },
      ExpressionAttributeValues: { ':legacy': { N: String(legacy ?? 0) }, ':delta': { N: String(units) } },
    }),
  );
}

describe('layout migration: 1 → 2, the balance onto the wallet', () => {
  let t: { tables: TestTables; documents: DynamoDBDocumentClient };
  beforeAll(async () => {
    t = await tablesWith('layout');
  });
  afterAll(() => t.tables.client.destroy());

  it('moves every balance with totals preserved, leaves no credits attribute, records the version; a second run changes nothing', async () => {
    const plain = await Promise.all([12, 0, 1, 250, 7].map((credits) => legacyCustomer(t, credits)));
    // A wallet already written by layout 1's functions: it superseded the item's credits (stale here: 40).
    const superseded = await legacyCustomer(t, 40, 15);
    const none = await legacyCustomer(t, undefined);
    const walletOnly = await legacyCustomer(t, undefined, 9);
    const everyone = [...plain, superseded, none, walletOnly];
    const before = await Promise.all(everyone.map((id) => layout1Balance(t, id)));
    expect(before).toEqual([12, 0, 1, 250, 7, 15, undefined, 9]);

    const first = await migrateLayout(t.tables.client, t.tables.names.customers, { pageSize: 3 });
    expect(first).toMatchObject({ done: true, from: 1, migrated: 6 });

    const after = await Promise.all(everyone.map(async (id) => (await readCustomer(t.tables.client, t.tables.names.customers, id))?.credits));
    expect(after).toEqual(before);
    for (const id of everyone) expect(await itemOf(t, id)).not.toHaveProperty('credits');
    expect(await itemOf(t, walletKey(none))).toBeUndefined();
    expect(await readLayout(t.tables.client, t.tables.names.customers)).toEqual({ version: LAYOUT_VERSION });

    const items = await snapshot(t);
    const second = await migrateLayout(t.tables.client, t.tables.names.customers, { pageSize: 3 });
    expect(second).toEqual({ done: true, from: LAYOUT_VERSION, migrated: 0, pages: 0 });
    expect(await snapshot(t)).toEqual(items);
  });
});

describe('layout migration while layout 1 keeps serving', () => {
  it('loses no unit when reservations and grants land during the move', async () => {
    const t = await tablesWith('layout-race');
    const customers = await Promise.all(Array.from({ length: 10 }, () => legacyCustomer(t, 50)));
    // Per customer, one after another: 24 reservations of 1 and a grant of 5 every 8th call, by layout 1's
    // functions (each reads the item's credits first), racing the migration's pages.
    const reserved = new Map<string, number>(customers.map((id) => [id, 0]));
    const traffic = customers.map(async (id) => {
      for (let call = 1; call <= 24; call += 1) {
        const legacy = (await itemOf(t, id))?.credits as number | undefined;
        if (await layout1Reserve(t, id, legacy, 1)) reserved.set(id, reserved.get(id)! + 1);
        if (call % 8 === 0) await layout1Grant(t, id, (await itemOf(t, id))?.credits as number | undefined, 5);
      }
    });
    const [result] = await Promise.all([migrateLayout(t.tables.client, t.tables.names.customers, { pageSize: 2, segments: 3 }), ...traffic]);
    expect(result).toMatchObject({ done: true, migrated: 10 });
    for (const id of customers) {
      expect(await itemOf(t, id)).not.toHaveProperty('credits');
      expect((await readCustomer(t.tables.client, t.tables.names.customers, id))?.credits).toBe(50 + 15 - reserved.get(id)!);
    }
    // Layout 2's authorizer reads and draws the wallet alone.
    const first = customers[0]!;
    const balance = (await readCustomer(t.tables.client, t.tables.names.customers, first))!.credits!;
    expect(await reserveInWallet(t.tables.client, t.tables.names.customers, { customerId: first, reservation: newReservationId(), cost: 2, now: NOW }, { deadlineAt: Date.now() + 5_000 })).toEqual({ reserved: true, balance: balance - 2 });
    t.tables.client.destroy();
  });

  it('reads a credits attribute changed under it again, and moves the new value', async () => {
    const t = await tablesWith('layout-changed');
    const id = await legacyCustomer(t, 20);
    // The scan saw 20; an older writer made it 26 since.
    await t.documents.send(new PutCommand({ TableName: t.tables.names.customers, Item: { customerId: id, subscriptions: {}, invoices: {}, pastDue: {}, credits: 26 } }));
    expect(await moveCreditsToWallet(t.tables.client, t.tables.names.customers, id, 20)).toBe(true);
    expect(await itemOf(t, walletKey(id))).toEqual({ customerId: walletKey(id), balance: 26 });
    expect(await itemOf(t, id)).not.toHaveProperty('credits');
    t.tables.client.destroy();
  });
});

describe('layout migration stopped by its budget', () => {
  it('records its progress per segment and resumes where it stopped, each customer moved once', async () => {
    const t = await tablesWith('layout-resume');
    const customers = await Promise.all(Array.from({ length: 30 }, (_, i) => legacyCustomer(t, i + 1)));
    const first = await migrateLayout(t.tables.client, t.tables.names.customers, { pageSize: 2, segments: 2, pageBudget: 3 });
    expect(first).toMatchObject({ done: false, from: 1, pages: 3 });
    expect(first.migrated).toBeGreaterThan(0);
    expect(first.migrated).toBeLessThanOrEqual(6);
    const state = await readLayout(t.tables.client, t.tables.names.customers);
    expect(state.version).toBe(1);
    expect(state.run?.target).toBe(2);
    expect(state.run?.progress).toHaveLength(2);

    // Interrupted again by shouldStop (the Lambda's time budget), then run to the end.
    let asked = 0;
    const second = await migrateLayout(t.tables.client, t.tables.names.customers, { pageSize: 2, shouldStop: () => ++asked > 4 });
    expect(second.done).toBe(false);
    const rest = await migrateLayout(t.tables.client, t.tables.names.customers, { pageSize: 2 });
    expect(rest.done).toBe(true);
    expect(first.migrated + second.migrated + rest.migrated).toBe(30);
    const balances = await Promise.all(customers.map(async (id) => (await readCustomer(t.tables.client, t.tables.names.customers, id))?.credits));
    expect(balances).toEqual(customers.map((_, i) => i + 1));
    expect((await itemOf(t, LAYOUT_KEY))).toEqual({ customerId: LAYOUT_KEY, version: LAYOUT_VERSION });
    t.tables.client.destroy();
  });
});

describe('the migration function (lambda/migrate) as a custom resource', () => {
  const event = (requestType: 'Create' | 'Update' | 'Delete', requestId: string) =>
    ({
      RequestType: requestType,
      ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:migrate',
      ResponseURL: 'https://cloudformation-custom-resource-response.example/response',
      StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/Tollgate/1',
      RequestId: requestId,
      LogicalResourceId: 'Layout',
      ResourceType: 'Custom::TollgateLayout',
      ResourceProperties: { ServiceToken: 'x', LayoutVersion: LAYOUT_VERSION },
      ...(requestType === 'Create' ? {} : { PhysicalResourceId: 'tollgate-customers-layout', OldResourceProperties: { ServiceToken: 'x', LayoutVersion: 1 } }),
    }) as Parameters<ReturnType<typeof makeMigrateHandler>>[0];

  it('fails a run that reaches its time budget (Lambda retries it), answers SUCCESS once the retry finishes, and FAILED after its last run', async () => {
    const t = await tablesWith('layout-handler');
    await Promise.all(Array.from({ length: 10 }, (_, i) => legacyCustomer(t, i + 1)));
    const answers: CustomResourceResponse[] = [];
    let remaining = 0;
    const handler = makeMigrateHandler({
      dynamodb: t.tables.client,
      table: t.tables.names.customers,
      stopMarginMs: 1_000,
      maxRuns: 3,
      options: { pageSize: 2, segments: 2 },
      log: () => undefined,
      respond: (_url, body) => {
        answers.push(body);
        return Promise.resolve();
      },
    });
    // A run whose time is up after two pages: it stops with its progress recorded and throws for the retry.
    let pages = 0;
    const shortContext = { getRemainingTimeInMillis: () => (++pages > 2 ? 0 : 60_000) };
    await expect(handler(event('Update', 'req-1'), shortContext)).rejects.toThrow(/the retry resumes it/);
    expect(answers).toEqual([]);
    remaining = 60_000;
    await handler(event('Update', 'req-1'), { getRemainingTimeInMillis: () => remaining });
    expect(answers).toEqual([expect.objectContaining({ Status: 'SUCCESS', RequestId: 'req-1', PhysicalResourceId: 'tollgate-customers-layout', Data: { LayoutVersion: String(LAYOUT_VERSION) } })]);
    // A redeploy at the same version: nothing to do, answered at once.
    await handler(event('Update', 'req-2'), { getRemainingTimeInMillis: () => 0 });
    expect(answers[1]).toMatchObject({ Status: 'SUCCESS', RequestId: 'req-2' });
    await handler(event('Delete', 'req-3'), { getRemainingTimeInMillis: () => 0 });
    expect(answers[2]).toMatchObject({ Status: 'SUCCESS', RequestId: 'req-3' });

    // Another table, whose every run runs out of time: the third says so to CloudFormation.
    const u = await tablesWith('layout-handler-out');
    await Promise.all(Array.from({ length: 4 }, (_, i) => legacyCustomer(u, i + 1)));
    const stuck = makeMigrateHandler({ dynamodb: u.tables.client, table: u.tables.names.customers, stopMarginMs: 1_000, maxRuns: 3, log: () => undefined, respond: (_url, body) => (answers.push(body), Promise.resolve()) });
    const noTime = { getRemainingTimeInMillis: () => 0 };
    await expect(stuck(event('Create', 'req-9'), noTime)).rejects.toThrow(/run 1/);
    await expect(stuck(event('Create', 'req-9'), noTime)).rejects.toThrow(/run 2/);
    await stuck(event('Create', 'req-9'), noTime);
    expect(answers.at(-1)).toMatchObject({ Status: 'FAILED', Reason: expect.stringMatching(/did not finish in 3 runs: deploy again/) });
    expect(await countRun(u.tables.client, u.tables.names.customers, 'req-10')).toBe(1);
    t.tables.client.destroy();
    u.tables.client.destroy();
  });
});
