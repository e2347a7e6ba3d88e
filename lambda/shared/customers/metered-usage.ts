import { GetItemCommand, TransactionCanceledException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { attr, METERING_PROJECTION } from './item';
import type { CustomerRecord } from './record';
import { readCustomerWithWallet } from './store';
import { numberOf, walletBalanceItem, type BalanceExpectation, type PendingReservation } from './wallet';
import { withBudgetSpend, type BudgetSpend } from './budgets-spend';
import { DEFAULT_GRANT_PRIORITY, grantAttribute, grantEntry, MAX_GRANT_PRIORITY, type GrantCategory } from '../credit-grants';

/**
 * The usage attributes of the customer item, as metering reads and writes them:
 *
 *   periodUsed      units counted in the period that ends at usagePeriodEnd
 *   usagePeriodEnd  epoch s
 *
 * and the wallet's balance (wallet.ts; the customer item's legacy `credits` until the wallet's first
 * write): prepaid units, absent when the customer never had credits, never drawn below zero.
 *
 * Metering writes these with one conditional UpdateItem per item, customer and batch (inside the
 * batch's ledger transaction; the wallet only when credits are drawn by log lines), and only forward: a period is started only over an older
 * one, a counter only grows within its period, a draw only lands on the balance it was computed from.
 * A usage window's sum also moves `meteredWindow` forward in the same update: the customer item is
 * that write's ledger, so a window costs one item write per customer.
 */

/** What metering reads of a customer (item.ts: the attributes read by 'metering'), `credits` being the wallet's balance. */
export type MeteredUsage = Pick<
  CustomerRecord,
  'customerId' | 'subscriptions' | 'pastDue' | 'credits' | 'periodUsed' | 'usagePeriodEnd' | 'prevPeriodEnd' | 'prevPeriodUsed' | 'meteredWindow' | 'budgets'
> & {
  /** The customer item's legacy `credits`: where the wallet's balance starts from on its first write. */
  readonly legacyCredits?: number;
  /** The wallet's strict reservations not settled yet. */
  readonly pending?: ReadonlyMap<string, PendingReservation>;
};

/** Strongly consistent: the write that follows is conditional on what this read saw. */
export async function readMeteredUsage(client: DynamoDBClient, table: string, customerId: string): Promise<MeteredUsage | undefined> {
  const read = await readCustomerWithWallet(client, table, customerId, METERING_PROJECTION);
  if (read === undefined) return undefined;
  return {
    ...read.record,
    ...(read.legacyCredits === undefined ? {} : { legacyCredits: read.legacyCredits }),
    ...(read.wallet === undefined ? {} : { pending: read.wallet.pending }),
  };
}

const KEY = attr('customerId');
const USED = attr('periodUsed');
const PERIOD_END = attr('usagePeriodEnd');
const WINDOW = attr('meteredWindow');
const PREV_END = attr('prevPeriodEnd');
const PREV_USED = attr('prevPeriodUsed');

export interface UsageWrite {
  readonly period?: {
    readonly periodEnd: number;
    readonly units: number;
    readonly mode: 'add' | 'start';
    /** Required stored count (the quota/credits split depended on it). */
    readonly expectUsed?: number;
    /**
     * `start` over a stored period: it becomes the previous one, with `used` units (its stored count,
     * which the write requires, plus its own units in this write).
     */
    readonly carry?: { readonly periodEnd: number; readonly usedBefore: number; readonly used: number };
  };
  /** Units of the period before the current one, logged after the counter moved on. */
  readonly previous?: { readonly periodEnd: number; readonly units: number; readonly expectUsed?: number };
  /** Written to the wallet (walletCreditsItem), not to the customer item. */
  readonly credits: {
    readonly delta: number;
    readonly expect?: BalanceExpectation;
  };
  /** A usage window's sum (epoch s): written once, over an older window only (the customer's own ledger). */
  readonly window?: number;
  /** What the calls spend of the customer's and the keys' budgets: on the wallet, with the credits (budgets-spend.ts). */
  readonly budgets?: readonly BudgetSpend[];
}

export interface UsageUpdate {
  readonly TableName: string;
  readonly Key: { readonly customerId: string };
  readonly UpdateExpression: string;
  readonly ConditionExpression: string;
  readonly ExpressionAttributeNames?: Record<string, string>;
  readonly ExpressionAttributeValues?: Record<string, unknown>;
}

export type UsageTransactItem = { readonly Update: UsageUpdate } | { readonly ConditionCheck: Omit<UsageUpdate, 'UpdateExpression'> };

/**
 * The conditional update (a TransactWriteItems entry): an `Update`, a `ConditionCheck` when the write
 * changes nothing but relies on the stored balance, or undefined when it neither changes nor relies on
 * anything. Every condition also requires the item to exist: metering never creates a customer.
 */
export function usageUpdate(table: string, customerId: string, write: UsageWrite): UsageTransactItem | undefined {
  const set: string[] = [];
  const add: string[] = [];
  const conditions = [`attribute_exists(${KEY})`];
  const values: Record<string, unknown> = {};
  const { period } = write;
  if (period !== undefined && period.units > 0) {
    values[':pe'] = period.periodEnd;
    values[':used'] = period.units;
    if (period.mode === 'add') {
      add.push(`${USED} :used`);
      conditions.push(`${PERIOD_END} = :pe`);
      if (period.expectUsed !== undefined) {
        values[':usedBefore'] = period.expectUsed;
        conditions.push(period.expectUsed === 0 ? `(attribute_not_exists(${USED}) OR ${USED} = :usedBefore)` : `${USED} = :usedBefore`);
      }
    } else if (period.carry !== undefined) {
      values[':carryEnd'] = period.carry.periodEnd;
      values[':carryBefore'] = period.carry.usedBefore;
      values[':carryUsed'] = period.carry.used;
      set.push(`${PERIOD_END} = :pe`, `${USED} = :used`, `${PREV_END} = :carryEnd`, `${PREV_USED} = :carryUsed`);
      conditions.push(`${PERIOD_END} = :carryEnd`, period.carry.usedBefore === 0 ? `(attribute_not_exists(${USED}) OR ${USED} = :carryBefore)` : `${USED} = :carryBefore`);
    } else {
      set.push(`${PERIOD_END} = :pe`, `${USED} = :used`);
      conditions.push(`(attribute_not_exists(${PERIOD_END}) OR ${PERIOD_END} < :pe)`);
    }
  }
  const previous = write.previous;
  if (previous !== undefined && previous.units > 0) {
    values[':prevEnd'] = previous.periodEnd;
    values[':prevUnits'] = previous.units;
    add.push(`${PREV_USED} :prevUnits`);
    conditions.push(`${PREV_END} = :prevEnd`);
    if (previous.expectUsed !== undefined) {
      values[':prevBefore'] = previous.expectUsed;
      conditions.push(previous.expectUsed === 0 ? `(attribute_not_exists(${PREV_USED}) OR ${PREV_USED} = :prevBefore)` : `${PREV_USED} = :prevBefore`);
    }
  }
  if (write.window !== undefined) {
    values[':window'] = write.window;
    set.push(`${WINDOW} = :window`);
    conditions.push(`(attribute_not_exists(${WINDOW}) OR ${WINDOW} < :window)`);
  }
  // DynamoDB refuses an empty ExpressionAttributeValues.
  const condition = { TableName: table, Key: { customerId }, ConditionExpression: conditions.join(' AND '), ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}) };
  if (set.length === 0 && add.length === 0) return conditions.length === 1 ? undefined : { ConditionCheck: condition };
  return {
    Update: {
      ...condition,
      UpdateExpression: [set.length > 0 ? `SET ${set.join(', ')}` : '', add.length > 0 ? `ADD ${add.join(', ')}` : ''].filter(Boolean).join(' '),
    },
  };
}

