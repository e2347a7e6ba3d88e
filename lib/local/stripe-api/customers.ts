import type Stripe from 'stripe';
import { ok, stripeError, type Resource } from './server';
import { addCustomer, type FakeCustomer, type FakeStripeStore } from './store';

/** `POST /v1/customers`, `GET /v1/customers/:id`. */
export function customersResource(store: FakeStripeStore): Resource {
  return {
    routes: [
      {
        method: 'POST',
        pattern: /\/v1\/customers/,
        handle: ({ body }) => {
          const params = body as Stripe.CustomerCreateParams;
          const created: FakeCustomer = addCustomer(store, { email: params.email ?? null, metadata: (params.metadata ?? {}) as Record<string, string> });
          return ok(created);
        },
      },
      {
        method: 'GET',
        pattern: /\/v1\/customers\/([^/]+)/,
        handle: ({ params }) => {
          const customer = store.customers.get(params[0]!);
          return customer === undefined ? stripeError(404, 'invalid_request_error', `No such customer: '${params[0]}'`, { code: 'resource_missing', param: 'id' }) : ok(customer);
        },
      },
    ],
  };
}
