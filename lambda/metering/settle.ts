import type { CounterWrite, PeriodWrite, PreviousWrite } from '../shared/customers/metered-usage';
import { isTerminal, type PeriodUsageEntry, type SubscriptionStatus } from '../shared/customers/record';
import { counterOf } from '../shared/customers/usage-view';
import type { Draft } from '../shared/draft';
import { totalUnits, type CustomerUsage, type MeterUnits } from './aggregate';
import type { UsagePlan } from './rules';
import { spendable, type CreditGrant, type WalletFunds } from '../shared/credit-grants';

export type { CounterWrite, PeriodWrite, PreviousWrite };

/**
 * One customer's usage in one batch, settled against what is stored: which units the quota of the
 * subscription they were counted on covers, which the prepaid credits pay for, which are billed to a
 * Stripe meter (the subscription's payer's), and which nobody pays for (the overshoot: calls that got
 * through between the crossing and the 402). Pure: the store applies the result in one conditional
 * write, and when a condition fails (another writer moved the counters meanwhile) it reads again and
 * settles again.
 *
 * Each subscription has its own counter (`periodUsage.<id>`): a call is counted on the subscription
 * its access-log line names (the authorizer's deciding one), a line of an older authorizer (no
 * subscription) on the subscription whose plan and period it was counted in.
 *
 * Draw order: the plan's quota first, then the credits, then (bill plans, metered routes) the meter.
 * Counters never go negative: credits are drawn at most down to zero, the rest is overshoot.
 */

/** A subscription as settling needs it. */
export interface SubscriptionState {
  readonly id: string;
  readonly plan?: string;
  readonly status: SubscriptionStatus;
  readonly currentPeriodEnd?: number;
  /** The Stripe customer who pays for it, when not the customer itself (a Payment Link's). */
  readonly payer?: string;
}

/** The usage attributes of the customer item and its subscriptions. */
export interface UsageState {
  /** Each subscription's counter; absent on an item of an older tollgate (the flat counter below). */
  readonly periodUsage?: Readonly<Record<string, PeriodUsageEntry>>;
  /** An older tollgate's one counter: the period end it counts, its count, and the period before. */
  readonly usagePeriodEnd?: number;
  readonly periodUsed?: number;
  readonly prevPeriodEnd?: number;
  readonly prevPeriodUsed?: number;
  /** Prepaid units a decision may spend (expired grants count for nothing); absent: the customer never had credits. */
  readonly credits?: number;
  /** The wallet's grants, when it has any, and its stored balance (../shared/credit-grants.ts). */
  readonly grants?: readonly CreditGrant[];
  readonly walletBalance?: number;
  readonly subscriptions: readonly SubscriptionState[];
}

export interface CreditsWrite {
  /** Added to `credits` (refunds minus the draw); 0 writes nothing but may still require `expect`. */
  readonly delta: number;
  /** What the draw relied on: a balance of at least `atLeast`, exactly `equals`, or no credits at all. */
  readonly expect?: { readonly atLeast: number } | { readonly equals: number } | { readonly absent: true };
  /**
   * The wallet has grants: `units` drawn from them in their order and `refund` units given back
   * ungranted, in the same write (what it relies on is the plan's, not `expect`).
   */
  readonly draw?: { readonly funds: WalletFunds; readonly units: number; readonly refund: number };
}

/** Units to report to a Stripe meter. */
export interface BilledUnits {
  readonly meter: string;
  readonly units: number;
  /** The Stripe customer to report to, when not the customer whose calls they were: the subscription's payer. */
  readonly customer?: string;
  /** Units of the period that ended here (epoch s): reported with a time inside it, so they land on its invoice. */
  readonly periodEnd?: number;
}

export interface Settlement {
  /** Each counted subscription's counter write. */
  readonly counters: readonly CounterWrite[];
  /** The item has no `periodUsage` map yet: the map this write creates (metered-usage.ts UsageWrite). */
  readonly migrate?: { readonly map: Readonly<Record<string, PeriodUsageEntry>>; readonly legacy: { readonly usagePeriodEnd?: number; readonly periodUsed?: number } };
  /** Counters of subscriptions the item no longer tracks. */
  readonly prune?: readonly string[];
  readonly credits: CreditsWrite;
  /** Units to report, by meter (and payer, and period when it ended). */
  readonly billed: readonly BilledUnits[];
  readonly overshoot: number;
  /** Units of a period older than the previous one: counted nowhere (two renewals behind). */
  readonly lateUnits: number;
  /** Units the plans' quotas covered. */
  readonly fromQuota: number;
  /** Units drawn from the credits. */
  readonly fromCredits: number;
  /** Each written counter as the write leaves it. */
  readonly after: { readonly counters: Readonly<Record<string, PeriodUsageEntry>>; readonly credits?: number };
}

