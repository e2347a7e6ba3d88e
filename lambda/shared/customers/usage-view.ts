import type { CustomerRecord, PeriodUsageEntry } from './record';
import type { Draft } from '../draft';

/**
 * The one rule for a customer's usage in its billing period, for the authorizer (cost routes), the
 * usage route and the CLI. Pure: no I/O, no clock (the period is the deciding subscription's).
 *
 * - A plan (keyed by the Stripe price lookup key or id a subscription item carries) includes `quota`
 *   units per billing period; no quota: unlimited. Past the quota, `block` (402 quota_exceeded) or
 *   `bill` (keep serving; metering reports the overage to the plan's Stripe meter).
 * - Each subscription has its own counter (`periodUsage.<id>`): it counts the period ending at its
 *   `periodEnd`, and applies only while that equals the subscription's `currentPeriodEnd`; otherwise
 *   the period has moved on and used is 0. An item of an older tollgate has one counter for all
 *   (`periodUsed` at `usagePeriodEnd`), read the same way for every subscription until metering's next
 *   write moves it into the map (lambda/metering/settle.ts).
 * - A customer with several subscriptions in good standing is counted on the one with the most left
 *   (usageSubscription): unlimited first, then the most units left, ties to the lower id.
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
  /** Its id: which counter counts it (absent: no subscription's, the legacy one). */
  readonly id?: string;
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

export type UsageRecord = Pick<CustomerRecord, 'credits' | 'periodUsed' | 'usagePeriodEnd' | 'periodUsage' | 'prevPeriodEnd' | 'prevPeriodUsed'>;

/**
 * A subscription's counter: its `periodUsage` entry, or on an item of an older tollgate (no map yet)
 * the one flat counter, read as this subscription's.
 */
export function counterOf(record: UsageRecord, subscriptionId: string | undefined): PeriodUsageEntry | undefined {
  if (record.periodUsage !== undefined) return subscriptionId === undefined ? undefined : record.periodUsage[subscriptionId];
  if (record.usagePeriodEnd === undefined) return undefined;
  const legacy: Draft<PeriodUsageEntry> = { used: record.periodUsed ?? 0, periodEnd: record.usagePeriodEnd };
  if (record.prevPeriodEnd !== undefined) legacy.prevEnd = record.prevPeriodEnd;
  if (record.prevPeriodUsed !== undefined) legacy.prevUsed = record.prevPeriodUsed;
  return legacy as PeriodUsageEntry;
}

/** Units a subscription's counter holds for this period: 0 once the subscription's period has moved on. */
export function usedInPeriod(record: UsageRecord, subscriptionId: string | undefined, periodEnd: number | undefined): number {
  const counter = counterOf(record, subscriptionId);
  return periodEnd !== undefined && counter?.periodEnd === periodEnd ? counter.used : 0;
}

export function usageView(record: UsageRecord, subscription: UsageSubscription | undefined, plans: Plans): UsageView {
  const key = subscription?.plan;
  const plan = key === undefined ? undefined : plans[key];
  const periodEnd = subscription?.currentPeriodEnd;
  const used = usedInPeriod(record, subscription?.id, periodEnd);
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

/** How much a view leaves: unlimited (or overage billed) above any count, a closed plan below. */
const roomOf = (view: UsageView): number => (!view.planOpen ? -1 : view.limit === undefined || view.overage === 'bill' ? Number.POSITIVE_INFINITY : view.remaining!);

/**
 * The subscription a call sold by use is counted on, among those in good standing (in id order): the
 * one with the most left, ties to the first. Undefined when none is given.
 */
export function usageSubscription<S extends UsageSubscription>(record: UsageRecord, subscriptions: readonly S[], plans: Plans): { subscription: S; view: UsageView } | undefined {
  let best: { subscription: S; view: UsageView; room: number } | undefined;
  for (const subscription of subscriptions) {
    const view = usageView(record, subscription, plans);
    const room = roomOf(view);
    if (best === undefined || room > best.room) best = { subscription, view, room };
  }
  return best === undefined ? undefined : { subscription: best.subscription, view: best.view };
}
