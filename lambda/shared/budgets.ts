import { KEY_ID } from './customers/api-key';

/**
 * Budgets: a spend cap, in units, that a customer sets on itself (for all its keys, or for one key), per
 * UTC day or per billing period. Past it, routes sold by use answer 402 budget_exceeded until the window
 * resets or the cap is raised. Pure rules, no I/O; budgets-store.ts writes them.
 *
 * Stored on the customer's wallet item (`<customerId>#wallet`, customers/wallet.ts), beside the balance,
 * so that the reads and the one write a decision already makes carry them:
 *
 *   budget                the customer's budget, as one string: `<resetsAt> <window> <limit>` (budgetEntryString)
 *   budget_<keyId>        that key's budget, the same way
 *   budgetLeft            units left in the customer budget's window (limit − spent)
 *   budgetLeft_<keyId>    units left in that key budget's window
 *
 * One string per budget, at the item's top level, not a map of scopes to maps of three attributes: every
 * decision of a budgeted customer reads them, and each attribute value costs DynamoDB and the SDK's
 * deserializer (bench/README.md, B1: two budgets as maps were 11 more attribute values and 290 more bytes,
 * 1.038× the read; as strings they are 4). The window's end comes first, ten digits wide, so the string's
 * order is the end's order: the reservation's condition sees an open window as `budget >= <the next
 * second>` (budgetOpenAfter), and every other writer's condition compares the whole string it read. At the
 * top level, the decision projects the two a call draws on by name (not the other keys'), and a first
 * budget needs no map created before it.
 *
 * Units left, not units spent: a strict route's reservation (the wallet's one conditional UpdateItem)
 * takes its cost with `ADD budgetLeft :minus` under the condition `budgetLeft >= :cost` (the authorizer cannot read the limit
 * first, and a condition cannot add). The reservation adds to the left counters whether or not a budget
 * exists (it cannot know); a counter without a budget means nothing, and setting a budget sets it. A
 * window that ended (`resetsAt` ≤ now) counts as whole: whoever writes next (metering, or a strict
 * reservation refused by its condition) starts the new window with one conditional write.
 */

export const BUDGET_WINDOWS = ['day', 'period'] as const;
export type BudgetWindow = (typeof BUDGET_WINDOWS)[number];
export const isBudgetWindow = (value: unknown): value is BudgetWindow => (BUDGET_WINDOWS as readonly unknown[]).includes(value);

/** The scope of the customer-wide budget (key ids are base62, so never `*`). */
export const CUSTOMER_SCOPE = '*';
export const BUDGET = 'budget';
export const BUDGET_KEY_PREFIX = 'budget_';
export const BUDGET_LEFT = 'budgetLeft';
export const BUDGET_LEFT_KEY_PREFIX = 'budgetLeft_';
/** The largest cap a customer can set: well inside DynamoDB's and JavaScript's exact integers. */
export const MAX_BUDGET_LIMIT = 1_000_000_000_000;

export interface BudgetEntry {
  readonly limit: number;
  readonly window: BudgetWindow;
  /** Epoch s: the end of the window its left counter counts. */
  readonly resetsAt: number;
}

/** Epoch s of a window end as stored: ten digits (2001-09-09 to 2286-11-20), so that strings sort as numbers. */
const MIN_STORED_END = 1_000_000_000;
const MAX_STORED_END = 9_999_999_999;

/** A budget as the wallet stores it: `<resetsAt> <window> <limit>`, e.g. `1767225600 day 500`. */
export function budgetEntryString(entry: BudgetEntry): string {
  if (!Number.isSafeInteger(entry.resetsAt) || entry.resetsAt < MIN_STORED_END || entry.resetsAt > MAX_STORED_END) {
    throw new RangeError(`a budget window's end is epoch seconds of ten digits, not ${entry.resetsAt}`);
  }
  return `${entry.resetsAt} ${entry.window} ${entry.limit}`;
}

const ENTRY = /^(\d{10}) ([a-z]+) ([1-9]\d{0,12})$/;

/** A stored budget string read back; undefined: not one (the decision leaves it out). */
export function parseBudgetEntry(value: string): BudgetEntry | undefined {
  const m = ENTRY.exec(value);
  if (m === null || !isBudgetWindow(m[2])) return undefined;
  const limit = Number(m[3]);
  return limit > MAX_BUDGET_LIMIT ? undefined : { resetsAt: Number(m[1]), window: m[2], limit };
}

/** What a stored budget string of an open window is at least, at `nowSeconds`: its end's ten digits must reach the next second. */
export const budgetOpenAfter = (nowSeconds: number): string => String(nowSeconds + 1);

/** What budgets a customer record holds. */
export interface BudgetRecord {
  readonly budgets?: Readonly<Record<string, BudgetEntry>>;
  readonly budgetLeft?: number;
  /** By key id. */
  readonly budgetLeftByKey?: Readonly<Record<string, number>>;
}

