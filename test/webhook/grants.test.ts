import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { WEBHOOK_ACTIONS } from '../../lib/tollgate-stack';
import { buildStripeEvent, stripeId } from '../../lib/fixtures/stripe-events';
import { freshTables, type TestTables } from '../support/dynamodb';
import { signedDelivery, webhookFor } from './support';

let tables: TestTables;
beforeAll(async () => {
  tables = await freshTables('webhook-grants');
});
afterAll(() => tables.client.destroy());

describe('webhook grants', () => {
  it('parks, re-parks and supersedes a parked event with only the actions the stack grants, on the tables it grants them', async () => {
    const calls: string[] = [];
    tables.client.middlewareStack.add(
      (next, context) => (args) => {
        const input = args.input as { TableName?: string; TransactItems?: Array<Record<string, { TableName: string }>> };
        const label = (table: string | undefined) => (table === tables.names.events ? 'events' : table === tables.names.customers ? 'customers' : String(table));
        // IAM authorizes each item of a transaction by its own action (Put → PutItem, Update → UpdateItem).
        if (input.TransactItems !== undefined) {
          for (const item of input.TransactItems) for (const [kind, op] of Object.entries(item)) calls.push(`${label(op.TableName)} dynamodb:${kind}Item`);
        } else {
          calls.push(`${label(input.TableName)} dynamodb:${String(context.commandName).replace(/Command$/, '')}`);
        }
        return next(args);
      },
      { step: 'initialize', name: 'recordCalls' },
    );
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
