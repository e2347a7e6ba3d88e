import { ConditionalCheckFailedException, GetItemCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { decisionProjection, decodeCustomerItem, keyAttributeName } from '../shared/customers/item';
import type { CustomerRecord } from '../shared/customers/record';
import { AUTHORIZER_READ_DEADLINE_MS } from './dynamo-client';

/** A strict route's reservation: its cost taken from the balance, if the key is valid and the balance covers it. */
export interface ReservationRequest {
  readonly customerId: string;
  readonly keyId: string;
  /** SHA-256 of the presented key: the write's condition compares it with the stored one. */
  readonly keyHash: string;
  readonly cost: number;
  readonly now: Date;
  /** The route's entitlement, when it requires one. */
  readonly entitlement?: string;
}

export type ReservationResult =
  | { readonly reserved: true; readonly balance: number }
  /** The condition failed: the item as it was (undefined: no such customer), to tell 401 from 402. */
  | { readonly reserved: false; readonly customer?: CustomerRecord };

/** The authorizer's one round trip: a read (cached routes) or a conditional write (strict routes). */
export interface CustomerReader {
  /** undefined: no such customer. `apiKeys` holds at most the asked key. Throws when the store fails. */
  read(customerId: string, keyId: string): Promise<CustomerRecord | undefined>;
  /** One conditional UpdateItem. Throws when the store fails. */
  reserve?(request: ReservationRequest): Promise<ReservationResult>;
}

/**
 * The reservation as one UpdateItem: `ADD credits :minus` when the balance covers the cost and the
 * presented key authenticates (its hash, not revoked, not expired: ISO-8601 UTC times compare as
 * strings), the customer is not deleted or usage-blocked, and holds the route's entitlement. DynamoDB
 * evaluates the condition and the write atomically per item, so concurrent calls never overdraw.
 */
export function reservationUpdate(tableName: string, request: ReservationRequest): UpdateItemCommand {
  const key = keyAttributeName(request.keyId);
  const unset = (path: string): string => `(attribute_not_exists(${path}) OR attribute_type(${path}, :null))`;
  // Marshalled by hand: the raw client spares the document client's extra middleware pass per decision.
  return new UpdateItemCommand({
    TableName: tableName,
    Key: { customerId: { S: request.customerId } },
    UpdateExpression: 'ADD credits :minus',
    ConditionExpression: [
      'credits >= :cost',
      '#key.#hash = :hash',
      unset('#key.revokedAt'),
      `(${unset('#key.expiresAt')} OR #key.expiresAt > :now)`,
      unset('usageBlock'),
      '(attribute_not_exists(deleted) OR deleted <> :true)',
      ...(request.entitlement === undefined ? [] : ['contains(entitlements, :entitlement)']),
    ].join(' AND '),
    ExpressionAttributeNames: { '#key': key, '#hash': 'hash' },
    ExpressionAttributeValues: {
      ':minus': { N: String(-request.cost) },
      ':cost': { N: String(request.cost) },
      ':hash': { S: request.keyHash },
      ':now': { S: request.now.toISOString() },
      ':null': { S: 'NULL' },
      ':true': { BOOL: true },
      ...(request.entitlement === undefined ? {} : { ':entitlement': { S: request.entitlement } }),
    },
    ReturnValues: 'UPDATED_NEW',
    // A refusal returns the item as it was, so the authorizer tells 401 from 402 without a second read.
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
  });
}

/** The store did not answer within the decision's deadline. */
export class StoreTimeoutError extends Error {
  override readonly name = 'StoreTimeoutError';
}

export interface DynamoCustomerReaderOptions {
  /** Hard limit on the whole read, retries and backoff included. @default AUTHORIZER_READ_DEADLINE_MS */
  readonly deadlineMs?: number;
  /**
   * The client strict reservations are sent with. `ADD` is not idempotent: an attempt that timed out on
   * our side may have been applied, and a retry would take the cost twice. Give it a client with
   * `maxAttempts: 1` (index.ts does): a lost answer is then a 503, never a double charge.
   * @default the reader's client
   */
  readonly reservationClient?: DynamoDBClient;
}

export class DynamoCustomerReader implements CustomerReader {
  private readonly reservations: DynamoDBClient;
  private readonly deadlineMs: number;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    options: DynamoCustomerReaderOptions = {},
  ) {
    this.reservations = options.reservationClient ?? client;
    this.deadlineMs = options.deadlineMs ?? AUTHORIZER_READ_DEADLINE_MS;
  }

  async reserve(request: ReservationRequest): Promise<ReservationResult> {
    try {
      const result = await withinDeadline(this.deadlineMs, this.reservations.send(reservationUpdate(this.tableName, request)));
      const balance = result.Attributes?.credits?.N;
      return { reserved: true, balance: balance === undefined ? 0 : Number(balance) };
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      return err.Item === undefined ? { reserved: false } : { reserved: false, customer: decodeStoredItem(err.Item) };
    }
  }

  async read(customerId: string, keyId: string): Promise<CustomerRecord | undefined> {
    const result = await withinDeadline(
      this.deadlineMs,
      this.client.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: { customerId: { S: customerId } },
          // Strongly consistent: after the webhook restores access and flushes the authorizer cache,
          // a stale read would cache the old Deny again for a whole TTL.
          ConsistentRead: true,
          ...decisionProjection(keyId),
        }),
      ),
    );
    return result.Item === undefined ? undefined : decodeStoredItem(result.Item);
  }
}

/** A stored item as DynamoDB returns it → the validated record (numbers as JS numbers, sets as Sets). */
export const decodeStoredItem = (item: Record<string, AttributeValue>): CustomerRecord => decodeCustomerItem(unmarshall(item));

/**
 * Ends the wait for one store call after `deadlineMs` with a StoreTimeoutError. The client bounds each
 * attempt (dynamo-client.ts: request timeout, attempts); the SDK's retry backoff does not, so the race
 * makes the deadline real. No abort signal: it cost a controller, a listener and a per-call option on
 * every decision, and an attempt left behind ends anyway at its own request timeout, after at most
 * AUTHORIZER_MAX_ATTEMPTS attempts.
 */
export async function withinDeadline<T>(deadlineMs: number, call: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreTimeoutError(`the customers table did not answer within ${deadlineMs} ms`)), deadlineMs);
  });
  try {
    return await Promise.race([call, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
