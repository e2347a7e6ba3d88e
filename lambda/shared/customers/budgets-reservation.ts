import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { BUDGET_LEFT, BUDGET_LEFT_KEY_PREFIX, budgetLeftAttribute, budgetOpenAfter, BUDGETS, CUSTOMER_SCOPE, parseBudgetEntry, type BudgetEntry, type BudgetRecord, type BudgetState } from '../budgets';
import { KEY_ID } from './api-key';
import type { Draft } from '../draft';

/**
 * The budgets' part of the wallet item (wallet.ts): how a strict reservation's one conditional UpdateItem
 * on the wallet also takes the cost from the customer's and the key's budgets, only when each budget that
 * exists has the cost left in a window that has not ended (exact: concurrent calls never spend past a
 * cap), and how the wallet's budget attributes decode. A window that ended fails the condition; the
 * authorizer then starts the new window (budgets-store.ts `startBudgetWindows`) and reserves again.
 */

/** IAM `dynamodb:Attributes` the budgets add to the wallet's: the map and the left counters. */
export const BUDGET_WALLET_ATTRIBUTES = [BUDGETS, BUDGET_LEFT, `${BUDGET_LEFT_KEY_PREFIX}*`] as const;

// `entry >= :openAfter`: the stored string's window ends after now (../budgets.ts budgetEntryString).
const open = (scope: string, left: string): string => `(attribute_not_exists(#bud.${scope}) OR (#bud.${scope} >= :openAfter AND ${left} >= :cost))`;
const CUSTOMER_OPEN = open('#bcs', '#bl');
const KEY_OPEN = open('#bks', '#bkl');

/** The reservation's budget clauses; they name `:cost` and `:minus` (−cost), which the reservation already sends. */
export interface BudgetReservationPart {
  /** Items of the update's ADD clause: both left counters move with every reservation (without a budget they mean nothing). */
  readonly add: string;
  readonly condition: string;
  readonly names: Record<string, string>;
  readonly values: Record<string, AttributeValue>;
}

/** `keyId`: the presented key, whose budget the call also spends (absent: the customer's alone). */
export function budgetReservationPart(keyId: string | undefined, now: Date): BudgetReservationPart {
  const names: Record<string, string> = { '#bud': BUDGETS, '#bcs': CUSTOMER_SCOPE, '#bl': BUDGET_LEFT };
  const values = { ':openAfter': { S: budgetOpenAfter(Math.floor(now.getTime() / 1000)) } };
  if (keyId === undefined) return { add: '#bl :minus', condition: CUSTOMER_OPEN, names, values };
  return {
    add: '#bl :minus, #bkl :minus',
    condition: `${CUSTOMER_OPEN} AND ${KEY_OPEN}`,
    names: Object.assign(names, { '#bks': keyId, '#bkl': budgetLeftAttribute(keyId) }),
    values,
  };
}

const finite = (value: AttributeValue | undefined): number | undefined => {
  const n = value?.N === undefined ? NaN : Number(value.N);
  return Number.isFinite(n) ? n : undefined;
};


/**
 * The budgets a wallet item holds (as DynamoDB returns it). An entry of another shape is left out: the
 * decision ignores it, and the reservation's condition, which cannot compare it, is refused loudly.
 */
export function decodeWalletBudgets(item: Record<string, AttributeValue>): BudgetRecord {
  const map = item[BUDGETS]?.M;
  if (map === undefined) return {};
  // for…in and field-by-field: this runs on every decision of a budgeted customer on a route sold by use.
  const budgets: Record<string, BudgetEntry> = {};
  for (const scope in map) {
    const stored = map[scope]!.S;
    const entry = stored === undefined ? undefined : parseBudgetEntry(stored);
    if (entry !== undefined) budgets[scope] = entry;
  }
  const budgetLeftByKey: Record<string, number> = {};
  for (const name in item) {
    if (!name.startsWith(BUDGET_LEFT_KEY_PREFIX)) continue;
    const keyId = name.slice(BUDGET_LEFT_KEY_PREFIX.length);
    const left = finite(item[name]);
    if (left !== undefined && KEY_ID.test(keyId)) budgetLeftByKey[keyId] = left;
  }
  const record: Draft<BudgetRecord> = { budgets };
  const budgetLeft = finite(item[BUDGET_LEFT]);
  if (budgetLeft !== undefined) record.budgetLeft = budgetLeft;
  record.budgetLeftByKey = budgetLeftByKey;
  return record;
}

/** A window that ended, to start again: the stored budget is the condition, so two starters start it once. */
export interface BudgetWindowStart {
  readonly scope: string;
  /** The budget as read, its window ended. */
  readonly ended: BudgetEntry;
  /** The new window's end. */
  readonly resetsAt: number;
}

/** The windows among `budgets` that ended, with their new ends. */
export function windowsToStart(record: BudgetRecord, budgets: readonly BudgetState[]): BudgetWindowStart[] {
  return budgets.filter((b) => b.expired).map((b) => ({ scope: b.scope, ended: record.budgets![b.scope]!, resetsAt: b.resetsAt }));
}
