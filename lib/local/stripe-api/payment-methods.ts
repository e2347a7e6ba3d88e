import type Stripe from 'stripe';
import { cardPaymentMethodObject } from '../../stripe-events/payment-method';
import { ok, stripeError, type FakeResponse, type Resource } from './server';
import { addCustomer, epochNow, type FakeStripeStore } from './store';

/**
 * Saved cards: `GET /v1/payment_methods/:id`, `GET /v1/payment_methods?customer=…`, and
 * `POST /v1/payment_methods/:id/detach`. A card is saved by a setup-mode Checkout (the test checkout's
 * three buttons) or, in tests, by `savePaymentMethod`. What charging it does later follows the Stripe
 * test card it stands for (docs.stripe.com/testing), told apart by its last four digits.
 */

export type SavedCard = 'pays' | 'declines' | 'authentication';

/** Stripe's test cards, by what an off-session charge of them does. */
export const TEST_CARDS: Readonly<Record<SavedCard, { readonly number: string; readonly last4: string; readonly brand: string; readonly says: string }>> = {
  pays: { number: '4242 4242 4242 4242', last4: '4242', brand: 'visa', says: 'succeeds' },
  declines: { number: '4000 0000 0000 0341', last4: '0341', brand: 'visa', says: 'attaches to a customer, charges fail (card_declined)' },
  authentication: { number: '4000 0027 6000 3184', last4: '3184', brand: 'visa', says: 'requires authentication on every charge (authentication_required off-session)' },
};

/** What charging this saved card does. */
export function savedCardOf(method: Stripe.PaymentMethod): SavedCard {
  const last4 = method.card?.last4;
  return (Object.keys(TEST_CARDS) as SavedCard[]).find((card) => TEST_CARDS[card].last4 === last4) ?? 'pays';
}

/** A card saved for the customer (created in the fake if it does not know them yet); its `pm_…` id. */
export function savePaymentMethod(store: FakeStripeStore, customerId: string, card: SavedCard): string {
  if (!store.customers.has(customerId)) addCustomer(store, { id: customerId });
  const { last4, brand } = TEST_CARDS[card];
  const method = cardPaymentMethodObject({ customer: customerId, brand, last4, expMonth: 12, expYear: new Date().getUTCFullYear() + 3, created: epochNow() });
  store.paymentMethods.set(method.id, method);
  return method.id;
}

export const noSuchPaymentMethod = (id: string): FakeResponse =>
  stripeError(404, 'invalid_request_error', `No such PaymentMethod: '${id}'`, { code: 'resource_missing', param: 'payment_method' });

export function paymentMethodsResource(store: FakeStripeStore): Resource {
  return {
    routes: [
      {
        method: 'GET',
        pattern: /\/v1\/payment_methods/,
        handle: ({ body }) => {
          const params = body as Stripe.PaymentMethodListParams;
          const data = [...store.paymentMethods.values()]
            .filter((m) => (params.customer === undefined || m.customer === params.customer) && (params.type === undefined || m.type === params.type))
            .reverse();
          return ok({ object: 'list', data, has_more: false, url: '/v1/payment_methods' });
        },
      },
      {
        method: 'GET',
        pattern: /\/v1\/payment_methods\/([^/]+)/,
        handle: ({ params }) => {
          const method = store.paymentMethods.get(params[0]!);
          return method === undefined ? noSuchPaymentMethod(params[0]!) : ok(method);
        },
      },
      {
        method: 'POST',
        pattern: /\/v1\/payment_methods\/([^/]+)\/detach/,
        handle: ({ params }) => {
          const method = store.paymentMethods.get(params[0]!);
          if (method === undefined) return noSuchPaymentMethod(params[0]!);
          if (method.customer === null) return stripeError(400, 'invalid_request_error', 'The payment method you provided is not attached to a customer so detachment is impossible.', { param: 'payment_method' });
          const detached: Stripe.PaymentMethod = { ...method, customer: null };
          store.paymentMethods.set(detached.id, detached);
          return ok(detached);
        },
      },
    ],
  };
}
