import { subscriptionsOf, type CustomerRecord, type Subscription } from './record';
import { usageSubscription, usageView, type UsageView } from './usage-view';
import { jsonSafe, PAYMENT_PROBLEMS, type PaymentReason } from '../problems';
import type { RouteRule } from '../requirements';
import type { AuthorizerSettings } from '../settings';
import type { Draft } from '../draft';
import { applicableBudgets, CUSTOMER_SCOPE, exceededBudget, type BudgetState } from '../budgets';

/**
 * The standing rules: an authenticated customer's payment standing → a verdict for every secured
 * route, plus the one context the gateway renders into every 402. The authorizer decides with them; the
 * portal, the usage route, the webhook's recovery analytics and the CLI show what they decide. No I/O,
 * no clock.
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
 *
 * Routes sold by use (a `cost`, lambda/shared/customers/usage-view.ts for the rule) are open to a
 * customer whose deciding subscription is in good standing and whose plan has units left in the period
 * (or is unlimited, or bills overage), or who holds credits (> 0 units; no subscription needed). Credits
 * stand in for the subscription, never for an entitlement: an entitlement route sold by use still needs
 * the entitlement. Strict routes are paid from credits only (the authorizer reserves the cost with one
 * conditional write; a quota does not cover them). A usage block (`customers set-usage`) denies every
 * paid route. The routes of one call are one authorizer group's (requirements.ts `groupOf`), so one
 * reason is true for every denied route:
 *
 *   standing routes:  the subscription's reason > the usage block > upgrade_required
 *   metered routes:   the usage block (when something could pay) > nothing can pay: credits_exhausted if
 *                     the customer ever held credits, else the subscription's reason > quota used up:
 *                     credits_exhausted if it ever held credits (they come after the quota), else
 *                     quota_exceeded > upgrade_required
 *   strict routes:    the usage block > upgrade_required > credits_exhausted
 *
 * A route sold by use that these rules allow is still denied, `budget_exceeded`, when a budget the customer
 * set (its own, or the presented key's: lambda/shared/budgets.ts) has nothing left for it; the budget's
 * limit, used and resetsAt fill the 402. A budget denies only what could otherwise be paid: a route denied
 * by the rules above keeps its reason, and when a budget denies some routes of a group the group's 402
 * names the budget (raising it is what the caller can do now).
 *
 * Every context carries `limit`, `used`, `resetsAt` and `balance` as JSON literals (a number, a quoted
 * string or `null`): the one 402 template renders them raw for every reason.
 */

export type DecisionSettings = Pick<AuthorizerSettings, 'gracePeriodSeconds' | 'checkoutUrl' | 'portalUrl' | 'plans'>;

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
  /** The customer's usage in the period of the subscription its calls sold by use are counted on. */
  readonly usage?: UsageView;
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

/**
 * The subscription calls sold by use are counted on, and its usage: with access granted, the one in
 * good standing with the most left (usage-view.ts usageSubscription); else the deciding one.
 */
export function countedOn(customer: CustomerRecord, deciding: Subscription | undefined, standing: Standing, now: Date, settings: Pick<DecisionSettings, 'gracePeriodSeconds' | 'plans'>): { subscription?: Subscription; usage: UsageView } {
  const plans = settings.plans ?? {};
  const good = standing.good ? subscriptionsOf(customer).filter((s) => standingOf(s, now, settings.gracePeriodSeconds).good) : [];
  const best = good.length > 1 ? usageSubscription(customer, good, plans) : undefined;
  if (best !== undefined) return { subscription: best.subscription, usage: best.view };
  return { ...(deciding === undefined ? {} : { subscription: deciding }), usage: usageView(customer, deciding, plans) };
}

/**
 * Entitlement routes decide on the union of the entitlements of every subscription in good standing,
 * whoever paid: the customer's own (Stripe's, per customer) and those of each linked payer
 * (`payerEntitlements`) while a subscription it pays for is in good standing.
 */
function withPayerEntitlements(customer: CustomerRecord, now: Date, gracePeriodSeconds: number): CustomerRecord {
  const payers = customer.payerEntitlements;
  if (payers === undefined) return customer;
  const keys = new Set(customer.entitlements ?? []);
  for (const subscription of subscriptionsOf(customer)) {
    const payer = customer.subscriptions[subscription.id]?.payer;
    const brought = payer === undefined ? undefined : payers[payer];
    if (brought !== undefined && standingOf(subscription, now, gracePeriodSeconds).good) for (const key of brought.entitlements) keys.add(key);
  }
  return keys.size === (customer.entitlements ?? []).length ? customer : { ...customer, entitlements: [...keys] };
}

