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
  /** The period before (epoch s) and its count, kept by the renewal that moved the counter on. */
  readonly prevPeriodEnd?: number;
  readonly prevPeriodUsed?: number;
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
  /** `start` over a stored period, which becomes the previous one with this count. */
  readonly carry?: { readonly periodEnd: number; readonly usedBefore: number; readonly used: number };
}

/** Units of the previous period, logged after the counter moved on: counted against that period's counter. */
export interface PreviousWrite {
  readonly periodEnd: number;
  readonly units: number;
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
  readonly previous?: PreviousWrite;
  /** The previous period's units to report, by meter: reported with a time inside that period. */
  readonly billedPrevious?: { readonly periodEnd: number; readonly billed: ReadonlyMap<string, number> };
  readonly credits: CreditsWrite;
  /** Units to report, by Stripe meter event name. */
  readonly billed: ReadonlyMap<string, number>;
  readonly overshoot: number;
  /** Units of a period older than the previous one: counted nowhere (two renewals behind). */
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
  const older = periodEnds.slice(1);
  if (periodEnd !== undefined && state.usagePeriodEnd !== undefined && periodEnd < state.usagePeriodEnd) {
    // The stored period moved on (a renewal): these units belong to a period that ended.
    older.unshift(periodEnd);
    periodEnd = undefined;
  }
  const periodUnits: MeterUnits = periodEnd === undefined ? new Map() : usage.periods.get(periodEnd)!;
  // The period this write leaves as the previous one: the stored one when this write starts a newer.
  const carrying = periodEnd !== undefined && state.usagePeriodEnd !== undefined && state.usagePeriodEnd < periodEnd && totalUnits(periodUnits) > 0;
  const previousEnd = carrying ? state.usagePeriodEnd : state.prevPeriodEnd;
  let lateUnits = 0;
  let previousUnits: MeterUnits = new Map();
  for (const p of older) {
    if (p === previousEnd) previousUnits = usage.periods.get(p)!;
    else lateUnits += totalUnits(usage.periods.get(p)!);
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

  // Late units of the previous period: against its own counter and its plan's quota.
  const prevN = totalUnits(previousUnits);
  const previousOverflow = new Map(previousUnits);
  const previousPlan = previousEnd === undefined ? undefined : resolvePlan(state, plans, previousEnd);
  let previous: PreviousWrite | undefined;
  let fromPreviousQuota = 0;
  if (previousEnd !== undefined && prevN > 0) {
    const prevUsedBefore = carrying ? (state.periodUsed ?? 0) : (state.prevPeriodUsed ?? 0);
    const prevQuota = previousPlan?.quota ?? 0;
    fromPreviousQuota = take(previousOverflow, Math.max(0, prevQuota - prevUsedBefore));
    if (!carrying) previous = { periodEnd: previousEnd, units: prevN, ...(prevQuota > prevUsedBefore ? { expectUsed: prevUsedBefore } : {}) };
  }
  if (carrying && period !== undefined) {
    const usedBefore = state.periodUsed ?? 0;
    period = { ...period, carry: { periodEnd: state.usagePeriodEnd, usedBefore, used: usedBefore + prevN } };
  }

  // Pay-as-you-go units (decided with no quota plan) and the units past the quota draw on credits.
  const unperiodicPlan = resolvePlan(state, plans, undefined);
  const payg = new Map(usage.unperiodic);
  const refunds = [...usage.refunds.values()].reduce((a, b) => a + b, 0);
  const creditUnits = totalUnits(overflow) + totalUnits(previousOverflow) + totalUnits(payg);
  const available = (state.credits ?? 0) + refunds;
  const fromCredits = Math.min(creditUnits, Math.max(0, available));
  let left = fromCredits;
  left -= take(overflow, left);
  left -= take(previousOverflow, left);
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
  const billedNow = new Map(billed);
  billed.clear();
  bill(previousOverflow, previousPlan);
  const billedPrevious = billed.size > 0 && previousEnd !== undefined ? { periodEnd: previousEnd, billed: new Map(billed) } : undefined;

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
    ...(previous === undefined ? {} : { previous }),
    ...(billedPrevious === undefined ? {} : { billedPrevious }),
    credits: { delta, ...(expect === undefined ? {} : { expect }) },
    billed: billedNow,
    overshoot,
    lateUnits,
    fromQuota: fromQuota + fromPreviousQuota,
    fromCredits,
    after: {
      ...(period === undefined
        ? { periodUsed: state.periodUsed, usagePeriodEnd: state.usagePeriodEnd }
        : { periodUsed: usedBefore + n, usagePeriodEnd: period.periodEnd }),
      credits: creditsAfter,
    },
  };
}
