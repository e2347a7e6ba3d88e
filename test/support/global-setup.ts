import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { startDynamoDbLocal, type DynamoDbLocal } from '../../lib/local/dynamodb-local';

/**
 * One DynamoDB Local (in memory, free port) for the whole run; each test file makes its own tables.
 * The run's temporary files go under one directory that the teardown removes: every CDK `App` without
 * an `outdir` writes a `cdk.out…` directory into the temp dir and leaves it there.
 */
export default async function globalSetup(): Promise<void> {
  // Same as setup-env.ts, for this process (global setup runs outside the test environments).
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const runTemp = mkdtempSync(path.join(tmpdir(), 'tollgate-jest-'));
  process.env.TMPDIR = runTemp;
  (globalThis as { tollgateRunTemp?: string }).tollgateRunTemp = runTemp;
  const instance = await startDynamoDbLocal();
  process.env.TOLLGATE_TEST_DYNAMODB_ENDPOINT = instance.endpoint;
  (globalThis as { tollgateDynamoDb?: DynamoDbLocal }).tollgateDynamoDb = instance;
}
