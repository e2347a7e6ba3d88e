import type Stripe from 'stripe';
import { setupIntentObject } from '../../stripe-events/setup-intent';
import { ok, stripeError, type FakeResponse, type Resource } from './server';
import { epochNow, type FakeStripeStore } from './store';

/** `GET /v1/setup_intents/:id`: the SetupIntents setup-mode Checkout sessions created when they completed. */

export function setupIntentsResource(store: FakeStripeStore): Resource {
  return {
    routes: [
      {
        method: 'GET',
        pattern: /\/v1\/setup_intents\/([^/]+)/,
        handle: ({ params }) => {
          const intent = store.setupIntents.get(params[0]!);
          return intent === undefined ? noSuchSetupIntent(params[0]!) : ok(intent);
        },
      },
    ],
  };
}

const noSuchSetupIntent = (id: string): FakeResponse => stripeError(404, 'invalid_request_error', `No such setupintent: '${id}'`, { code: 'resource_missing', param: 'intent' });

/** A succeeded SetupIntent that saved `paymentMethod` for off-session use. */
export function addSucceededSetupIntent(store: FakeStripeStore, fields: { customer: string; paymentMethod: string; metadata: Readonly<Record<string, string>> }): Stripe.SetupIntent {
  const intent = setupIntentObject({ customer: fields.customer, paymentMethod: fields.paymentMethod, metadata: { ...fields.metadata }, created: epochNow() });
  store.setupIntents.set(intent.id, intent);
  return intent;
}
