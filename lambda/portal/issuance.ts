import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';

/**
 * Key issuance after a checkout is idempotent per Checkout Session: the first request that claims the
 * session (a conditional put of `checkout#<session id>` in the events table) issues the key and shows
 * it; every later request for the same session (a reload, a shared URL, a replayed id) finds the claim
 * and shows no key. Claims never expire (no TTL attribute), so a replay a year later is refused too.
 */

export const ISSUANCE_ITEM_PREFIX = 'checkout#';
export const issuanceId = (checkoutSessionId: string): string => `${ISSUANCE_ITEM_PREFIX}${checkoutSessionId}`;

export interface IssuanceStore {
  /** Whether a key was already issued (or is being issued) for this session. */
  claimed(checkoutSessionId: string): Promise<boolean>;
  /** True when this call claimed the session; false when it was claimed before. */
  claim(checkoutSessionId: string, customerId: string, at: Date): Promise<boolean>;
  /** Records which key the claim issued. */
  issued(checkoutSessionId: string, keyId: string): Promise<void>;
  /** Drops a claim whose key could not be written, so the payer can retry. */
  release(checkoutSessionId: string): Promise<void>;
}

export function dynamoIssuanceStore(client: DynamoDBClient, eventsTable: string): IssuanceStore {
  const documents = DynamoDBDocumentClient.from(client);
  return {
    claimed: async (sessionId) => {
      const { Item } = await documents.send(new GetCommand({ TableName: eventsTable, Key: { eventId: issuanceId(sessionId) }, ConsistentRead: true }));
      return Item !== undefined;
    },
    claim: async (sessionId, customerId, at) => {
      try {
        await documents.send(
          new PutCommand({
            TableName: eventsTable,
            Item: { eventId: issuanceId(sessionId), type: 'tollgate.checkout_key_issued', customerId, claimedAt: at.toISOString() },
            ConditionExpression: 'attribute_not_exists(eventId)',
          }),
        );
        return true;
      } catch (err) {
        if (err instanceof ConditionalCheckFailedException) return false;
        throw err;
      }
    },
    issued: async (sessionId, keyId) => {
      await documents.send(new UpdateCommand({ TableName: eventsTable, Key: { eventId: issuanceId(sessionId) }, UpdateExpression: 'SET keyId = :k', ExpressionAttributeValues: { ':k': keyId } }));
    },
    release: async (sessionId) => {
      await documents.send(new DeleteCommand({ TableName: eventsTable, Key: { eventId: issuanceId(sessionId) }, ConditionExpression: 'attribute_not_exists(keyId)' }));
    },
  };
}
