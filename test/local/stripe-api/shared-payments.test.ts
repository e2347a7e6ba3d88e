import Stripe from 'stripe';
import { STRIPE_PREVIEW_API_VERSION } from '../../../lambda/purchase/handler';
import { fakeSharedPayments, type FakeSharedPayments } from '../../../lib/local/stripe-api/shared-payments';
import { startFakeStripeApi, type FakeStripeApi } from '../../../lib/local/stripe-api/server';

/**
 * The local fake's Shared Payment Token routes against Stripe's published shapes. The preview routes are
 * not in the stripe SDK's types, so the published shapes are written down here from Stripe's API
 * reference (the object's attributes, the test helper's parameters, the retrieve example) and the
 * agentic-commerce testing guide (the PaymentIntent request); the PaymentIntent's other fields are the
 * SDK's own `Stripe.PaymentIntent` (checked by the compiler in the fake's types).
 */

/** docs.stripe.com/api/shared-payment/granted-token/object: every attribute of the object. */
const GRANTED_TOKEN_ATTRIBUTES = ['id', 'object', 'agent_details', 'created', 'deactivated_at', 'deactivated_reason', 'livemode', 'payment_method_details', 'shared_metadata', 'usage_details', 'usage_limits'];
/** The same page: the enum of `deactivated_reason`. */
const DEACTIVATED_REASONS = [null, 'consumed', 'expired', 'resolved', 'revoked'];
/** docs.stripe.com/api/shared-payment/granted-token/retrieve: the example response (its nested shapes). */
const PUBLISHED_EXAMPLE = {
  id: 'spt_1RgaZcFPC5QUO6ZCDVZuVA8q',
  object: 'shared_payment.granted_token',
  agent_details: { network_business_profile: 'profile_test_61U92KWAstyE3VYhXA6U91t01FSQ3ByrZzKJOCR0y5ey' },
  created: 1751500820,
  deactivated_at: null,
  deactivated_reason: null,
  livemode: false,
  payment_method_details: { type: 'card', card: { brand: 'visa', country: 'US', exp_month: 9, exp_year: 2029, funding: 'credit', last4: '4242' } },
  shared_metadata: {},
  usage_details: { amount_captured: { value: 0, currency: 'usd' } },
  usage_limits: { currency: 'usd', expires_at: 1751587220, max_amount: 1000 },
};

/** The type of every leaf, by path: a shape to compare, not values. */
function shapeOf(value: unknown, path = '$'): Record<string, string> {
  if (value === null) return { [path]: 'null' };
  if (typeof value !== 'object') return { [path]: typeof value };
  return Object.assign({}, ...Object.entries(value as Record<string, unknown>).map(([k, v]) => shapeOf(v, `${path}.${k}`))) as Record<string, string>;
}

