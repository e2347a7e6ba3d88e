import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { CUSTOMER_ID } from './api-key';
import { attr } from './item';
import { USAGE_BLOCKS, type UsageBlock } from './record';

/**
 * Metered plans: the user's metering says when a customer's prepaid credits or period quota are used
 * up, and tollgate answers 402 `credits_exhausted` / `quota_exceeded` on paid routes until it is
 * cleared. This sets or clears `usageBlock` by hand (`customers set-usage`, one UpdateItem). The webhook
 * writes it too (webhook/state.ts): a Stripe usage alert sets `quota_exceeded`, a new billing period
 * lifts `quota_exceeded`, a credits top-up lifts `credits_exhausted`, each lifting only the block it ends.
 */

export { USAGE_BLOCKS };

const BLOCK = attr('usageBlock');
const UPDATED_AT = attr('usageUpdatedAt');

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
        ConditionExpression: `attribute_exists(${attr('customerId')})`,
        UpdateExpression: block === undefined ? `REMOVE ${BLOCK} SET ${UPDATED_AT} = :now` : `SET ${BLOCK} = :block, ${UPDATED_AT} = :now`,
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
