import Stripe from 'stripe';
import { decodeForm } from '../../../lib/local/stripe-api/form';
import { pricesResource } from '../../../lib/local/stripe-api/prices';
import { ok, startFakeStripeApi, stripeError, type FakeStripeApi, type Resource } from '../../../lib/local/stripe-api/server';
import { addPrice, createFakeStripeStore } from '../../../lib/local/stripe-api/store';

describe('decodeForm', () => {
  it('expands Stripe bracket notation into nested objects and arrays', () => {
    expect(decodeForm('mode=payment&metadata[tollgate_credits]=100&line_items[0][price]=price_1&line_items[0][quantity]=2&expand[0]=customer')).toEqual({
      mode: 'payment',
      metadata: { tollgate_credits: '100' },
      line_items: [{ price: 'price_1', quantity: '2' }],
      expand: ['customer'],
    });
  });
});

describe('fake Stripe API server', () => {
  let api: FakeStripeApi;
  let stripe: Stripe;
  const seen: Array<Record<string, unknown>> = [];
  const customers: Resource = {
    routes: [
      {
        method: 'POST',
        pattern: /\/v1\/customers/,
        handle: ({ body }) => {
          seen.push(body);
          return ok({ id: 'cus_fake1', object: 'customer', email: body.email, metadata: body.metadata ?? {} });
        },
      },
      { method: 'GET', pattern: /\/v1\/customers\/([^/]+)/, handle: ({ params }) => stripeError(404, 'invalid_request_error', `No such customer: '${params[0]}'`, { code: 'resource_missing' }) },
    ],
  };
  beforeAll(async () => {
    api = await startFakeStripeApi({ resources: [customers] });
    stripe = new Stripe('sk_test_fake', { host: api.host, port: api.port, protocol: 'http', maxNetworkRetries: 0 });
  });
  afterAll(() => api.close());

  it('serves what the SDK sends, decoded, and records each request with its idempotency key', async () => {
    const created = await stripe.customers.create({ email: 'a@example.com', metadata: { team: 'x' } }, { idempotencyKey: 'idem-1' });
    expect(created.id).toBe('cus_fake1');
    expect(seen[0]).toEqual({ email: 'a@example.com', metadata: { team: 'x' } });
    expect(api.requests.at(-1)).toMatchObject({ method: 'POST', path: '/v1/customers', idempotencyKey: 'idem-1' });
  });

  it("answers Stripe's error shape, which the SDK turns into its typed errors", async () => {
    await expect(stripe.customers.retrieve('cus_missing')).rejects.toMatchObject({ type: 'StripeInvalidRequestError', code: 'resource_missing', statusCode: 404 });
    await expect(stripe.invoices.retrieve('in_1')).rejects.toMatchObject({ statusCode: 404 });
  });

  it('can fail the next requests (outages, rate limits)', async () => {
    api.failNext(1, stripeError(429, 'rate_limit_error', 'Too many requests'));
    await expect(stripe.customers.create({})).rejects.toMatchObject({ statusCode: 429 });
    await expect(stripe.customers.create({})).resolves.toMatchObject({ id: 'cus_fake1' });
  });
});

describe('fake Stripe API: prices', () => {
  it('lists prices by lookup key and retrieves one by id, each with its amount, as the SDK types them', async () => {
    const store = createFakeStripeStore({ checkout: (id) => id, billingPortal: (id) => id });
    const monthly = addPrice(store, { lookupKey: 'pro', unitAmount: 2000, recurring: true, nickname: 'Pro' });
    const pack = addPrice(store, { lookupKey: 'credits_100', unitAmount: 1000, recurring: false });
    const api = await startFakeStripeApi({ resources: [pricesResource(store)] });
    try {
      const stripe = new Stripe('sk_test_fake', { host: api.host, port: api.port, protocol: 'http', maxNetworkRetries: 0 });
      const listed: Stripe.ApiList<Stripe.Price> = await stripe.prices.list({ lookup_keys: ['pro', 'nothing'], active: true });
      expect(listed.data).toEqual([monthly]);
      const price: Stripe.Price = await stripe.prices.retrieve(pack.id);
      expect(price).toMatchObject({ id: pack.id, object: 'price', unit_amount: 1000, currency: 'usd', type: 'one_time', recurring: null });
      expect(listed.data[0]).toMatchObject({ unit_amount: 2000, billing_scheme: 'per_unit', recurring: { interval: 'month', interval_count: 1, usage_type: 'licensed' } });
      await expect(stripe.prices.retrieve('price_missing')).rejects.toMatchObject({ statusCode: 404, code: 'resource_missing' });
    } finally {
      await api.close();
    }
  });
});
