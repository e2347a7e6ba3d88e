import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { WEBHOOK_ACTIONS } from '../../lib/tollgate-stack';
import { buildStripeEvent, stripeId } from '../../lib/stripe-events';
import { freshTables, recordDynamoActions, type TestTables } from '../support/dynamodb';
import { signedDelivery, webhookFor } from './support';

let tables: TestTables;
beforeAll(async () => {
  tables = await freshTables('webhook-grants');
});
afterAll(() => tables.client.destroy());

describe('webhook grants', () => {
  it('parks, re-parks and supersedes a parked event with only the actions the stack grants, on the tables it grants them', async () => {
    const calls = recordDynamoActions(tables);
    const customer = stripeId('cus');
    const { handler } = webhookFor(tables);
    const set = (expression: string) =>
      tables.client.send(new UpdateItemCommand({ TableName: tables.names.customers, Key: { customerId: { S: customer } }, UpdateExpression: expression, ...(expression.startsWith('SET') ? { ExpressionAttributeValues: { ':bad': { S: 'x' } } } : {}) }));
    await set('SET subscriptions = :bad');
    const delivery = signedDelivery(buildStripeEvent('customer.subscription.created', { customer, created: Math.floor(Date.now() / 1000) - 60 }));
    calls.length = 0;
    expect(JSON.parse((await handler(delivery)).body).outcome).toBe('parked');
    expect(JSON.parse((await handler(delivery)).body).outcome).toBe('parked');
    const parkingCalls = [...calls];
    await set('REMOVE subscriptions');
    calls.length = 0;
    expect(JSON.parse((await handler(delivery)).body).outcome).toBe('applied');

    expect(parkingCalls).toContain('events dynamodb:PutItem');
    for (const call of [...parkingCalls, ...calls]) {
      const [table, action] = call.split(' ') as ['customers' | 'events', string];
      expect(WEBHOOK_ACTIONS[table] as readonly string[]).toContain(action);
    }
  });
});
