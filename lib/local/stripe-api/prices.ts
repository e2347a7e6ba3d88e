import type Stripe from 'stripe';
import { ok, type Resource } from './server';
import type { FakePrice, FakeStripeStore } from './store';

/** `GET /v1/prices` with `lookup_keys[]` and `active`, as the portal finds a plan's price. */
export function pricesResource(store: FakeStripeStore): Resource {
  return {
    routes: [
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
