import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import { createTables, localClient, tableNames } from '../../lib/local/dynamodb-local';
import { walletKey } from '../../lambda/shared/customers/wallet';
import type { TableNames } from '../../lambda/shared/tables';

export interface TestTables {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  readonly names: TableNames;
}

/** The run's DynamoDB Local (started by the integration and e2e projects' global setup). */
export function testEndpoint(): string {
  if (process.env.TOLLGATE_TEST_PROJECT === 'unit') throw new Error('a unit test may not use DynamoDB Local: list this file under integration in jest.config.js');
  const endpoint = process.env.TOLLGATE_TEST_DYNAMODB_ENDPOINT;
  if (!endpoint) throw new Error('TOLLGATE_TEST_DYNAMODB_ENDPOINT is not set: run the tests with jest (global-setup starts DynamoDB Local)');
  return endpoint;
}

/** Fresh tables, created from the stack's definitions, under a unique prefix; no expiry (the tests' clocks are in the past). */
export async function freshTables(label = 'test'): Promise<TestTables> {
  const endpoint = testEndpoint();
  const client = localClient(endpoint);
  const names = tableNames(`${label}-${randomUUID().slice(0, 8)}`);
  await createTables(client, names, { timeToLive: false });
  return { endpoint, client, names };
}

/**
 * Records each call the tables' client sends as IAM authorizes it, `<table> dynamodb:<Action>`, the
 * table named by its role (`customers`, `events`, …, or its name when it is none of these). A
 * transaction counts once per item, by the item's own action (Put → PutItem, Update → UpdateItem,
 * ConditionCheck → ConditionCheckItem). Returns the list it appends to (empty it between steps).
 */
export function recordDynamoActions(tables: TestTables): string[] {
  const calls: string[] = [];
  const roles = new Map<string, string>(Object.entries(tables.names).map(([role, name]) => [name, role]));
  const label = (table: string | undefined): string => roles.get(table ?? '') ?? String(table);
  tables.client.middlewareStack.add(
    (next, context) => (args) => {
      const input = args.input as { TableName?: string; TransactItems?: Array<Record<string, { TableName: string }>> };
      if (input.TransactItems !== undefined) {
        for (const item of input.TransactItems) for (const [kind, op] of Object.entries(item)) calls.push(`${label(op.TableName)} dynamodb:${kind}Item`);
      } else {
        calls.push(`${label(input.TableName)} dynamodb:${String(context.commandName).replace(/Command$/, '')}`);
      }
      return next(args);
    },
    { step: 'initialize', name: 'recordDynamoActions' },
  );
  return calls;
}

/**
 * Writes attributes of a customer item as the webhook would (SET each; the item is created if missing);
 * `credits` is the balance, on the customer's wallet item (layout 2: lambda/shared/customers/layout.ts).
 */
export async function setCustomerAttributes(documents: DynamoDBDocumentClient, table: string, customerId: string, attributes: Record<string, unknown>): Promise<void> {
  const { credits, ...item } = attributes;
  if (credits !== undefined) await setItemAttributes(documents, table, walletKey(customerId), { balance: credits });
  await setItemAttributes(documents, table, customerId, item);
}

async function setItemAttributes(documents: DynamoDBDocumentClient, table: string, customerId: string, attributes: Record<string, unknown>): Promise<void> {
  const fields = Object.entries(attributes);
  if (fields.length === 0) return;
  await documents.send(
    new UpdateCommand({
      TableName: table,
      Key: { customerId },
      UpdateExpression: `SET ${fields.map((_, i) => `#f${i} = :v${i}`).join(', ')}`,
      ExpressionAttributeNames: Object.fromEntries(fields.map(([name], i) => [`#f${i}`, name])),
      ExpressionAttributeValues: Object.fromEntries(fields.map(([, value], i) => [`:v${i}`, value])),
    }),
  );
}