const entitled = (route: RouteRule, customer: CustomerRecord): boolean =>
  route.requires.kind !== 'entitlement' || (customer.entitlements ?? []).includes(route.requires.lookupKey);

/** What the balance must hold for a strict route to reserve its cost. */
export const coversStrict = (route: RouteRule, credits: number | undefined): boolean => credits !== undefined && credits >= (route.usage?.cost ?? 0);

/**
 * A call is admitted only when what pays for it covers its whole cost (a `cost: 5` route is not served
 * on 2 credits): an unlimited plan or billed overage, else the quota left plus the credits.
 */
const planCovers = (route: RouteRule, standing: Standing, usage: UsageView): boolean =>
  standing.good && usage.planOpen && (usage.limit === undefined || usage.overage === 'bill' || (usage.remaining ?? 0) + Math.max(0, usage.credits ?? 0) >= (route.usage?.cost ?? 0));
const creditsCover = (route: RouteRule, usage: UsageView): boolean => usage.creditsOpen && (usage.credits ?? 0) >= (route.usage?.cost ?? 0);

function routeAllowed(route: RouteRule, customer: CustomerRecord, standing: Standing, usage: UsageView): boolean {
  if (route.requires.kind === 'public' || route.requires.kind === 'key') return true;
  if (customer.usageBlock !== undefined || !entitled(route, customer)) return false;
  if (route.usage === undefined) return standing.good;
  if (route.usage.strict === true) return coversStrict(route, customer.credits);
  return planCovers(route, standing, usage) || creditsCover(route, usage);
}

/** One context serves every denied route (of one group): the precedence of the module comment. */
function denialReason(customer: CustomerRecord, standing: Standing, usage: UsageView, denied: readonly RouteRule[]): PaymentReason {
  if (denied.some((r) => r.usage?.strict === true)) {
    return customer.usageBlock ?? (denied.some((r) => !entitled(r, customer)) ? 'upgrade_required' : 'credits_exhausted');
  }
  if (!denied.some((r) => r.usage !== undefined)) {
    if (!standing.good) return standing.reason;
    return customer.usageBlock ?? 'upgrade_required';
  }
  const everHadCredits = customer.credits !== undefined;
  // Whether the plan and the credits cover every denied route's cost (a route denied for its entitlement alone).
  const metered = denied.filter((r) => r.usage !== undefined);
  const planOpen = metered.every((r) => planCovers(r, standing, usage));
  const creditsOpen = metered.every((r) => creditsCover(r, usage));
  if (customer.usageBlock !== undefined && (standing.good || creditsOpen)) return customer.usageBlock;
  if (!standing.good && !creditsOpen) return everHadCredits ? 'credits_exhausted' : standing.reason;
  if (!planOpen && !creditsOpen) return everHadCredits ? 'credits_exhausted' : 'quota_exceeded';
  return customer.usageBlock ?? 'upgrade_required';
}

/**
 * Units the customer can still draw on a route sold by use (the quota left and the credits), for
 * metering to tell a customer near its limit from one far from it; `unlimited` when what pays cannot
 * run out (an unlimited plan, overage billed).
 */
function headroom(standing: Standing, usage: UsageView): number | 'unlimited' {
  const credits = usage.credits ?? 0;
  if (standing.good && usage.planOpen) {
    if (usage.limit === undefined || usage.overage === 'bill') return 'unlimited';
    return (usage.remaining ?? 0) + Math.max(0, credits);
  }
  return Math.max(0, credits);
}

/** What the decision allows a call sold by use on: the subscription's plan, else the credits. */
export type UsageBasis = 'plan' | 'credits';

function basisOf(standing: Standing, usage: UsageView): UsageBasis | undefined {
  if (standing.good && usage.planOpen) return 'plan';
  return usage.creditsOpen ? 'credits' : undefined;
}

