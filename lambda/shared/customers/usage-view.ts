import type { CustomerRecord } from './record';
import type { Draft } from '../draft';

/**
 * The one rule for a customer's usage in its billing period, for the authorizer (cost routes), the
 * usage route and the CLI. Pure: no I/O, no clock (the period is the deciding subscription's).
 *
 * - A plan (keyed by the Stripe price lookup key or id a subscription item carries) includes `quota`
 *   units per billing period; no quota: unlimited. Past the quota, `block` (402 quota_exceeded) or
 *   `bill` (keep serving; metering reports the overage to the plan's Stripe meter).
 * - `periodUsed` counts the period ending at `usagePeriodEnd`. It applies only while that equals the
 *   deciding subscription's `currentPeriodEnd`; otherwise the period has moved on and used is 0.
 * - Draw order: the plan's quota first, then credits (metering draws credits only for units past the
 *   quota). Credits alone open cost routes without a subscription (pay-as-you-go).
 */

export type Overage = 'block' | 'bill';
export const OVERAGES: readonly Overage[] = ['block', 'bill'];

export interface Plan {
  /** Display name. */
  readonly name: string;
  /** Units per billing period; undefined: unlimited. */
  readonly quota?: number;
  /** @default "block" */
  readonly overage: Overage;
  /** Stripe Billing Meter `event_name` the overage (or all usage) is reported to; required by "bill". */
  readonly meter?: string;
}

/** By the plan key a subscription carries (`SubscriptionEntry.plan`). */
export type Plans = Readonly<Record<string, Plan>>;

/** What the view needs of the deciding subscription. */
export interface UsageSubscription {
  readonly plan?: string;
  readonly currentPeriodStart?: number;
  readonly currentPeriodEnd?: number;
}

export interface UsageView {
  /** The plan key, when the customer has a deciding subscription with one. */
  readonly plan?: string;
  /** The plan's display name (the key itself for a plan the configuration does not declare). */
  readonly planName?: string;
  /** Epoch seconds: the start of the deciding subscription's current period, when Stripe said it. */
  readonly periodStart?: number;
  /** Epoch seconds: the end of the deciding subscription's current period. */
  readonly periodEnd?: number;
  /** Units counted in that period. */
  readonly used: number;
  /** The plan's quota; undefined: unlimited. */
  readonly limit?: number;
  /** Units left in the quota (≥ 0); undefined: unlimited. */
  readonly remaining?: number;
  readonly overage: Overage;
  /** Epoch seconds at which a quota resets: the period end, when there is a quota. */
  readonly resetsAt?: number;
  /** Prepaid balance; undefined: never had credits. */
  readonly credits?: number;
  /** The plan still lets a call through on its own: unlimited, units left, or overage billed. */
  readonly planOpen: boolean;
  /** Credits can pay for a call. */
  readonly creditsOpen: boolean;
  /** Metering counts this period against the plan: it has a quota or bills overage (the period end goes into the access log). */
  readonly counted: boolean;
}

export type UsageRecord = Pick<CustomerRecord, 'credits' | 'periodUsed' | 'usagePeriodEnd'>;

/** Units the period counter holds for this period: 0 once the subscription's period has moved on. */
export function usedInPeriod(record: UsageRecord, periodEnd: number | undefined): number {
  return periodEnd !== undefined && record.usagePeriodEnd === periodEnd ? (record.periodUsed ?? 0) : 0;
}

export function usageView(record: UsageRecord, subscription: UsageSubscription | undefined, plans: Plans): UsageView {
  const key = subscription?.plan;
  const plan = key === undefined ? undefined : plans[key];
  const periodEnd = subscription?.currentPeriodEnd;
  const used = usedInPeriod(record, periodEnd);
  const limit = plan?.quota;
  const overage = plan?.overage ?? 'block';
  const remaining = limit === undefined ? undefined : Math.max(0, limit - used);
  const credits = record.credits;
  // Field by field, in the view's order, leaving out what is unknown: conditional spreads cost several
  // times as much, and the authorizer builds a view on every decision.
  const view: Draft<UsageView> = {};
  if (key !== undefined) {
    view.plan = key;
    view.planName = plan?.name ?? key;
  }
  if (periodEnd !== undefined && subscription?.currentPeriodStart !== undefined) view.periodStart = subscription.currentPeriodStart;
  if (periodEnd !== undefined) view.periodEnd = periodEnd;
  view.used = used;
  if (limit !== undefined) {
    view.limit = limit;
    view.remaining = remaining;
  }
  view.overage = overage;
  if (limit !== undefined && periodEnd !== undefined) view.resetsAt = periodEnd;
  if (credits !== undefined) view.credits = credits;
  view.planOpen = subscription !== undefined && (limit === undefined || overage === 'bill' || remaining! > 0);
  view.creditsOpen = credits !== undefined && credits > 0;
  view.counted = plan !== undefined && periodEnd !== undefined && (limit !== undefined || overage === 'bill');
  return view as UsageView;
}
