import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { randomBytes } from 'node:crypto';
import type { PortalSession } from './session';

/**
 * Signed-in sessions, held server-side: a cookie names a session (`session#<id>` in the events table,
 * expiring with the cookie through the table's TTL attribute), and only a session still held there is
 * signed in. Sign-out deletes it, so a copied cookie is dead the moment its owner signs out; the
 * signature alone never suffices.
 */

export const SESSION_ITEM_PREFIX = 'session#';
export const sessionItemId = (sessionId: string): string => `${SESSION_ITEM_PREFIX}${sessionId}`;

/** 128 random bits. */
export const newSessionId = (): string => randomBytes(16).toString('base64url');

export interface SessionStore {
  /** Holds a session until it is closed or expires. */
  open(session: PortalSession): Promise<void>;
  /** Whether the session is held, for this customer and key. */
  isOpen(session: PortalSession): Promise<boolean>;
  close(sessionId: string): Promise<void>;
}

export function dynamoSessionStore(client: DynamoDBClient, eventsTable: string): SessionStore {
  const documents = DynamoDBDocumentClient.from(client);
  return {
    open: async ({ sessionId, customerId, keyId, expiresAt }) => {
      await documents.send(
        new PutCommand({
          TableName: eventsTable,
          Item: { eventId: sessionItemId(sessionId), type: 'tollgate.portal_session', customerId, keyId, expiresAt },
          ConditionExpression: 'attribute_not_exists(eventId)',
        }),
      );
    },
    isOpen: async ({ sessionId, customerId, keyId }) => {
      const { Item } = await documents.send(new GetCommand({ TableName: eventsTable, Key: { eventId: sessionItemId(sessionId) }, ConsistentRead: true }));
      return Item !== undefined && Item.customerId === customerId && Item.keyId === keyId;
    },
    close: async (sessionId) => {
      await documents.send(new DeleteCommand({ TableName: eventsTable, Key: { eventId: sessionItemId(sessionId) } }));
    },
  };
}
