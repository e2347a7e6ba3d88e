import { startDynamoDbLocal, type DynamoDbLocal } from '../../lib/local/dynamodb-local';

/** One DynamoDB Local (in memory, free port) for the whole run; each test file makes its own tables. */
export default async function globalSetup(): Promise<void> {
  // Same as setup-env.ts, for this process (global setup runs outside the test environments).
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const instance = await startDynamoDbLocal();
  process.env.TOLLGATE_TEST_DYNAMODB_ENDPOINT = instance.endpoint;
  (globalThis as { tollgateDynamoDb?: DynamoDbLocal }).tollgateDynamoDb = instance;
}
