import { subscriptionsOf, type CustomerRecord, type Subscription } from '../shared/customers/record';
import { jsonSafe, PAYMENT_PROBLEMS, type PaymentReason } from '../shared/problems';
import type { RouteRule } from '../shared/requirements';
import type { AuthorizerSettings } from '../shared/settings';

/**
 * The authorizer's pure core: an authenticated customer's payment standing → a verdict for every
 * secured route, plus the one context the gateway renders into every 402. No I/O, no clock.
 *
 * A customer may hold several subscriptions (add-ons, a second product). Each has its own standing, and
 * any subscription in good standing grants access. Stripe keeps entitlements per customer, so every
 * subscription could cover every paid route: when none is in good standing, the 402 names the reason of
 * the subscription closest to access, by this precedence (the cheapest fix first):
 *
 *   payment_action_required (authenticate the payment) > payment_failed (pay the open invoice)
 *   > trial_ended (add a payment method) > subscription_canceled (subscribe again)
 *
 * and `no_subscription` only when the customer holds none. Its status, plan and invoice URL fill the
 * 402. When access is granted, the deciding subscription is the one with the least to fix: no warning,
 * then payment_action_required, subscription_ending, payment_past_due. Ties go to the lower id.
 */

export type DecisionSettings = Pick<AuthorizerSettings, 'gracePeriodSeconds' | 'checkoutUrl' | 'portalUrl'>;

/** Why access is granted while something is wrong: the backend may tell the caller. */
export type PaymentWarning = 'payment_past_due' | 'subscription_ending' | 'payment_action_required';

/** What the subscription alone grants, before entitlements and usage. */
export type Standing =
  | { readonly good: true; readonly warning?: PaymentWarning }
  | { readonly good: false; readonly reason: SubscriptionReason };

export type SubscriptionReason = Extract<
  PaymentReason,
  'no_subscription' | 'subscription_canceled' | 'payment_failed' | 'payment_action_required' | 'trial_ended'
>;

export interface RouteVerdict {
  readonly route: RouteRule;
  readonly allow: boolean;
}

/** Flat, JSON-safe: API Gateway substitutes these into the 402 template verbatim. */
export type DecisionContext = Readonly<Record<string, string | number | boolean>>;

export interface Decision {
  readonly customerId: string;
  readonly standing: Standing;
  /** The subscription the standing is that of (see the precedence above); undefined: the customer has none. */
  readonly subscription?: Subscription;
  readonly verdicts: readonly RouteVerdict[];
  /** The reason every denied route of this policy is answered with; undefined when nothing is denied. */
  readonly reason?: PaymentReason;
  readonly context: DecisionContext;
}

const epochSeconds = (now: Date): number => Math.floor(now.getTime() / 1000);

/** One subscription's standing, status by status. */
export function standingOf(subscription: Subscription, now: Date, gracePeriodSeconds: number): Standing {
  const t = epochSeconds(now);
  switch (subscription.status) {
    case 'active':
      // An open invoice can need action (a one-off charge's 3-D Secure) while the subscription is still active.
      return subscription.paymentActionRequired ? { good: true, warning: 'payment_action_required' } : { good: true };
    case 'trialing':
      return { good: true };
    case 'past_due': {
      // The grace period starts at the earliest known moment of the delinquency: the first event showing
      // past_due, or the open invoice's due date, whichever is earlier. The webhook always records one.
      if (subscription.pastDueSince === undefined || t < subscription.pastDueSince + gracePeriodSeconds) {
        return { good: true, warning: 'payment_past_due' };
      }
      return { good: false, reason: subscription.paymentActionRequired ? 'payment_action_required' : 'payment_failed' };
    }
    case 'unpaid':
      return { good: false, reason: 'payment_failed' };
    case 'canceled':
    case 'incomplete_expired':
      // Set to cancel at period end: what was paid for runs until then.
      if (subscription.cancelAtPeriodEnd && subscription.currentPeriodEnd !== undefined && t < subscription.currentPeriodEnd) {
        return { good: true, warning: 'subscription_ending' };
      }
      return { good: false, reason: 'subscription_canceled' };
    case 'incomplete':
      return { good: false, reason: 'payment_action_required' };
    case 'paused':
      return { good: false, reason: 'trial_ended' };
  }
}

/** The precedence of the module comment, best first. */
const STANDING_ORDER: readonly string[] = [
  'good',
  'good:payment_action_required',
  'good:subscription_ending',
  'good:payment_past_due',
  'payment_action_required',
  'payment_failed',
  'trial_ended',
  'subscription_canceled',
];
const orderOf = (standing: Standing): number =>
  STANDING_ORDER.indexOf(standing.good ? (standing.warning === undefined ? 'good' : `good:${standing.warning}`) : standing.reason);

