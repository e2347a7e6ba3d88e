import { METERING_WRITE_ATTRIBUTES } from '../../lambda/shared/customers/item';
import { freshTables, type TestTables } from '../support/dynamodb';
import { attributesOf } from '../support/expressions';
import { accessLine, delivery, logEvents, meteringHandler, PERIOD_1, PERIOD_2, seedCustomer } from './support';

/**
 * The stack lets metering write only METERING_WRITE_ATTRIBUTES of a customer (IAM `dynamodb:Attributes`,
 * test/stack/metering.test.ts). Here every customers-table write metering really sends, over the paths that
 * write differently (a count within a period, a new period, a draw on credits, a check that changes
 * nothing, a refund of a strict reservation), names no other attribute: else IAM would refuse it in AWS.
 */

let tables: TestTables;
const named: string[][] = [];

beforeAll(async () => {
  tables = await freshTables('metering-write-attributes');
  tables.client.middlewareStack.add(
    (next) => (args) => {
      type Write = { TableName: string; Key?: Record<string, unknown>; UpdateExpression?: string; ConditionExpression?: string; ExpressionAttributeNames?: Record<string, string> };
      const input = args.input as { TransactItems?: Array<Record<string, Write>> } & Write;
      const writes = input.TransactItems?.flatMap((item) => Object.values(item)) ?? (input.UpdateExpression === undefined ? [] : [input]);
      for (const write of writes) {
        if (write.TableName !== tables.names.customers) continue;
        named.push([...Object.keys(write.Key ?? {}), ...attributesOf(write.UpdateExpression, write.ExpressionAttributeNames), ...attributesOf(write.ConditionExpression, write.ExpressionAttributeNames)]);
      }
      return next(args);
    },
    { step: 'initialize', name: 'recordCustomerWrites' },
  );
});
afterAll(() => tables.client.destroy());

it('reads the attributes out of an expression the way IAM sees them', () => {
  expect(attributesOf('SET usagePeriodEnd = :pe, periodUsed = :used ADD credits :c')).toEqual(['usagePeriodEnd', 'periodUsed', 'credits']);
  expect(attributesOf('attribute_exists(customerId) AND (attribute_not_exists(#p) OR subscriptions.#s.plan = :x)', { '#p': 'periodUsed' })).toEqual(['customerId', 'periodUsed', 'subscriptions']);
});

it('names only the usage attributes and the key in every customer write it sends', async () => {
  await seedCustomer(tables, 'cus_attr1', { plan: 'sample_metered', periodEnd: PERIOD_1, credits: 3 });
  await seedCustomer(tables, 'cus_attr2', { credits: 0 });
  await seedCustomer(tables, 'cus_attr3', { credits: 10 });
  const { handler } = meteringHandler(tables);
  named.length = 0;
  // Within the period, past the quota into credits, then a new period.
  await handler(delivery(logEvents(Array.from({ length: 22 }, () => accessLine({ customerId: 'cus_attr1', periodEnd: PERIOD_1 })))));
  await handler(delivery(logEvents([accessLine({ customerId: 'cus_attr1', periodEnd: PERIOD_2 })]), 'stream-b'));
  // A draw on no credits changes nothing but relies on the balance; a failed strict call gets its units back.
  await handler(delivery(logEvents([accessLine({ customerId: 'cus_attr2' })]), 'stream-c'));
  await handler(delivery(logEvents([accessLine({ customerId: 'cus_attr3', method: 'POST', path: '/v1/render', status: 500, reserved: 5, reservation: 'r_attr1' })]), 'stream-d'));
  expect(named.length).toBeGreaterThanOrEqual(4);
  const all = new Set(named.flat());
  // The balance is the wallet's (lambda/shared/customers/wallet.ts); the customer item's credits attribute is never written.
  expect([...all].sort()).toEqual(expect.arrayContaining(['balance', 'customerId', 'periodUsed', 'usagePeriodEnd']));
  expect(all.has('credits')).toBe(false);
  const granted = (attribute: string): boolean => METERING_WRITE_ATTRIBUTES.some((p) => (p.endsWith('*') ? attribute.startsWith(p.slice(0, -1)) : attribute === p));
  for (const attributes of named) for (const attribute of attributes) expect({ attribute, granted: granted(attribute) }).toEqual({ attribute, granted: true });
});
