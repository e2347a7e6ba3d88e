import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { html, layout, PAGE_CSP, securityHeaders, type Html } from '../../lambda/portal/html';
import type { Catalog } from '../../lambda/portal/settings';
import { isTerminal, type CustomerRecord, type SubscriptionEntry } from '../../lambda/shared/customers/record';
import { headerValue } from '../../lambda/shared/headers';
import { packCheckoutFields } from '../../lambda/portal/checkout';
import { watermarkSecond } from '../../lambda/webhook/state';
import { PORTAL_PATHS, stageBaseUrl } from '../../lambda/shared/portal-paths';
import { checkoutSessionObject } from '../stripe-events/checkout';
import type Stripe from 'stripe';
import { buildStripeEvent, serializeEvent, setupIntentSucceededEvent, signPayload, stripeEvent } from '../stripe-events/event';
import { completeCheckoutSession, completeSetupSession, createCheckoutSession, settleCheckoutSession } from './stripe-api/checkout-sessions';
import { TEST_CARDS, type SavedCard } from './stripe-api/payment-methods';
import { fakeId, type FakeBillingPortalSession, type FakeCheckoutSession, type FakeStripeStore } from './stripe-api/store';

/**
 * The local run's stand-in for Stripe Checkout and the Billing Portal, plainly labelled as such: pages
 * on the local stack. The checkout shows what a session buys and, on "Pay", completes it in the fake
 * Stripe API and sends the local webhook the same signed events a real checkout sends
 * (customer.subscription.created, invoice.paid, checkout.session.completed), then returns to the
 * session's success URL. The billing portal shows the customer's subscriptions as tollgate stored them
 * and lets the customer switch plan or cancel, each sent as the signed event Stripe's Billing Portal
 * sends (customer.subscription.updated / .deleted). A setup-mode checkout charges nothing: it saves a
 * card for later off-session charges, one of three Stripe test cards (one that pays, one declined, one
 * that needs authentication), and sends setup_intent.succeeded and checkout.session.completed. Never
 * deployed: only the local document routes here.
 */

/** `…/test-checkout/plink_<price lookup key>`: the local stand-in for a Stripe Payment Link. */
export const PAYMENT_LINK_PREFIX = 'plink_';

export interface TestCheckoutDeps {
  /** undefined: this run uses a real Stripe API key, so real Checkout. */
  readonly store: FakeStripeStore | undefined;
  /** Posts a signed event body to the stage's webhook; resolves with its status. */
  readonly deliver: (payload: string, signature: string) => Promise<number>;
  readonly webhookSecret: string;
  /** What the portal sells: plan names for the billing portal, credit packs for payment links. @default nothing */
  readonly catalog?: Catalog;
  /** The customer's payment state as tollgate stored it from Stripe's events (the billing portal's subscriptions). */
  readonly customers?: (customerId: string) => Promise<CustomerRecord | undefined>;
  /** @default Date.now */
  readonly now?: () => number;
}

type Page = (status: number, title: string, body: Html) => APIGatewayProxyResult;

const CHECKOUT_BANNER = html`<p class="test-mode" role="note">LOCAL TEST CHECKOUT: this page is tollgate's local stand-in for Stripe. No card is needed and nothing is charged.</p>`;
const BILLING_BANNER = html`<p class="test-mode" role="note">LOCAL TEST BILLING PORTAL: this page is tollgate's local stand-in for Stripe's Billing Portal. Nothing is charged; each change is sent to the local webhook as the event Stripe would send.</p>`;

