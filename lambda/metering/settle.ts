import { isTerminal, type SubscriptionStatus } from '../shared/customers/record';
import { totalUnits, type CustomerUsage, type MeterUnits } from './aggregate';
import type { UsagePlan } from './rules';

/**
 * One customer's usage in one batch, settled against what is stored: which units the period's quota
 * covers, which the prepaid credits pay for, which are billed to a Stripe meter, and which nobody
 * pays for (the overshoot: calls that got through between the crossing and the 402). Pure: the store
 * applies the result in one conditional write, and when a condition fails (another writer moved the
 * counters meanwhile) it reads again and settles again.
 *
 * Draw order: the plan's quota first, then the credits, then (bill plans, metered routes) the meter.
 * Counters never go negative: credits are drawn at most down to zero, the rest is overshoot.
 */

/** The usage attributes of the customer item and the subscriptions that name its plan. */
export interface UsageState {
  /** Epoch s: the end of the period `periodUsed` counts. */
  readonly usagePeriodEnd?: number;
  readonly periodUsed?: number;
  /** Prepaid units; absent: the customer never had credits. */
  readonly credits?: number;
  readonly subscriptions: readonly { readonly plan?: string; readonly status: SubscriptionStatus; readonly currentPeriodEnd?: number }[];
}

export interface PeriodWrite {
  readonly periodEnd: number;
  /** Units to count in the period. */
  readonly units: number;
  /** `add` to the stored period's counter, or `start` the period (the stored one is older or absent). */
  readonly mode: 'add' | 'start';
  /** The split between quota and credits depended on this stored count: the write requires it. */
  readonly expectUsed?: number;
}

export interface CreditsWrite {
  /** Added to `credits` (refunds minus the draw); 0 writes nothing but may still require `expect`. */
  readonly delta: number;
  /** What the draw relied on: a balance of at least `atLeast`, exactly `equals`, or no credits at all. */
  readonly expect?: { readonly atLeast: number } | { readonly equals: number } | { readonly absent: true };
}

export interface Settlement {
  readonly period?: PeriodWrite;
  readonly credits: CreditsWrite;
  /** Units to report, by Stripe meter event name. */
  readonly billed: ReadonlyMap<string, number>;
  readonly overshoot: number;
  /** Units of an ended period that arrived after the stored period moved on: counted nowhere. */
  readonly lateUnits: number;
  /** Units the plan's quota covered. */
  readonly fromQuota: number;
  /** Units drawn from the credits. */
  readonly fromCredits: number;
  readonly after: { readonly periodUsed?: number; readonly usagePeriodEnd?: number; readonly credits?: number };
}

/**
 * The plan a customer's calls are counted under: a live subscription whose price is a configured
 * plan, preferring the one whose current period is the call's (several subscriptions at once).
 */
export function resolvePlan(state: UsageState, plans: Readonly<Record<string, UsagePlan>>, periodEnd: number | undefined): UsagePlan | undefined {
  const live = state.subscriptions.filter((s) => s.plan !== undefined && plans[s.plan] !== undefined && !isTerminal(s.status));
  const chosen = live.find((s) => periodEnd !== undefined && s.currentPeriodEnd === periodEnd) ?? live[0];
  return chosen?.plan === undefined ? undefined : plans[chosen.plan];
}

/** Takes up to `limit` units from the buckets in a fixed order (no route meter first); returns what it took. */
function take(buckets: Map<string, number>, limit: number): number {
  let taken = 0;
  for (const meter of [...buckets.keys()].sort()) {
    if (taken >= limit) break;
    const have = buckets.get(meter)!;
    const n = Math.min(have, limit - taken);
    buckets.set(meter, have - n);
    taken += n;
  }
  return taken;
}

export function settleUsage(state: UsageState, usage: CustomerUsage, plans: Readonly<Record<string, UsagePlan>>): Settlement {
  const periodEnds = [...usage.periods.keys()].sort((a, b) => b - a);
  let periodEnd = periodEnds[0];
  let lateUnits = periodEnds.slice(1).reduce((sum, p) => sum + totalUnits(usage.periods.get(p)!), 0);
  let periodUnits: MeterUnits = periodEnd === undefined ? new Map() : usage.periods.get(periodEnd)!;
  if (periodEnd !== undefined && state.usagePeriodEnd !== undefined && periodEnd < state.usagePeriodEnd) {
    // The stored period moved on (a renewal): these units belonged to the one that ended.
    lateUnits += totalUnits(periodUnits);
    periodUnits = new Map();
    periodEnd = undefined;
  }
  const n = totalUnits(periodUnits);
  const plan = periodEnd === undefined ? undefined : resolvePlan(state, plans, periodEnd);
  const quota = plan?.quota ?? 0;

  let period: PeriodWrite | undefined;
  let fromQuota = 0;
  let usedBefore = 0;
  const overflow = new Map(periodUnits);
  if (periodEnd !== undefined && n > 0) {
    const adding = state.usagePeriodEnd === periodEnd;
    usedBefore = adding ? (state.periodUsed ?? 0) : 0;
    fromQuota = take(overflow, Math.max(0, quota - usedBefore));
    const splitDepends = adding && quota > usedBefore;
    period = { periodEnd, units: n, mode: adding ? 'add' : 'start', ...(splitDepends ? { expectUsed: usedBefore } : {}) };
  }

  // Pay-as-you-go units (decided with no quota plan) and the units past the quota draw on credits.
  const unperiodicPlan = resolvePlan(state, plans, undefined);
  const payg = new Map(usage.unperiodic);
  const refunds = [...usage.refunds.values()].reduce((a, b) => a + b, 0);
  const creditUnits = totalUnits(overflow) + totalUnits(payg);
  const available = (state.credits ?? 0) + refunds;
  const fromCredits = Math.min(creditUnits, Math.max(0, available));
  let left = fromCredits;
  left -= take(overflow, left);
  take(payg, left);

  // What the credits did not pay for: billed to the route's meter, else the bill plan's, else overshoot.
  const billed = new Map<string, number>();
  let overshoot = 0;
  const bill = (units: ReadonlyMap<string, number>, billPlan: UsagePlan | undefined): void => {
    for (const [meter, count] of units) {
      if (count === 0) continue;
      const target = meter !== '' ? meter : billPlan?.overage === 'bill' ? billPlan.meter : undefined;
      if (target === undefined) overshoot += count;
      else billed.set(target, (billed.get(target) ?? 0) + count);
    }
  };
  bill(overflow, plan);
  bill(payg, unperiodicPlan?.quota === undefined ? unperiodicPlan : undefined);

  const delta = refunds - fromCredits;
  const clamped = fromCredits < creditUnits;
  const need = fromCredits - refunds;
  const expect: CreditsWrite['expect'] = clamped
    ? state.credits === undefined
      ? { absent: true }
      : { equals: state.credits }
    : need > 0
      ? { atLeast: need }
      : undefined;

  const creditsBefore = state.credits ?? 0;
  const creditsAfter = state.credits === undefined && delta === 0 ? undefined : creditsBefore + delta;
  return {
    ...(period === undefined ? {} : { period }),
    credits: { delta, ...(expect === undefined ? {} : { expect }) },
    billed,
    overshoot,
    lateUnits,
    fromQuota,
    fromCredits,
    after: {
      ...(period === undefined
        ? { periodUsed: state.periodUsed, usagePeriodEnd: state.usagePeriodEnd }
        : { periodUsed: usedBefore + n, usagePeriodEnd: period.periodEnd }),
      credits: creditsAfter,
    },
  };
}
