import { rmSync } from 'node:fs';
import type { DynamoDbLocal } from '../../lib/local/dynamodb-local';

export default async function globalTeardown(): Promise<void> {
  await (globalThis as { tollgateDynamoDb?: DynamoDbLocal }).tollgateDynamoDb?.stop();
  const runTemp = (globalThis as { tollgateRunTemp?: string }).tollgateRunTemp;
  if (runTemp !== undefined) rmSync(runTemp, { recursive: true, force: true });
}