/** Live subscriptions whose price is a configured plan. */
const counted = (state: UsageState, plans: Readonly<Record<string, UsagePlan>>): SubscriptionState[] =>
  state.subscriptions.filter((s) => s.plan !== undefined && plans[s.plan] !== undefined && !isTerminal(s.status));

/**
 * The subscription a line without one is counted on: a live subscription whose price is a configured
 * plan, preferring the one whose current period is the call's (several subscriptions at once).
 */
export function resolveSubscription(state: UsageState, plans: Readonly<Record<string, UsagePlan>>, periodEnd: number | undefined): SubscriptionState | undefined {
  const live = counted(state, plans);
  return live.find((s) => periodEnd !== undefined && s.currentPeriodEnd === periodEnd) ?? live[0];
}

/** The subscription an older tollgate's flat counter counted: the one whose period it is, else the first counted. */
const legacyOwner = (state: UsageState, plans: Readonly<Record<string, UsagePlan>>): string | undefined =>
  state.periodUsage !== undefined || state.usagePeriodEnd === undefined ? undefined : resolveSubscription(state, plans, state.usagePeriodEnd)?.id;

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

interface CounterSettlement {
  readonly write: CounterWrite;
  readonly after?: PeriodUsageEntry;
  /** The current period's units past the quota. */
  readonly overflow: Map<string, number>;
  /** The previous period's units past its quota, and that period's end. */
  readonly previousOverflow: Map<string, number>;
  readonly previousEnd?: number;
  readonly lateUnits: number;
  readonly fromQuota: number;
}

/** One subscription's units against its own counter (item 7 of #24: late units against the closing period). */
function settleCounter(subscriptionId: string, counter: PeriodUsageEntry | undefined, periods: ReadonlyMap<number, MeterUnits>, plan: UsagePlan | undefined, planKey: string | undefined): CounterSettlement {
  const periodEnds = [...periods.keys()].sort((a, b) => b - a);
  let periodEnd = periodEnds[0];
  const older = periodEnds.slice(1);
  if (periodEnd !== undefined && counter !== undefined && periodEnd < counter.periodEnd) {
    // The stored period moved on (a renewal): these units belong to a period that ended.
    older.unshift(periodEnd);
    periodEnd = undefined;
  }
  const periodUnits: MeterUnits = periodEnd === undefined ? new Map() : periods.get(periodEnd)!;
  const n = totalUnits(periodUnits);
  // The period this write leaves as the previous one: the stored one when this write starts a newer.
  const carrying = periodEnd !== undefined && counter !== undefined && counter.periodEnd < periodEnd && n > 0;
  const previousEnd = carrying ? counter.periodEnd : counter?.prevEnd;
  let lateUnits = 0;
  let previousUnits: MeterUnits = new Map();
  for (const p of older) {
    if (p === previousEnd) previousUnits = periods.get(p)!;
    else lateUnits += totalUnits(periods.get(p)!);
  }
  const quota = plan?.quota ?? 0;

  let period: PeriodWrite | undefined;
  let fromQuota = 0;
  let usedBefore = 0;
  const overflow = new Map(periodUnits);
  if (periodEnd !== undefined && n > 0) {
    const adding = counter?.periodEnd === periodEnd;
    usedBefore = adding ? counter.used : 0;
    fromQuota = take(overflow, Math.max(0, quota - usedBefore));
    const splitDepends = adding && quota > usedBefore;
    period = { periodEnd, units: n, mode: adding ? 'add' : 'start', ...(splitDepends ? { expectUsed: usedBefore } : {}), ...(planKey === undefined ? {} : { plan: planKey }) };
  }

  // Late units of the previous period: against its own counter and the plan's quota.
  const prevN = totalUnits(previousUnits);
  const previousOverflow = new Map(previousUnits);
  let previous: PreviousWrite | undefined;
  let prevUsedBefore = 0;
  if (previousEnd !== undefined && prevN > 0) {
    prevUsedBefore = carrying ? counter.used : (counter?.prevUsed ?? 0);
    fromQuota += take(previousOverflow, Math.max(0, quota - prevUsedBefore));
    if (!carrying) previous = { periodEnd: previousEnd, units: prevN, ...(quota > prevUsedBefore ? { expectUsed: prevUsedBefore } : {}) };
  }
  if (carrying && period !== undefined) period = { ...period, carry: { periodEnd: counter.periodEnd, usedBefore: counter.used, used: counter.used + prevN } };

  let after: Draft<PeriodUsageEntry> | undefined = counter === undefined ? undefined : { ...counter };
  if (period !== undefined) {
    after = period.carry !== undefined ? { periodEnd: period.periodEnd, used: n, prevEnd: period.carry.periodEnd, prevUsed: period.carry.used } : { ...(after ?? {}), periodEnd: period.periodEnd, used: usedBefore + n };
    if (planKey !== undefined) after.plan = planKey;
  }
  if (previous !== undefined && after !== undefined) after.prevUsed = prevUsedBefore + prevN;
  return {
    write: { subscriptionId, ...(period === undefined ? {} : { period }), ...(previous === undefined ? {} : { previous }) },
    ...(after === undefined ? {} : { after: after as PeriodUsageEntry }),
    overflow,
    previousOverflow,
    ...(previousEnd === undefined ? {} : { previousEnd }),
    lateUnits,
    fromQuota,
  };
}