/** The subscription that decides, and its standing; none: no_subscription. */
export function decidingSubscription(customer: CustomerRecord, now: Date, gracePeriodSeconds: number): { subscription?: Subscription; standing: Standing } {
  let best: { subscription: Subscription; standing: Standing } | undefined;
  // subscriptionsOf is ordered by id, so a strict comparison keeps the lower id on a tie.
  for (const subscription of subscriptionsOf(customer)) {
    const standing = standingOf(subscription, now, gracePeriodSeconds);
    if (best === undefined || orderOf(standing) < orderOf(best.standing)) best = { subscription, standing };
  }
  return best ?? { standing: { good: false, reason: 'no_subscription' } };
}

function routeAllowed(route: RouteRule, customer: CustomerRecord, standing: Standing): boolean {
  switch (route.requires.kind) {
    case 'public':
    case 'key':
      return true;
    case 'subscription':
      return standing.good && customer.usageBlock === undefined;
    case 'entitlement':
      return standing.good && customer.usageBlock === undefined && (customer.entitlements ?? []).includes(route.requires.lookupKey);
  }
}

/**
 * One context serves every denied route. When the subscription grants nothing, its reason. Else a
 * usage block denies every paid route, so it is true for each of them. Else only entitlement routes
 * are denied: upgrade_required.
 */
function denialReason(customer: CustomerRecord, standing: Standing): PaymentReason {
  if (!standing.good) return standing.reason;
  return customer.usageBlock ?? 'upgrade_required';
}

/** Where the caller can fix it: the failing invoice, else the portal or checkout, whichever is configured. */
export function paymentUrlFor(
  reason: PaymentReason | undefined,
  subscription: { readonly paymentUrl?: string } | undefined,
  settings: DecisionSettings,
): string | undefined {
  const invoiceUrl = subscription?.paymentUrl;
  switch (reason) {
    case 'payment_failed':
    case 'payment_action_required':
      return invoiceUrl ?? settings.portalUrl ?? settings.checkoutUrl;
    case 'no_subscription':
    case 'subscription_canceled':
      return settings.checkoutUrl ?? settings.portalUrl;
    case 'trial_ended':
    case 'upgrade_required':
    case 'credits_exhausted':
    case 'quota_exceeded':
      return settings.portalUrl ?? settings.checkoutUrl;
    case undefined:
      return invoiceUrl ?? settings.portalUrl;
  }
}

const WARNING_URL_REASON: Record<PaymentWarning, PaymentReason | undefined> = {
  payment_past_due: 'payment_failed',
  payment_action_required: 'payment_action_required',
  subscription_ending: 'subscription_canceled',
};

export function decide(customer: CustomerRecord, routes: readonly RouteRule[], now: Date, settings: DecisionSettings): Decision {
  const { subscription, standing } = decidingSubscription(customer, now, settings.gracePeriodSeconds);
  const verdicts = routes.map((route) => ({ route, allow: routeAllowed(route, customer, standing) }));
  const reason = verdicts.some((v) => !v.allow) ? denialReason(customer, standing) : undefined;
  const warning = standing.good ? standing.warning : undefined;
  const paymentUrl = paymentUrlFor(reason ?? (warning === undefined ? undefined : WARNING_URL_REASON[warning]), subscription, settings);

  const entries: Array<[string, string | number | boolean | undefined]> = [
    ['customerId', customer.customerId],
    ['reason', reason],
    ['title', reason === undefined ? undefined : PAYMENT_PROBLEMS[reason].title],
    ['detail', reason === undefined ? undefined : PAYMENT_PROBLEMS[reason].detail],
    ['subscriptionStatus', subscription?.status ?? 'none'],
    ['paymentUrl', paymentUrl],
    ['plan', subscription?.plan],
    ['paymentWarning', warning],
    ['currentPeriodEnd', subscription?.currentPeriodEnd],
  ];
  const context = Object.fromEntries(
    entries
      .filter((entry): entry is [string, string | number | boolean] => entry[1] !== undefined)
      .map(([key, value]) => [key, typeof value === 'string' ? jsonSafe(value) : value]),
  );
  return {
    customerId: customer.customerId,
    standing,
    ...(subscription === undefined ? {} : { subscription }),
    verdicts,
    ...(reason === undefined ? {} : { reason }),
    context,
  };
}