/** The 402 body's usage fields as JSON literals, valid JSON for every reason. */
function usageFields(usage: UsageView, reason: PaymentReason | undefined): Array<[string, string | number]> {
  return [
    ['limit', usage.limit ?? 'null'],
    ['used', usage.periodEnd === undefined ? 'null' : usage.used],
    ['resetsAt', usage.resetsAt === undefined ? 'null' : `"${new Date(usage.resetsAt * 1000).toISOString()}"`],
    ['balance', usage.credits ?? (reason === 'credits_exhausted' || reason === 'top_up_failed' ? 0 : 'null')],
  ];
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
    case 'top_up_failed':
    case 'quota_exceeded':
    case 'budget_exceeded':
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

/** The budget that stops an otherwise allowed route sold by use, if any. */
const budgetStop = (route: RouteRule, budgets: readonly BudgetState[]): BudgetState | undefined =>
  route.usage === undefined || budgets.length === 0 ? undefined : exceededBudget(budgets, route.usage.cost, route.usage.strict === true);

/** `keyId`: the presented key, whose own budget applies besides the customer's (a token has none). */
export function decide(stored: CustomerRecord, routes: readonly RouteRule[], now: Date, settings: DecisionSettings, keyId?: string): Decision {
  const customer = withPayerEntitlements(stored, now, settings.gracePeriodSeconds);
  const { subscription, standing } = decidingSubscription(customer, now, settings.gracePeriodSeconds);
  const counted = countedOn(customer, subscription, standing, now, settings);
  const usage = counted.usage;
  const metered = routes.some((r) => r.usage !== undefined);
  const budgets = metered && customer.budgets !== undefined ? applicableBudgets(customer, keyId, now, usage.periodEnd) : [];
  let budget: BudgetState | undefined;
  const verdicts = routes.map((route) => {
    if (!routeAllowed(route, customer, standing, usage)) return { route, allow: false };
    const stop = budgetStop(route, budgets);
    if (stop === undefined) return { route, allow: true };
    budget ??= stop;
    return { route, allow: false };
  });
  const denied = verdicts.filter((v) => !v.allow).map((v) => v.route);
  const denial = denied.length > 0 ? denialReason(customer, standing, usage, denied) : undefined;
  // Out of credits because the automatic top-up's charge failed: the 402 says so, and where to fix it.
  const reason = budget !== undefined ? 'budget_exceeded' : denial === 'credits_exhausted' && customer.topUp?.state === 'failed' ? 'top_up_failed' : denial;
  const warning = standing.good ? standing.warning : undefined;
  const paymentUrl = paymentUrlFor(reason ?? (warning === undefined ? undefined : WARNING_URL_REASON[warning]), subscription, settings);

  const context: Record<string, string | number | boolean> = {};
  const put = (key: string, value: string | number | boolean | undefined): void => {
    if (value !== undefined) context[key] = typeof value === 'string' ? jsonSafe(value) : value;
  };
  put('customerId', customer.customerId);
  put('reason', reason);
  put('title', reason === undefined ? undefined : PAYMENT_PROBLEMS[reason].title);
  put('detail', reason === undefined ? undefined : PAYMENT_PROBLEMS[reason].detail);
  put('subscriptionStatus', subscription?.status ?? 'none');
  put('paymentUrl', paymentUrl);
  put('plan', subscription?.plan);
  put('paymentWarning', warning);
  put('currentPeriodEnd', subscription?.currentPeriodEnd);
  // Metering counts a call against the plan's quota of this period (access log `periodEnd`) only when
  // the subscription pays for it; a call paid by credits alone carries none.
  put('periodEnd', metered && standing.good && usage.counted ? usage.periodEnd : undefined);
  // Whose counter: each subscription counts its own calls.
  put('subscription', metered && standing.good && usage.counted ? counted.subscription?.id : undefined);
  // A budgeted customer is always near a limit: metering writes its calls at once, with their keys
  // (a windowed sum keeps no keys), so a key's budget counts every call.
  put('headroom', metered ? (budgets.length > 0 ? 0 : headroom(standing, usage)) : undefined);
  // What pays for a call on a route sold by use: metering draws credits only for `credits` calls (an
  // unlimited plan's call carries no period, and must not be taken for pay-as-you-go).
  put('basis', metered ? basisOf(standing, usage) : undefined);
  // JSON literals of our own making: never passed through jsonSafe, which would strip the quotes.
  for (const [key, literal] of usageFields(usage, reason)) context[key] = literal;
  if (budget !== undefined) {
    context.limit = budget.limit;
    context.used = budget.used;
    context.resetsAt = `"${new Date(budget.resetsAt * 1000).toISOString()}"`;
    context.budgetScope = budget.scope === CUSTOMER_SCOPE ? 'customer' : 'key';
  }
  // Field by field, leaving out what is unknown: conditional spreads cost ten times as much, on every decision.
  const decision: Draft<Decision> = { customerId: customer.customerId, standing };
  if (subscription !== undefined) decision.subscription = subscription;
  decision.verdicts = verdicts;
  if (reason !== undefined) decision.reason = reason;
  decision.context = context;
  decision.usage = usage;
  return decision as Decision;
}