/** The batch's periodic units, by the subscription they are counted on ('' for none: nothing to count them on). */
function bySubscription(state: UsageState, usage: CustomerUsage, plans: Readonly<Record<string, UsagePlan>>): Map<string, Map<number, Map<string, number>>> {
  const out = new Map<string, Map<number, Map<string, number>>>();
  const put = (subscriptionId: string, periodEnd: number, units: MeterUnits): void => {
    let periods = out.get(subscriptionId);
    if (periods === undefined) out.set(subscriptionId, (periods = new Map<number, Map<string, number>>()));
    let into = periods.get(periodEnd);
    if (into === undefined) periods.set(periodEnd, (into = new Map<string, number>()));
    for (const [meter, n] of units) into.set(meter, (into.get(meter) ?? 0) + n);
  };
  const known = new Set(state.subscriptions.map((s) => s.id));
  for (const [subscriptionId, periods] of usage.subscriptions ?? []) {
    for (const [periodEnd, units] of periods) put(known.has(subscriptionId) ? subscriptionId : '', periodEnd, units);
  }
  for (const [periodEnd, units] of usage.periods) put(resolveSubscription(state, plans, periodEnd)?.id ?? '', periodEnd, units);
  return out;
}

/** `now`: when the draw is made (grants expired by then count for nothing; the store's write plans at the same time). */
export function settleUsage(read: UsageState, usage: CustomerUsage, plans: Readonly<Record<string, UsagePlan>>, now = new Date()): Settlement {
  const state = read.grants === undefined ? read : { ...read, credits: spendable({ balance: read.walletBalance ?? 0, grants: read.grants }, now) ?? 0 };
  const owner = legacyOwner(state, plans);
  const subscriptionOf = new Map(state.subscriptions.map((s) => [s.id, s]));
  const counterFor = (id: string): PeriodUsageEntry | undefined => (state.periodUsage !== undefined ? state.periodUsage[id] : id === owner ? counterOf(state, id) : undefined);

  const counters: CounterWrite[] = [];
  const afterCounters: Record<string, PeriodUsageEntry> = {};
  let lateUnits = 0;
  let fromQuota = 0;
  /** Units past the quotas, each bucket with the plan and payer that bill it. */
  const overflows: Array<{ units: Map<string, number>; plan?: UsagePlan; payer?: string; periodEnd?: number }> = [];
  for (const [subscriptionId, periods] of bySubscription(state, usage, plans)) {
    const subscription = subscriptionOf.get(subscriptionId);
    const planKey = subscription?.plan;
    const plan = planKey === undefined ? undefined : plans[planKey];
    if (subscription === undefined) {
      // Counted on no subscription tollgate tracks: nothing's quota covers it.
      for (const units of periods.values()) overflows.push({ units: new Map(units) });
      continue;
    }
    const settled = settleCounter(subscriptionId, counterFor(subscriptionId), periods, plan, planKey);
    if (settled.write.period !== undefined || settled.write.previous !== undefined) counters.push(settled.write);
    if (settled.after !== undefined) afterCounters[subscriptionId] = settled.after;
    lateUnits += settled.lateUnits;
    fromQuota += settled.fromQuota;
    const payer = subscription.payer === undefined ? {} : { payer: subscription.payer };
    overflows.push({ units: settled.overflow, ...(plan === undefined ? {} : { plan }), ...payer });
    overflows.push({ units: settled.previousOverflow, ...(plan === undefined ? {} : { plan }), ...payer, ...(settled.previousEnd === undefined ? {} : { periodEnd: settled.previousEnd }) });
  }

  // Pay-as-you-go units (decided with no quota plan) and the units past the quotas draw on credits.
  const unperiodic = resolveSubscription(state, plans, undefined);
  const unperiodicPlan = unperiodic?.plan === undefined ? undefined : plans[unperiodic.plan];
  const payg = new Map(usage.unperiodic);
  const refunds = [...usage.refunds.values()].reduce((a, b) => a + b, 0);
  const creditUnits = overflows.reduce((sum, o) => sum + totalUnits(o.units), 0) + totalUnits(payg);
  const available = (state.credits ?? 0) + refunds;
  const fromCredits = Math.min(creditUnits, Math.max(0, available));
  let left = fromCredits;
  for (const o of overflows) left -= take(o.units, left);
  take(payg, left);

  // What the credits did not pay for: billed to the route's meter, else the bill plan's, else overshoot.
  const billed = new Map<string, BilledUnits>();
  let overshoot = 0;
  const bill = (units: ReadonlyMap<string, number>, billPlan: UsagePlan | undefined, payer: string | undefined, periodEnd: number | undefined): void => {
    for (const [meter, count] of units) {
      if (count === 0) continue;
      const target = meter !== '' ? meter : billPlan?.overage === 'bill' ? billPlan.meter : undefined;
      if (target === undefined) {
        overshoot += count;
        continue;
      }
      const key = `${target}\n${payer ?? ''}\n${periodEnd ?? ''}`;
      const units = (billed.get(key)?.units ?? 0) + count;
      billed.set(key, { meter: target, units, ...(payer === undefined ? {} : { customer: payer }), ...(periodEnd === undefined ? {} : { periodEnd }) });
    }
  };
  for (const o of overflows) bill(o.units, o.plan, o.payer, o.periodEnd);
  bill(payg, unperiodicPlan?.quota === undefined ? unperiodicPlan : undefined, unperiodic?.payer, undefined);

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

  const creditsAfter = state.credits === undefined && delta === 0 ? undefined : (state.credits ?? 0) + delta;
  // An older tollgate's item: the first write that counts creates the map, the flat counter moved onto its subscription.
  const migrate =
    state.periodUsage === undefined && counters.length > 0
      ? {
          map: { ...(owner === undefined ? {} : { [owner]: counterOf(state, owner)! }), ...afterCounters },
          legacy: { ...(state.usagePeriodEnd === undefined ? {} : { usagePeriodEnd: state.usagePeriodEnd }), ...(state.periodUsed === undefined ? {} : { periodUsed: state.periodUsed }) },
        }
      : undefined;
  const prune = state.periodUsage === undefined ? [] : Object.keys(state.periodUsage).filter((id) => !subscriptionOf.has(id));
  return {
    counters,
    ...(migrate === undefined ? {} : { migrate }),
    ...(prune.length === 0 ? {} : { prune }),
    credits: {
      delta,
      ...(expect === undefined ? {} : { expect }),
      ...(state.grants === undefined ? {} : { draw: { funds: { balance: state.walletBalance ?? 0, grants: state.grants }, units: fromCredits, refund: refunds } }),
    },
    billed: [...billed.values()].sort((a, b) => (a.periodEnd ?? Infinity) - (b.periodEnd ?? Infinity) || a.meter.localeCompare(b.meter) || (a.customer ?? '').localeCompare(b.customer ?? '')),
    overshoot,
    lateUnits,
    fromQuota,
    fromCredits,
    after: { counters: afterCounters, ...(creditsAfter === undefined ? {} : { credits: creditsAfter }) },
  };
}
