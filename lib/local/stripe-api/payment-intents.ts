import type Stripe from 'stripe';
import { paymentIntentEvent } from '../../stripe-events/event';
import { paymentIntentObject, type CardDecline } from '../../stripe-events/payment-intent';
import { noSuchPaymentMethod, savedCardOf, type SavedCard } from './payment-methods';
import { ok, stripeError, type FakeResponse } from './server';
import { fakeId, type FakeStripeStore } from './store';

/**
 * `POST /v1/payment_intents` charging a saved card off-session (`customer`, `payment_method: pm_…`,
 * `off_session: true`, `confirm: true`), as Stripe answers it for its test cards: 4242… succeeds (200,
 * `succeeded`); 0341 is declined and 3184 needs authentication the absent customer cannot give (402
 * `card_error`, code `card_declined` / `authentication_required`, the PaymentIntent back to
 * `requires_payment_method` with `last_payment_error`). Each attempt is kept in `store.paymentIntents`
 * and causes the event Stripe sends (`payment_intent.succeeded` / `.payment_failed`). The route itself
 * is shared-payments.ts's (one path for both kinds of PaymentIntent), which also replays idempotent requests.
 */

/** The parameters the fake takes for a saved-card payment (the SDK's own names). */
export const SAVED_CARD_PAYMENT_PARAMS = [
  'amount',
  'currency',
  'customer',
  'payment_method',
  'off_session',
  'confirm',
  'metadata',
  'description',
  'expand',
  'error_on_requires_action',
  'receipt_email',
  'statement_descriptor_suffix',
] as const satisfies ReadonlyArray<keyof Stripe.PaymentIntentCreateParams>;

/** Stripe's decline for each test card that does not pay (docs.stripe.com/declines/codes). */
const DECLINES: Readonly<Record<Exclude<SavedCard, 'pays'>, Pick<CardDecline, 'code' | 'decline_code' | 'message' | 'doc_url'>>> = {
  declines: { code: 'card_declined', decline_code: 'generic_decline', message: 'Your card was declined.', doc_url: 'https://stripe.com/docs/error-codes/card-declined' },
  authentication: {
    code: 'authentication_required',
    decline_code: 'authentication_required',
    message: 'Your card was declined. This transaction requires authentication.',
    doc_url: 'https://stripe.com/docs/error-codes/authentication-required',
  },
};

/** A saved-card payment (rather than a shared payment token's): it names a payment method or asks for an off-session charge. */
export function isSavedCardPayment(body: Record<string, unknown>): boolean {
  const data = (body.payment_method_data ?? {}) as Record<string, unknown>;
  if (body.shared_payment_granted_token !== undefined || data.shared_payment_granted_token !== undefined) return false;
  return body.payment_method !== undefined || body.off_session !== undefined;
}

const invalid = (message: string, param: string, code?: string): FakeResponse => stripeError(400, 'invalid_request_error', message, { param, ...(code === undefined ? {} : { code }) });
const int = (value: unknown): number => (typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN);

/**
 * Charges the saved card. `remember: false` for a request refused before any charge was tried: Stripe
 * keeps no idempotent result for those (the same key may be used again with corrected parameters).
 */
export function chargeSavedCard(store: FakeStripeStore, body: Record<string, unknown>, now: () => number, idempotencyKey?: string): { readonly response: FakeResponse; readonly remember: boolean } {
  const refused = (response: FakeResponse) => ({ response, remember: false });
  const unknown = Object.keys(body).find((k) => !(SAVED_CARD_PAYMENT_PARAMS as readonly string[]).includes(k));
  if (unknown !== undefined) return refused(invalid(`Received unknown parameter: ${unknown}`, unknown, 'parameter_unknown'));
  const amount = int(body.amount);
  if (body.amount === undefined) return refused(invalid('Missing required param: amount.', 'amount', 'parameter_missing'));
  if (!Number.isSafeInteger(amount)) return refused(invalid('Invalid integer: amount.', 'amount', 'parameter_invalid_integer'));
  if (typeof body.currency !== 'string' || body.currency === '') return refused(invalid('Missing required param: currency.', 'currency', 'parameter_missing'));
  const currency = body.currency.toLowerCase();
  if (amount < 50) return refused(invalid(`Amount must be at least $0.50 ${currency}`, 'amount', 'amount_too_small'));
  if (typeof body.payment_method !== 'string' || body.payment_method === '') return refused(invalid('Missing required param: payment_method.', 'payment_method', 'parameter_missing'));
  const method = store.paymentMethods.get(body.payment_method);
  if (method === undefined) return refused(noSuchPaymentMethod(body.payment_method));
  if (typeof body.customer !== 'string' || body.customer === '') {
    return refused(invalid('The provided PaymentMethod is attached to a Customer: pass that customer to charge it.', 'customer', 'parameter_missing'));
  }
  if (method.customer !== body.customer) {
    return refused(invalid(`The provided PaymentMethod is not attached to the Customer '${body.customer}'.`, 'payment_method', 'payment_method_invalid_parameter'));
  }
  if (body.confirm !== 'true' || body.off_session !== 'true') {
    return refused(invalid('The fake charges a saved card off-session only: pass confirm=true and off_session=true.', body.confirm !== 'true' ? 'confirm' : 'off_session'));
  }
  const card = savedCardOf(method);
  const charge = fakeId('ch');
  const decline: CardDecline | undefined = card === 'pays' ? undefined : { type: 'card_error', charge, payment_method: method, ...DECLINES[card] };
  const intent = paymentIntentObject({
    amount,
    currency,
    customer: body.customer,
    paymentMethod: method.id,
    metadata: (body.metadata ?? {}) as Record<string, string>,
    description: typeof body.description === 'string' ? body.description : null,
    created: now(),
    charge,
    ...(decline === undefined ? {} : { decline }),
  });
  store.paymentIntents.set(intent.id, intent);
  const request = { id: fakeId('req'), ...(idempotencyKey === undefined ? {} : { idempotencyKey }) };
  if (decline === undefined) return { response: { ...ok(intent), events: [paymentIntentEvent('payment_intent.succeeded', intent, request)] }, remember: true };
  // Stripe's 402: the decline, with the PaymentIntent as it now is (the SDK's StripeCardError carries it as `payment_intent`).
  const error = { ...decline, payment_intent: intent, request_log_url: `https://dashboard.stripe.com/test/logs/${request.id}` };
  return { response: { status: 402, body: { error }, events: [paymentIntentEvent('payment_intent.payment_failed', intent, request)] }, remember: true };
}

/** The customer's saved-card PaymentIntents, oldest first (succeeded and declined: filter on `status`). */
export function paymentIntentsOf(store: FakeStripeStore, customerId: string): Stripe.PaymentIntent[] {
  return [...store.paymentIntents.values()].filter((intent) => intent.customer === customerId);
}