describe("fake Stripe's shared payment tokens against Stripe's published shapes", () => {
  let api: FakeStripeApi;
  let fake: FakeSharedPayments;
  let stripe: Stripe;
  const now = 1_800_000_000;

  beforeAll(async () => {
    fake = fakeSharedPayments(() => now);
    api = await startFakeStripeApi({ resources: [fake] });
    stripe = new Stripe('sk_test_spt', { host: api.host, port: api.port, protocol: 'http', maxNetworkRetries: 0 });
  });
  afterAll(() => api.close());

  const raw = <T>(method: 'GET' | 'POST', path: string, params: Record<string, unknown> = {}, idempotencyKey?: string): Promise<T> =>
    stripe.rawRequest(method, path, params, { apiVersion: STRIPE_PREVIEW_API_VERSION, ...(idempotencyKey === undefined ? {} : { idempotencyKey }) }) as Promise<T>;
  /** The guide's test helper request (docs.stripe.com/agentic-commerce/concepts/shared-payment-tokens), seller details included. */
  const mint = (amount = 10_000, paymentMethod = 'pm_card_visa'): Promise<Record<string, unknown>> =>
    raw('POST', '/v1/test_helpers/shared_payment/granted_tokens', {
      payment_method: paymentMethod,
      usage_limits: { currency: 'usd', max_amount: amount, expires_at: now + 3600 },
      seller_details: { network_id: 'internal', external_id: 'cart_1' },
    });

  it('answers the test helper with an object of exactly the published attributes, shaped as the published example', async () => {
    const token = await mint();
    expect(Object.keys(token).sort()).toEqual([...GRANTED_TOKEN_ATTRIBUTES].sort());
    const published = shapeOf(PUBLISHED_EXAMPLE);
    const answered = shapeOf(token);
    // agent_details is nullable (a test token names no agent); every other leaf has the published type.
    for (const [path, type] of Object.entries(answered)) {
      if (path === '$.agent_details') expect(type).toBe('null');
      else expect({ path, type }).toEqual({ path, type: published[path] });
    }
    expect(token).toMatchObject({ object: 'shared_payment.granted_token', livemode: false, usage_limits: { currency: 'usd', max_amount: 10_000, expires_at: now + 3600 } });
    expect(String(token.id)).toMatch(/^spt_/);
    expect(DEACTIVATED_REASONS).toContain(token.deactivated_reason);
    // Retrieve answers the same object.
    expect(await raw('GET', `/v1/shared_payment/granted_tokens/${String(token.id)}`)).toEqual(token);
  });

  it('refuses a parameter the test helper does not publish, as Stripe does', async () => {
    await expect(raw('POST', '/v1/test_helpers/shared_payment/granted_tokens', { payment_method: 'pm_card_visa', usage_limits: { currency: 'usd', max_amount: 1, expires_at: now + 60 }, amount: 5 })).rejects.toMatchObject({
      type: 'StripeInvalidRequestError',
      code: 'parameter_unknown',
      param: 'amount',
    });
  });

  it('charges the token as a PaymentIntent with the published request (top-level and payment_method_data forms)', async () => {
    const topLevel = await mint(10_000);
    const intent = await raw<Record<string, unknown>>('POST', '/v1/payment_intents', { amount: 10_000, currency: 'usd', confirm: true, shared_payment_granted_token: topLevel.id });
    const nested = await mint(500);
    const second = await raw<Record<string, unknown>>('POST', '/v1/payment_intents', { amount: 500, currency: 'usd', confirm: true, payment_method_data: { shared_payment_granted_token: nested.id } });
    for (const [answer, token, amount] of [[intent, topLevel, 10_000], [second, nested, 500]] as const) {
      expect(answer).toMatchObject({ object: 'payment_intent', status: 'succeeded', amount, amount_received: amount, currency: 'usd', livemode: false, shared_payment_granted_token: token.id });
      expect(String(answer.id)).toMatch(/^pi_/);
    }
    // Spent to its limit: consumed, as the enum says.
    expect(await raw('GET', `/v1/shared_payment/granted_tokens/${String(topLevel.id)}`)).toMatchObject({ deactivated_reason: 'consumed', usage_details: { amount_captured: { value: 10_000, currency: 'usd' } } });
  });

  it('answers the charge tollgate sends (lambda/purchase/handler.ts) and refuses parameters outside the SDK and the preview', async () => {
    const token = await mint(1_000);
    const charged = await raw<Record<string, unknown>>(
      'POST',
      '/v1/payment_intents',
      { amount: 1_000, currency: 'usd', customer: 'cus_1', confirm: true, automatic_payment_methods: { enabled: true, allow_redirects: 'never' }, shared_payment_granted_token: token.id, metadata: { tollgate_offer: 'starter' } },
      'mpp_challenge_1',
    );
    expect(charged).toMatchObject({ status: 'succeeded', customer: 'cus_1', metadata: { tollgate_offer: 'starter' } });
    await expect(raw('POST', '/v1/payment_intents', { amount: 1, currency: 'usd', confirm: true, shared_payment_token: token.id })).rejects.toMatchObject({ code: 'parameter_unknown', param: 'shared_payment_token' });
  });
});