/** The credits and budgets part of a usage write, on the wallet (a transaction item), from the legacy balance on its first write. */
export function walletCreditsItem(table: string, customerId: string, write: UsageWrite, legacy: number | undefined) {
  return withBudgetSpend(walletBalanceItem(table, customerId, write.credits.delta, legacy, write.credits.expect), table, customerId, write.budgets ?? []);
}

export interface CreditsGrant {
  readonly customerId: string;
  readonly units: number;
  /** Why, for people (recorded with the grant). */
  readonly reason: string;
  /** Idempotency: a grant with the same id is applied once. */
  readonly grantId: string;
  readonly now: Date;
  /** Default `paid`. */
  readonly category?: GrantCategory;
  /** 0 (drawn first) to 100; default 50. */
  readonly priority?: number;
  /** Epoch s; absent: never expires. */
  readonly expiresAt?: number;
}

export const CREDITS_GRANT_PREFIX = 'credits-grant#';
export const MAX_GRANT_REASON_LENGTH = 500;

export class UnknownCustomerForCreditsError extends Error {
  override readonly name = 'UnknownCustomerForCreditsError';
}

/**
 * Adds credits to an existing customer's wallet (wallet.ts) as a grant (its `g_<grantId>` entry: units,
 * category, priority, expiry; ../credit-grants.ts) and records it (units, reason, time) in the events
 * table, in one transaction: all or nothing, and once per grant id.
 */