export function makeTestCheckoutHandler(deps: TestCheckoutDeps): (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult> {
  const now = deps.now ?? Date.now;
  return async (event) => {
    const base = `/${event.requestContext.stage}`;
    const id = event.pathParameters?.session ?? '';
    const pageWith =
      (banner: Html): Page =>
      (status, title, body) => ({
        statusCode: status,
        headers: { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', ...securityHeaders(PAGE_CSP) },
        body: layout({ title, base, body, banner }),
      });
    const page = pageWith(CHECKOUT_BANNER);
    if (deps.store === undefined) return page(404, 'No test checkout', html`<p>This run uses a real Stripe API key: checkouts happen on Stripe.</p>`);
    const store = deps.store;
    const origin = stageBaseUrl(event.requestContext.domainName ?? '', event.requestContext.stage).slice(0, -base.length);
    // Forms that change anything: POST, from this stage's own pages (browsers send Origin on a form POST).
    const sameOrigin = (): boolean => headerValue(event, 'origin') === origin && [undefined, 'same-origin'].includes(headerValue(event, 'sec-fetch-site'));
    if (id === 'paid') return page(200, 'Payment received', html`<p>Payment received (test). Retry your API request: the key the payment link was for now has access.</p>`);
    if (id.startsWith(PAYMENT_LINK_PREFIX) && event.httpMethod === 'GET') {
      // A Payment Link stand-in: each visit opens a session with no customer (Checkout creates one) and
      // the client_reference_id from the link's query, as buy.stripe.com links do.
      const price = [...store.prices.values()].find((p) => p.lookup_key === id.slice(PAYMENT_LINK_PREFIX.length));
      const reference = event.queryStringParameters?.client_reference_id;
      if (price === undefined) return page(404, 'Unknown payment link', html`<p>No test payment link for this plan.</p>`);
      // A link selling a credit pack carries the pack's units, as the operator sets them on the link.
      const pack = price.type === 'one_time' ? deps.catalog?.creditPacks.find((p) => p.price === price.lookup_key || p.price === price.id) : undefined;
      const session = createCheckoutSession(store, {
        mode: price.type === 'recurring' ? 'subscription' : 'payment',
        line_items: [{ price: price.id, quantity: 1 }],
        success_url: `${origin}${base}${PORTAL_PATHS.testCheckout.replace('{session}', 'paid')}`,
        ...(reference !== undefined && /^[A-Za-z0-9_-]{1,200}$/.test(reference) ? { client_reference_id: reference } : {}),
        ...(pack === undefined ? {} : { metadata: packCheckoutFields(pack).metadata }),
      });
      if (typeof session === 'string') return page(400, 'Payment link failed', html`<p role="alert">${session}</p>`);
      return { statusCode: 303, headers: { Location: session.url ?? base, 'Cache-Control': 'no-store' }, body: '' };
    }
    if (id.startsWith('bps_')) {
      const portal = store.billingPortalSessions.get(id);
      const billingPage = pageWith(BILLING_BANNER);
      if (portal === undefined) return billingPage(404, 'Unknown billing session', html`<p>No such test billing portal session.</p>`);
      if (event.httpMethod === 'GET') return billingPortalPage(portal, base, billingPage);
      if (!sameOrigin()) return billingPage(403, 'Refused', html`<p role="alert">This form must be sent from the test billing portal. Nothing was changed.</p>`);
      const form = new URLSearchParams(formBody(event));
      // As Stripe's Billing Portal does, a cancellation is confirmed before it is sent.
      if (form.get('action') === 'cancel' && form.get('confirm') !== 'yes') return confirmCancel(portal, form.get('subscription') ?? '', base, billingPage);
      const change = await billingChange(store, portal, form);
      if ('refused' in change) return billingPage(400, 'Nothing changed', html`<p role="alert">${change.refused}</p><p><a href="${base}${PORTAL_PATHS.testCheckout.replace('{session}', id)}">Back to the billing portal</a></p>`);
      const status = await deps.deliver(change.payload, signPayload(change.payload, deps.webhookSecret));
      if (status < 200 || status > 299) return billingPage(502, 'Webhook failed', html`<p role="alert">The local webhook answered ${status}. See the terminal of npm start.</p>`);
      return { statusCode: 303, headers: { Location: `${base}${PORTAL_PATHS.testCheckout.replace('{session}', id)}`, 'Cache-Control': 'no-store' }, body: '' };
    }
    const session = store.checkoutSessions.get(id);
    if (session === undefined) return page(404, 'Unknown checkout', html`<p>No such test checkout session.</p>`);
    if (event.httpMethod === 'GET') return checkoutPage(session, base, page);

    if (!sameOrigin()) return page(403, 'Refused', html`<p role="alert">This form must be sent from the test checkout page. Nothing was paid.</p>`);
    const form = new URLSearchParams(formBody(event));
    const deliverAll = async (payloads: readonly string[]): Promise<APIGatewayProxyResult | undefined> => {
      for (const payload of payloads) {
        const status = await deps.deliver(payload, signPayload(payload, deps.webhookSecret));
        if (status < 200 || status > 299) return page(502, 'Webhook failed', html`<p role="alert">The local webhook answered ${status}. See the terminal of npm start.</p>`);
      }
      return undefined;
    };
    const toSuccess = (completed: FakeCheckoutSession): APIGatewayProxyResult => ({
      statusCode: 303,
      headers: { Location: (completed.success_url ?? base).replace('{CHECKOUT_SESSION_ID}', id), 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' },
      body: '',
    });
    if (form.get('action') === 'settle') {
      // The bank debit settles: Stripe sends checkout.session.async_payment_succeeded.
      const settled = settleCheckoutSession(store, id);
      if (settled === undefined) return page(409, 'Nothing to settle', html`<p role="alert">This test checkout has no payment waiting to settle.</p>`);
      return (await deliverAll([checkoutSessionEvent('checkout.session.async_payment_succeeded', settled)])) ?? toSuccess(settled);
    }
    if (session.mode === 'setup') {
      const card = form.get('card');
      if (!isSavedCard(card)) return page(400, 'No card saved', html`<p role="alert">Choose one of the three test cards.</p><p><a href="${base}${PORTAL_PATHS.testCheckout.replace('{session}', id)}">Back to the test checkout</a></p>`);
      const setup = completeSetupSession(store, id, card)!;
      if (setup.saved) {
        const failed = await deliverAll(setupCheckoutEvents(setup.session, setup.setupIntent));
        if (failed !== undefined) return failed;
      }
      return toSuccess(setup.session);
    }
    const wasOpen = session.status === 'open';
    const completed = completeCheckoutSession(store, id, { settled: form.get('method') !== 'bank' })!;
    if (wasOpen) {
      const failed = await deliverAll(checkoutEvents(store, completed));
      if (failed !== undefined) return failed;
    }
    return toSuccess(completed);
  };

  /** The customer's subscriptions that Stripe's Billing Portal would list: every one not ended. */
  async function liveSubscriptions(customerId: string): Promise<Array<[string, SubscriptionEntry]>> {
    const record = await deps.customers?.(customerId);
    return Object.entries(record?.subscriptions ?? {})
      .filter(([, entry]) => !isTerminal(entry.status))
      .sort(([a], [b]) => a.localeCompare(b));
  }

  function planName(plan: string | undefined): string {
    return deps.catalog?.plans.find((p) => p.lookupKey === plan)?.name ?? plan ?? 'no plan';
  }

  async function billingPortalPage(portal: FakeBillingPortalSession, base: string, page: Page): Promise<APIGatewayProxyResult> {
    const subscriptions = await liveSubscriptions(portal.customer);
    const action = `${base}${PORTAL_PATHS.testCheckout.replace('{session}', portal.id)}`;
    const plans = deps.catalog?.plans ?? [];
    return page(
      200,
      'Test billing portal',
      html`<p>Customer <code>${portal.customer}</code>. Cards and invoices are not simulated locally.</p>
<h2>Subscriptions</h2>
${subscriptions.length === 0
        ? html`<p data-no-subscription>No active subscription.</p>`
        : html`<ul class="plans">${subscriptions.map(
            ([subscriptionId, entry]) => html`<li data-subscription="${subscriptionId}"><h3>${planName(entry.plan)}</h3>
<p>Status: ${entry.status}${entry.currentPeriodEnd === undefined ? '' : html`, current period ends ${new Date(entry.currentPeriodEnd * 1000).toISOString()}`}.</p>
${plans.filter((p) => p.lookupKey !== entry.plan).map(
  (p) => html`<form method="post" action="${action}"><input type="hidden" name="action" value="switch"><input type="hidden" name="subscription" value="${subscriptionId}"><input type="hidden" name="plan" value="${p.lookupKey}"><button type="submit">Switch to ${p.name}</button></form>`,
)}
<form method="post" action="${action}"><input type="hidden" name="action" value="cancel"><input type="hidden" name="subscription" value="${subscriptionId}"><button type="submit">Cancel ${planName(entry.plan)} now</button></form></li>`,
          )}</ul>`}
<p><a href="${portal.return_url ?? base}">Return to your account</a></p>`,
    );
  }

  /** "Cancel <plan>?": what ends, and the two ways on (nothing is sent until the customer confirms). */
  async function confirmCancel(portal: FakeBillingPortalSession, subscriptionId: string, base: string, page: Page): Promise<APIGatewayProxyResult> {
    const action = `${base}${PORTAL_PATHS.testCheckout.replace('{session}', portal.id)}`;
    const entry = (await liveSubscriptions(portal.customer)).find(([id]) => id === subscriptionId)?.[1];
    if (entry === undefined) return page(400, 'Nothing changed', html`<p role="alert">${portal.customer} has no active subscription "${subscriptionId}": reload the billing portal.</p><p><a href="${action}">Back to the billing portal</a></p>`);
    const plan = planName(entry.plan);
    return page(
      200,
      `Cancel ${plan}?`,
      html`<p>Cancelling ends ${plan} now: the routes it pays for answer 402 from the next call.</p>
<form method="post" action="${action}"><input type="hidden" name="action" value="cancel"><input type="hidden" name="subscription" value="${subscriptionId}"><input type="hidden" name="confirm" value="yes"><p><button type="submit">Yes, cancel ${plan} now</button></p></form>
<p><a href="${action}">Keep ${plan}</a></p>`,
    );
  }

  /** The event body a Billing Portal action sends (signed on delivery), or why nothing can change. */
  async function billingChange(store: FakeStripeStore, portal: FakeBillingPortalSession, form: URLSearchParams): Promise<{ payload: string } | { refused: string }> {
    const subscriptionId = form.get('subscription') ?? '';
    const entry = (await liveSubscriptions(portal.customer)).find(([id]) => id === subscriptionId)?.[1];
    if (entry === undefined) return { refused: `${portal.customer} has no active subscription "${subscriptionId}": reload the billing portal.` };
    // One second past what the stored state knows, so the webhook orders this change after it.
    const created = Math.max(Math.floor(now() / 1000), (watermarkSecond(entry.watermark) ?? 0) + 1);
    const common = { customer: portal.customer, subscription: subscriptionId, created, ...(entry.currentPeriodEnd === undefined ? {} : { currentPeriodEnd: entry.currentPeriodEnd }) };
    switch (form.get('action')) {
      case 'cancel':
        return { payload: serializeEvent(buildStripeEvent('customer.subscription.deleted', { ...common, lookupKey: entry.plan ?? null })) };
      case 'switch': {
        const plan = deps.catalog?.plans.find((p) => p.lookupKey === form.get('plan'));
        const price = [...store.prices.values()].find((p) => p.type === 'recurring' && p.lookup_key === plan?.lookupKey);
        if (plan === undefined || price === undefined) return { refused: 'Choose one of the plans listed.' };
        return { payload: serializeEvent(buildStripeEvent('customer.subscription.updated', { ...common, status: entry.status, lookupKey: plan.lookupKey, priceId: price.id })) };
      }
      default:
        return { refused: 'Choose to switch plan or to cancel.' };
    }
  }
}

function formBody(event: APIGatewayProxyEvent): string {
  const raw = event.body === null ? '' : event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  return raw.length > 8192 ? '' : raw;
}

const SAVED_CARD_LABELS: Readonly<Record<SavedCard, string>> = {
  pays: `Save a card that pays (${TEST_CARDS.pays.number.slice(0, 4)}…)`,
  declines: `Save a card that is declined (…${TEST_CARDS.declines.last4})`,
  authentication: `Save a card that needs authentication (…${TEST_CARDS.authentication.last4})`,
};
const isSavedCard = (value: string | null): value is SavedCard => value !== null && Object.hasOwn(SAVED_CARD_LABELS, value);

/** A setup session: a card saved for later charges, nothing charged now. */
function setupPage(session: FakeCheckoutSession, base: string, page: Page): APIGatewayProxyResult {
  const action = `${base}/tollgate/portal/test-checkout/${session.id}`;
  const success = (session.success_url ?? base).replace('{CHECKOUT_SESSION_ID}', session.id);
  if (session.status !== 'open') return page(200, 'Card saved', html`<p>This test checkout saved a card.</p><p><a href="${success}">Continue</a></p>`);
  return page(
    200,
    'Save a card (test)',
    html`<p>This saves a card for later charges (automatic top-ups): nothing is charged now. Each button saves one of Stripe's test cards, which behaves as that card does when it is charged later.</p>
${session.customer === null ? '' : html`<p>For customer <code>${session.customer as string}</code>.</p>`}
${(Object.keys(SAVED_CARD_LABELS) as SavedCard[]).map(
  (card) => html`<form method="post" action="${action}"><input type="hidden" name="card" value="${card}"><p><button type="submit">${SAVED_CARD_LABELS[card]}</button> <span>${TEST_CARDS[card].number}: ${TEST_CARDS[card].says}.</span></p></form>`,
)}
<p><a href="${session.cancel_url ?? base}">Cancel</a></p>`,
  );
}

function checkoutPage(session: FakeCheckoutSession, base: string, page: Page): APIGatewayProxyResult {
  if (session.mode === 'setup') return setupPage(session, base, page);
  const prices = session.priceIds.map((p) => `${p}`);
  const amount = ((session.amount_total ?? 0) / 100).toFixed(2);
  const action = `${base}/tollgate/portal/test-checkout/${session.id}`;
  const success = (session.success_url ?? base).replace('{CHECKOUT_SESSION_ID}', session.id);
  if (session.status !== 'open' && session.payment_status === 'unpaid') {
    return page(
      200,
      'Bank payment processing',
      html`<p>This test checkout was paid by bank debit, which settles days later at Stripe. Settle it now to send the event Stripe sends then.</p>
<form method="post" action="${action}"><input type="hidden" name="action" value="settle"><p><button type="submit">Settle the bank payment (test)</button></p></form>
<p><a href="${success}">Continue</a></p>`,
    );
  }
  if (session.status !== 'open') return page(200, 'Already paid', html`<p>This test checkout is complete.</p><p><a href="${success}">Continue</a></p>`);
  return page(
    200,
    'Test checkout',
    html`<p>${session.mode === 'subscription' ? 'Subscription' : 'One-time purchase'}: ${prices.length} item(s), $${amount} (${session.mode === 'subscription' ? 'per month, ' : ''}test mode).</p>
${session.client_reference_id === null ? '' : html`<p>For customer <code>${session.client_reference_id}</code>.</p>`}
<form method="post" action="${action}"><p><button type="submit">Pay (test)</button></p></form>
${session.mode === 'payment' ? html`<form method="post" action="${action}"><input type="hidden" name="method" value="bank"><p><button type="submit">Pay by bank debit (test: settles later)</button></p></form>` : ''}
<p><a href="${session.cancel_url ?? base}">Cancel</a></p>`,
  );
}

/** The Checkout Session as Stripe's events carry it. */
function checkoutObjectOf(session: FakeCheckoutSession, created: number) {
  const setup = session.mode === 'setup';
  return {
    ...checkoutSessionObject({
      customer: session.customer as string,
      created,
      checkoutMode: setup ? 'setup' : session.mode === 'payment' ? 'payment' : 'subscription',
      paymentStatus: setup ? 'no_payment_required' : session.payment_status === 'unpaid' ? 'unpaid' : 'paid',
      ...(session.subscription === null ? {} : { subscription: session.subscription as string }),
    }),
    id: session.id,
    client_reference_id: session.client_reference_id,
    metadata: session.metadata,
    success_url: session.success_url,
    cancel_url: session.cancel_url,
    customer_creation: session.customer_creation,
    amount_total: session.amount_total,
    ...(setup ? ({ amount_subtotal: null, currency: session.currency, setup_intent: session.setup_intent } satisfies Partial<Stripe.Checkout.Session>) : {}),
  };
}

/** The events Stripe sends when a setup-mode checkout saved a card, in the order it usually sends them, serialised. */
export function setupCheckoutEvents(session: FakeCheckoutSession, setupIntent: Stripe.SetupIntent): string[] {
  const created = Math.floor(Date.now() / 1000);
  return [setupIntentSucceededEvent(setupIntent), stripeEvent('checkout.session.completed', checkoutObjectOf(session, created), { created })].map(serializeEvent);
}

/** One event about the session, serialised. */
function checkoutSessionEvent(type: 'checkout.session.async_payment_succeeded', session: FakeCheckoutSession): string {
  const created = Math.floor(Date.now() / 1000);
  return serializeEvent(stripeEvent(type, checkoutObjectOf(session, created), { created }));
}

/** The events Stripe sends for a completed checkout, in the order it usually sends them, serialised. */
function checkoutEvents(store: FakeStripeStore, session: FakeCheckoutSession): string[] {
  const customer = session.customer as string;
  const created = Math.floor(Date.now() / 1000);
  const price = store.prices.get(session.priceIds[0] ?? '');
  const completedEvent = stripeEvent('checkout.session.completed', checkoutObjectOf(session, created), { created });
  if (session.mode !== 'subscription') return [serializeEvent(completedEvent)];
  const subscription = session.subscription as string;
  const common = { customer, subscription, created, lookupKey: price?.lookup_key ?? null, ...(price === undefined ? {} : { priceId: price.id }) };
  return [
    buildStripeEvent('customer.subscription.created', { ...common, status: 'active' }),
    buildStripeEvent('invoice.paid', { ...common, invoice: fakeId('in') }),
    completedEvent,
  ].map(serializeEvent);
}
