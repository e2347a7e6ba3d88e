import type Stripe from 'stripe';
import { savePaymentMethod, type SavedCard } from './payment-methods';
import { ok, stripeError, type Resource } from './server';
import { addSucceededSetupIntent } from './setup-intents';
import { addCustomer, epochNow, fakeId, type FakeCheckoutSession, type FakeStripeStore } from './store';

/**
 * `POST /v1/checkout/sessions` and `GET /v1/checkout/sessions/:id` (`expand[]=setup_intent` or `setup_intent.payment_method` too). A
 * session's `url` is the local run's test checkout page; `completeCheckoutSession` is what its "Pay"
 * does: the session complete and paid, the customer created if the session named none (as Stripe
 * Checkout and Payment Links do). A setup-mode session charges nothing: `completeSetupSession` is what
 * its "Save a card" buttons do (a saved card, a succeeded SetupIntent, the session complete).
 */
export function checkoutSessionsResource(store: FakeStripeStore): Resource {
  return {
    routes: [
      {
        method: 'POST',
        pattern: /\/v1\/checkout\/sessions/,
        handle: ({ body }) => {
          const created = createCheckoutSession(store, body);
          if (typeof created === 'string') return stripeError(400, 'invalid_request_error', created);
          const session = created;
          return ok(visible(session));
        },
      },
      {
        method: 'GET',
        pattern: /\/v1\/checkout\/sessions\/([^/]+)/,
        handle: ({ params, body }) => {
          const session = store.checkoutSessions.get(params[0]!);
          if (session === undefined) return stripeError(404, 'invalid_request_error', `No such checkout.session: '${params[0]}'`, { code: 'resource_missing', param: 'session' });
          const expand = Array.isArray(body.expand) ? body.expand : [];
          const withMethod = expand.includes('setup_intent.payment_method');
          const intent = (withMethod || expand.includes('setup_intent')) && typeof session.setup_intent === 'string' ? store.setupIntents.get(session.setup_intent) : undefined;
          // `setup_intent.payment_method` expands both levels, as Stripe does.
          const method = withMethod && typeof intent?.payment_method === 'string' ? store.paymentMethods.get(intent.payment_method) : undefined;
          const setupIntent = intent === undefined ? undefined : { ...intent, ...(method === undefined ? {} : { payment_method: method }) };
          return ok({ ...visible(session), ...(setupIntent === undefined ? {} : { setup_intent: setupIntent }) });
        },
      },
    ],
  };
}

/** Creates an open session as Stripe does (a Payment Link creates one per visit too); a string is Stripe's error message. */
export function createCheckoutSession(store: FakeStripeStore, params: Stripe.Checkout.SessionCreateParams): FakeCheckoutSession | string {
  const mode = modeFields(store, params);
  if (typeof mode === 'string') return mode;
  if (typeof params.success_url !== 'string') return 'Missing required param: success_url.';
  if (params.customer !== undefined && !store.customers.has(params.customer)) {
    // Keys name Stripe customers the operator created; the fake knows them once they are used.
    addCustomer(store, { id: params.customer });
  }
  const id = fakeId('cs_test');
  const created = epochNow();
  const session: FakeCheckoutSession = {
    id,
    object: 'checkout.session',
    status: 'open',
    customer: params.customer ?? null,
    client_reference_id: params.client_reference_id ?? null,
    subscription: null,
    success_url: params.success_url,
    cancel_url: params.cancel_url ?? null,
    url: store.pages.checkout(id),
    metadata: (params.metadata ?? {}) as Record<string, string>,
    created,
    expires_at: created + 24 * 60 * 60,
    livemode: false,
    payment_link: null,
    setup_intent: null,
    ...mode,
  };
  store.checkoutSessions.set(id, session);
  return session;
}

/**
 * What the mode decides: a subscription or payment buys prices (line items); setup mode buys nothing
 * and saves a card for later off-session payments (Stripe refuses line items there).
 */
