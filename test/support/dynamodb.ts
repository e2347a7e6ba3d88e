import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { createTables, localClient, tableNames } from '../../lib/local/dynamodb-local';
import type { TableNames } from '../../lambda/shared/tables';

export interface TestTables {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  readonly names: TableNames;
}

/** The run's DynamoDB Local (started by global-setup). */
export function testEndpoint(): string {
  const endpoint = process.env.TOLLGATE_TEST_DYNAMODB_ENDPOINT;
  if (!endpoint) throw new Error('TOLLGATE_TEST_DYNAMODB_ENDPOINT is not set: run the tests with jest (global-setup starts DynamoDB Local)');
  return endpoint;
}

/** Fresh tables, created from the stack's definitions, under a unique prefix. */
export async function freshTables(label = 'test'): Promise<TestTables> {
  const endpoint = testEndpoint();
  const client = localClient(endpoint);
  const names = tableNames(`${label}-${randomUUID().slice(0, 8)}`);
  await createTables(client, names);
  return { endpoint, client, names };
}
