import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  BUDGET,
  BUDGET_KEY_PREFIX,
  BUDGET_LEFT,
  BUDGET_LEFT_KEY_PREFIX,
  budgetAttribute,
  budgetLeftAttribute,
  budgetOpenAfter,
  CUSTOMER_SCOPE,
  parseBudgetEntry,
  type BudgetEntry,
  type BudgetRecord,
  type BudgetState,
} from '../budgets';
import { KEY_ID } from './api-key';
import type { Draft } from '../draft';

/**
 * The budgets' part of the wallet item (wallet.ts): how a strict reservation's one conditional UpdateItem
 * on the wallet also takes the cost from the customer's and the key's budgets, only when each budget that
 * exists has the cost left in a window that has not ended (exact: concurrent calls never spend past a
 * cap), and how the wallet's budget attributes decode. A window that ended fails the condition; the
 * authorizer then starts the new window (budgets-store.ts `startBudgetWindows`) and reserves again.
 */

/** IAM `dynamodb:Attributes` the budgets add to the wallet's: the budgets and their left counters. */
export const BUDGET_WALLET_ATTRIBUTES = [BUDGET, `${BUDGET_KEY_PREFIX}*`, BUDGET_LEFT, `${BUDGET_LEFT_KEY_PREFIX}*`] as const;

// `budget >= :openAfter`: the stored string's window ends after now (../budgets.ts budgetEntryString).
const open = (budget: string, left: string): string => `(attribute_not_exists(${budget}) OR (${budget} >= :openAfter AND ${left} >= :cost))`;
const CUSTOMER_OPEN = open('#bc', '#bl');
const KEY_OPEN = open('#bk', '#bkl');

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
  const names: Record<string, string> = { '#bc': BUDGET, '#bl': BUDGET_LEFT };
  const values = { ':openAfter': { S: budgetOpenAfter(Math.floor(now.getTime() / 1000)) } };
  if (keyId === undefined) return { add: '#bl :minus', condition: CUSTOMER_OPEN, names, values };
  return {
    add: '#bl :minus, #bkl :minus',
    condition: `${CUSTOMER_OPEN} AND ${KEY_OPEN}`,
    names: Object.assign(names, { '#bk': budgetAttribute(keyId), '#bkl': budgetLeftAttribute(keyId) }),
    values,
  };
}

const finite = (value: AttributeValue | undefined): number | undefined => {
  const n = value?.N === undefined ? NaN : Number(value.N);
  return Number.isFinite(n) ? n : undefined;
};

/**
 * The budgets a wallet item holds (as DynamoDB returns it); `budgets` is absent when it holds none. An
 * entry of another shape is left out: the decision ignores it, and the reservation's condition, which
 * cannot compare it, is refused loudly.
 */
export function decodeWalletBudgets(item: Record<string, AttributeValue>): BudgetRecord {
  // One pass over the names, for…in and no arrays: this runs on every decision of a customer on a route sold by use.
  let budgets: Record<string, BudgetEntry> | undefined;
  const budgetLeftByKey: Record<string, number> = {};
  for (const name in item) {
    if (!name.startsWith(BUDGET)) continue;
    if (name.startsWith(BUDGET_LEFT_KEY_PREFIX)) {
      const keyId = name.slice(BUDGET_LEFT_KEY_PREFIX.length);
      const left = finite(item[name]);
      if (left !== undefined && KEY_ID.test(keyId)) budgetLeftByKey[keyId] = left;
      continue;
    }
    const scope = name === BUDGET ? CUSTOMER_SCOPE : name.startsWith(BUDGET_KEY_PREFIX) ? name.slice(BUDGET_KEY_PREFIX.length) : undefined;
    if (scope === undefined || (scope !== CUSTOMER_SCOPE && !KEY_ID.test(scope))) continue;
    const stored = item[name]!.S;
    const entry = stored === undefined ? undefined : parseBudgetEntry(stored);
    if (entry !== undefined) (budgets ??= {})[scope] = entry;
  }
  if (budgets === undefined) return {};
  const record: Draft<BudgetRecord> = { budgets, budgetLeftByKey };
  const budgetLeft = finite(item[BUDGET_LEFT]);
  if (budgetLeft !== undefined) record.budgetLeft = budgetLeft;
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
