import type Stripe from 'stripe';
import { ok, stripeError, type FakeResponse, type Resource } from './server';
import { epochNow, fakeId, type FakePrice, type FakeStripeStore } from './store';

/**
 * `GET /v1/prices` with `lookup_keys[]` and `active`, as the portal finds a plan's price and shows what it
 * costs, and `GET /v1/prices/:id` for a pack named by its price id (the prices carry their amounts);
 * `POST /v1/prices`, as `tollgate stripe setup` creates one: a lookup key in use by an active price is
 * refused (Stripe moves it only with `transfer_lookup_key`), a product must exist.
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
      { method: 'POST', pattern: /\/v1\/prices/, handle: ({ body }) => createPrice(store, body) },
    ],
  };
}

/** The SDK's create params as the form carries them (every scalar a string), checked as Stripe checks them. */
function readPriceParams(body: Record<string, unknown>): Stripe.PriceCreateParams | string {
  const { currency, unit_amount, lookup_key, nickname, product, recurring } = body;
  if (typeof currency !== 'string' || !/^[a-z]{3}$/.test(currency)) return 'Missing required param: currency.';
  if (typeof product !== 'string' || product === '') return 'Missing required param: product.';
  if (typeof unit_amount !== 'string' || !/^\d+$/.test(unit_amount)) return 'Missing required param: unit_amount.';
  if (lookup_key !== undefined && (typeof lookup_key !== 'string' || lookup_key.length > 200)) return 'Invalid lookup_key: a string of at most 200 characters.';
  let readRecurring: Stripe.PriceCreateParams.Recurring | undefined;
  if (recurring !== undefined) {
    const r = recurring as Record<string, unknown>;
    if (r.interval !== 'month' && r.interval !== 'year' && r.interval !== 'week' && r.interval !== 'day') return 'Invalid recurring[interval].';
    if (r.usage_type !== undefined && r.usage_type !== 'licensed' && r.usage_type !== 'metered') return 'Invalid recurring[usage_type].';
    if (r.usage_type === 'metered' && typeof r.meter !== 'string') return 'A metered price requires recurring[meter].';
    readRecurring = { interval: r.interval, ...(r.usage_type === undefined ? {} : { usage_type: r.usage_type }), ...(typeof r.meter === 'string' ? { meter: r.meter } : {}) };
  }
  return {
    currency,
    product,
    unit_amount: Number(unit_amount),
    ...(typeof lookup_key === 'string' ? { lookup_key } : {}),
    ...(typeof nickname === 'string' ? { nickname } : {}),
    ...(readRecurring === undefined ? {} : { recurring: readRecurring }),
  };
}

function createPrice(store: FakeStripeStore, body: Record<string, unknown>): FakeResponse {
  const params = readPriceParams(body);
  if (typeof params === 'string') return stripeError(400, 'invalid_request_error', params);
  if (!store.products.has(params.product!)) return stripeError(400, 'invalid_request_error', `No such product: '${params.product}'`, { code: 'resource_missing', param: 'product' });
  const taken = [...store.prices.values()].find((p) => p.active && params.lookup_key !== undefined && p.lookup_key === params.lookup_key);
  if (taken !== undefined) {
    return stripeError(400, 'invalid_request_error', `A price (\`${taken.id}\`) already uses that lookup key.`, { param: 'lookup_key' });
  }
  const { recurring } = params;
  if (recurring?.meter !== undefined && !store.meters.has(recurring.meter)) return stripeError(400, 'invalid_request_error', `No such meter: '${recurring.meter}'`, { param: 'recurring[meter]' });
  const price: FakePrice = {
    id: fakeId('price'),
    object: 'price',
    active: true,
    billing_scheme: 'per_unit',
    created: epochNow(),
    currency: params.currency,
    lookup_key: params.lookup_key ?? null,
    unit_amount: params.unit_amount ?? null,
    type: recurring === undefined ? 'one_time' : 'recurring',
    recurring:
      recurring === undefined
        ? null
        : { interval: recurring.interval, interval_count: 1, usage_type: recurring.usage_type ?? 'licensed', meter: recurring.meter ?? null },
    livemode: false,
    metadata: {},
    nickname: params.nickname ?? null,
    product: params.product!,
  };
  store.prices.set(price.id, price);
  return ok(price);
}
