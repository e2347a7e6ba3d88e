import { TransactionCanceledException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { attr, METERING_PROJECTION } from './item';
import type { CustomerRecord, PeriodUsageEntry } from './record';
import { readCustomerWithWallet } from './store';
import { BALANCE, readWallet, walletBalanceItem, walletKey, type BalanceExpectation, type PendingReservation, type WalletTransactItem } from './wallet';
import { grantWalletItem } from './wallet-grants';
import { withBudgetSpend, type BudgetSpend } from './budgets-spend';
import { drawClauses, GRANTS, newGrant, planDraw, type GrantCategory, type WalletFunds } from '../credit-grants';

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
  'customerId' | 'subscriptions' | 'pastDue' | 'credits' | 'periodUsage' | 'periodUsed' | 'usagePeriodEnd' | 'prevPeriodEnd' | 'prevPeriodUsed' | 'meteredWindow' | 'budgets' | 'agentPayment' | 'paymentRecovery' | 'grants' | 'walletBalance' | 'topUp'
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
    /** The wallet has grants: the units drawn from them (and ungranted units given back), planned from `funds` as read. */
    readonly draw?: { readonly funds: WalletFunds; readonly units: number; readonly refund: number };
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

/** The wallet's grants moved under a settlement (a draw planned on them no longer covers it): read again and settle again. */
export class GrantsMovedError extends Error {
  override readonly name = 'GrantsMovedError';
}

/**
 * The credits and budgets part of a usage write, on the wallet (a transaction item). With grants, the
 * units are drawn from them in order at `now` (../credit-grants.ts planDraw), the write requiring what
 * the plan relied on; without, from the balance, the write requiring that the wallet still has no grants.
 */
export function walletCreditsItem(table: string, customerId: string, write: UsageWrite, now: Date) {
  const { draw } = write.credits;
  if (draw === undefined || draw.funds.grants === undefined) {
    const item = walletBalanceItem(table, customerId, write.credits.delta, write.credits.expect);
    return withBudgetSpend(item === undefined ? undefined : withoutGrants(item), table, customerId, write.budgets ?? []);
  }
  const plan = planDraw(draw.funds, draw.units, now, draw.refund);
  if (plan === undefined) throw new GrantsMovedError(`the grants of ${customerId} no longer cover ${draw.units} units`);
  const clauses = drawClauses(plan, (v) => v);
  const base = { TableName: table, Key: { customerId: walletKey(customerId) } };
  const names = { '#b': BALANCE, ...clauses.names };
  const moves = plan.balanceDelta !== 0 || clauses.set.length > 0;
  // Nothing drawn though calls wanted credits (all spent or expired): still relies on the grants as read.
  const item: WalletTransactItem | undefined = !moves
    ? write.credits.expect === undefined
      ? undefined
      : { ConditionCheck: { ...base, ConditionExpression: clauses.conditions.join(' AND '), ExpressionAttributeNames: clauses.names, ExpressionAttributeValues: clauses.values } }
    : {
        Update: {
          ...base,
          UpdateExpression: `SET ${['#b = #b + :delta', ...clauses.set].join(', ')}`,
          ConditionExpression: clauses.conditions.join(' AND '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ...clauses.values, ':delta': plan.balanceDelta },
        },
      };
  return withBudgetSpend(item, table, customerId, write.budgets ?? []);
}

/** A balance write on a wallet that had no grants when read: requires it still has none (a grant since would be drawn first). */
function withoutGrants(item: WalletTransactItem): WalletTransactItem {
  const write = 'Update' in item ? item.Update : item.ConditionCheck;
  const condition = [write.ConditionExpression, 'attribute_not_exists(#g)'].filter(Boolean).join(' AND ');
  const names = { ...write.ExpressionAttributeNames, '#g': GRANTS };
  return 'Update' in item ? { Update: { ...item.Update, ConditionExpression: condition, ExpressionAttributeNames: names } } : { ConditionCheck: { ...item.ConditionCheck, ConditionExpression: condition, ExpressionAttributeNames: names } };
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
 * Adds credits to an existing customer's wallet (wallet.ts) as a grant (its entry in the wallet's
 * `grants` map: units, category, priority, expiry; ./wallet-grants.ts) and records it (units, reason,
 * time) in the events table, in one transaction: all or nothing, and once per grant id. Reads the wallet
 * first (the write is planned from it) and again when another writer moved it in between.
 */
export async function grantCredits(client: DynamoDBClient, tables: { readonly customers: string; readonly events: string }, grant: CreditsGrant, attempts = 6): Promise<'granted' | 'duplicate'> {
  if (grant.reason.trim() === '' || grant.reason.length > MAX_GRANT_REASON_LENGTH) {
    throw new RangeError(`the reason must be 1 to ${MAX_GRANT_REASON_LENGTH} characters`);
  }
  const entry = newGrant({ id: grant.grantId, units: grant.units, now: grant.now, ...(grant.category === undefined ? {} : { category: grant.category }), ...(grant.priority === undefined ? {} : { priority: grant.priority }), ...(grant.expiresAt === undefined ? {} : { expiresAt: grant.expiresAt }) });
  for (let attempt = 1; ; attempt += 1) {
    const wallet = grantWalletItem(tables.customers, grant.customerId, await readWallet(client, tables.customers, grant.customerId), entry, grant.now);
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
      // The wallet moved since it was read (a draw, a refund, another grant): read it again.
      if (attempt >= attempts || !(err.CancellationReasons ?? []).some((r) => r?.Code === 'ConditionalCheckFailed' || r?.Code === 'TransactionConflict')) throw err;
    }
  }
}

const unknownCustomer = (customerId: string): UnknownCustomerForCreditsError =>
  new UnknownCustomerForCreditsError(`no customer ${customerId}: create an API key for it or send its Stripe events first`);
