import type Stripe from 'stripe';
import { createApiKey, type CreatedApiKey } from '../shared/customers/keys';
import { durationWords } from '../shared/credit-grants';
import { CREDITS_EXPIRES_IN_METADATA, CREDITS_METADATA } from '../shared/credits-metadata';
import { PORTAL_PATHS } from '../shared/portal-paths';
import type { CatalogCreditPack } from './settings';
import { PageError, readForm, type Answer, type Portal, type RequestContext } from './context';
import { creditsAddedPage, issuedKeyPage, paymentProcessingPage, subscribedPage } from './pages/key';
import { checkoutCookie, redirect } from './response';
import { CHECKOUT_COOKIE, sign, verify } from './session';
import { currentSession, requireSession, sessionFor } from './signed-in';

/**
 * Checkout → success → key issuance, and the billing portal: the only part of the portal that talks
 * to Stripe and to the issuance store. A key is issued once per paid Checkout Session, only to the
 * browser that started it (the checkout cookie binds the two).
 */

const CHECKOUT_SESSION_ID = /^cs_[A-Za-z0-9_]{1,200}$/;

/** The Checkout Session a return from Stripe names (`?session_id=cs_…`); a page error for anything else. */
export function returnedSessionId(ctx: RequestContext): string {
  const sessionId = ctx.event.queryStringParameters?.session_id ?? '';
  if (!CHECKOUT_SESSION_ID.test(sessionId)) throw new PageError(400, 'Unknown checkout', 'This page needs the checkout session Stripe returned you with.');
  return sessionId;
}
/** How long a delayed payment may take to settle (Bacs, SEPA and ACH debits take up to about two weeks). */
const SETTLING_COOKIE_SECONDS = 15 * 24 * 60 * 60;

/** The pack's Checkout fields: its units and lifetime for the webhook, and the lifetime stated to the buyer. */
export function packCheckoutFields(pack: CatalogCreditPack): Pick<Stripe.Checkout.SessionCreateParams, 'metadata' | 'custom_text'> {
  const metadata = { [CREDITS_METADATA]: String(pack.credits), ...(pack.expiresIn === undefined ? {} : { [CREDITS_EXPIRES_IN_METADATA]: pack.expiresIn }) };
  if (pack.expiresIn === undefined) return { metadata };
  return { metadata, custom_text: { submit: { message: `The ${pack.credits} credits of ${pack.name} expire ${durationWords(pack.expiresIn)} after payment; unused units then stop counting.` } } };
}

async function stripeOrPage(portal: Portal): Promise<Stripe> {
  const stripe = await portal.stripe();
  if (stripe === undefined) throw new PageError(503, 'Payments not configured', 'This API has no Stripe API key configured, so the portal cannot take payments. Ask its operator.');
  return stripe;
}

async function priceId(stripe: Stripe, price: string): Promise<string> {
  if (price.startsWith('price_')) return price;
  const found = await stripe.prices.list({ lookup_keys: [price], active: true, limit: 1 });
  const id = found.data[0]?.id;
  if (id === undefined) throw new PageError(503, 'Plan unavailable', `The plan's Stripe price "${price}" was not found. Ask the API's operator.`);
  return id;
}

/** `POST checkout`: a Stripe Checkout Session for the chosen plan or credit pack, bound to this browser. */
export async function checkout(ctx: RequestContext, portal: Portal): Promise<Answer> {
  const form = readForm(ctx.event);
  const { catalog } = portal.settings;
  const plan = catalog.plans.find((p) => p.lookupKey === form.get('plan'));
  const pack = catalog.creditPacks.find((p) => p.id === form.get('pack'));
  if (plan === undefined && pack === undefined) throw new PageError(400, 'Unknown plan', 'Choose one of the plans on the plans page.');
  const stripe = await stripeOrPage(portal);
  const current = await currentSession(ctx, portal);
  // Signed in: the existing customer pays, so the keys it already holds start working (never a second customer).
  const customerId = typeof current === 'object' ? current.session.customerId : undefined;
  const params: Stripe.Checkout.SessionCreateParams = {
    mode: plan === undefined ? 'payment' : 'subscription',
    line_items: [{ price: await priceId(stripe, plan?.lookupKey ?? pack!.price), quantity: 1 }],
    success_url: `${ctx.origin}${ctx.base}${PORTAL_PATHS.success}?session_id={CHECKOUT_SESSION_ID}`,
    cancel_url: `${ctx.origin}${ctx.base}${PORTAL_PATHS.pricing}`,
    ...(customerId === undefined ? {} : { customer: customerId, client_reference_id: customerId }),
    ...(pack === undefined ? {} : packCheckoutFields(pack)),
    ...(pack !== undefined && customerId === undefined ? { customer_creation: 'always' as const } : {}),
  };
  const session = await stripe.checkout.sessions.create(params);
  if (session.url === null) throw new Error('stripe returned a checkout session without a url');
  // The success page issues a key only to the browser that started this checkout.
  const binding = sign(await portal.sessionSecret(), { checkoutSessionId: session.id });
  return redirect(session.url, [checkoutCookie(ctx.base, binding)]);
}

interface PaidSession {
  /** Complete, but paid by a delayed method (SEPA, ACH, Bacs…) still settling: nothing is issued yet. */
  readonly processing?: true;
  readonly customerId: string;
  readonly clientReferenceId: string | null;
  /** The units a credit pack bought (`metadata.tollgate_credits`); undefined: a subscription. */
  readonly credits?: number;
}

