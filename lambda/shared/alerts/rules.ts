import { CUSTOMER_SCOPE, type BudgetEntry, type BudgetWindow } from '../budgets';
import { isTerminal, type PeriodUsageEntry, type SubscriptionStatus } from '../customers/record';
import type { PaymentReason } from '../problems';
import type { RecoveryVia } from './recovered';

/**
 * Alerts before the 402 (docs/alerts.md): the rules the seller configured (`tollgate:alerts`), and the
 * pure detection metering runs on each customer write. Detection is level-triggered: a counter, a
 * balance or a budget at or past a threshold names the alert of that threshold and period; the alert's
 * ledger item (outbox.ts), put once with a condition (quota alerts in the usage write's own
 * transaction, the others right after it: lambda/metering/alerts.ts), makes it fire exactly once however
 * often or in whatever order batches arrive. No I/O here.
 */

export const ALERT_RULES_ENV = 'TOLLGATE_ALERT_RULES';

export interface AlertRules {
  /** Percentages (1–100) of a plan's quota: fires when a subscription's period counter reaches one. */
  readonly quota: readonly number[];
  /** Units: fires when calls draw the prepaid balance below one. */
  readonly creditsBelow: readonly number[];
  /** Percentages (1–100) of a budget's limit: fires when a budget's window reaches one (100: budget_exceeded). */
  readonly budget: readonly number[];
  /** payment_recovered: a payment that lifted a 402, at the customer's first counted 2xx after it (./recovered.ts). */
  readonly paymentRecovered: boolean;
}

export const DEFAULT_ALERT_RULES: AlertRules = { quota: [80, 100], creditsBelow: [], budget: [100], paymentRecovered: true };

export const ALERT_DETAIL_TYPES = {
  quota: 'tollgate.customer.quota_threshold',
  credits: 'tollgate.customer.credits_low',
  budget: 'tollgate.customer.budget_exceeded',
  budgetThreshold: 'tollgate.customer.budget_threshold',
  recovered: 'tollgate.customer.payment_recovered',
  topUpFailed: 'tollgate.customer.auto_top_up_failed',
} as const;
export type AlertDetailType = (typeof ALERT_DETAIL_TYPES)[keyof typeof ALERT_DETAIL_TYPES];
export const ALERT_SOURCE = 'tollgate';

export type AlertDetail =
  | { readonly rule: 'quota'; readonly customerId: string; readonly subscriptionId: string; readonly plan: string; readonly percent: number; readonly quota: number; readonly used: number; readonly periodEnd: number }
  | { readonly rule: 'credits'; readonly customerId: string; readonly below: number; readonly balance: number; readonly period: string }
  | { readonly rule: 'budget'; readonly customerId: string; readonly scope: string; readonly percent: number; readonly limit: number; readonly used: number; readonly window: BudgetWindow; readonly resetsAt: number }
  | {
      readonly rule: 'recovered';
      readonly customerId: string;
      /** The 402 the payment ended. */
      readonly reason: PaymentReason;
      readonly via: RecoveryVia;
      readonly paymentEventId: string;
      readonly paymentEventType: string;
      /** Epoch s: the payment (its Stripe event's `created`), the webhook applying it, the first counted 2xx after. */
      readonly paidAt: number;
      readonly restoredAt: number;
      readonly firstCallAt: number;
      /** From the payment to the first counted 2xx, to the millisecond. */
      readonly secondsToFirstCall: number;
    }
  /** An auto top-up's charge failed (not a configured rule: the customer asked for the top-up, so it is always told). */
  | { readonly rule: 'topUp'; readonly customerId: string; readonly attempt: string; readonly failure: string; readonly pack?: string; readonly credits?: number };

/** One alert a write makes due: its key is the threshold and the period, so a period fires it once. */
export interface DueAlert {
  /** `<rule>#<threshold>#<subject>#<period>`: unique per threshold and period for the customer. */
  readonly key: string;
  readonly detailType: AlertDetailType;
  readonly detail: AlertDetail;
  /** Epoch s: the end of the period it belongs to (its ledger item outlives it). */
  readonly periodEnd: number;
}

const PERCENT_MAX = 100;
const isPercent = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= PERCENT_MAX;
const isUnits = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 1;

/** Sorted, without repeats: a threshold listed twice is one threshold. */
const normalise = (values: readonly number[]): number[] => [...new Set(values)].sort((a, b) => a - b);

/** Checks one rule list; returns the problems (lower-case, saying what to use). */
export function checkAlertRules(rules: { readonly quota?: unknown; readonly creditsBelow?: unknown; readonly budget?: unknown; readonly paymentRecovered?: unknown }, at: string): { readonly rules: AlertRules; readonly problems: readonly string[] } {
  const problems: string[] = [];
  const { paymentRecovered } = rules;
  if (paymentRecovered !== undefined && typeof paymentRecovered !== 'boolean') problems.push(`${at}.paymentRecovered is ${JSON.stringify(paymentRecovered)}: use true or false`);
  const list = (name: 'quota' | 'creditsBelow' | 'budget', ok: (v: unknown) => v is number, what: string): number[] => {
    const value = rules[name];
    if (value === undefined) return [...DEFAULT_ALERT_RULES[name]];
    if (!Array.isArray(value) || value.length > 10 || !value.every(ok)) {
      problems.push(`${at}.${name} is ${JSON.stringify(value)}: use a list of at most 10 ${what}`);
      return [];
    }
    return normalise(value);
  };
  return {
    rules: {
      quota: list('quota', isPercent, 'whole percentages from 1 to 100, such as [50, 80, 100]'),
      creditsBelow: list('creditsBelow', isUnits, 'whole numbers of units ≥ 1, such as [100]'),
      budget: list('budget', isPercent, 'whole percentages from 1 to 100, such as [80, 100]'),
      paymentRecovered: typeof paymentRecovered === 'boolean' ? paymentRecovered : DEFAULT_ALERT_RULES.paymentRecovered,
    },
    problems,
  };
}

