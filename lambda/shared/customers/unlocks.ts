import type { CustomerRecord } from './record';
import { decide } from './standing';
import type { RouteRule } from '../requirements';

/**
 * Whether a change to a customer's record opens a standing route that was closed: the one kind of
 * change whose cached decisions must go at once (a flush of the stage's authorizer cache).
 *
 * Why only this kind (docs/access-timing.md has the figures):
 * - a lock (a cancellation, a failed payment past its grace, a lost entitlement, a block) waits for the
 *   standing authorizer's TTL: flushing for it would flush for every month-end cancellation, which is
 *   the storm the management budget (10 calls/s per account) cannot carry;
 * - routes sold by use are cached for at most a second (their own authorizer): a quota or credit change
 *   reaches them with no flush;
 * - a change that leaves every standing route as it was (a renewal of a customer in good standing, a new
 *   period, a new invoice URL) needs nothing.
 *
 * Standing routes need a subscription in good standing, or an entitlement too; a customer's routes are
 * whichever the API declares, so both kinds are judged: the subscription route, and one entitlement route
 * per lookup key the customer holds after the change.
 */
export function opensStandingRoute(before: CustomerRecord | undefined, after: CustomerRecord, now: Date, gracePeriodSeconds: number): boolean {
  const routes: RouteRule[] = [
    { method: 'GET', path: '/subscription', requires: { kind: 'subscription' } },
    ...(after.entitlements ?? []).map((lookupKey): RouteRule => ({ method: 'GET', path: `/entitlement/${lookupKey}`, requires: { kind: 'entitlement', lookupKey } })),
  ];
  const settings = { gracePeriodSeconds };
  const was = decide(before ?? { customerId: after.customerId, subscriptions: {}, invoices: {}, pastDue: {} }, routes, now, settings).verdicts;
  const is = decide(after, routes, now, settings).verdicts;
  return is.some((verdict, i) => verdict.allow && !was[i]!.allow);
}
