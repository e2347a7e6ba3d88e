import { parseAccessLogLine } from '../shared/access-log';
import { CUSTOMER_ID, KEY_ID } from '../shared/customers/api-key';
import { isWalletReservation } from '../shared/customers/wallet';
import type { LogEvent } from './logs-event';
import type { RouteLookup } from './rules';

/**
 * From a batch of access-log lines to one usage summary per customer: what the batch's single write
 * per customer applies. Pure.
 *
 * A call counts when the backend answered 2xx and the authorizer named a customer: never a 401, 402,
 * 403, 429, 5xx or backend 4xx, nor a call the authorizer never saw (no customerId). Calls served from
 * the authorizer's cache are logged with the cached context, so they count too. A strict call was
 * paid at decision time (its `reserved` units): when it succeeds nothing more is drawn; when it does
 * not, its reservation is given back.
 */

/** Units of one customer in one batch. */
export interface CustomerUsage {
  readonly customerId: string;
  /** Units of 2xx calls the authorizer counted in a period without naming the subscription (an older authorizer's lines), per period end (epoch s). */
  readonly periods: ReadonlyMap<number, MeterUnits>;
  /** Units of 2xx calls by the subscription the authorizer counted them on, per period end (epoch s). */
  readonly subscriptions?: ReadonlyMap<string, ReadonlyMap<number, MeterUnits>>;
  /**
   * Units of 2xx calls the credits allowed with no quota plan (no periodEnd): pay-as-you-go, drawn on
   * credits. A call an unlimited plan allowed (its basis `plan`, no periodEnd) is counted but drawn on nothing.
   */
  readonly unperiodic: MeterUnits;
  /** Units of successful strict calls: paid by their reservation, drawn on nothing more. */
  readonly prepaid: number;
  /** Reservations of strict calls that did not succeed, to give back (each once). */
  readonly refunds: ReadonlyMap<string, number>;
  /** Wallet reservations of strict calls that succeeded: settled (their pending entries removed), nothing given back. */
  readonly kept?: ReadonlySet<string>;
  /** Newest log timestamp of a counted call (ms): the time usage is reported to Stripe at. */
  readonly lastCallAt: number;
  /**
   * The least the authorizer said the customer had left (quota and credits, in units) on a counted call:
   * `unlimited` when nothing the calls drew on can run out (an unlimited plan, overage billed); absent
   * when a counted line did not say (treated as near). Metering writes a customer near its limit at once
   * and sums the others over a window (window.ts).
   */
  readonly headroom?: number | 'unlimited';
  /** Units of the counted calls (not strict ones) by API key id: what they spend of the keys' budgets. */
  readonly keys?: ReadonlyMap<string, number>;
}

/** Units by the route's own Stripe meter ('' for routes without one). */
export type MeterUnits = ReadonlyMap<string, number>;

export interface SkippedLines {
  /** Not tollgate's access-log format. */
  notAccessLog: number;
  /** 2xx on a route sold by use, but the customerId is not a Stripe customer id. */
  badCustomer: number;
  /** A strict call logged without a usable reservation. */
  badReservation: number;
}

export interface BatchUsage {
  readonly customers: ReadonlyMap<string, CustomerUsage>;
  readonly skipped: SkippedLines;
  /** Calls that counted (2xx, a customer, a cost > 0). */
  readonly countedCalls: number;
}

interface MutableUsage {
  customerId: string;
  periods: Map<number, Map<string, number>>;
  subscriptions?: Map<string, Map<number, Map<string, number>>>;
  unperiodic: Map<string, number>;
  prepaid: number;
  refunds: Map<string, number>;
  kept?: Set<string>;
  lastCallAt: number;
  headroom?: number | 'unlimited';
  keys?: Map<string, number>;
  /** A counted line said nothing of its headroom. */
  unknownHeadroom?: boolean;
}

const add = (units: Map<string, number>, meter: string, n: number): void => {
  units.set(meter, (units.get(meter) ?? 0) + n);
};

const RESERVATION = /^[A-Za-z0-9_-]{1,128}$/;
/** A Stripe subscription id, as the authorizer logs the one a call was counted on. */
const SUBSCRIPTION_ID = /^[A-Za-z0-9_]{1,64}$/;
const wholeUnits = (text: string | undefined): number | undefined => {
  if (text === undefined || !/^\d{1,12}$/.test(text)) return undefined;
  return Number(text);
};

