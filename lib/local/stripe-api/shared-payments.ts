import type Stripe from 'stripe';
import { chargeSavedCard, isSavedCardPayment } from './payment-intents';
import { ok, stripeError, type FakeRequest, type FakeResponse, type Resource } from './server';
import { epochNow, fakeId, type FakeStripeStore } from './store';

/**
 * Shared Payment Tokens (a preview API, not in the stripe SDK's types) and the PaymentIntents that
 * charge them, as Stripe shapes them (docs.stripe.com/api/shared-payment/granted-token,
 * ?api-version=…preview):
 *
 *   POST /v1/test_helpers/shared_payment/granted_tokens      a test SPT for a payment method, with usage limits
 *   POST /v1/test_helpers/shared_payment/granted_tokens/:id/revoke
 *   GET  /v1/shared_payment/granted_tokens/:id
 *   POST /v1/payment_intents                                  `shared_payment_granted_token`, `confirm=true`
 *
 * Charging follows Stripe's rules that matter to a seller: an unknown, revoked or expired token, a
 * currency or amount beyond its limits, or a token already spent is refused (400); the test payment
 * method `pm_card_chargeDeclined` declines (402 card_error); an Idempotency-Key replays the first answer
 * (`Idempotent-Replayed: true`) and refuses other parameters under the same key. A parameter Stripe does
 * not publish for the route is refused, as Stripe refuses it ("Received unknown parameter"); the token is
 * read from `shared_payment_granted_token` or `payment_method_data[shared_payment_granted_token]` (both
 * documented). test/local/stripe-api/shared-payments.test.ts checks these shapes against Stripe's.
 *
 * Given the store, the same route also charges a customer's saved card off-session (payment-intents.ts:
 * a request naming `payment_method` or `off_session` and no token), and `GET /v1/payment_intents/:id`
 * answers either kind.
 */

/** The test helper's published parameters (docs.stripe.com/api/shared-payment/granted-token/create). */
export const GRANTED_TOKEN_CREATE_PARAMS = ['payment_method', 'usage_limits', 'customer', 'metadata', 'seller_details', 'expand'] as const;
/** The PaymentIntent parameters the fake takes: the SDK's own (typed), and the preview one it does not know. */
export const PAYMENT_INTENT_CREATE_PARAMS = [
  'amount',
  'currency',
  'customer',
  'confirm',
  'automatic_payment_methods',
  'payment_method_data',
  'metadata',
  'description',
  'expand',
] as const satisfies ReadonlyArray<keyof Stripe.PaymentIntentCreateParams>;
export const PAYMENT_INTENT_PREVIEW_PARAMS = ['shared_payment_granted_token'] as const;

export interface FakeGrantedToken {
  readonly id: string;
  readonly object: 'shared_payment.granted_token';
  readonly created: number;
  readonly livemode: false;
  readonly agent_details: { readonly network_business_profile: string | null } | null;
  /** The shared PaymentMethod, as Stripe shows a granted token's (never its id). */
  readonly payment_method_details: { readonly type: 'card'; readonly card: { readonly brand: string; readonly last4: string; readonly exp_month: number; readonly exp_year: number; readonly funding: string; readonly country: string } };
  readonly shared_metadata: Record<string, string>;
  deactivated_at: number | null;
  deactivated_reason: 'revoked' | 'consumed' | 'expired' | null;
  readonly usage_limits: { readonly currency: string; readonly max_amount: number; readonly expires_at: number };
  readonly usage_details: { amount_captured: { currency: string; value: number } };
}

/** A charged PaymentIntent: the SDK's PaymentIntent fields it carries, and the preview field the SDK does not type. */
export type FakePaymentIntent = Pick<Stripe.PaymentIntent, 'id' | 'object' | 'amount' | 'amount_received' | 'currency' | 'created' | 'livemode' | 'metadata' | 'description'> & {
  readonly customer: string | null;
  readonly status: Extract<Stripe.PaymentIntent.Status, 'succeeded'>;
  readonly shared_payment_granted_token: string;
};

