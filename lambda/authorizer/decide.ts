import type { CustomerRecord, PaymentReason } from '../shared/model';
import { jsonSafe, PAYMENT_PROBLEMS } from '../shared/problems';
import type { RouteRule } from '../shared/requirements';
import type { AuthorizerSettings } from '../shared/settings';

/**
 * The authorizer's pure core: an authenticated customer's payment standing → a verdict for every
 * secured route, plus the one context the gateway renders into every 402. No I/O, no clock.
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
  readonly verdicts: readonly RouteVerdict[];
  /** The reason every denied route of this policy is answered with; undefined when nothing is denied. */
  readonly reason?: PaymentReason;
  readonly context: DecisionContext;
}

const epochSeconds = (now: Date): number => Math.floor(now.getTime() / 1000);

/** The subscription-status table of DESIGN.md, cell by cell. */
export function standingOf(customer: CustomerRecord, now: Date, gracePeriodSeconds: number): Standing {
  const t = epochSeconds(now);
  switch (customer.subscriptionStatus) {
    case undefined:
      return { good: false, reason: 'no_subscription' };
    case 'active':
      // An open invoice can need action (a one-off charge's 3-D Secure) while the subscription is still active.
      return customer.paymentActionRequired === true ? { good: true, warning: 'payment_action_required' } : { good: true };
    case 'trialing':
      return { good: true };
    case 'past_due': {
      // No pastDueSince yet: the subscription update arrived before the failed invoice (Stripe does not
      // order events); the failure is that recent, so the grace period has not ended.
      if (customer.pastDueSince === undefined || t < customer.pastDueSince + gracePeriodSeconds) {
        return { good: true, warning: 'payment_past_due' };
      }
      return { good: false, reason: customer.paymentActionRequired === true ? 'payment_action_required' : 'payment_failed' };
    }
    case 'unpaid':
      return { good: false, reason: 'payment_failed' };
    case 'canceled':
    case 'incomplete_expired':
      // Set to cancel at period end: what was paid for runs until then.
      if (customer.cancelAtPeriodEnd === true && customer.currentPeriodEnd !== undefined && t < customer.currentPeriodEnd) {
        return { good: true, warning: 'subscription_ending' };
      }
      return { good: false, reason: 'subscription_canceled' };
    case 'incomplete':
      return { good: false, reason: 'payment_action_required' };
    case 'paused':
      return { good: false, reason: 'trial_ended' };
  }
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
export function paymentUrlFor(reason: PaymentReason | undefined, customer: CustomerRecord, settings: DecisionSettings): string | undefined {
  switch (reason) {
    case 'payment_failed':
    case 'payment_action_required':
      return customer.paymentUrl ?? settings.portalUrl ?? settings.checkoutUrl;
    case 'no_subscription':
    case 'subscription_canceled':
      return settings.checkoutUrl ?? settings.portalUrl;
    case 'trial_ended':
    case 'upgrade_required':
    case 'credits_exhausted':
    case 'quota_exceeded':
      return settings.portalUrl ?? settings.checkoutUrl;
    case undefined:
      return customer.paymentUrl ?? settings.portalUrl;
  }
}

const WARNING_URL_REASON: Record<PaymentWarning, PaymentReason | undefined> = {
  payment_past_due: 'payment_failed',
  payment_action_required: 'payment_action_required',
  subscription_ending: 'subscription_canceled',
};

export function decide(customer: CustomerRecord, routes: readonly RouteRule[], now: Date, settings: DecisionSettings): Decision {
  const standing = standingOf(customer, now, settings.gracePeriodSeconds);
  const verdicts = routes.map((route) => ({ route, allow: routeAllowed(route, customer, standing) }));
  const reason = verdicts.some((v) => !v.allow) ? denialReason(customer, standing) : undefined;
  const warning = standing.good ? standing.warning : undefined;
  const paymentUrl = paymentUrlFor(reason ?? (warning === undefined ? undefined : WARNING_URL_REASON[warning]), customer, settings);

  const entries: Array<[string, string | number | boolean | undefined]> = [
    ['customerId', customer.customerId],
    ['reason', reason],
    ['title', reason === undefined ? undefined : PAYMENT_PROBLEMS[reason].title],
    ['detail', reason === undefined ? undefined : PAYMENT_PROBLEMS[reason].detail],
    ['subscriptionStatus', customer.subscriptionStatus ?? 'none'],
    ['paymentUrl', paymentUrl],
    ['plan', customer.plan],
    ['paymentWarning', warning],
    ['currentPeriodEnd', customer.currentPeriodEnd],
  ];
  const context = Object.fromEntries(
    entries
      .filter((entry): entry is [string, string | number | boolean] => entry[1] !== undefined)
      .map(([key, value]) => [key, typeof value === 'string' ? jsonSafe(value) : value]),
  );
  return { customerId: customer.customerId, standing, verdicts, ...(reason === undefined ? {} : { reason }), context };
}
