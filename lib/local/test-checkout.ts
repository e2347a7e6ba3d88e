import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { html, layout, PAGE_CSP, securityHeaders, type Html } from '../../lambda/portal/html';
import { headerValue } from '../../lambda/shared/headers';
import { PORTAL_PATHS, stageBaseUrl } from '../../lambda/shared/portal-paths';
import { buildStripeEvent, checkoutSessionObject, serializeEvent, signPayload, stripeEvent } from '../fixtures/stripe-events';
import { completeCheckoutSession, createCheckoutSession } from './stripe-api/checkout-sessions';
import { fakeId, type FakeCheckoutSession, type FakeStripeStore } from './stripe-api/store';

/**
 * The local run's stand-in for Stripe Checkout, plainly labelled as such: a page on the local stack
 * that shows what a checkout session buys and, on "Pay", completes it in the fake Stripe API and sends
 * the local webhook the same signed events a real checkout sends (customer.subscription.created,
 * invoice.paid, checkout.session.completed), then returns to the session's success URL. It also shows
 * the fake's billing portal sessions. Never deployed: only the local document routes here.
 */

/** `…/test-checkout/plink_<price lookup key>`: the local stand-in for a Stripe Payment Link. */
export const PAYMENT_LINK_PREFIX = 'plink_';

export interface TestCheckoutDeps {
  /** undefined: this run uses a real Stripe API key, so real Checkout. */
  readonly store: FakeStripeStore | undefined;
  /** Posts a signed event body to the stage's webhook; resolves with its status. */
  readonly deliver: (payload: string, signature: string) => Promise<number>;
  readonly webhookSecret: string;
}

