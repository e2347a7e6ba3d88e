import { createHash } from 'node:crypto';
import { leastHeadroom, totalUnits, UNLIMITED, type CustomerUsage, type MeterUnits } from './aggregate';

/**
 * Usage windows: what makes metering's writes follow active customers instead of calls.
 *
 * A delivery of the access log names most customers once (a long tail of customers making a call a
 * minute each), so writing each customer per delivery costs about one customer write per call. Instead,
 * a delivery writes one buffer item holding the units of every customer far from a limit, and once a
 * window has closed the units of each customer in it are summed and written once: writes per second ≈
 * min(calls, active customers ÷ window).
 *
 * A customer near its limit is written at once, exactly as before: its 402 must follow the crossing
 * within seconds. Near means that, at the rate this delivery shows, the customer could spend what it has
 * left before its windowed units are counted (two windows and the grace, with a factor of two): a pure
 * function of the delivery's lines, so a redelivered batch splits the same way.
 *
 * Why 60 s: EventBridge's finest schedule is a minute, so a shorter window would not be summed sooner;
 * a longer one saves writes (100,000 active customers: 1,667 writes/s at 60 s, 333 at 300 s) but delays
 * what the account page, `usage show` and Stripe see for customers far from their limits.
 */

export interface WindowSettings {
  /** Window length; 0: no windows, every customer is written per delivery. */
  readonly seconds: number;
  /**
   * How long after a window ends it is summed: longer than a metering invocation can run (its timeout),
   * so a delivery that chose the window has finished writing to it, or failed, before it is closed.
   */
  readonly graceSeconds: number;
  /** Buffer partitions per window: each takes a share of the deliveries' writes (a partition takes 1,000 write units/s). */
  readonly shards: number;
}

export const DEFAULT_WINDOW: WindowSettings = { seconds: 60, graceSeconds: 90, shards: 8 };

/** A window, by its start (epoch s). */
export const windowOf = (atMs: number, seconds: number): number => Math.floor(atMs / 1000 / seconds) * seconds;

/** The newest window that can be summed at `nowMs`: it ended a grace ago. */
export const newestClosable = (nowMs: number, settings: WindowSettings): number =>
  windowOf(nowMs - (settings.seconds + settings.graceSeconds) * 1000, settings.seconds);

export const shardOf = (batchId: string, shards: number): number => createHash('sha256').update(batchId).digest().readUInt32BE(0) % shards;

const periodUnits = (periods: ReadonlyMap<number, MeterUnits>): number => [...periods.values()].reduce((sum, units) => sum + totalUnits(units), 0);

/** Units of the customer's counted calls in this delivery: its periods, each subscription's, and those paid by credits. */
export const unitsOf = (usage: CustomerUsage): number =>
  periodUnits(usage.periods) + [...(usage.subscriptions?.values() ?? [])].reduce((sum, periods) => sum + periodUnits(periods), 0) + totalUnits(usage.unperiodic);

/**
 * Written at once (`exact`) or summed over the window. A strict call's settlement is always exact (a
 * reservation stays pending on the wallet until its line settles it, wallet.ts); so is a customer whose lines did not say what it had left. A customer whose
 * calls can run out nothing is never near.
 */
export function isNearLimit(usage: CustomerUsage, spanMs: number, settings: WindowSettings): boolean {
  if (settings.seconds === 0 || usage.refunds.size > 0 || (usage.kept?.size ?? 0) > 0 || usage.headroom === undefined) return true;
  if (usage.headroom === UNLIMITED) return false;
  const units = unitsOf(usage);
  const lagSeconds = 2 * settings.seconds + settings.graceSeconds;
  const projected = 2 * units * (lagSeconds / Math.max(1, spanMs / 1000));
  return usage.headroom <= projected;
}

const addUnits = (into: Map<string, number>, units: MeterUnits): void => {
  for (const [meter, n] of units) into.set(meter, (into.get(meter) ?? 0) + n);
};

const addPeriods = (into: Map<number, Map<string, number>>, periods: ReadonlyMap<number, MeterUnits>): void => {
  for (const [periodEnd, units] of periods) {
    let target = into.get(periodEnd);
    if (target === undefined) into.set(periodEnd, (target = new Map<string, number>()));
    addUnits(target, units);
  }
};