/** One budget as it stands now. */
export interface BudgetState {
  /** `*` or a key id. */
  readonly scope: string;
  readonly limit: number;
  readonly window: BudgetWindow;
  readonly used: number;
  readonly left: number;
  /** Epoch s. */
  readonly resetsAt: number;
  /** The stored window ended: the next write starts a new one. */
  readonly expired: boolean;
}

function keyScope(scope: string): string {
  if (!KEY_ID.test(scope)) throw new RangeError(`invalid key id "${scope}": expected 8 letters or digits`);
  return scope;
}

/** `budget` or `budget_<keyId>`: where a scope's budget is stored. */
export const budgetAttribute = (scope: string): string => (scope === CUSTOMER_SCOPE ? BUDGET : BUDGET_KEY_PREFIX + keyScope(scope));

/** `budgetLeft` or `budgetLeft_<keyId>`: the units left in its window. */
export const budgetLeftAttribute = (scope: string): string => (scope === CUSTOMER_SCOPE ? BUDGET_LEFT : BUDGET_LEFT_KEY_PREFIX + keyScope(scope));

const DAY = 86_400;

/** Epoch s of the end of the window that contains `now`: the next UTC midnight, or the billing period's end (else the next UTC month). */
export function windowEnd(window: BudgetWindow, now: Date, periodEnd: number | undefined): number {
  const t = Math.floor(now.getTime() / 1000);
  if (window === 'day') return (Math.floor(t / DAY) + 1) * DAY;
  if (periodEnd !== undefined && periodEnd > t) return periodEnd;
  return Math.floor(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1) / 1000);
}

const leftOf = (record: BudgetRecord, scope: string): number | undefined => (scope === CUSTOMER_SCOPE ? record.budgetLeft : record.budgetLeftByKey?.[scope]);

/** One scope's budget now; undefined: none set. */
export function budgetState(record: BudgetRecord, scope: string, now: Date, periodEnd: number | undefined): BudgetState | undefined {
  return stateAt(record, scope, now, Math.floor(now.getTime() / 1000), periodEnd);
}

/** budgetState with `now` in epoch s already: a decision reads the clock once for both scopes. */
function stateAt(record: BudgetRecord, scope: string, now: Date, t: number, periodEnd: number | undefined): BudgetState | undefined {
  const entry = record.budgets?.[scope];
  if (entry === undefined) return undefined;
  const expired = entry.resetsAt <= t;
  const left = expired ? entry.limit : (leftOf(record, scope) ?? entry.limit);
  return {
    scope,
    limit: entry.limit,
    window: entry.window,
    used: Math.max(0, entry.limit - left),
    left,
    resetsAt: expired ? windowEnd(entry.window, now, periodEnd) : entry.resetsAt,
    expired,
  };
}

/** The budgets a call with this key draws on: the customer's, then the key's. */
export function applicableBudgets(record: BudgetRecord, keyId: string | undefined, now: Date, periodEnd: number | undefined): BudgetState[] {
  const states: BudgetState[] = [];
  if (record.budgets === undefined) return states;
  const t = Math.floor(now.getTime() / 1000);
  const customer = stateAt(record, CUSTOMER_SCOPE, now, t, periodEnd);
  if (customer !== undefined) states.push(customer);
  const key = keyId === undefined ? undefined : stateAt(record, keyId, now, t, periodEnd);
  if (key !== undefined) states.push(key);
  return states;
}

/**
 * The budget that stops a call of `cost` units, if any: a strict call needs `cost` units left (it is
 * exact), a log-metered call needs one (the call that crosses the cap is served; metering counts it).
 * The tightest one wins, so the 402 names the budget to raise first.
 */
export function exceededBudget(budgets: readonly BudgetState[], cost: number, strict: boolean): BudgetState | undefined {
  const need = strict ? cost : 1;
  let worst: BudgetState | undefined;
  for (const b of budgets) if (b.left < need && (worst === undefined || b.left < worst.left)) worst = b;
  return worst;
}

/** Units left before a budget stops the calls (metering's headroom); undefined: no budget. */
export const budgetHeadroom = (budgets: readonly BudgetState[]): number | undefined => (budgets.length === 0 ? undefined : Math.max(0, Math.min(...budgets.map((b) => b.left))));

/** A cap a customer may set: a whole number of units ≥ 1. */
export function checkBudgetLimit(limit: number): number {
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_BUDGET_LIMIT) throw new RangeError(`a budget is a whole number of units from 1 to ${MAX_BUDGET_LIMIT}`);
  return limit;
}

/** A scope as people name it: undefined (the whole customer) or a key id. */
export function scopeOf(keyId: string | undefined): string {
  if (keyId === undefined) return CUSTOMER_SCOPE;
  budgetLeftAttribute(keyId);
  return keyId;
}
