import { PAYMENT_PROBLEMS, PAYMENT_REASONS, type PaymentReason } from './problems';

/**
 * tollgate's own public routes (docs, problem pages, the document, the developer portal), all under
 * one reserved prefix. Shared by the OpenAPI builder (which adds them), the portal function (which
 * serves them) and the authorizer (whose 402 links to them). Plain data, no SDK.
 */

export const TOLLGATE_PREFIX = '/tollgate';

export const PORTAL_PATHS = {
  docs: `${TOLLGATE_PREFIX}/docs`,
  document: `${TOLLGATE_PREFIX}/openapi.json`,
  problem: `${TOLLGATE_PREFIX}/problems/{reason}`,
  asset: `${TOLLGATE_PREFIX}/assets/{asset}`,
  pricing: `${TOLLGATE_PREFIX}/portal`,
  checkout: `${TOLLGATE_PREFIX}/portal/checkout`,
  success: `${TOLLGATE_PREFIX}/portal/success`,
  signIn: `${TOLLGATE_PREFIX}/portal/sign-in`,
  signOut: `${TOLLGATE_PREFIX}/portal/sign-out`,
  account: `${TOLLGATE_PREFIX}/portal/account`,
  rotate: `${TOLLGATE_PREFIX}/portal/rotate`,
  billing: `${TOLLGATE_PREFIX}/portal/billing`,
  /** Local runs only (lib/local): the test checkout that stands in for Stripe Checkout. */
  testCheckout: `${TOLLGATE_PREFIX}/portal/test-checkout/{session}`,
} as const;

/** The problem types tollgate answers beside the 402 reasons, each with its page. */
export const OTHER_PROBLEMS = {
  unauthorized: {
    status: 401,
    title: 'Unauthorized',
    detail: 'Send a valid API key as: Authorization: Bearer <key>.',
    meaning: 'The request carried no API key, or one that is malformed, unknown, revoked or expired.',
    action: 'Send a valid key as "Authorization: Bearer <key>". Retrying the same key will not help: get a key from the portal, or sign in and rotate yours.',
  },
  too_many_requests: {
    status: 429,
    title: 'Too many requests',
    detail: 'Slow down and retry after the Retry-After delay.',
    meaning: 'The API is receiving more requests than its throttling allows.',
    action: 'Wait for the number of seconds in the Retry-After header, then retry with backoff.',
  },
  service_unavailable: {
    status: 503,
    title: 'Service unavailable',
    detail: 'The paywall could not check your access right now. Retry shortly.',
    meaning: 'The paywall could not read your payment standing in time. It never answers 402 or lets a request through when it cannot check.',
    action: 'Retry after the Retry-After delay. Your key and subscription are not affected.',
  },
} as const;
export type OtherProblem = keyof typeof OTHER_PROBLEMS;

/** What each 402 reason means and what the caller should do (the problem pages and the docs say this). */
export const PAYMENT_REASON_HELP: Readonly<Record<PaymentReason, { readonly meaning: string; readonly action: string }>> = {
  no_subscription: { meaning: 'Your key is valid, but your account has no subscription yet.', action: 'Subscribe at the payment URL (the portal), then retry: the same key works within seconds.' },
  subscription_canceled: { meaning: 'Your subscription was canceled or expired.', action: 'Start a new subscription at the payment URL to restore access.' },
  payment_failed: { meaning: 'Your last payment failed and the grace period is over (or the subscription is unpaid).', action: 'Pay the open invoice or update your card at the payment URL.' },
  payment_action_required: { meaning: 'A payment needs your confirmation (3-D Secure or bank authentication).', action: 'Complete the payment at the payment URL.' },
  trial_ended: { meaning: 'Your trial ended without a payment method on file.', action: 'Add a payment method at the payment URL.' },
  upgrade_required: { meaning: 'Your plan does not include the feature this route needs. Other routes keep working.', action: 'Upgrade your plan at the payment URL (the billing portal).' },
  credits_exhausted: { meaning: 'Your prepaid credits are used up. Free-tier routes keep working.', action: 'Buy more credits at the payment URL.' },
  quota_exceeded: { meaning: "You have used this billing period's quota.", action: 'Upgrade your plan, or wait for the next period.' },
};

export type ProblemType = PaymentReason | OtherProblem;
export const PROBLEM_TYPES: readonly ProblemType[] = [...PAYMENT_REASONS, ...(Object.keys(OTHER_PROBLEMS) as OtherProblem[])];

export function problemInfo(type: ProblemType): { status: number; title: string; detail: string; meaning: string; action: string } {
  if ((PAYMENT_REASONS as readonly string[]).includes(type)) {
    const reason = type as PaymentReason;
    return { status: 402, ...PAYMENT_PROBLEMS[reason], ...PAYMENT_REASON_HELP[reason] };
  }
  return OTHER_PROBLEMS[type as OtherProblem];
}

export const isProblemType = (value: string): value is ProblemType => (PROBLEM_TYPES as readonly string[]).includes(value);

/**
 * The origin of the stage as the caller reached it, from API Gateway's `domainName`. Deployed it is
 * always https; the local gateway (lib/local) serves plain http on loopback, with a port.
 */
export function stageBaseUrl(domainName: string, stage: string): string {
  const local = /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/.test(domainName);
  return `${local ? 'http' : 'https'}://${domainName}/${stage}`;
}

/** Who asks, and on which domain and stage: the stack's own portal pages are served there. */
type Caller = { readonly customerId: string; readonly domainName?: string; readonly stage?: string };

/**
 * The payment URLs a 402 carries, for one customer reached through one domain and stage: the
 * configured ones, else the stack's own portal. A configured checkout URL (a Payment Link, a Checkout
 * URL) gets the customer as `client_reference_id`, so a payment through it can land on this customer
 * (lambda/webhook/checkout-link.ts).
 */
export function effectivePaymentUrls(
  configured: { readonly checkoutUrl?: string; readonly portalUrl?: string },
  caller: Caller,
): { checkoutUrl?: string; portalUrl?: string } {
  const checkoutUrl = effectiveCheckoutUrl(configured, caller);
  const portalUrl = effectivePortalUrl(configured, caller);
  return { ...(checkoutUrl === undefined ? {} : { checkoutUrl }), ...(portalUrl === undefined ? {} : { portalUrl }) };
}

const portalBase = (caller: Caller): string | undefined =>
  caller.domainName !== undefined && caller.domainName !== '' && caller.stage !== undefined && caller.stage !== '' ? stageBaseUrl(caller.domainName, caller.stage) : undefined;

/** effectivePaymentUrls' checkout URL alone (the authorizer asks only for what a decision names). */
export function effectiveCheckoutUrl(configured: { readonly checkoutUrl?: string }, caller: Caller): string | undefined {
  if (configured.checkoutUrl !== undefined) return withClientReference(configured.checkoutUrl, caller.customerId);
  const base = portalBase(caller);
  return base === undefined ? undefined : `${base}${PORTAL_PATHS.pricing}`;
}

/** effectivePaymentUrls' portal URL alone. */
export function effectivePortalUrl(configured: { readonly portalUrl?: string }, caller: Caller): string | undefined {
  if (configured.portalUrl !== undefined) return configured.portalUrl;
  const base = portalBase(caller);
  return base === undefined ? undefined : `${base}${PORTAL_PATHS.account}`;
}

/** `url` with `client_reference_id=<customerId>` (Stripe Payment Links read it from the query). */
export function withClientReference(url: string, customerId: string): string {
  if (!URL.canParse(url)) return url;
  const parsed = new URL(url);
  parsed.searchParams.set('client_reference_id', customerId);
  return parsed.toString();
}