export function aggregateBatch(events: readonly LogEvent[], routeOf: RouteLookup): BatchUsage {
  const customers = new Map<string, MutableUsage>();
  const skipped: SkippedLines = { notAccessLog: 0, badCustomer: 0, badReservation: 0 };
  let countedCalls = 0;
  const usageOf = (customerId: string): MutableUsage => {
    let usage = customers.get(customerId);
    if (usage === undefined) {
      usage = { customerId, periods: new Map(), unperiodic: new Map(), prepaid: 0, refunds: new Map(), lastCallAt: 0 };
      customers.set(customerId, usage);
    }
    return usage;
  };
  for (const event of events) {
    const line = parseAccessLogLine(event.message);
    if (line === undefined) {
      skipped.notAccessLog += 1;
      continue;
    }
    const customerId = line.customerId;
    if (customerId === undefined || line.method === undefined || line.resourcePath === undefined) continue;
    const status = Number(line.status);
    const succeeded = status >= 200 && status < 300;
    const route = routeOf(line.method, line.resourcePath);
    const reserved = wholeUnits(line.reserved);
    if (!CUSTOMER_ID.test(customerId)) {
      if ((succeeded && route !== undefined) || reserved !== undefined) skipped.badCustomer += 1;
      continue;
    }
    if (line.reserved !== undefined || line.reservation !== undefined) {
      // Paid at decision time: a success costs nothing more, anything else gets its units back.
      if (reserved === undefined || line.reservation === undefined || !RESERVATION.test(line.reservation)) {
        skipped.badReservation += 1;
        continue;
      }
      const usage = usageOf(customerId);
      if (succeeded) {
        usage.prepaid += reserved;
        if (isWalletReservation(line.reservation)) (usage.kept ??= new Set()).add(line.reservation);
        usage.lastCallAt = Math.max(usage.lastCallAt, event.timestamp);
        countedCalls += 1;
      } else {
        usage.refunds.set(line.reservation, reserved);
      }
      continue;
    }
    if (!succeeded || route === undefined || route.cost === 0) continue;
    const usage = usageOf(customerId);
    const headroom = line.headroom === UNLIMITED ? UNLIMITED : wholeUnits(line.headroom);
    if (headroom === undefined) usage.unknownHeadroom = true;
    else usage.headroom = leastHeadroom(usage.headroom, headroom);
    const periodEnd = wholeUnits(line.periodEnd);
    const meter = route.meter ?? '';
    if (periodEnd === undefined) {
      if (!paidByPlan(line.basis, headroom)) add(usage.unperiodic, meter, route.cost);
    } else {
      const subscription = line.subscription !== undefined && SUBSCRIPTION_ID.test(line.subscription) ? line.subscription : undefined;
      let periods = usage.periods;
      if (subscription !== undefined) {
        usage.subscriptions ??= new Map();
        periods = usage.subscriptions.get(subscription) ?? new Map<number, Map<string, number>>();
        usage.subscriptions.set(subscription, periods);
      }
      let units = periods.get(periodEnd);
      if (units === undefined) periods.set(periodEnd, (units = new Map<string, number>()));
      add(units, meter, route.cost);
    }
    if (line.keyId !== undefined && KEY_ID.test(line.keyId)) add((usage.keys ??= new Map<string, number>()), line.keyId, route.cost);
    usage.lastCallAt = Math.max(usage.lastCallAt, event.timestamp);
    countedCalls += 1;
  }
  for (const usage of customers.values()) {
    // One line that did not say is enough to treat the customer as near its limit.
    if (usage.unknownHeadroom === true) delete usage.headroom;
    delete usage.unknownHeadroom;
  }
  return { customers, skipped, countedCalls };
}

export const UNLIMITED = 'unlimited';

/**
 * A call the subscription's plan allowed: the line's basis says so; a line of an older authorizer
 * (no basis) says it by an unlimited headroom without a period, which only an unlimited plan gives.
 */
const paidByPlan = (basis: string | undefined, headroom: number | 'unlimited' | undefined): boolean =>
  basis === undefined ? headroom === UNLIMITED : basis === 'plan';

/** The lesser of two headrooms (absent: none said yet). */
export function leastHeadroom(a: number | 'unlimited' | undefined, b: number | 'unlimited'): number | 'unlimited' {
  if (a === undefined || a === UNLIMITED) return b;
  return b === UNLIMITED ? a : Math.min(a, b);
}

export const totalUnits = (units: MeterUnits): number => [...units.values()].reduce((a, b) => a + b, 0);