export async function grantCredits(client: DynamoDBClient, tables: { readonly customers: string; readonly events: string }, grant: CreditsGrant): Promise<'granted' | 'duplicate'> {
  if (grant.reason.trim() === '' || grant.reason.length > MAX_GRANT_REASON_LENGTH) {
    throw new RangeError(`the reason must be 1 to ${MAX_GRANT_REASON_LENGTH} characters`);
  }
  if (!Number.isInteger(grant.units) || grant.units <= 0) throw new RangeError(`${grant.units} is not a whole number of units > 0`);
  const priority = grant.priority ?? DEFAULT_GRANT_PRIORITY;
  if (!Number.isInteger(priority) || priority < 0 || priority > MAX_GRANT_PRIORITY) throw new RangeError(`a priority is a whole number from 0 to ${MAX_GRANT_PRIORITY}`);
  const grantedAt = Math.floor(grant.now.getTime() / 1000);
  if (grant.expiresAt !== undefined && !(Number.isInteger(grant.expiresAt) && grant.expiresAt > grantedAt)) throw new RangeError('an expiry must be in the future: give a later time or none');
  const entry = grantEntry({ id: grant.grantId, units: grant.units, left: grant.units, category: grant.category ?? 'paid', priority, grantedAt, ...(grant.expiresAt === undefined ? {} : { expiresAt: grant.expiresAt }) });
  const grantName = grantAttribute(grant.grantId);
  const { exists, legacy } = await readLegacyCredits(client, tables.customers, grant.customerId);
  if (!exists) throw unknownCustomer(grant.customerId);
  const balance = walletBalanceItem(tables.customers, grant.customerId, grant.units, legacy);
  if (balance === undefined || !('Update' in balance)) throw new Error('a grant adds units: its wallet write is an update');
  // The grant's entry in the balance's own write: one item, one write.
  const wallet = {
    Update: {
      ...balance.Update,
      UpdateExpression: `${balance.Update.UpdateExpression}, #grant = :grant`,
      ExpressionAttributeNames: { ...balance.Update.ExpressionAttributeNames, '#grant': grantName },
      ExpressionAttributeValues: { ...balance.Update.ExpressionAttributeValues, ':grant': entry },
    },
  };
  try {
    await DynamoDBDocumentClient.from(client).send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: tables.events,
              Item: {
                eventId: `${CREDITS_GRANT_PREFIX}${grant.grantId}`,
                outcome: 'credits-granted',
                customerId: grant.customerId,
                units: grant.units,
                reason: grant.reason,
                recordedAt: grant.now.toISOString(),
              },
              ConditionExpression: 'attribute_not_exists(eventId)',
            },
          },
          { ConditionCheck: { TableName: tables.customers, Key: { customerId: grant.customerId }, ConditionExpression: `attribute_exists(${KEY})` } },
          wallet,
        ],
      }),
    );
    return 'granted';
  } catch (err) {
    if (!(err instanceof TransactionCanceledException)) throw err;
    if (err.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed') return 'duplicate';
    if (err.CancellationReasons?.[1]?.Code === 'ConditionalCheckFailed') throw unknownCustomer(grant.customerId);
    throw err;
  }
}

const unknownCustomer = (customerId: string): UnknownCustomerForCreditsError =>
  new UnknownCustomerForCreditsError(`no customer ${customerId}: create an API key for it or send its Stripe events first`);

/** The customer item's legacy `credits` (the wallet's starting balance), and whether the customer exists. */
export async function readLegacyCredits(client: DynamoDBClient, table: string, customerId: string): Promise<{ readonly exists: boolean; readonly legacy?: number }> {
  const { Item } = await client.send(
    new GetItemCommand({ TableName: table, Key: { customerId: { S: customerId } }, ConsistentRead: true, ProjectionExpression: '#k, #c', ExpressionAttributeNames: { '#k': KEY, '#c': attr('credits') } }),
  );
  const legacy = numberOf(Item?.credits);
  return { exists: Item !== undefined, ...(legacy === undefined ? {} : { legacy }) };
}
