import { ConditionalCheckFailedException, GetItemCommand, QueryCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { attr, CorruptRecordError, decisionProjection, decodeCustomerItem, fieldOf, KEY_ATTRIBUTE_PREFIX, keyAttributeName } from './item';
import type { ApiKeyRecord, CustomerRecord } from './record';
import { SUBJECT_ATTRIBUTE, SUBJECT_INDEX, tokenDecisionProjection } from './subjects';
import { startBudgetWindows, type BudgetWindowStart } from './budgets-reservation';
import { BUDGET_RESERVATION_CONDITION, BUDGET_RESERVATION_UPDATE, budgetReservationNames, budgetReservationValues, BUDGET_RESERVATION_ATTRIBUTES } from './budgets-reservation';

/**
 * The authorizer's commands on the customers table, behind its two ports: a key decision's one GetItem
 * (cached routes) or one conditional reservation (strict routes), and a token decision's one GetItem or
 * subject Query. Each is held to a deadline. Marshalled by hand: the raw client spares the document
 * client's extra middleware pass per decision.
 */

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

/** A key decision's one round trip: a read (cached routes) or a conditional write (strict routes). */
export interface CustomerReader {
  /** undefined: no such customer. `apiKeys` holds at most the asked key. Throws when the store fails. */
  read(customerId: string, keyId: string): Promise<CustomerRecord | undefined>;
  /** One conditional UpdateItem. Throws when the store fails. */
  reserve?(request: ReservationRequest): Promise<ReservationResult>;
  /** Starts budget windows that ended (a strict reservation's condition failed on one). */
  startBudgetWindows?(customerId: string, starts: readonly BudgetWindowStart[]): Promise<void>;
}

/** A token decision's one read: the customer's payment state, by id (a claim) or by linked subject (the index). */
export interface TokenCustomerReader {
  /** undefined: no item for this customer. Strongly consistent GetItem. */
  readById(customerId: string): Promise<CustomerRecord | undefined>;
  /** undefined: no customer linked to this subject. One Query on the subject index. */
  readBySubject(subjectKey: string): Promise<CustomerRecord | undefined>;
}

const CREDITS = attr('credits');
const KEY_HASH = fieldOf<ApiKeyRecord>('hash');
const unset = (path: string): string => `(attribute_not_exists(${path}) OR attribute_type(${path}, :null))`;
const RESERVATION_UPDATE = `ADD ${CREDITS} :minus, ${BUDGET_RESERVATION_UPDATE}`;
/**
 * The presented key authenticates (its hash, not revoked, not expired: ISO-8601 UTC times compare as
 * strings), the customer is not deleted or usage-blocked, and the balance covers the cost. Built once.
 */
const RESERVATION_CONDITION = [
  `${CREDITS} >= :cost`,
  '#key.#hash = :hash',
  unset(`#key.${fieldOf<ApiKeyRecord>('revokedAt')}`),
  `(${unset(`#key.${fieldOf<ApiKeyRecord>('expiresAt')}`)} OR #key.${fieldOf<ApiKeyRecord>('expiresAt')} > :now)`,
  unset(attr('usageBlock')),
  `(attribute_not_exists(${attr('deleted')}) OR ${attr('deleted')} <> :true)`,
  BUDGET_RESERVATION_CONDITION,
].join(' AND ');
const ENTITLED_RESERVATION_CONDITION = `${RESERVATION_CONDITION} AND contains(${attr('entitlements')}, :entitlement)`;

/**
 * Every top-level attribute a reservation names: the key, the balance it writes, and what its condition
 * reads. The stack grants the authorizer's UpdateItem on these alone (IAM `dynamodb:Attributes`, which
 * counts a condition's attributes as a write's), so it can never write a subscription, a plan, a period
 * or a counter; a test sends every reservation through this list.
 */
export const RESERVATION_ATTRIBUTES = [
  attr('customerId'),
  CREDITS,
  `${KEY_ATTRIBUTE_PREFIX}*`,
  attr('usageBlock'),
  attr('deleted'),
  attr('entitlements'),
  ...BUDGET_RESERVATION_ATTRIBUTES,
] as const;

/**
 * The reservation as one UpdateItem: `ADD credits :minus` under the condition above, and the route's
 * entitlement when it requires one. DynamoDB evaluates the condition and the write atomically per item,
 * so concurrent calls never overdraw.
 */
export function reservationUpdate(tableName: string, request: ReservationRequest): UpdateItemCommand {
  return new UpdateItemCommand({
    TableName: tableName,
    Key: { customerId: { S: request.customerId } },
    UpdateExpression: RESERVATION_UPDATE,
    ConditionExpression: request.entitlement === undefined ? RESERVATION_CONDITION : ENTITLED_RESERVATION_CONDITION,
    ExpressionAttributeNames: Object.assign({ '#key': keyAttributeName(request.keyId), '#hash': KEY_HASH }, budgetReservationNames(request.keyId)),
    ExpressionAttributeValues: {
      ':minus': { N: String(-request.cost) },
      ':cost': { N: String(request.cost) },
      ':hash': { S: request.keyHash },
      ':now': { S: request.now.toISOString() },
      ':null': { S: 'NULL' },
      ':true': { BOOL: true },
      ...budgetReservationValues(request.now),
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

/**
 * Ends the wait for one store call after `deadlineMs` with a StoreTimeoutError. The client bounds each
 * attempt (lambda/authorizer/dynamo-client.ts: request timeout, attempts); the SDK's retry backoff does
 * not, so the race makes the deadline real. No abort signal: it cost a controller, a listener and a
 * per-call option on every decision, and an attempt left behind ends anyway at its own request timeout.
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

/** A stored item as DynamoDB returns it → the validated record (numbers as JS numbers, sets as Sets). */
const decodeStoredItem = (item: Record<string, AttributeValue>): CustomerRecord => decodeCustomerItem(unmarshall(item));

export interface DecisionReaderOptions {
  /** Hard limit on each call, retries and backoff included. */
  readonly deadlineMs: number;
  /**
   * The client strict reservations are sent with. `ADD` is not idempotent: an attempt that timed out on
   * our side may have been applied, and a retry would take the cost twice. Give it a client with
   * `maxAttempts: 1`: a lost answer is then a 503, never a double charge.
   * @default the reader's client
   */
  readonly reservationClient?: DynamoDBClient;
}

export class DecisionReader implements CustomerReader {
  private readonly reservations: DynamoDBClient;
  private readonly deadlineMs: number;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    options: DecisionReaderOptions,
  ) {
    this.reservations = options.reservationClient ?? client;
    this.deadlineMs = options.deadlineMs;
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

  async startBudgetWindows(customerId: string, starts: readonly BudgetWindowStart[]): Promise<void> {
    await withinDeadline(this.deadlineMs, startBudgetWindows(this.client, this.tableName, customerId, starts));
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

export class TokenDecisionReader implements TokenCustomerReader {
  private readonly projection = tokenDecisionProjection();

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly deadlineMs: number,
  ) {}

  async readById(customerId: string): Promise<CustomerRecord | undefined> {
    const result = await withinDeadline(
      this.deadlineMs,
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: { customerId: { S: customerId } }, ConsistentRead: true, ...this.projection })),
    );
    return result.Item === undefined ? undefined : decodeStoredItem(result.Item);
  }

  async readBySubject(subjectKey: string): Promise<CustomerRecord | undefined> {
    const result = await withinDeadline(
      this.deadlineMs,
      this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: SUBJECT_INDEX,
          KeyConditionExpression: '#subject = :subject',
          ProjectionExpression: this.projection.ProjectionExpression,
          // Object.assign, not a spread (item.ts decisionProjection).
          ExpressionAttributeNames: Object.assign({}, this.projection.ExpressionAttributeNames, { '#subject': SUBJECT_ATTRIBUTE }),
          ExpressionAttributeValues: { ':subject': { S: subjectKey } },
          // Two, to see a subject linked twice (a broken link is a 503, never someone else's access).
          Limit: 2,
        }),
      ),
    );
    const items = result.Items ?? [];
    if (items.length > 1) throw new CorruptRecordError(`subject ${subjectKey} is linked to more than one customer: remove the links with npx tollgate customers unlink-subject, then link it to one customer with customers link-subject`);
    return items[0] === undefined ? undefined : decodeStoredItem(items[0]);
  }
}