export interface FakeSharedPayments extends Resource {
  readonly tokens: Map<string, FakeGrantedToken>;
  readonly paymentIntents: Map<string, FakePaymentIntent>;
}

const unknownParameter = (body: Record<string, unknown>, known: readonly string[]): FakeResponse | undefined => {
  const unknown = Object.keys(body).find((k) => !known.includes(k));
  return unknown === undefined ? undefined : invalid(`Received unknown parameter: ${unknown}`, unknown, 'parameter_unknown');
};

const DECLINING_PAYMENT_METHOD = 'pm_card_chargeDeclined';
const int = (value: unknown): number => (typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN);
const invalid = (message: string, param?: string, code?: string): FakeResponse =>
  stripeError(400, 'invalid_request_error', message, { ...(param === undefined ? {} : { param }), ...(code === undefined ? {} : { code }) });

export function fakeSharedPayments(now: () => number = epochNow, savedCards?: FakeStripeStore): FakeSharedPayments {
  const tokens = new Map<string, FakeGrantedToken>();
  /** Token id → the PaymentMethod it shares (Stripe does not show it to the seller). */
  const paymentMethods = new Map<string, string>();
  const paymentIntents = new Map<string, FakePaymentIntent>();
  /** Idempotency-Key → the parameters and the first answer. */
  const idempotent = new Map<string, { params: string; response: FakeResponse }>();

  const createToken = ({ body }: FakeRequest): FakeResponse => {
    const refused = unknownParameter(body, GRANTED_TOKEN_CREATE_PARAMS);
    if (refused !== undefined) return refused;
    const limits = (body.usage_limits ?? {}) as Record<string, unknown>;
    const paymentMethod = body.payment_method;
    if (typeof paymentMethod !== 'string' || !paymentMethod.startsWith('pm_')) return invalid('Missing required param: payment_method.', 'payment_method');
    const [maxAmount, expiresAt] = [int(limits.max_amount), int(limits.expires_at)];
    if (typeof limits.currency !== 'string' || !Number.isSafeInteger(maxAmount) || !Number.isSafeInteger(expiresAt)) {
      return invalid('usage_limits needs currency, max_amount and expires_at.', 'usage_limits');
    }
    const token: FakeGrantedToken = {
      id: fakeId('spt_test'),
      object: 'shared_payment.granted_token',
      created: now(),
      livemode: false,
      agent_details: null,
      payment_method_details: { type: 'card', card: { brand: 'visa', last4: paymentMethod === DECLINING_PAYMENT_METHOD ? '0002' : '4242', exp_month: 12, exp_year: 2034, funding: 'credit', country: 'US' } },
      shared_metadata: {},
      deactivated_at: null,
      deactivated_reason: null,
      usage_limits: { currency: limits.currency, max_amount: maxAmount, expires_at: expiresAt },
      usage_details: { amount_captured: { currency: limits.currency, value: 0 } },
    };
    tokens.set(token.id, token);
    paymentMethods.set(token.id, paymentMethod);
    return ok(token);
  };

  const charge = (body: Record<string, unknown>): FakeResponse => {
    const refused = unknownParameter(body, [...PAYMENT_INTENT_CREATE_PARAMS, ...PAYMENT_INTENT_PREVIEW_PARAMS]);
    if (refused !== undefined) return refused;
    const data = (body.payment_method_data ?? {}) as Record<string, unknown>;
    const id = body.shared_payment_granted_token ?? data.shared_payment_granted_token;
    const token = typeof id === 'string' ? tokens.get(id) : undefined;
    if (token === undefined) return invalid(`No such shared payment granted token: '${String(id)}'`, 'shared_payment_granted_token', 'resource_missing');
    const amount = int(body.amount);
    const currency = body.currency;
    if (!Number.isSafeInteger(amount) || amount < 1 || typeof currency !== 'string') return invalid('amount and currency are required.', 'amount');
    if (body.confirm !== 'true') return invalid('A shared payment granted token is charged with confirm=true.', 'confirm');
    if (token.usage_limits.expires_at <= now() && token.deactivated_at === null) {
      token.deactivated_at = now();
      token.deactivated_reason = 'expired';
    }
    if (token.deactivated_at !== null) {
      return invalid(`The shared payment granted token is deactivated (${token.deactivated_reason}).`, 'shared_payment_granted_token', 'shared_payment_granted_token_deactivated');
    }
    if (currency !== token.usage_limits.currency || amount > token.usage_limits.max_amount - token.usage_details.amount_captured.value) {
      return invalid('The amount or currency exceeds the usage limits of the shared payment granted token.', 'amount', 'shared_payment_granted_token_usage_limit_exceeded');
    }
    if (paymentMethods.get(token.id) === DECLINING_PAYMENT_METHOD) {
      return stripeError(402, 'invalid_request_error', 'Your card was declined.', { type: 'card_error', code: 'card_declined', decline_code: 'generic_decline' });
    }
    token.usage_details.amount_captured.value += amount;
    if (token.usage_details.amount_captured.value >= token.usage_limits.max_amount) {
      token.deactivated_at = now();
      token.deactivated_reason = 'consumed';
    }
    const intent: FakePaymentIntent = {
      id: fakeId('pi'),
      object: 'payment_intent',
      amount,
      amount_received: amount,
      currency,
      customer: typeof body.customer === 'string' ? body.customer : null,
      status: 'succeeded',
      created: now(),
      livemode: false,
      metadata: (body.metadata ?? {}) as Record<string, string>,
      description: typeof body.description === 'string' ? body.description : null,
      shared_payment_granted_token: token.id,
    };
    paymentIntents.set(intent.id, intent);
    return ok(intent);
  };

  return {
    tokens,
    paymentIntents,
    routes: [
      { method: 'POST', pattern: /\/v1\/test_helpers\/shared_payment\/granted_tokens/, handle: createToken },
      {
        method: 'POST',
        pattern: /\/v1\/test_helpers\/shared_payment\/granted_tokens\/([^/]+)\/revoke/,
        handle: ({ params }) => {
          const token = tokens.get(params[0]!);
          if (token === undefined) return invalid(`No such shared payment granted token: '${params[0]}'`, 'id', 'resource_missing');
          if (token.deactivated_at === null) {
            token.deactivated_at = now();
            token.deactivated_reason = 'revoked';
          }
          return ok(token);
        },
      },
      {
        method: 'GET',
        pattern: /\/v1\/shared_payment\/granted_tokens\/([^/]+)/,
        handle: ({ params }) => {
          const token = tokens.get(params[0]!);
          return token === undefined ? invalid(`No such shared payment granted token: '${params[0]}'`, 'id', 'resource_missing') : ok(token);
        },
      },
      {
        method: 'POST',
        pattern: /\/v1\/payment_intents/,
        handle: ({ body, idempotencyKey }) => {
          const attempt =
            savedCards !== undefined && isSavedCardPayment(body)
              ? () => chargeSavedCard(savedCards, body, now, idempotencyKey)
              : () => ({ response: charge(body), remember: true });
          if (idempotencyKey === undefined) return attempt().response;
          const params = JSON.stringify(body);
          const seen = idempotent.get(idempotencyKey);
          if (seen !== undefined) {
            if (seen.params !== params) {
              return stripeError(400, 'invalid_request_error', 'Keys for idempotent requests can only be used with the same parameters they were first used with.', { type: 'idempotency_error' });
            }
            // A replay is the first answer only: it charges nothing and causes no event.
            return { status: seen.response.status, body: seen.response.body, headers: { ...seen.response.headers, 'Idempotent-Replayed': 'true' } };
          }
          const { response, remember } = attempt();
          if (remember) idempotent.set(idempotencyKey, { params, response });
          return response;
        },
      },
      {
        method: 'GET',
        pattern: /\/v1\/payment_intents\/([^/]+)/,
        handle: ({ params }) => {
          const intent = paymentIntents.get(params[0]!) ?? savedCards?.paymentIntents.get(params[0]!);
          return intent === undefined ? stripeError(404, 'invalid_request_error', `No such payment_intent: '${params[0]}'`, { code: 'resource_missing', param: 'intent' }) : ok(intent);
        },
      },
    ],
  };
}