export function makeTestCheckoutHandler(deps: TestCheckoutDeps): (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult> {
  return async (event) => {
    const base = `/${event.requestContext.stage}`;
    const id = event.pathParameters?.session ?? '';
    const page = (status: number, title: string, body: Html): APIGatewayProxyResult => ({
      statusCode: status,
      headers: { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', ...securityHeaders(PAGE_CSP) },
      body: layout({ title, base, body, banner: html`<p class="test-mode" role="note">LOCAL TEST CHECKOUT: this page is tollgate's local stand-in for Stripe. No card is needed and nothing is charged.</p>` }),
    });
    if (deps.store === undefined) return page(404, 'No test checkout', html`<p>This run uses a real Stripe API key: checkouts happen on Stripe.</p>`);
    const store = deps.store;
    const origin = stageBaseUrl(event.requestContext.domainName ?? '', event.requestContext.stage).slice(0, -base.length);
    if (id === 'paid') return page(200, 'Payment received', html`<p>Payment received (test). Retry your API request: the key the payment link was for now has access.</p>`);
    if (id.startsWith(PAYMENT_LINK_PREFIX) && event.httpMethod === 'GET') {
      // A Payment Link stand-in: each visit opens a session with no customer (Checkout creates one) and
      // the client_reference_id from the link's query, as buy.stripe.com links do.
      const price = [...store.prices.values()].find((p) => p.lookup_key === id.slice(PAYMENT_LINK_PREFIX.length));
      const reference = event.queryStringParameters?.client_reference_id;
      if (price === undefined) return page(404, 'Unknown payment link', html`<p>No test payment link for this plan.</p>`);
      const session = createCheckoutSession(store, {
        mode: price.type === 'recurring' ? 'subscription' : 'payment',
        line_items: [{ price: price.id, quantity: 1 }],
        success_url: `${origin}${base}${PORTAL_PATHS.testCheckout.replace('{session}', 'paid')}`,
        ...(reference !== undefined && /^[A-Za-z0-9_-]{1,200}$/.test(reference) ? { client_reference_id: reference } : {}),
      });
      if (typeof session === 'string') return page(400, 'Payment link failed', html`<p role="alert">${session}</p>`);
      return { statusCode: 303, headers: { Location: session.url ?? base, 'Cache-Control': 'no-store' }, body: '' };
    }
    if (id.startsWith('bps_')) {
      const portal = store.billingPortalSessions.get(id);
      if (portal === undefined) return page(404, 'Unknown billing session', html`<p>No such test billing portal session.</p>`);
      return page(200, 'Test billing portal', html`<p>Stripe's Billing Portal would let customer <code>${portal.customer}</code> update a card, see invoices, change plan or cancel.</p><p><a href="${portal.return_url ?? base}">Return to your account</a></p>`);
    }
    const session = store.checkoutSessions.get(id);
    if (session === undefined) return page(404, 'Unknown checkout', html`<p>No such test checkout session.</p>`);
    if (event.httpMethod === 'GET') return checkoutPage(session, base, page);

    if (headerValue(event, 'origin') !== origin) return page(403, 'Refused', html`<p role="alert">This form must be sent from the test checkout page. Nothing was paid.</p>`);
    const wasOpen = session.status === 'open';
    const completed = completeCheckoutSession(store, id)!;
    if (wasOpen) {
      for (const payload of checkoutEvents(store, completed)) {
        const status = await deps.deliver(payload, signPayload(payload, deps.webhookSecret));
        if (status < 200 || status > 299) return page(502, 'Webhook failed', html`<p role="alert">The local webhook answered ${status}. See the terminal of npm start.</p>`);
      }
    }
    return { statusCode: 303, headers: { Location: (completed.success_url ?? base).replace('{CHECKOUT_SESSION_ID}', id), 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' }, body: '' };
  };
}

function checkoutPage(session: FakeCheckoutSession, base: string, page: (status: number, title: string, body: Html) => APIGatewayProxyResult): APIGatewayProxyResult {
  const prices = session.priceIds.map((p) => `${p}`);
  const amount = ((session.amount_total ?? 0) / 100).toFixed(2);
  if (session.status !== 'open') return page(200, 'Already paid', html`<p>This test checkout is complete.</p><p><a href="${(session.success_url ?? base).replace('{CHECKOUT_SESSION_ID}', session.id)}">Continue</a></p>`);
  return page(
    200,
    'Test checkout',
    html`<p>${session.mode === 'subscription' ? 'Subscription' : 'One-time purchase'}: ${prices.length} item(s), $${amount} (${session.mode === 'subscription' ? 'per month, ' : ''}test mode).</p>
${session.client_reference_id === null ? '' : html`<p>For customer <code>${session.client_reference_id}</code>.</p>`}
<form method="post" action="${base}/tollgate/portal/test-checkout/${session.id}"><p><button type="submit">Pay (test)</button></p></form>
<p><a href="${session.cancel_url ?? base}">Cancel</a></p>`,
  );
}

/** The events Stripe sends for a completed checkout, in the order it usually sends them, serialised. */
function checkoutEvents(store: FakeStripeStore, session: FakeCheckoutSession): string[] {
  const customer = session.customer as string;
  const created = Math.floor(Date.now() / 1000);
  const price = store.prices.get(session.priceIds[0] ?? '');
  const checkoutObject = {
    ...checkoutSessionObject({ customer, created, checkoutMode: session.mode === 'payment' ? 'payment' : 'subscription', ...(session.subscription === null ? {} : { subscription: session.subscription as string }) }),
    id: session.id,
    client_reference_id: session.client_reference_id,
    metadata: session.metadata,
    success_url: session.success_url,
    cancel_url: session.cancel_url,
    customer_creation: session.customer_creation,
    amount_total: session.amount_total,
  };
  const completedEvent = stripeEvent('checkout.session.completed', checkoutObject, { created });
  if (session.mode !== 'subscription') return [serializeEvent(completedEvent)];
  const subscription = session.subscription as string;
  const common = { customer, subscription, created, lookupKey: price?.lookup_key ?? null, ...(price === undefined ? {} : { priceId: price.id }) };
  return [
    buildStripeEvent('customer.subscription.created', { ...common, status: 'active' }),
    buildStripeEvent('invoice.paid', { ...common, invoice: fakeId('in') }),
    completedEvent,
  ].map(serializeEvent);
}
