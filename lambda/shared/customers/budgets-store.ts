import { ConditionalCheckFailedException, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { budgetAttribute, budgetEntryString, budgetLeftAttribute, budgetState, checkBudgetLimit, CUSTOMER_SCOPE, windowEnd, type BudgetState, type BudgetWindow } from '../budgets';
import type { BudgetWindowStart } from './budgets-reservation';
import type { CustomerRecord } from './record';
import { decidingSubscription } from './standing';
import { readCustomer } from './store';
import { walletKey } from './wallet';

/**
 * Budget writes on the customer's wallet item (wallet.ts): set, raise, lower or remove a cap (the budget
 * route, the CLI), and start a new window (the authorizer, when a strict reservation met a window that
 * ended). Each is one conditional UpdateItem on what a strongly consistent read showed; a race reads
 * again. Setting the first budget of a customer that never had credits creates its wallet, with no
 * balance (wallet.ts).
 */

export class UnknownCustomerForBudgetError extends Error {
  override readonly name = 'UnknownCustomerForBudgetError';
}

/** A key id that is not one of the customer's keys. */
export class UnknownKeyForBudgetError extends Error {
  override readonly name = 'UnknownKeyForBudgetError';
}

export interface BudgetTarget {
  readonly customerId: string;
  /** A key's own budget; undefined: the customer's. */
  readonly keyId?: string;
}

const ATTEMPTS = 5;

const walletOf = (customerId: string) => ({ customerId: { S: walletKey(customerId) } });

/** The period a `period` window ends with: the deciding subscription's current period end. */
export const periodEndOf = (record: CustomerRecord, now: Date): number | undefined => decidingSubscription(record, now, 0).subscription?.currentPeriodEnd;

/** The customer's budgets as they stand: the customer's first, then its keys' by key id. */
export function budgetsOf(record: CustomerRecord, now: Date): BudgetState[] {
  const periodEnd = periodEndOf(record, now);
  return Object.keys(record.budgets ?? {})
    .sort((a, b) => (a === CUSTOMER_SCOPE ? -1 : b === CUSTOMER_SCOPE ? 1 : a.localeCompare(b)))
    .map((scope) => budgetState(record, scope, now, periodEnd)!);
}

async function conditional(client: DynamoDBClient, command: UpdateItemCommand): Promise<boolean> {
  try {
    await client.send(command);
    return true;
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return false;
    throw err;
  }
}

async function readFor(client: DynamoDBClient, table: string, target: BudgetTarget): Promise<CustomerRecord> {
  const record = await readCustomer(client, table, target.customerId);
  if (record === undefined) throw new UnknownCustomerForBudgetError(`no customer ${target.customerId}: create an API key for it or send its Stripe events first`);
  if (target.keyId !== undefined && record.apiKeys?.[target.keyId] === undefined) {
    throw new UnknownKeyForBudgetError(`customer ${target.customerId} has no key ${target.keyId}: list its keys with npx tollgate keys list`);
  }
  return record;
}

/**
 * Sets the cap of one scope. A raise or a cut keeps what was spent in the window (the left counter moves
 * by the difference); a new budget, or a new window length, counts from now.
 */
export async function setBudget(client: DynamoDBClient, table: string, target: BudgetTarget, limit: number, window: BudgetWindow, now: Date): Promise<BudgetState> {
  checkBudgetLimit(limit);
  const scope = target.keyId ?? CUSTOMER_SCOPE;
  const left = budgetLeftAttribute(scope);
  for (let attempt = 1; ; attempt += 1) {
    const record = await readFor(client, table, target);
    const periodEnd = periodEndOf(record, now);
    const current = budgetState(record, scope, now, periodEnd);
    const names = { '#budget': budgetAttribute(scope), '#left': left };
    const stored = record.budgets?.[scope];
    const command =
      current !== undefined && !current.expired && current.window === window
        ? // The same window: the cap moves, and what was spent in it stays spent.
          new UpdateItemCommand({
            TableName: table,
            Key: walletOf(target.customerId),
            UpdateExpression: 'SET #budget = :entry, #left = #left + :delta',
            ConditionExpression: '#budget = :before AND attribute_exists(#left)',
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: {
              ':entry': { S: budgetEntryString({ limit, window, resetsAt: current.resetsAt }) },
              ':delta': { N: String(limit - current.limit) },
              ':before': { S: budgetEntryString(stored!) },
            },
          })
        : // A new budget, a new window length or a window that ended: counts from now.
          new UpdateItemCommand({
            TableName: table,
            Key: walletOf(target.customerId),
            UpdateExpression: 'SET #budget = :entry, #left = :limit',
            ConditionExpression: stored === undefined ? 'attribute_not_exists(#budget)' : '#budget = :before',
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: {
              ':entry': { S: budgetEntryString({ limit, window, resetsAt: windowEnd(window, now, periodEnd) }) },
              ':limit': { N: String(limit) },
              ...(stored === undefined ? {} : { ':before': { S: budgetEntryString(stored) } }),
            },
          });
    if (await conditional(client, command)) {
      const after = await readFor(client, table, target);
      return budgetState(after, scope, now, periodEndOf(after, now))!;
    }
    if (attempt >= ATTEMPTS) throw new Error(`the budget of ${target.customerId} kept changing while it was set: retry`);
  }
}

/** Removes a scope's cap; false when there was none. */
export async function removeBudget(client: DynamoDBClient, table: string, target: BudgetTarget): Promise<boolean> {
  const scope = target.keyId ?? CUSTOMER_SCOPE;
  return conditional(
    client,
    new UpdateItemCommand({
      TableName: table,
      Key: walletOf(target.customerId),
      UpdateExpression: 'REMOVE #budget, #left',
      ConditionExpression: 'attribute_exists(#budget)',
      ExpressionAttributeNames: { '#budget': budgetAttribute(scope), '#left': budgetLeftAttribute(scope) },
    }),
  );
}

/**
 * Starts each ended window: its end moves on and the left counter is the whole limit again. One
 * conditional write per window, on the budget as read; a window another writer started first (or a
 * budget changed meanwhile) is left as it is.
 */
export async function startBudgetWindows(client: DynamoDBClient, table: string, customerId: string, starts: readonly BudgetWindowStart[]): Promise<void> {
  for (const start of starts) {
    await conditional(
      client,
      new UpdateItemCommand({
        TableName: table,
        Key: walletOf(customerId),
        UpdateExpression: 'SET #budget = :entry, #left = :limit',
        ConditionExpression: '#budget = :ended',
        ExpressionAttributeNames: { '#budget': budgetAttribute(start.scope), '#left': budgetLeftAttribute(start.scope) },
        ExpressionAttributeValues: {
          ':entry': { S: budgetEntryString({ ...start.ended, resetsAt: start.resetsAt }) },
          ':limit': { N: String(start.ended.limit) },
          ':ended': { S: budgetEntryString(start.ended) },
        },
      }),
    );
  }
}
