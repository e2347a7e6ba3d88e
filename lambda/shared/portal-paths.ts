/**
 * tollgate's own public routes (docs, problem pages, the document, the developer portal), all under
 * one reserved prefix, and the payment URLs a 402 points at. Shared by the OpenAPI builder (which adds
 * the routes), the portal function (which serves them) and the authorizer (whose 402 links to them).
 * Plain data, no SDK. What each problem type says is in problems.ts.
 */

export const TOLLGATE_PREFIX = '/tollgate';
/** The caller's own spend cap (lambda/usage/budget.ts): PUT sets it, DELETE removes it, with the caller's key. */
export const BUDGET_PATH = `${TOLLGATE_PREFIX}/budget`;

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
  /** The account page's budget form (lambda/portal/budget.ts). */
  budget: `${TOLLGATE_PREFIX}/portal/budget`,
  /** The account page's auto top-up forms (lambda/portal/top-up.ts), and the return from saving a card. */
  topUp: `${TOLLGATE_PREFIX}/portal/top-up`,
  topUpSaved: `${TOLLGATE_PREFIX}/portal/top-up/saved`,
  /** Local runs only (lib/local): the test checkout that stands in for Stripe Checkout. */
  testCheckout: `${TOLLGATE_PREFIX}/portal/test-checkout/{session}`,
} as const;

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
