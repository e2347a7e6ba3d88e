import { budgetAttribute, budgetEntryString, budgetLeftAttribute, CUSTOMER_SCOPE, windowEnd, type BudgetEntry } from '../budgets';
import { isTerminal, type SubscriptionStatus } from './record';
import { walletKey, type WalletTransactItem } from './wallet';

/**
 * What metering's per-customer write spends of the budgets (lambda/shared/budgets.ts): the counted calls
 * take their units from the customer's budget and each key's from its own, on the wallet item, inside the
 * same transaction as the usage and its ledger entry (so a redelivered batch or a window summed again
 * spends them once, like its usage). A window that ended is started by this write: the left counter
 * becomes the limit less these units.
 */

export interface BudgetSpend {
  readonly scope: string;
  readonly units: number;
  /** The budget as read: the write requires it, so a window started (or a cap changed) meanwhile is a conflict. */
  readonly stored: BudgetEntry;
  /** The stored window ended: start the one that ends here, at `limit − units` left. */
  readonly startResetsAt?: number;
}

export interface BudgetUsage {
  /** Units of the counted calls (not strict ones: their reservation spent them). */
  readonly units: number;
  readonly keys?: ReadonlyMap<string, number>;
}

/** The period a `period` budget follows: the latest current period of a live subscription. */
function livePeriodEnd(subscriptions: Readonly<Record<string, { readonly status: SubscriptionStatus; readonly currentPeriodEnd?: number }>>, t: number): number | undefined {
  const ends = Object.values(subscriptions)
    .filter((s) => !isTerminal(s.status) && s.currentPeriodEnd !== undefined && s.currentPeriodEnd > t)
    .map((s) => s.currentPeriodEnd!);
  return ends.length === 0 ? undefined : Math.max(...ends);
}

export function budgetSpends(
  state: { readonly budgets?: Readonly<Record<string, BudgetEntry>>; readonly subscriptions: Readonly<Record<string, { readonly status: SubscriptionStatus; readonly currentPeriodEnd?: number }>> },
  usage: BudgetUsage,
  now: Date,
): BudgetSpend[] {
  if (state.budgets === undefined) return [];
  const t = Math.floor(now.getTime() / 1000);
  const spends: BudgetSpend[] = [];
  for (const [scope, entry] of Object.entries(state.budgets)) {
    const units = scope === CUSTOMER_SCOPE ? usage.units : (usage.keys?.get(scope) ?? 0);
    if (units <= 0) continue;
    const ended = entry.resetsAt <= t;
    spends.push({ scope, units, stored: entry, ...(ended ? { startResetsAt: windowEnd(entry.window, now, livePeriodEnd(state.subscriptions, t)) } : {}) });
  }
  return spends;
}

/** Adds the spends to an update under construction. */
function addBudgetSpend(
  spends: readonly BudgetSpend[],
  into: { set: string[]; add: string[]; conditions: string[]; values: Record<string, unknown>; names: Record<string, string> },
): void {
  if (spends.length === 0) return;
  spends.forEach((spend, i) => {
    into.names[`#bs${i}`] = budgetAttribute(spend.scope);
    into.names[`#bl${i}`] = budgetLeftAttribute(spend.scope);
    into.values[`:bstored${i}`] = budgetEntryString(spend.stored);
    into.conditions.push(`#bs${i} = :bstored${i}`);
    if (spend.startResetsAt === undefined) {
      into.values[`:bunits${i}`] = -spend.units;
      into.add.push(`#bl${i} :bunits${i}`);
    } else {
      into.values[`:bentry${i}`] = budgetEntryString({ ...spend.stored, resetsAt: spend.startResetsAt });
      into.values[`:bleft${i}`] = spend.stored.limit - spend.units;
      into.set.push(`#bs${i} = :bentry${i}`, `#bl${i} = :bleft${i}`);
    }
  });
}

/**
 * The wallet's transaction item (wallet.ts walletBalanceItem: a balance `SET`, a ConditionCheck, or
 * nothing) with the budget spends added: one write of the wallet in metering's transaction.
 */
export function withBudgetSpend(item: WalletTransactItem | undefined, table: string, customerId: string, spends: readonly BudgetSpend[]): WalletTransactItem | undefined {
  if (spends.length === 0) return item;
  const into = { set: [] as string[], add: [] as string[], conditions: [] as string[], values: {} as Record<string, unknown>, names: {} as Record<string, string> };
  const base = item === undefined ? undefined : 'Update' in item ? item.Update : item.ConditionCheck;
  const balanceUpdate = item !== undefined && 'Update' in item ? item.Update.UpdateExpression : undefined;
  if (balanceUpdate !== undefined && (!balanceUpdate.startsWith('SET ') || /\b(ADD|REMOVE|DELETE)\b/.test(balanceUpdate))) {
    throw new Error(`the wallet's balance update "${balanceUpdate}" is not a SET clause: the budget spends cannot be added to it`);
  }
  if (balanceUpdate !== undefined) into.set.push(balanceUpdate.slice('SET '.length));
  // As it is: walletBalanceItem parenthesizes its OR, and DynamoDB refuses redundant parentheses.
  if (base?.ConditionExpression !== undefined) into.conditions.push(base.ConditionExpression);
  addBudgetSpend(spends, into);
  return {
    Update: {
      TableName: table,
      Key: { customerId: walletKey(customerId) },
      UpdateExpression: [into.set.length > 0 ? `SET ${into.set.join(', ')}` : '', into.add.length > 0 ? `ADD ${into.add.join(', ')}` : ''].filter(Boolean).join(' '),
      ConditionExpression: into.conditions.join(' AND '),
      ExpressionAttributeNames: { ...base?.ExpressionAttributeNames, ...into.names },
      ExpressionAttributeValues: { ...base?.ExpressionAttributeValues, ...into.values },
    },
  };
}
