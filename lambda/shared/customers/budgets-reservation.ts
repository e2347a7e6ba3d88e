import { ConditionalCheckFailedException, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { attr } from './item';
import { BUDGET_LEFT_KEY_PREFIX, budgetLeftAttribute, CUSTOMER_SCOPE, type BudgetRecord, type BudgetState } from '../budgets';

/**
 * A strict route's reservation, budget part: the same conditional UpdateItem that takes the cost from
 * the credits takes it from the customer's and the key's budgets, and only when each budget that exists
 * has the cost left in a window that has not ended. Exact: concurrent calls never spend past a cap. A
 * window that ended fails the condition; the authorizer then starts the new window (budgets-store.ts
 * `startBudgetWindow`) and reserves again.
 */

/** Both left counters move with every reservation: without a budget they mean nothing (budgets.ts). */
export const BUDGET_RESERVATION_UPDATE = `${attr('budgetLeft')} :minus, #keyLeft :minus`;

const BUDGETS = attr('budgets');
const open = (scope: string, left: string): string => `(attribute_not_exists(${BUDGETS}.${scope}) OR (${BUDGETS}.${scope}.resetsAt > :nowSeconds AND ${left} >= :cost))`;

/** Built once: the names of the key's entries come per request. */
export const BUDGET_RESERVATION_CONDITION = `${open('#customerScope', attr('budgetLeft'))} AND ${open('#keyScope', '#keyLeft')}`;

/** IAM `dynamodb:Attributes` for the reservation: the budgets it reads and the counters it adds to. */
export const BUDGET_RESERVATION_ATTRIBUTES = [BUDGETS, attr('budgetLeft'), `${BUDGET_LEFT_KEY_PREFIX}*`] as const;

export const budgetReservationNames = (keyId: string): Record<string, string> => ({
  '#customerScope': CUSTOMER_SCOPE,
  '#keyScope': keyId,
  '#keyLeft': budgetLeftAttribute(keyId),
});

export const budgetReservationValues = (now: Date): { ':nowSeconds': { N: string } } => ({ ':nowSeconds': { N: String(Math.floor(now.getTime() / 1000)) } });

/** A window that ended, to start again: its stored end is the condition, so two starters start it once. */
export interface BudgetWindowStart {
  readonly scope: string;
  readonly endedAt: number;
  readonly limit: number;
  readonly resetsAt: number;
}

/** The windows among `budgets` that ended, with their new ends. */
export function windowsToStart(record: BudgetRecord, budgets: readonly BudgetState[]): BudgetWindowStart[] {
  return budgets.filter((b) => b.expired).map((b) => ({ scope: b.scope, endedAt: record.budgets![b.scope]!.resetsAt, limit: b.limit, resetsAt: b.resetsAt }));
}

/**
 * Starts each ended window: resetsAt moves on and the left counter is the whole limit again. One
 * conditional write per window; a window another writer started first is left as it is.
 */
export async function startBudgetWindows(client: DynamoDBClient, table: string, customerId: string, starts: readonly BudgetWindowStart[]): Promise<void> {
  for (const start of starts) {
    try {
      await client.send(
        new UpdateItemCommand({
        TableName: table,
        Key: { customerId: { S: customerId } },
        UpdateExpression: 'SET #budgets.#scope.resetsAt = :resetsAt, #left = :limit',
        ConditionExpression: '#budgets.#scope.resetsAt = :endedAt',
        ExpressionAttributeNames: { '#budgets': BUDGETS, '#scope': start.scope, '#left': budgetLeftAttribute(start.scope) },
        ExpressionAttributeValues: { ':resetsAt': { N: String(start.resetsAt) }, ':limit': { N: String(start.limit) }, ':endedAt': { N: String(start.endedAt) } },
        }),
      );
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
  }
}
