import type Stripe from 'stripe';
import { ok, stripeError, type Resource } from './server';
import type { FakePrice, FakeStripeStore } from './store';

/**
 * `GET /v1/prices` with `lookup_keys[]` and `active`, as the portal finds a plan's price and shows what it
 * costs, and `GET /v1/prices/:id` for a pack named by its price id. The prices carry their amounts.
 */
export function pricesResource(store: FakeStripeStore): Resource {
  return {
    routes: [
      {
        method: 'GET',
        pattern: /\/v1\/prices\/([^/]+)/,
        handle: ({ params }) => {
          const price = store.prices.get(params[0]!);
          return price === undefined ? stripeError(404, 'invalid_request_error', `No such price: '${params[0]}'`, { code: 'resource_missing', param: 'price' }) : ok(price);
        },
      },
      {
        method: 'GET',
        pattern: /\/v1\/prices/,
        handle: ({ body }) => {
          const params = body as Stripe.PriceListParams;
          const keys = params.lookup_keys ?? [];
          const data: FakePrice[] = [...store.prices.values()].filter(
            (p) => (keys.length === 0 || (p.lookup_key !== null && keys.includes(p.lookup_key))) && (params.active === undefined || String(params.active) === String(p.active)),
          );
          return ok({ object: 'list', data, has_more: false, url: '/v1/prices' });
        },
      },
    ],
  };
}
