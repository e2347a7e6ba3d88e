import { TransactionCanceledException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { attr, METERING_PROJECTION } from './item';
import type { CustomerRecord, PeriodUsageEntry } from './record';
import { readCustomerWithWallet } from './store';
import { walletBalanceItem, type BalanceExpectation, type PendingReservation } from './wallet';
import { withBudgetSpend, type BudgetSpend } from './budgets-spend';
import { DEFAULT_GRANT_PRIORITY, grantAttribute, grantEntry, MAX_GRANT_PRIORITY, type GrantCategory } from '../credit-grants';

/**
 * The usage attributes of the customer item, as metering reads and writes them:
 *
 *   periodUsage.<subscription id>   { used, periodEnd, plan, prevEnd, prevUsed }: each subscription's
 *                                   counter of the period that ends at periodEnd, and of the one before
 *   periodUsed, usagePeriodEnd, …   an older tollgate's one counter, moved into the map by the next write
 *
 * and the wallet's balance (wallet.ts): prepaid units, absent when the customer never had credits, never drawn below zero.
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
  'customerId' | 'subscriptions' | 'pastDue' | 'credits' | 'periodUsage' | 'periodUsed' | 'usagePeriodEnd' | 'prevPeriodEnd' | 'prevPeriodUsed' | 'meteredWindow' | 'budgets'
> & {
  /** The wallet's strict reservations not settled yet. */
  readonly pending?: ReadonlyMap<string, PendingReservation>;
};

/** Strongly consistent: the write that follows is conditional on what this read saw. */
export async function readMeteredUsage(client: DynamoDBClient, table: string, customerId: string): Promise<MeteredUsage | undefined> {
  const read = await readCustomerWithWallet(client, table, customerId, METERING_PROJECTION);
  if (read === undefined) return undefined;
  return {
    ...read.record,
    ...(read.wallet === undefined ? {} : { pending: read.wallet.pending }),
  };
}

const KEY = attr('customerId');
const WINDOW = attr('meteredWindow');

/** Units counted in a subscription's current period (`periodUsage.<id>`). */
export interface PeriodWrite {
  readonly periodEnd: number;
  readonly units: number;
  /** `add` to the stored period's counter, or `start` the period (the stored one is older or absent). */
  readonly mode: 'add' | 'start';
  /** The split between quota and credits depended on this stored count: the write requires it. */
  readonly expectUsed?: number;
  /** `start` over a stored period, which becomes the previous one with `used` units (its stored count, which the write requires, plus its own units in this write). */
  readonly carry?: { readonly periodEnd: number; readonly usedBefore: number; readonly used: number };
  /** The plan the subscription counts under, stored with a period it starts. */
  readonly plan?: string;
}

/** Units of the period before the current one, logged after the counter moved on. */
export interface PreviousWrite {
  readonly periodEnd: number;
  readonly units: number;
  readonly expectUsed?: number;
}

/** What one subscription's counter takes. */
export interface CounterWrite {
  readonly subscriptionId: string;
  readonly period?: PeriodWrite;
  readonly previous?: PreviousWrite;
}

