import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { CUSTOMER_ID } from './api-key';
import { USAGE_BLOCKS, type UsageBlock } from './record';

/**
 * Metered plans: the user's metering says when a customer's prepaid credits or period quota are used
 * up, and tollgate answers 402 `credits_exhausted` / `quota_exceeded` on paid routes until it is
 * cleared. Stripe sends no event tollgate could derive this from, so this is the one writer of
 * `usageBlock` (one UpdateItem; the webhook never touches the attribute).
 */

export { USAGE_BLOCKS };

export class UnknownCustomerError extends Error {
  override readonly name = 'UnknownCustomerError';
}

export interface UsageStore {
  readonly client: DynamoDBClient;
  readonly customersTable: string;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/** Sets (or, with `undefined`, clears) the customer's usage block. The customer must exist. */
export async function setUsageBlock(store: UsageStore, customerId: string, block: UsageBlock | undefined): Promise<void> {
  if (!CUSTOMER_ID.test(customerId)) throw new RangeError(`"${customerId}" is not a Stripe customer id (cus_…)`);
  const now = (store.now ?? (() => new Date()))().toISOString();
  try {
    await DynamoDBDocumentClient.from(store.client).send(
      new UpdateCommand({
        TableName: store.customersTable,
        Key: { customerId },
        ConditionExpression: 'attribute_exists(customerId)',
        UpdateExpression: block === undefined ? 'REMOVE usageBlock SET usageUpdatedAt = :now' : 'SET usageBlock = :block, usageUpdatedAt = :now',
        ExpressionAttributeValues: block === undefined ? { ':now': now } : { ':block': block, ':now': now },
      }),
    );
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) {
      throw new UnknownCustomerError(`no customer ${customerId}: create an API key for it or send its Stripe events first`);
    }
    throw err;
  }
}