function modeFields(
  store: FakeStripeStore,
  params: Stripe.Checkout.SessionCreateParams,
): Pick<FakeCheckoutSession, 'mode' | 'payment_status' | 'customer_creation' | 'amount_total' | 'currency' | 'priceIds' | 'setupIntentMetadata'> | string {
  if (params.mode === 'setup') {
    if (params.line_items !== undefined) return 'You cannot pass `line_items` in `setup` mode.';
    // Stripe's rule: a currency unless the payment method types are named (then none is needed).
    if (params.currency === undefined && params.allowed_payment_method_types === undefined) return 'Missing required param: currency.';
    return {
      mode: 'setup',
      payment_status: 'no_payment_required',
      customer_creation: params.customer === undefined ? 'if_required' : null,
      amount_total: null,
      currency: params.currency ?? null,
      priceIds: [],
      setupIntentMetadata: (params.setup_intent_data?.metadata ?? {}) as Record<string, string>,
    };
  }
  if (params.mode !== 'subscription' && params.mode !== 'payment') return 'mode must be subscription, payment or setup in the fake';
  const priceIds = (params.line_items ?? []).map((item) => item.price).filter((p): p is string => typeof p === 'string');
  const missing = priceIds.find((p) => !store.prices.has(p));
  if (priceIds.length === 0 || missing !== undefined) return `No such price: '${missing ?? ''}'`;
  return {
    mode: params.mode,
    payment_status: 'unpaid',
    customer_creation: params.customer === undefined ? 'always' : null,
    amount_total: priceIds.reduce((sum, p) => sum + (store.prices.get(p)?.unit_amount ?? 0), 0),
    currency: 'usd',
    priceIds,
  };
}

/** The session as Stripe's API shows it (without the fake's own bookkeeping). */
function visible(session: FakeCheckoutSession): Omit<FakeCheckoutSession, 'priceIds' | 'setupIntentMetadata'> {
  const { priceIds: _priceIds, setupIntentMetadata: _setupIntentMetadata, ...rest } = session;
  return rest;
}

/**
 * A setup session's "Save a card": the card saved for the session's customer (created now if it named
 * none), a succeeded off-session SetupIntent carrying `setup_intent_data.metadata`, the session complete
 * with it. undefined: no such open-or-complete setup session. Completing twice changes nothing (`saved: false`).
 */
export function completeSetupSession(
  store: FakeStripeStore,
  id: string,
  card: SavedCard,
): { readonly session: FakeCheckoutSession; readonly setupIntent: Stripe.SetupIntent; readonly saved: boolean } | undefined {
  const session = store.checkoutSessions.get(id);
  if (session === undefined || session.mode !== 'setup') return undefined;
  if (session.status === 'complete') {
    const setupIntent = store.setupIntents.get(session.setup_intent as string);
    return setupIntent === undefined ? undefined : { session, setupIntent, saved: false };
  }
  const customer = typeof session.customer === 'string' ? session.customer : addCustomer(store).id;
  const paymentMethod = savePaymentMethod(store, customer, card);
  const setupIntent = addSucceededSetupIntent(store, { customer, paymentMethod, metadata: session.setupIntentMetadata ?? {} });
  const completed: FakeCheckoutSession = { ...session, status: 'complete', customer, setup_intent: setupIntent.id };
  store.checkoutSessions.set(id, completed);
  return { session: completed, setupIntent, saved: true };
}

/**
 * The test checkout's "Pay": the session complete and paid, with its customer (created now when the
 * session named none) and, in subscription mode, a new subscription id. Paying twice changes nothing.
 * `settled: false` is a delayed method (bank debit): complete, but `unpaid` until `settleCheckoutSession`.
 */
export function completeCheckoutSession(store: FakeStripeStore, id: string, options: { readonly settled?: boolean } = {}): FakeCheckoutSession | undefined {
  const session = store.checkoutSessions.get(id);
  if (session === undefined || session.mode === 'setup') return undefined;
  if (session.status === 'complete') return session;
  const customer = typeof session.customer === 'string' ? session.customer : addCustomer(store).id;
  const completed: FakeCheckoutSession = {
    ...session,
    status: 'complete',
    payment_status: options.settled === false && session.mode === 'payment' ? 'unpaid' : 'paid',
    customer,
    subscription: session.mode === 'subscription' ? fakeId('sub') : null,
  };
  store.checkoutSessions.set(id, completed);
  return completed;
}

/** A delayed payment settles: the complete, unpaid session becomes paid (once: undefined otherwise). */
export function settleCheckoutSession(store: FakeStripeStore, id: string): FakeCheckoutSession | undefined {
  const session = store.checkoutSessions.get(id);
  if (session === undefined || session.status !== 'complete' || session.payment_status !== 'unpaid') return undefined;
  const settled: FakeCheckoutSession = { ...session, payment_status: 'paid' };
  store.checkoutSessions.set(id, settled);
  return settled;
}
