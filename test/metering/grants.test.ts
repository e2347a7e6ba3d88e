import { makeDeadLetterHandler } from '../../lambda/metering/dead-letter';
import { DynamoMeteringStore } from '../../lambda/metering/store';
import { METERING_ACTIONS, METERING_DEAD_LETTER_ACTIONS } from '../../lib/metering';
import { freshTables, recordDynamoActions, type TestTables } from '../support/dynamodb';
import { quietObservability } from '../support/observability';
import { accessLine, delivery, logEvents, meteringHandler, PERIOD_1, seedCustomer, startMeterStripe } from './support';

let tables: TestTables;
let calls: string[];
beforeAll(async () => {
  tables = await freshTables('metering-grants');
  await seedCustomer(tables, 'cus_grant1', { plan: 'sample_bill', periodEnd: PERIOD_1, credits: 2 });
  await seedCustomer(tables, 'cus_grant2', { credits: 0 });
  calls = recordDynamoActions(tables);
});
afterAll(() => tables.client.destroy());

describe('metering grants', () => {
  it('meters, reports, refunds, re-delivers and parks with only the actions the stack grants, on the tables it grants them', async () => {
    const stripe = await startMeterStripe(() => 1_700_000_100_000);
    try {
      const { reporter } = stripe;
      const { handler } = meteringHandler(tables, { reporter });
      const batch = delivery(
        logEvents([
          ...Array.from({ length: 13 }, () => accessLine({ customerId: 'cus_grant1', periodEnd: PERIOD_1 })),
          accessLine({ customerId: 'cus_grant2', method: 'POST', path: '/v1/render', status: 500, reserved: 10, reservation: 'r_grant1' }),
          accessLine({ customerId: 'cus_grant2' }),
        ]),
      );
      calls.length = 0;
      expect(await handler(batch)).toMatchObject({ applied: 2 });
      expect(await handler(batch)).toMatchObject({ duplicates: 2 });
      const store = new DynamoMeteringStore(tables.client, { customers: tables.names.customers, events: tables.names.events });
      await store.park({ batchId: 'b1', data: batch.awslogs.data, reason: 'test', parkedAt: new Date(0).toISOString() });
      expect(calls).toEqual(expect.arrayContaining(['customers dynamodb:GetItem', 'customers dynamodb:UpdateItem', 'events dynamodb:PutItem', 'events dynamodb:GetItem', 'events dynamodb:UpdateItem']));
      for (const call of calls) {
        const [table, action] = call.split(' ') as ['customers' | 'events', string];
        expect(METERING_ACTIONS[table] as readonly string[]).toContain(action);
      }
      // A clamped draw over no credits relies on the balance without changing it: a ConditionCheck.
      calls.length = 0;
      await seedCustomer(tables, 'cus_grant3', {});
      await handler(delivery(logEvents([accessLine({ customerId: 'cus_grant3' })])));
      expect(calls).toContain('customers dynamodb:ConditionCheckItem');
    } finally {
      await stripe.close();
    }
  });

  it('parks a dead-lettered batch with a PutItem on the ledger only', async () => {
    const store = new DynamoMeteringStore(tables.client, { customers: tables.names.customers, events: tables.names.events });
    const park = makeDeadLetterHandler({ store, observability: quietObservability() });
    const batch = delivery(logEvents([accessLine({ customerId: 'cus_grant1', periodEnd: PERIOD_1 })]));
    calls.length = 0;
    const record = { requestContext: { condition: 'RetriesExhausted' }, requestPayload: batch, responsePayload: { errorMessage: 'Task timed out after 60.00 seconds' } };
    expect(await park(record)).toMatchObject({ parked: expect.any(String) });
    expect(calls).toEqual(['events dynamodb:PutItem']);
    expect(METERING_DEAD_LETTER_ACTIONS.events).toEqual(['dynamodb:PutItem']);
    await expect(park({ requestContext: {}, requestPayload: { nothing: true } })).rejects.toThrow(/no awslogs.data/);
  });
});