export const encodeAlertRules = (rules: AlertRules): string => JSON.stringify({ q: rules.quota, c: rules.creditsBelow, b: rules.budget, r: rules.paymentRecovered });

/** The rules from the metering function's environment; undefined: alerts are off. */
export function decodeAlertRules(encoded: string | undefined): AlertRules | undefined {
  if (encoded === undefined || encoded === '') return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(encoded);
  } catch {
    throw new RangeError(`${ALERT_RULES_ENV} is not JSON: the stack writes it, redeploy`);
  }
  const o = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const { rules, problems } = checkAlertRules({ quota: o.q ?? [], creditsBelow: o.c ?? [], budget: o.b ?? [], paymentRecovered: o.r ?? false }, ALERT_RULES_ENV);
  if (problems.length > 0) throw new RangeError(problems.join('; '));
  return rules;
}

/** The smallest count that reaches `percent` of `of` (at least 1). */
export const thresholdOf = (of: number, percent: number): number => Math.max(1, Math.ceil((of * percent) / 100));

/** Quota alerts: each subscription counter a write leaves (written in its transaction: the counter is exact there). */
export function quotaAlerts(rules: AlertRules, customerId: string, counters: Readonly<Record<string, PeriodUsageEntry>>, quotas: Readonly<Record<string, number>>): DueAlert[] {
  const due: DueAlert[] = [];
  for (const [subscriptionId, counter] of Object.entries(counters)) {
    const quota = counter.plan === undefined ? undefined : quotas[counter.plan];
    if (quota === undefined || quota <= 0) continue;
    for (const percent of rules.quota) {
      if (counter.used < thresholdOf(quota, percent)) continue;
      due.push({
        key: `quota#${percent}#${subscriptionId}#${counter.periodEnd}`,
        detailType: ALERT_DETAIL_TYPES.quota,
        detail: { rule: 'quota', customerId, subscriptionId, plan: counter.plan!, percent, quota, used: counter.used, periodEnd: counter.periodEnd },
        periodEnd: counter.periodEnd,
      });
    }
  }
  return due;
}

/** The wallet as read after a write: its balance and budgets. */
export interface WalletLevels {
  /** Undefined: the customer never had credits. */
  readonly balance?: number;
  readonly budgets: ReadonlyArray<{ readonly scope: string; readonly entry: BudgetEntry; readonly left: number }>;
}

type Subscriptions = Readonly<Record<string, { readonly status: SubscriptionStatus; readonly currentPeriodEnd?: number }>>;

/** The credits alert's period: the live subscription's billing period, else the UTC month. */
export function creditsPeriod(subscriptions: Subscriptions, now: Date): { readonly id: string; readonly end: number } {
  const t = Math.floor(now.getTime() / 1000);
  const ends = Object.values(subscriptions)
    .filter((s) => !isTerminal(s.status) && s.currentPeriodEnd !== undefined && s.currentPeriodEnd > t)
    .map((s) => s.currentPeriodEnd!);
  if (ends.length > 0) {
    const end = Math.max(...ends);
    return { id: String(end), end };
  }
  const month = `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
  return { id: month, end: Math.floor(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1) / 1000) };
}

/**
 * Credits and budget alerts, from the wallet as read after the write: the balance and the budgets move
 * outside metering too (a strict call's reservation in the authorizer, a grant, a raised cap), so their
 * levels are read, not computed. A budget window that ended is not judged (the next write starts a new one).
 */
export function walletAlerts(rules: AlertRules, customerId: string, wallet: WalletLevels, subscriptions: Subscriptions, now: Date): DueAlert[] {
  const due: DueAlert[] = [];
  if (wallet.balance !== undefined && rules.creditsBelow.length > 0) {
    const period = creditsPeriod(subscriptions, now);
    for (const below of rules.creditsBelow) {
      if (wallet.balance >= below) continue;
      due.push({
        key: `credits#${below}#${period.id}`,
        detailType: ALERT_DETAIL_TYPES.credits,
        detail: { rule: 'credits', customerId, below, balance: wallet.balance, period: period.id },
        periodEnd: period.end,
      });
    }
  }
  const t = Math.floor(now.getTime() / 1000);
  for (const { scope, entry, left } of wallet.budgets) {
    if (entry.resetsAt <= t) continue;
    const used = Math.max(0, entry.limit - left);
    for (const percent of rules.budget) {
      if (used < thresholdOf(entry.limit, percent)) continue;
      due.push({
        key: `budget#${percent}#${scope === CUSTOMER_SCOPE ? 'customer' : scope}#${entry.resetsAt}`,
        detailType: percent >= 100 ? ALERT_DETAIL_TYPES.budget : ALERT_DETAIL_TYPES.budgetThreshold,
        detail: { rule: 'budget', customerId, scope, percent, limit: entry.limit, used, window: entry.window, resetsAt: entry.resetsAt },
        periodEnd: entry.resetsAt,
      });
    }
  }
  return due;
}