/** The Checkout Session Stripe returned the browser with, if it is complete and paid. */
async function paidSession(stripe: Stripe, sessionId: string): Promise<PaidSession> {
  let session: Stripe.Checkout.Session;
  try {
    session = await stripe.checkout.sessions.retrieve(sessionId);
  } catch (err) {
    if (err instanceof Error && (err as { statusCode?: number }).statusCode === 404) {
      throw new PageError(404, 'Unknown checkout', 'Stripe knows no checkout session with this id. Nothing was issued.');
    }
    throw err;
  }
  const customerId = typeof session.customer === 'string' ? session.customer : session.customer?.id;
  const paid = session.status === 'complete' && (session.payment_status === 'paid' || session.payment_status === 'no_payment_required');
  const processing = session.status === 'complete' && session.payment_status === 'unpaid';
  if (!(paid || processing) || customerId === undefined) {
    throw new PageError(402, 'Not paid', 'This checkout is not complete and paid. Nothing was issued: finish the payment, or start again from the plans page.');
  }
  const credits = session.mode === 'payment' ? Number(session.metadata?.[CREDITS_METADATA]) : NaN;
  return {
    ...(processing ? { processing: true as const } : {}),
    customerId,
    clientReferenceId: session.client_reference_id,
    ...(Number.isSafeInteger(credits) && credits > 0 ? { credits } : {}),
  };
}

/** `GET success`: the key of a paid checkout, shown once, to the browser that started it. */
export async function success(ctx: RequestContext, portal: Portal): Promise<Answer> {
  const sessionId = returnedSessionId(ctx);
  const binding = verify(await portal.sessionSecret(), ctx.cookies[CHECKOUT_COOKIE]) as { checkoutSessionId?: unknown } | undefined;
  const current = await currentSession(ctx, portal);
  const { processing, customerId, clientReferenceId, credits } = await paidSession(await stripeOrPage(portal), sessionId);
  const signedInAs = typeof current === 'object' ? current.session.customerId : undefined;
  if (signedInAs !== undefined && signedInAs !== customerId) {
    throw new PageError(403, 'Another customer', 'This checkout belongs to another customer than the one signed in. Nothing was issued.');
  }
  if (processing === true) {
    const ours = binding?.checkoutSessionId === sessionId;
    const existing = clientReferenceId !== null && clientReferenceId === customerId;
    // The binding lasts as long as a delayed payment may take to settle: the payer claims the key on this page then.
    return {
      ...paymentProcessingPage({ base: ctx.base, ...(credits === undefined ? {} : { credits }), claimsKey: ours && !existing }),
      ...(ours && !existing ? { cookies: [checkoutCookie(ctx.base, ctx.cookies[CHECKOUT_COOKIE]!, SETTLING_COOKIE_SECONDS)] } : {}),
    };
  }
  // The checkout was for a customer that already holds keys: those keys now work, no new key is needed.
  if (clientReferenceId !== null && clientReferenceId === customerId) return credits === undefined ? subscribedPage(ctx.base) : creditsAddedPage(ctx.base, credits);
  const alreadyShown = (): PageError =>
    new PageError(409, 'Key already shown', 'The API key of this checkout was already shown once and is never shown again. Sign in with it to manage your account; if it is lost, ask the operator for a new one.');
  if (await portal.issuance.claimed(sessionId)) {
    // The payer reloading the page that showed the key (signed in by it): their account, not an error.
    if (signedInAs === customerId) return redirect(`${ctx.base}${PORTAL_PATHS.account}`);
    throw alreadyShown();
  }
  if (binding?.checkoutSessionId !== sessionId) {
    throw new PageError(403, 'Not your checkout', 'This checkout was started in another browser. A key is shown only once, only to the browser that paid. Nothing was issued.');
  }
  const at = portal.now();
  if (!(await portal.issuance.claim(sessionId, customerId, at))) throw alreadyShown();
  const created = await issueKey(portal, sessionId, customerId);
  // The key is issued: nothing may fail its page now, not even the document "Try it" reads.
  const document = await portal.assets.document().catch((err: unknown) => {
    portal.logger.warn('the key page has no document to try the key with', { error: err instanceof Error ? err.message : 'non-error thrown' });
    return undefined;
  });
  return {
    ...issuedKeyPage({ base: ctx.base, key: created.key, routes: portal.settings.routes, ...(document === undefined ? {} : { document }) }),
    cookies: [await sessionFor(portal, ctx.base, customerId, created.keyId, at), checkoutCookie(ctx.base, '')],
  };
}

/** The key of a claimed checkout; the claim is released when the key cannot be written, so the payer can retry. */
async function issueKey(portal: Portal, sessionId: string, customerId: string): Promise<CreatedApiKey> {
  let created: CreatedApiKey;
  try {
    created = await createApiKey(portal.keyStore, { customerId, name: 'portal signup' });
  } catch (err) {
    await portal.issuance.release(sessionId).catch(() => undefined);
    throw err;
  }
  await portal.issuance.issued(sessionId, created.keyId);
  portal.logger.info('portal issued a key', { keyId: created.keyId, checkout: 'completed' });
  return created;
}

/** `POST billing`: the Stripe Billing Portal for the signed-in customer only. */
export async function billing(ctx: RequestContext, portal: Portal): Promise<Answer> {
  const { session: signedIn } = await requireSession(ctx, portal);
  const stripe = await stripeOrPage(portal);
  const session = await stripe.billingPortal.sessions.create({ customer: signedIn.customerId, return_url: `${ctx.origin}${ctx.base}${PORTAL_PATHS.account}` });
  return redirect(session.url);
}
