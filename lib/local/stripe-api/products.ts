import type Stripe from 'stripe';
import { ok, stripeError, type Resource } from './server';
import { epochNow, fakeId, type FakeProduct, type FakeStripeStore } from './store';

/** `POST /v1/products` (an `id` may be chosen, once) and `GET /v1/products/:id`. */
export function productsResource(store: FakeStripeStore): Resource {
  return {
    routes: [
      {
        method: 'POST',
        pattern: /\/v1\/products/,
        handle: ({ body }) => {
          const params = body as unknown as Stripe.ProductCreateParams;
          if (typeof params.name !== 'string' || params.name === '') return stripeError(400, 'invalid_request_error', 'Missing required param: name.', { param: 'name' });
          if (params.id !== undefined && store.products.has(params.id)) {
            return stripeError(400, 'invalid_request_error', 'Product already exists.', { code: 'resource_already_exists', param: 'id' });
          }
          const now = epochNow();
          const product: FakeProduct = {
            id: params.id ?? fakeId('prod'),
            object: 'product',
            active: true,
            created: now,
            updated: now,
            name: params.name,
            metadata: (params.metadata ?? {}) as Record<string, string>,
            livemode: false,
          };
          store.products.set(product.id, product);
          return ok(product);
        },
      },
      {
        method: 'GET',
        pattern: /\/v1\/products\/([^/]+)/,
        handle: ({ params }) => {
          const product = store.products.get(params[0]!);
          return product === undefined ? stripeError(404, 'invalid_request_error', `No such product: '${params[0]}'`, { code: 'resource_missing', param: 'id' }) : ok(product);
        },
      },
    ],
  };
}
