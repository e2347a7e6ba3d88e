import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { decisionProjection, decodeCustomerItem } from '../shared/customers/item';
import type { CustomerRecord } from '../shared/customers/record';
import { AUTHORIZER_READ_DEADLINE_MS } from './dynamo-client';

/** The authorizer's one read: a customer's payment state and one of its API keys. */
export interface CustomerReader {
  /** undefined: no such customer. `apiKeys` holds at most the asked key. Throws when the store fails. */
  read(customerId: string, keyId: string): Promise<CustomerRecord | undefined>;
}

/** The store did not answer within the decision's deadline. */
export class StoreTimeoutError extends Error {
  override readonly name = 'StoreTimeoutError';
}

export interface DynamoCustomerReaderOptions {
  /** Hard limit on the whole read, retries and backoff included. @default AUTHORIZER_READ_DEADLINE_MS */
  readonly deadlineMs?: number;
}

export class DynamoCustomerReader implements CustomerReader {
  private readonly documents: DynamoDBDocumentClient;
  private readonly deadlineMs: number;

  constructor(client: DynamoDBClient, private readonly tableName: string, options: DynamoCustomerReaderOptions = {}) {
    // from() shares the client's middleware stack and sockets.
    this.documents = DynamoDBDocumentClient.from(client);
    this.deadlineMs = options.deadlineMs ?? AUTHORIZER_READ_DEADLINE_MS;
  }

  async read(customerId: string, keyId: string): Promise<CustomerRecord | undefined> {
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    // The SDK's retry backoff does not watch the abort signal: race the deadline so it is a real bound.
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new StoreTimeoutError(`the customers table did not answer within ${this.deadlineMs} ms`);
        abort.abort(error);
        reject(error);
      }, this.deadlineMs);
    });
    try {
      const result = await Promise.race([
        this.documents.send(
          new GetCommand({
            TableName: this.tableName,
            Key: { customerId },
            // Strongly consistent: after the webhook restores access and flushes the authorizer cache,
            // a stale read would cache the old Deny again for a whole TTL.
            ConsistentRead: true,
            ...decisionProjection(keyId),
          }),
          { abortSignal: abort.signal },
        ),
        deadline,
      ]);
      return result.Item === undefined ? undefined : decodeCustomerItem(result.Item);
    } finally {
      clearTimeout(timer);
    }
  }
}
