import {
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type AttributeValue as DynamoValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { setTimeout as sleep } from 'node:timers/promises';
import { isSubscriptionStatus } from '../shared/model';
import { EVENT_LEDGER_RETENTION_SECONDS } from '../shared/tables';
import {
  attributeWrites,
  watermarkAttribute,
  subscriptionOrder,
  type AttributeValue,
  type CustomerUpdate,
  type PaymentState,
} from './state';

/** What the ledger remembers about one Stripe event. */
export interface LedgerEvent {
  readonly eventId: string;
  readonly type: string;
  /** The event's `created` (epoch s). */
  readonly created: number;
}

export type ApplyResult =
  | { readonly outcome: 'applied' }
  /**
   * Seen before: nothing written. `flushPending`: the first delivery's cache flush is owed and that
   * delivery is no longer running (its flush failed, or it is older than any invocation can live).
   */
  | { readonly outcome: 'duplicate'; readonly flushPending: boolean }
  /** Older than the stored state: recorded in the ledger, state untouched. */
  | { readonly outcome: 'stale'; readonly storedWatermark?: string };

/** Where the webhook keeps payment state and the ledger of applied events. */
export interface PaymentStateStore {
  /** The customer's payment state (strongly consistent), or undefined when none is stored. */
  read(customerId: string): Promise<PaymentState | undefined>;
  /**
   * Records the event and applies the update in one transaction: both or neither. `flushPending`
   * is kept on the ledger entry until `flushDone`, so a retried delivery finishes a lost flush.
   */
  apply(event: LedgerEvent, update: CustomerUpdate, options: { readonly flushPending: boolean; readonly now: Date }): Promise<ApplyResult>;
  flushDone(eventId: string): Promise<void>;
  /** The flush failed: the next delivery of the event should not wait to finish it. */
  flushFailed(eventId: string): Promise<void>;
}

export class StoreError extends Error {
  override readonly name = 'StoreError';
}

export interface PaymentStateTables {
  readonly customersTable: string;
  readonly eventsTable: string;
}

/** How often a transaction that lost a race with a concurrent one is tried again. */
const MAX_ATTEMPTS = 6;

function toDynamo(value: AttributeValue | number): DynamoValue {
  if (typeof value === 'string') return { S: value };
  if (typeof value === 'number') return { N: String(value) };
  if (typeof value === 'boolean') return { BOOL: value };
  return { L: value.map((v) => ({ S: v })) };
}

/**
 * How long after its write a pending flush may still belong to a running delivery: longer than the
 * webhook's Lambda timeout (10 s). Concurrent duplicates inside this window leave the flush to the
 * delivery that wrote the entry, so one event causes one flush.
 */
export const FLUSH_IN_FLIGHT_SECONDS = 30;

/** Whether a duplicate delivery must finish the flush its first delivery owed. */
export function owedFlush(entry: Record<string, DynamoValue> | undefined, now: Date): boolean {
  if (entry?.flushPending?.BOOL !== true) return false;
  if (entry.flushFailed?.BOOL === true) return true;
  const recordedAt = Date.parse(entry.recordedAt?.S ?? '');
  return !Number.isFinite(recordedAt) || now.getTime() - recordedAt >= FLUSH_IN_FLIGHT_SECONDS * 1000;
}

function ledgerItem(event: LedgerEvent, customerId: string, outcome: string, now: Date, flushPending: boolean): Record<string, DynamoValue> {
  return {
    eventId: { S: event.eventId },
    type: { S: event.type },
    created: { N: String(event.created) },
    customerId: { S: customerId },
    outcome: { S: outcome },
    recordedAt: { S: now.toISOString() },
    expiresAt: { N: String(Math.floor(now.getTime() / 1000) + EVENT_LEDGER_RETENTION_SECONDS) },
    ...(flushPending ? { flushPending: { BOOL: true } } : {}),
  };
}

/** Decodes the payment attributes of a customer item; API key attributes are never read into it. */
export function decodePaymentState(item: Record<string, DynamoValue>): PaymentState {
  const text = (name: string): string | undefined => item[name]?.S;
  const number = (name: string): number | undefined => {
    const n = item[name]?.N;
    return n === undefined ? undefined : Number(n);
  };
  const bool = (name: string): boolean | undefined => item[name]?.BOOL;
  const watermarks: Record<string, string> = {};
  for (const [name, value] of Object.entries(item)) {
    if (name.startsWith('wm_') && value.S !== undefined) watermarks[name] = value.S;
  }
  const status = text('subscriptionStatus');
  const entitlements = item.entitlements?.L?.map((v) => v.S).filter((v): v is string => v !== undefined) ?? item.entitlements?.SS;
  const state: Record<string, unknown> = {
    customerId: text('customerId') ?? '',
    watermarks,
    subscriptionId: text('subscriptionId'),
    subscriptionStatus: isSubscriptionStatus(status) ? status : undefined,
    plan: text('plan'),
    cancelAtPeriodEnd: bool('cancelAtPeriodEnd'),
    currentPeriodEnd: number('currentPeriodEnd'),
    pastDueSince: number('pastDueSince'),
    paymentActionRequired: bool('paymentActionRequired'),
    paymentUrl: text('paymentUrl'),
    entitlements,
    deleted: bool('deleted'),
    usageBlock: text('usageBlock'),
    updatedAt: text('updatedAt'),
    subscriptionOrder: text('subscriptionOrder'),
  };
  for (const key of Object.keys(state)) if (state[key] === undefined) delete state[key];
  return state as unknown as PaymentState;
}

/**
 * Payment state in DynamoDB: one item per customer (attributes of `CustomerRecord`, updated with
 * SET/REMOVE only: API key attributes in the same item are never touched), and the event ledger.
 */
export class DynamoPaymentStateStore implements PaymentStateStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tables: PaymentStateTables,
  ) {}

  async read(customerId: string): Promise<PaymentState | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.tables.customersTable, Key: { customerId: { S: customerId } }, ConsistentRead: true }),
    );
    return Item === undefined ? undefined : decodePaymentState(Item);
  }

  async apply(event: LedgerEvent, update: CustomerUpdate, options: { readonly flushPending: boolean; readonly now: Date }): Promise<ApplyResult> {
    const { customerId, change } = update;
    const writes = attributeWrites(update, options.now);
    const names: Record<string, string> = { '#wm': watermarkAttribute(change) };
    const values: Record<string, DynamoValue> = { ':below': { S: update.watermark.applyBelow } };
    const sets: string[] = [];
    Object.entries(writes.set).forEach(([name, value], i) => {
      names[`#s${i}`] = name;
      values[`:s${i}`] = toDynamo(value);
      sets.push(`#s${i} = :s${i}`);
    });
    const removes = writes.remove.map((name, i) => {
      names[`#r${i}`] = name;
      return `#r${i}`;
    });
    // Ordering is decided by DynamoDB, never by reading then writing: the update applies only when
    // the stream's watermark is older, and a subscription only while no newer subscription owns the item.
    let condition = '(attribute_not_exists(#wm) OR #wm < :below)';
    if (change.stream === 'subscription') {
      names['#sid'] = 'subscriptionId';
      names['#order'] = 'subscriptionOrder';
      values[':sid'] = { S: change.subscriptionId };
      values[':order'] = { S: subscriptionOrder(change) };
      condition += ' AND (attribute_not_exists(#sid) OR #sid = :sid OR attribute_not_exists(#order) OR #order < :order)';
    }
    const updateExpression = `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}`;
    const command = new TransactWriteItemsCommand({
      TransactItems: [
        {
          Put: {
            TableName: this.tables.eventsTable,
            Item: ledgerItem(event, customerId, 'applied', options.now, options.flushPending),
            ConditionExpression: 'attribute_not_exists(eventId)',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        },
        {
          Update: {
            TableName: this.tables.customersTable,
            Key: { customerId: { S: customerId } },
            UpdateExpression: updateExpression,
            ConditionExpression: condition,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        },
      ],
    });

    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(command);
        return { outcome: 'applied' };
      } catch (err) {
        if (!(err instanceof TransactionCanceledException)) throw err;
        const [ledger, customer] = err.CancellationReasons ?? [];
        if (ledger?.Code === 'ConditionalCheckFailed') return { outcome: 'duplicate', flushPending: owedFlush(ledger.Item, options.now) };
        if (customer?.Code === 'ConditionalCheckFailed') {
          return this.recordStale(event, customerId, options.now, customer.Item?.[watermarkAttribute(change)]?.S);
        }
        const conflict = [ledger, customer].some((r) => r?.Code === 'TransactionConflict');
        if (!conflict || attempt >= MAX_ATTEMPTS) {
          throw new StoreError(
            `the payment state transaction was cancelled (${[ledger?.Code, customer?.Code].join(', ')}): stripe will retry the event`,
            { cause: err },
          );
        }
        // A concurrent delivery of the same event, or another event of this customer: wait, then let
        // DynamoDB decide again (the ledger condition turns a duplicate into a no-op).
        await sleep(10 * 2 ** attempt * Math.random());
      }
    }
  }

  private async recordStale(event: LedgerEvent, customerId: string, now: Date, storedWatermark: string | undefined): Promise<ApplyResult> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tables.eventsTable,
          Item: ledgerItem(event, customerId, 'stale', now, false),
          ConditionExpression: 'attribute_not_exists(eventId)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return storedWatermark === undefined ? { outcome: 'stale' } : { outcome: 'stale', storedWatermark };
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return { outcome: 'duplicate', flushPending: owedFlush(err.Item, now) };
      throw err;
    }
  }

  async flushFailed(eventId: string): Promise<void> {
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tables.eventsTable,
        Key: { eventId: { S: eventId } },
        UpdateExpression: 'SET flushFailed = :true',
        ConditionExpression: 'attribute_exists(flushPending)',
        ExpressionAttributeValues: { ':true': { BOOL: true } },
      }),
    );
  }

  async flushDone(eventId: string): Promise<void> {
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tables.eventsTable,
        Key: { eventId: { S: eventId } },
        UpdateExpression: 'REMOVE flushPending, flushFailed',
        ConditionExpression: 'attribute_exists(eventId)',
      }),
    );
  }
}
