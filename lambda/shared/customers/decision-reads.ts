import { BatchGetItemCommand, GetItemCommand, type BatchGetItemCommandOutput, QueryCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { CorruptRecordError, decisionProjection, decodeCustomerItem } from './item';
import type { CustomerRecord } from './record';
import { SUBJECT_ATTRIBUTE, SUBJECT_INDEX, tokenDecisionProjection } from './subjects';
import { BALANCE, cancelReservation, decodeWallet, reserveInWallet, walletKey, withWallet, withWalletBalance, type WalletReservation, type WalletReservationResult } from './wallet';
import { BUDGET, BUDGET_KEY_PREFIX, BUDGET_LEFT, BUDGET_LEFT_KEY_PREFIX } from '../budgets';
import type { BudgetWindowStart } from './budgets-reservation';
import { startBudgetWindows } from './budgets-store';
import { GRANTS, type DrawPlan } from '../credit-grants';

/**
 * The authorizer's commands on the customers table, behind its two ports: a key decision's one
 * BatchGetItem of the customer item and its wallet (cached routes: 2 strongly consistent read units, one
 * round trip), then on strict routes one conditional UpdateItem on the wallet (1 write unit; the read
 * gives the grants the write draws from in order), and a token decision's one GetItem or subject Query. The budgets
 * (../budgets.ts) live on the wallet and ride these same requests: the BatchGetItem projects them, the
 * reservation's condition checks and spends them, a refused one returns them; only a budget window that
 * ended costs a strict call one more write (and the reservation again), once per window. Each is held
 * to a deadline. Marshalled by hand: the raw client spares the document client's extra middleware pass
 * per decision.
 */

/** A key decision's one round trip: a read (cached routes), or a read then a reservation (strict routes). */
export interface CustomerReader {
  /**
   * The customer item and its wallet in one BatchGetItem (`credits` is the wallet's balance); the
   * item alone (one GetItem) with
   * `wallet: false`, for routes no balance decides. undefined: no such customer. `apiKeys`
   * holds at most the asked key. Throws when the store fails.
   */
  read(customerId: string, keyId: string, options?: { readonly wallet?: boolean }): Promise<CustomerRecord | undefined>;
  /** One conditional UpdateItem on the wallet, retried by its id. Throws when the store fails. */
  reserve?(request: WalletReservation): Promise<WalletReservationResult>;
  /** Starts budget windows that ended (a strict reservation's condition failed on one): one write each. */
  startBudgetWindows?(customerId: string, starts: readonly BudgetWindowStart[]): Promise<void>;
}

/** A token decision's one read: the customer's payment state, by id (a claim) or by linked subject (the index). */
export interface TokenCustomerReader {
  /** undefined: no item for this customer. Strongly consistent GetItem. */
  readById(customerId: string): Promise<CustomerRecord | undefined>;
  /** undefined: no customer linked to this subject. One Query on the subject index. */
  readBySubject(subjectKey: string): Promise<CustomerRecord | undefined>;
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
   * The client strict reservations are sent with. Give it `maxAttempts: 1`: the reservation retries by
   * itself, with its own id (wallet.ts reserveInWallet), so a lost answer is never a second draw.
   * @default the reader's client
   */
  readonly reservationClient?: DynamoDBClient;
}

/** How long the authorizer waits for its own cancel of a reservation whose answer came too late. */
const CANCEL_DEADLINE_MS = 300;

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

  /**
   * Retried by id until the deadline. When it passes, the write may have landed although the decision
   * is a 503 that no access-log line will name: the reservation is cancelled at once (best effort; the
   * wallet's next settlement gives it back after the bound otherwise, wallet.ts).
   */
  async reserve(request: WalletReservation): Promise<WalletReservationResult> {
    const deadlineAt = Date.now() + this.deadlineMs;
    let plan: DrawPlan | undefined;
    try {
      return await withinDeadline(this.deadlineMs, reserveInWallet(this.reservations, this.tableName, request, { deadlineAt, onPlan: (p) => (plan = p) }));
    } catch (err) {
      await withinDeadline(CANCEL_DEADLINE_MS, cancelReservation(this.reservations, this.tableName, request.customerId, request.reservation, request.cost, plan)).catch(() => undefined);
      throw err;
    }
  }

  async startBudgetWindows(customerId: string, starts: readonly BudgetWindowStart[]): Promise<void> {
    await withinDeadline(this.deadlineMs, startBudgetWindows(this.reservations, this.tableName, customerId, starts));
  }

  async readItem(customerId: string, keyId: string): Promise<CustomerRecord | undefined> {
    const result = await withinDeadline(
      this.deadlineMs,
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: { customerId: { S: customerId } }, ConsistentRead: true, ...decisionProjection(keyId) })),
    );
    return result.Item === undefined ? undefined : withWalletBalance(decodeStoredItem(result.Item), undefined);
  }

  async read(customerId: string, keyId: string, options: { readonly wallet?: boolean } = {}): Promise<CustomerRecord | undefined> {
    if (options.wallet === false) return this.readItem(customerId, keyId);
    const request = decisionBatchRequest(this.tableName, customerId, keyId);
    const items = await withinDeadline(this.deadlineMs, batchGet(this.client, request));
    const customer = items.find((item) => item.customerId?.S === customerId);
    if (customer === undefined) return undefined;
    return withWallet(decodeStoredItem(customer), decodeWallet(items.find((item) => item.customerId?.S === walletKey(customerId))));
  }
}

type BatchRequest = NonNullable<ConstructorParameters<typeof BatchGetItemCommand>[0]['RequestItems']>;

/** A decision's one read of a customer: its item (key and standing) and its wallet, in one BatchGetItem (the bench's floor sends it too). */
export function decisionBatchRequest(tableName: string, customerId: string, keyId: string): BatchRequest {
  const projection = decisionProjection(keyId);
  return {
    [tableName]: {
      Keys: [{ customerId: { S: customerId } }, { customerId: { S: walletKey(customerId) } }],
      // Strongly consistent: after the webhook restores access and flushes the authorizer cache,
      // a stale read would cache the old Deny again for a whole TTL.
      ConsistentRead: true,
      // The wallet's balance, grants and the budgets the presented key spends (the customer's and its own,
      // not the other keys': the answer stays the same size however many keys have budgets).
      ProjectionExpression: `${projection.ProjectionExpression},#balance,#grants,#budget,#keyBudget,#budgetLeft,#keyLeft`,
      ExpressionAttributeNames: Object.assign(projection.ExpressionAttributeNames, {
        '#balance': BALANCE,
        '#grants': GRANTS,
        '#budget': BUDGET,
        '#keyBudget': BUDGET_KEY_PREFIX + keyId,
        '#budgetLeft': BUDGET_LEFT,
        '#keyLeft': BUDGET_LEFT_KEY_PREFIX + keyId,
      }),
    },
  };
}

/** A BatchGetItem until DynamoDB has answered every key (it may leave keys unprocessed under throttling). */
async function batchGet(client: DynamoDBClient, request: BatchRequest): Promise<Array<Record<string, AttributeValue>>> {
  const items: Array<Record<string, AttributeValue>> = [];
  let pending: BatchRequest | undefined = request;
  for (let attempt = 0; pending !== undefined && Object.keys(pending).length > 0; attempt += 1) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(100, 5 * 2 ** attempt) * Math.random()));
    const out: BatchGetItemCommandOutput = await client.send(new BatchGetItemCommand({ RequestItems: pending }));
    for (const found of Object.values(out.Responses ?? {})) items.push(...found);
    pending = out.UnprocessedKeys;
  }
  return items;
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
