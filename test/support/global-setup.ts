import { startDynamoDbLocal, type DynamoDbLocal } from '../../lib/local/dynamodb-local';

/** One DynamoDB Local (in memory, free port) for the whole run; each test file makes its own tables. */
export default async function globalSetup(): Promise<void> {
  const instance = await startDynamoDbLocal();
  process.env.TOLLGATE_TEST_DYNAMODB_ENDPOINT = instance.endpoint;
  (globalThis as { tollgateDynamoDb?: DynamoDbLocal }).tollgateDynamoDb = instance;
}