/** Two customers' usage summed (the same customer, from two deliveries). */
export function mergeUsage(a: CustomerUsage, b: CustomerUsage): CustomerUsage {
  const periods = new Map<number, Map<string, number>>();
  addPeriods(periods, a.periods);
  addPeriods(periods, b.periods);
  const subscriptions = new Map<string, Map<number, Map<string, number>>>();
  for (const source of [a.subscriptions, b.subscriptions]) {
    for (const [subscription, byPeriod] of source ?? []) {
      let into = subscriptions.get(subscription);
      if (into === undefined) subscriptions.set(subscription, (into = new Map<number, Map<string, number>>()));
      addPeriods(into, byPeriod);
    }
  }
  const unperiodic = new Map<string, number>();
  addUnits(unperiodic, a.unperiodic);
  addUnits(unperiodic, b.unperiodic);
  const headroom = b.headroom === undefined ? a.headroom : leastHeadroom(a.headroom, b.headroom);
  return {
    customerId: a.customerId,
    periods,
    ...(subscriptions.size === 0 ? {} : { subscriptions }),
    unperiodic,
    prepaid: a.prepaid + b.prepaid,
    refunds: new Map([...a.refunds, ...b.refunds]),
    ...(a.kept === undefined && b.kept === undefined ? {} : { kept: new Set([...(a.kept ?? []), ...(b.kept ?? [])]) }),
    lastCallAt: Math.max(a.lastCallAt, b.lastCallAt),
    ...(headroom === undefined ? {} : { headroom }),
  };
}

type StoredPeriods = Array<[number, Array<[string, number]>]>;
/**
 * A windowed customer as the buffer item stores it: [customer, [[periodEnd, [[meter, n]]]], [[meter, n]],
 * prepaid, lastCallAt], and when its lines named subscriptions [[subscription, [[periodEnd, [[meter, n]]]]]].
 */
type Stored = [string, StoredPeriods, Array<[string, number]>, number, number] | [string, StoredPeriods, Array<[string, number]>, number, number, Array<[string, StoredPeriods]>];

const storedPeriods = (periods: ReadonlyMap<number, MeterUnits>): StoredPeriods => [...periods].map(([p, units]) => [p, [...units]]);
const periodsOf = (stored: StoredPeriods): Map<number, Map<string, number>> => new Map(stored.map(([p, units]) => [p, new Map(units)]));

export function encodeUsage(usage: readonly CustomerUsage[]): string {
  const stored: Stored[] = usage.map((u) => {
    const head: [string, StoredPeriods, Array<[string, number]>, number, number] = [u.customerId, storedPeriods(u.periods), [...u.unperiodic], u.prepaid, u.lastCallAt];
    return u.subscriptions === undefined || u.subscriptions.size === 0 ? head : [...head, [...u.subscriptions].map(([id, periods]) => [id, storedPeriods(periods)])];
  });
  return JSON.stringify(stored);
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isUnits = (v: unknown): v is Array<[string, number]> => Array.isArray(v) && v.every((e) => Array.isArray(e) && e.length === 2 && typeof e[0] === 'string' && isCount(e[1]));
const isPeriods = (v: unknown): v is StoredPeriods => Array.isArray(v) && v.every((p) => Array.isArray(p) && p.length === 2 && isCount(p[0]) && isUnits(p[1]));
const isSubscriptions = (v: unknown): v is Array<[string, StoredPeriods]> => Array.isArray(v) && v.every((s) => Array.isArray(s) && s.length === 2 && typeof s[0] === 'string' && isPeriods(s[1]));

/** The buffer item's customers; an entry that is not what encodeUsage wrote is dropped (and counted by the caller). */
export function decodeUsage(text: string): { readonly usage: CustomerUsage[]; readonly dropped: number } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { usage: [], dropped: 1 };
  }
  if (!Array.isArray(value)) return { usage: [], dropped: 1 };
  const usage: CustomerUsage[] = [];
  let dropped = 0;
  for (const entry of value) {
    const ok =
      Array.isArray(entry) && (entry.length === 5 || (entry.length === 6 && isSubscriptions(entry[5]))) && typeof entry[0] === 'string' &&
      isPeriods(entry[1]) && isUnits(entry[2]) && isCount(entry[3]) && isCount(entry[4]);
    if (!ok) {
      dropped += 1;
      continue;
    }
    const [customerId, periods, unperiodic, prepaid, lastCallAt, subscriptions] = entry as [...Stored, Array<[string, StoredPeriods]>?];
    usage.push({
      customerId,
      periods: periodsOf(periods),
      ...(subscriptions === undefined ? {} : { subscriptions: new Map(subscriptions.map(([id, byPeriod]) => [id, periodsOf(byPeriod)])) }),
      unperiodic: new Map(unperiodic),
      prepaid,
      refunds: new Map(),
      lastCallAt,
    });
  }
  return { usage, dropped };
}

/** Splits the encoded customers into items under DynamoDB's 400 KB item limit. */
export function chunkUsage(usage: readonly CustomerUsage[], maxBytes = 300_000): string[] {
  const chunks: string[] = [];
  let current: CustomerUsage[] = [];
  let size = 2;
  for (const u of usage) {
    const bytes = Buffer.byteLength(encodeUsage([u]));
    if (current.length > 0 && size + bytes > maxBytes) {
      chunks.push(encodeUsage(current));
      current = [];
      size = 2;
    }
    current.push(u);
    size += bytes;
  }
  if (current.length > 0) chunks.push(encodeUsage(current));
  return chunks;
}
