import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { freshTables, type TestTables } from '../support/dynamodb';
import { accessLine, delivery, logEvents, meteringHandler, seedCustomer } from '../metering/support';
import { walletKey } from '../../lambda/shared/customers/wallet';
import { budgetEntryString } from '../../lambda/shared/budgets';

// Metering spends the log-counted calls from the budgets on the wallet, in its usage transaction: a redelivered or reordered
// batch spends them once, a key's calls spend its own budget, strict calls (paid at decision) do not.

process.env.POWERTOOLS_METRICS_DISABLED = 'true';

const NOW_S = 1_700_000_100;
const DAY_END = Math.ceil(NOW_S / 86_400) * 86_400;
const KEY_A = 'AAAAaaaa';
const KEY_B = 'BBBBbbbb';

let tables: TestTables;
beforeAll(async () => {
  tables = await freshTables('budgets-metering');
});
afterAll(() => tables.client.destroy());

let seq = 0;
async function budgeted(): Promise<string> {
  const customerId = `cus_BudMeter${++seq}`;
  await seedCustomer(tables, customerId, { credits: 10_000 });
  await DynamoDBDocumentClient.from(tables.client).send(
    new UpdateCommand({
      TableName: tables.names.customers,
      Key: { customerId: walletKey(customerId) },
      UpdateExpression: 'SET budget = :b, budget_AAAAaaaa = :ba, budgetLeft = :c, budgetLeft_AAAAaaaa = :a',
      ExpressionAttributeValues: { ':b': budgetEntryString({ limit: 1000, window: 'day', resetsAt: DAY_END }), ':ba': budgetEntryString({ limit: 500, window: 'day', resetsAt: DAY_END }), ':c': 1000, ':a': 500 },
    }),
  );
  return customerId;
}

const left = async (customerId: string): Promise<{ customer: number; keyA: number; keyB: unknown }> => {
  const { Item } = await DynamoDBDocumentClient.from(tables.client).send(new GetCommand({ TableName: tables.names.customers, Key: { customerId: walletKey(customerId) }, ConsistentRead: true }));
  return { customer: Item!.budgetLeft as number, keyA: Item![`budgetLeft_${KEY_A}`] as number, keyB: Item![`budgetLeft_${KEY_B}`] };
};

describe('metering spends budgets once per batch', () => {
  it('takes each counted call from the customer budget and its key budget, strict calls and failures not at all', async () => {
    const customerId = await budgeted();
    const { handler } = meteringHandler(tables);
    const lines = [
      accessLine({ customerId, keyId: KEY_A, path: '/v1/search', headroom: 0 }),
      accessLine({ customerId, keyId: KEY_A, method: 'POST', path: '/v1/reports/{reportId}', headroom: 0 }),
      accessLine({ customerId, keyId: KEY_B, path: '/v1/search', headroom: 0 }),
      accessLine({ customerId, keyId: KEY_A, path: '/v1/search', status: 500, headroom: 0 }),
      accessLine({ customerId, keyId: KEY_A, method: 'POST', path: '/v1/render', reserved: 10, reservation: 'r1', headroom: 0 }),
    ];
    await handler(delivery(logEvents(lines)));
    expect(await left(customerId)).toEqual({ customer: 1000 - 7, keyA: 500 - 6, keyB: undefined });
  });

  it('whatever the duplication and order of the deliveries (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ key: fc.constantFrom(KEY_A, KEY_B), calls: fc.integer({ min: 1, max: 4 }) }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 12 }),
        async (batches, order) => {
          const customerId = await budgeted();
          const { handler } = meteringHandler(tables);
          const deliveries = batches.map((b) => delivery(logEvents(Array.from({ length: b.calls }, () => accessLine({ customerId, keyId: b.key, headroom: 0 })))));
          // Every batch at least once, then the random redeliveries, in a random order.
          const sends = [...deliveries.keys(), ...order.map((n) => n % deliveries.length)].sort((a, b) => ((a * 7919 + order.length) % 13) - ((b * 7919 + order.length) % 13));
          for (const i of sends) await handler(deliveries[i]!);
          const total = batches.reduce((sum, b) => sum + b.calls, 0);
          const keyA = batches.filter((b) => b.key === KEY_A).reduce((sum, b) => sum + b.calls, 0);
          expect(await left(customerId)).toEqual({ customer: 1000 - total, keyA: 500 - keyA, keyB: undefined });
        },
      ),
      { numRuns: 10 },
    );
  });
});