export interface UsageWrite {
  readonly counters: readonly CounterWrite[];
  /**
   * The item has no `periodUsage` yet (an older tollgate's one flat counter): the whole map this write
   * creates, the flat counter moved onto its subscription and this write's units applied, relying on
   * the flat counter as it was read.
   */
  readonly migrate?: { readonly map: Readonly<Record<string, PeriodUsageEntry>>; readonly legacy: { readonly usagePeriodEnd?: number; readonly periodUsed?: number } };
  /** Counters of subscriptions the item no longer tracks (forgotten by the webhook): removed. */
  readonly prune?: readonly string[];
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

/** `(attribute_not_exists(path) OR path = value)` for 0 (a counter never written is 0), else `path = value`. */
const countIs = (path: string, placeholder: string, count: number): string => (count === 0 ? `(attribute_not_exists(${path}) OR ${path} = ${placeholder})` : `${path} = ${placeholder}`);

/**
 * The conditional update (a TransactWriteItems entry): an `Update`, a `ConditionCheck` when the write
 * changes nothing but relies on the stored balance, or undefined when it neither changes nor relies on
 * anything. Every condition also requires the item to exist: metering never creates a customer. Each
 * subscription's counter is written in place (`periodUsage.<id>`), only forward: a period is started
 * only over an older one, a counter only grows within its period.
 */
export function usageUpdate(table: string, customerId: string, write: UsageWrite): UsageTransactItem | undefined {
  const set: string[] = [];
  const remove: string[] = [];
  const conditions = [`attribute_exists(${KEY})`];
  const values: Record<string, unknown> = {};
  const names: Record<string, string> = {};
  const usage = (): string => {
    names['#pu'] = attr('periodUsage');
    return '#pu';
  };
  if (write.migrate !== undefined) {
    const { legacy } = write.migrate;
    values[':map'] = write.migrate.map;
    set.push(`${usage()} = :map`);
    conditions.push(`attribute_not_exists(${usage()})`);
    for (const [name, value] of [[attr('usagePeriodEnd'), legacy.usagePeriodEnd], [attr('periodUsed'), legacy.periodUsed]] as const) {
      if (value === undefined) conditions.push(`attribute_not_exists(${name})`);
      else {
        values[`:legacy_${name}`] = value;
        conditions.push(`${name} = :legacy_${name}`);
      }
    }
  } else {
    write.counters.forEach(({ subscriptionId, period, previous }, i) => {
      names[`#s${i}`] = subscriptionId;
      const entry = `${usage()}.#s${i}`;
      if (period !== undefined && period.units > 0) {
        if (period.mode === 'add' || period.carry !== undefined) {
          values[`:pe${i}`] = period.periodEnd;
          values[`:u${i}`] = period.units;
        }
        if (period.mode === 'add') {
          set.push(`${entry}.used = ${entry}.used + :u${i}`);
          conditions.push(`${entry}.periodEnd = :pe${i}`);
          if (period.expectUsed !== undefined) {
            values[`:ub${i}`] = period.expectUsed;
            conditions.push(`${entry}.used = :ub${i}`);
          }
        } else if (period.carry !== undefined) {
          values[`:ce${i}`] = period.carry.periodEnd;
          values[`:cb${i}`] = period.carry.usedBefore;
          values[`:cu${i}`] = period.carry.used;
          set.push(`${entry}.periodEnd = :pe${i}`, `${entry}.used = :u${i}`, `${entry}.prevEnd = :ce${i}`, `${entry}.prevUsed = :cu${i}`);
          conditions.push(`${entry}.periodEnd = :ce${i}`, `${entry}.used = :cb${i}`);
        } else {
          values[`:e${i}`] = { used: period.units, periodEnd: period.periodEnd, ...(period.plan === undefined ? {} : { plan: period.plan }) };
          set.push(`${entry} = :e${i}`);
          conditions.push(`attribute_exists(${usage()})`, `attribute_not_exists(${entry})`);
        }
      }
      if (previous !== undefined && previous.units > 0) {
        values[`:pp${i}`] = previous.periodEnd;
        values[`:pu${i}`] = previous.units;
        values[':zero'] = 0;
        set.push(`${entry}.prevUsed = if_not_exists(${entry}.prevUsed, :zero) + :pu${i}`);
        conditions.push(`${entry}.prevEnd = :pp${i}`);
        if (previous.expectUsed !== undefined) {
          values[`:pb${i}`] = previous.expectUsed;
          conditions.push(countIs(`${entry}.prevUsed`, `:pb${i}`, previous.expectUsed));
        }
      }
    });
    (write.prune ?? []).forEach((subscriptionId, i) => {
      names[`#x${i}`] = subscriptionId;
      remove.push(`${usage()}.#x${i}`);
    });
  }
  if (write.window !== undefined) {
    values[':window'] = write.window;
    set.push(`${WINDOW} = :window`);
    conditions.push(`(attribute_not_exists(${WINDOW}) OR ${WINDOW} < :window)`);
  }
  // DynamoDB refuses an empty ExpressionAttributeValues (and names no expression uses).
  const condition = {
    TableName: table,
    Key: { customerId },
    ConditionExpression: [...new Set(conditions)].join(' AND '),
    ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
    ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
  };
  if (set.length === 0 && remove.length === 0) {
    if (conditions.length === 1) return undefined;
    return { ConditionCheck: condition };
  }
  return {
    Update: {
      ...condition,
      UpdateExpression: [set.length > 0 ? `SET ${set.join(', ')}` : '', remove.length > 0 ? `REMOVE ${remove.join(', ')}` : ''].filter(Boolean).join(' '),
    },
  };
}

/** The credits and budgets part of a usage write, on the wallet (a transaction item). */
export function walletCreditsItem(table: string, customerId: string, write: UsageWrite) {
  return withBudgetSpend(walletBalanceItem(table, customerId, write.credits.delta, write.credits.expect), table, customerId, write.budgets ?? []);
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
  const balance = walletBalanceItem(tables.customers, grant.customerId, grant.units);
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
