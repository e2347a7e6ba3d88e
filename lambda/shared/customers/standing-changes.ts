import type { CustomerRecord } from './record';
import { decide } from './standing';
import type { RouteRule } from '../requirements';

/**
 * Whether a change to a customer's record opens or closes a standing route: the one kind of change whose
 * cached decisions must go at once (a flush of the stage's authorizer cache, through its one flusher).
 *
 * Why only this kind (docs/access-timing.md has the figures):
 * - a change that leaves every standing route as it was needs nothing: a renewal in good standing (the
 *   month-end wave), a failed payment still within its grace, a new invoice URL, a new billing period;
 * - routes sold by use are cached for at most a second (their own authorizer): a quota or credit change
 *   reaches them with no flush;
 * - a verdict that changes with time alone (a grace period ending, a key expiring) has no event: it
 *   reaches cached decisions within the standing authorizer's TTL.
 *
 * Standing routes need a subscription in good standing, or an entitlement too; a customer's routes are
 * whichever the API declares, so both kinds are judged: the subscription route, and one entitlement route
 * per lookup key the customer holds before or after the change.
 */
export function changesStandingAccess(before: CustomerRecord | undefined, after: CustomerRecord, now: Date, gracePeriodSeconds: number): boolean {
  // A deleted customer's keys stop authenticating at all: a change before any route is decided.
  if ((before?.deleted === true) !== (after.deleted === true)) return true;
  const entitlements = [...new Set([...(before?.entitlements ?? []), ...(after.entitlements ?? [])])];
  const routes: RouteRule[] = [
    { method: 'GET', path: '/subscription', requires: { kind: 'subscription' } },
    ...entitlements.map((lookupKey): RouteRule => ({ method: 'GET', path: `/entitlement/${lookupKey}`, requires: { kind: 'entitlement', lookupKey } })),
  ];
  const settings = { gracePeriodSeconds };
  const was = decide(before ?? { customerId: after.customerId, subscriptions: {}, invoices: {}, pastDue: {} }, routes, now, settings).verdicts;
  const is = decide(after, routes, now, settings).verdicts;
  // The routes of the entitlements the customer had before, too: losing one closes its routes.
  return is.some((verdict, i) => verdict.allow !== was[i]!.allow);
}
