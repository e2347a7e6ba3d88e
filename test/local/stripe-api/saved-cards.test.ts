import Stripe from 'stripe';
import { parseEnvelope } from '../../../lambda/webhook/events';
import { completeSetupSession } from '../../../lib/local/stripe-api/checkout-sessions';
import { paymentIntentsOf } from '../../../lib/local/stripe-api/payment-intents';
import { savePaymentMethod, TEST_CARDS } from '../../../lib/local/stripe-api/payment-methods';
import type { StripeEventObject } from '../../../lib/local/stripe-api/server';
import { addCustomer, type FakeStripeStore } from '../../../lib/local/stripe-api/store';
import { startLocalStripe, type LocalStripe } from '../../../lib/local/stripe-run';

/**
 * What auto top-up calls on the local fake of Stripe, with the stripe SDK as the client: a setup-mode
 * Checkout that saves a card, off-session PaymentIntents charging it as Stripe's test cards do, and the
 * signed events Stripe sends for them, delivered to a webhook after the API answered.
 */

const SECRET = 'whsec_saved_cards_test';

describe("the fake Stripe's saved cards and off-session payments", () => {
  let local: LocalStripe;
  let stripe: Stripe;
  let store: FakeStripeStore;
  /** What the webhook received: the body and its Stripe-Signature. */
  const delivered: Array<{ payload: string; signature: string }> = [];
  let customerSeq = 0;
  const customer = (): string => addCustomer(store, { id: `cus_savedcards${++customerSeq}` }).id;
  const received = async (count: number): Promise<StripeEventObject[]> => {
    const deadline = Date.now() + 2000;
    while (local.fake!.api.events.length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    await local.fake!.settled();
    return local.fake!.api.events;
  };
  const charge = (customerId: string, paymentMethod: string, extra: Partial<Stripe.PaymentIntentCreateParams> = {}, idempotencyKey?: string) =>
    stripe.paymentIntents.create(
      { amount: 1000, currency: 'usd', customer: customerId, payment_method: paymentMethod, off_session: true, confirm: true, metadata: { tollgate_top_up: 'crossing-1' }, ...extra },
      idempotencyKey === undefined ? {} : { idempotencyKey },
    );
  const rejection = async (promise: Promise<unknown>): Promise<Stripe.errors.StripeError> => {
    try {
      await promise;
    } catch (err) {
      return err as Stripe.errors.StripeError;
    }
    throw new Error('expected the request to fail');
  };

  beforeAll(async () => {
    local = await startLocalStripe({
      catalog: { plans: [], creditPacks: [] },
      pages: { checkout: (id) => `http://127.0.0.1/test-checkout/${id}`, billingPortal: (id) => id },
      webhook: {
        secret: SECRET,
        deliver: (payload, signature) => {
          delivered.push({ payload, signature });
          return Promise.resolve(200);
        },
      },
    });
    stripe = local.client({ maxNetworkRetries: 0 });
    store = local.fake!.store;
  });
  afterAll(() => local.close());

  describe('Checkout in setup mode', () => {
    it('opens a setup session with no SetupIntent until it completes, on the local test checkout page', async () => {
      const customerId = customer();
      const session = await stripe.checkout.sessions.create({
        mode: 'setup',
        customer: customerId,
        currency: 'usd',
        success_url: 'http://127.0.0.1/account?setup={CHECKOUT_SESSION_ID}',
        cancel_url: 'http://127.0.0.1/account',
        setup_intent_data: { metadata: { tollgate_auto_top_up: 'pack_100' } },
      });
      expect(session).toMatchObject({ object: 'checkout.session', mode: 'setup', status: 'open', customer: customerId, setup_intent: null, payment_status: 'no_payment_required', amount_total: null, currency: 'usd' });
      expect(session.url).toBe(`http://127.0.0.1/test-checkout/${session.id}`);
      expect(session).not.toHaveProperty('setupIntentMetadata');
      expect(await stripe.checkout.sessions.retrieve(session.id, { expand: ['setup_intent'] })).toMatchObject({ status: 'open', setup_intent: null });
    });

    it('refuses line items in setup mode, and a setup session without a currency, as Stripe does', async () => {
      const customerId = customer();
      const price = await stripe.prices.create({ currency: 'usd', unit_amount: 1000, product_data: { name: 'x' } }).catch(() => undefined);
      const withItems = await rejection(
        stripe.checkout.sessions.create({ mode: 'setup', customer: customerId, currency: 'usd', success_url: 'http://127.0.0.1/ok', line_items: [{ price: price?.id ?? 'price_x', quantity: 1 }] }),
      );
      expect(withItems).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect(withItems.message).toMatch(/line_items/);
      const noCurrency = await rejection(stripe.checkout.sessions.create({ mode: 'setup', customer: customerId, success_url: 'http://127.0.0.1/ok' }));
      expect(noCurrency).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect(noCurrency.message).toMatch(/currency/);
    });

    it('completes with a saved card and a succeeded off-session SetupIntent carrying setup_intent_data.metadata, retrievable expanded', async () => {
      const customerId = customer();
      const session = await stripe.checkout.sessions.create({ mode: 'setup', customer: customerId, currency: 'usd', success_url: 'http://127.0.0.1/ok', setup_intent_data: { metadata: { plan: 'auto' } } });
      const completed = completeSetupSession(store, session.id, 'declines')!;
      expect(completed.saved).toBe(true);
      // Completing again changes nothing.
      expect(completeSetupSession(store, session.id, 'pays')).toMatchObject({ saved: false, setupIntent: { id: completed.setupIntent.id } });

      const expanded = await stripe.checkout.sessions.retrieve(session.id, { expand: ['setup_intent'] });
      expect(expanded.status).toBe('complete');
      const setupIntent = expanded.setup_intent as Stripe.SetupIntent;
      expect(setupIntent).toMatchObject({ object: 'setup_intent', status: 'succeeded', customer: customerId, usage: 'off_session', metadata: { plan: 'auto' } });
      expect(setupIntent.payment_method).toMatch(/^pm_/);
      // Unexpanded, the session names it.
      expect((await stripe.checkout.sessions.retrieve(session.id)).setup_intent).toBe(setupIntent.id);
      expect(await stripe.setupIntents.retrieve(setupIntent.id)).toEqual(setupIntent);

      const method = await stripe.paymentMethods.retrieve(setupIntent.payment_method as string);
      expect(method).toMatchObject({ object: 'payment_method', type: 'card', customer: customerId, card: { brand: 'visa', last4: TEST_CARDS.declines.last4 } });
      expect(method.card!.exp_year).toBeGreaterThan(new Date().getUTCFullYear());
      expect(method.card!.exp_month).toBeGreaterThanOrEqual(1);
      expect((await stripe.paymentMethods.list({ customer: customerId, type: 'card' })).data.map((m) => m.id)).toEqual([method.id]);

      const missing = await rejection(stripe.setupIntents.retrieve('seti_missing'));
      expect(missing).toMatchObject({ statusCode: 404, code: 'resource_missing' });
      expect(await rejection(stripe.paymentMethods.retrieve('pm_missing'))).toMatchObject({ statusCode: 404, code: 'resource_missing' });
    });
  });

  describe('off-session PaymentIntents on a saved card', () => {
    it('charges the card that pays: succeeded, with a charge and the amount received', async () => {
      const customerId = customer();
      const pm = savePaymentMethod(store, customerId, 'pays');
      const intent = await charge(customerId, pm, { amount: 2500 });
      expect(intent).toMatchObject({ object: 'payment_intent', status: 'succeeded', amount: 2500, amount_received: 2500, currency: 'usd', customer: customerId, payment_method: pm, metadata: { tollgate_top_up: 'crossing-1' }, last_payment_error: null });
      expect(intent.latest_charge).toMatch(/^ch_/);
      expect(await stripe.paymentIntents.retrieve(intent.id)).toEqual(intent);
      expect(paymentIntentsOf(store, customerId).map((i) => i.status)).toEqual(['succeeded']);
    });

    it('answers the declining card (…0341) with the 402 card_error Stripe sends, the PaymentIntent back to requires_payment_method', async () => {
      const customerId = customer();
      const pm = savePaymentMethod(store, customerId, 'declines');
      const err = await rejection(charge(customerId, pm));
      expect(err).toBeInstanceOf(Stripe.errors.StripeCardError);
      expect(err).toMatchObject({ statusCode: 402, rawType: 'card_error', code: 'card_declined', decline_code: 'generic_decline', message: 'Your card was declined.' });
      expect(err.payment_intent).toMatchObject({ status: 'requires_payment_method', amount_received: 0, customer: customerId, metadata: { tollgate_top_up: 'crossing-1' } });
      expect(err.payment_intent!.last_payment_error).toMatchObject({ type: 'card_error', code: 'card_declined', decline_code: 'generic_decline', payment_method: { id: pm } });
      expect(err.charge).toMatch(/^ch_/);
      expect(paymentIntentsOf(store, customerId).map((i) => i.status)).toEqual(['requires_payment_method']);
    });

    it('answers the card that needs authentication (…3184) with 402 authentication_required', async () => {
      const customerId = customer();
      const pm = savePaymentMethod(store, customerId, 'authentication');
      const err = await rejection(charge(customerId, pm));
      expect(err).toBeInstanceOf(Stripe.errors.StripeCardError);
      expect(err).toMatchObject({ statusCode: 402, code: 'authentication_required', decline_code: 'authentication_required' });
      // Off-session, Stripe does not wait for the absent customer: the intent needs a new attempt (support.stripe.com, SCA off-session).
      expect(err.payment_intent).toMatchObject({ status: 'requires_payment_method', last_payment_error: { code: 'authentication_required' } });
    });

    it('replays an Idempotency-Key with the same parameters without a second charge, and refuses other parameters under it', async () => {
      const customerId = customer();
      const pm = savePaymentMethod(store, customerId, 'pays');
      const first = await charge(customerId, pm, {}, 'top-up-key-1');
      const again = await charge(customerId, pm, {}, 'top-up-key-1');
      expect(again.id).toBe(first.id);
      expect(again.lastResponse.headers['idempotent-replayed']).toBe('true');
      expect(paymentIntentsOf(store, customerId)).toHaveLength(1);
      const other = await rejection(charge(customerId, pm, { amount: 9900 }, 'top-up-key-1'));
      expect(other).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
      expect(other.statusCode).toBe(400);
      expect(paymentIntentsOf(store, customerId)).toHaveLength(1);

      // A decline is replayed as the same 402.
      const declining = savePaymentMethod(store, customerId, 'declines');
      const declined = await rejection(charge(customerId, declining, {}, 'top-up-key-2'));
      const replayed = await rejection(charge(customerId, declining, {}, 'top-up-key-2'));
      expect(replayed).toBeInstanceOf(Stripe.errors.StripeCardError);
      expect(replayed.payment_intent!.id).toBe(declined.payment_intent!.id);
      expect(paymentIntentsOf(store, customerId)).toHaveLength(2);
    });

    it('refuses a payment without customer, payment method, amount or currency, or with a card of another customer, charging nothing', async () => {
      const customerId = customer();
      const pm = savePaymentMethod(store, customerId, 'pays');
      const otherPm = savePaymentMethod(store, customer(), 'pays');
      const cases: Array<[Promise<unknown>, string]> = [
        [charge(customerId, pm, { customer: undefined }), 'customer'],
        [charge(customerId, '', {}), 'payment_method'],
        [charge(customerId, 'pm_unknown'), 'payment_method'],
        [charge(customerId, otherPm), 'payment_method'],
        [stripe.paymentIntents.create({ currency: 'usd', customer: customerId, payment_method: pm, off_session: true, confirm: true } as Stripe.PaymentIntentCreateParams), 'amount'],
        [stripe.paymentIntents.create({ amount: 1000, customer: customerId, payment_method: pm, off_session: true, confirm: true } as Stripe.PaymentIntentCreateParams), 'currency'],
        [charge(customerId, pm, { amount: 10 }), 'amount'],
      ];
      for (const [request, param] of cases) {
        const err = await rejection(request);
        expect({ param: err.param, type: err.rawType }).toEqual({ param, type: 'invalid_request_error' });
      }
      expect(paymentIntentsOf(store, customerId)).toHaveLength(0);
      // A refused request keeps no idempotent answer: the key works once the parameters are right.
      await rejection(charge(customerId, pm, { amount: 10 }, 'top-up-fixed'));
      expect((await charge(customerId, pm, {}, 'top-up-fixed')).status).toBe('succeeded');
    });
  });

  describe('the events Stripe sends for them', () => {
    it('sends payment_intent.succeeded and .payment_failed, signed, to the webhook after answering, and nothing for a replay', async () => {
      const before = local.fake!.api.events.length;
      const deliveredBefore = delivered.length;
      const customerId = customer();
      const paying = savePaymentMethod(store, customerId, 'pays');
      const declining = savePaymentMethod(store, customerId, 'declines');
      const succeeded = await charge(customerId, paying, { metadata: { crossing: 'a' } }, 'events-1');
      const failed = await rejection(charge(customerId, declining, { metadata: { crossing: 'b' } }, 'events-2'));
      await charge(customerId, paying, { metadata: { crossing: 'a' } }, 'events-1');
      await rejection(charge(customerId, declining, { metadata: { crossing: 'b' } }, 'events-2'));
      await received(before + 2);
      // Give a replayed event (there must be none) the time to arrive.
      await new Promise((resolve) => setTimeout(resolve, 50));
      await local.fake!.settled();
      // This customer's events only (an earlier test's may still be on their way).
      const mine = delivered.slice(deliveredBefore).filter(({ payload }) => payload.includes(`"customer": "${customerId}"`));
      expect(mine).toHaveLength(2);

      const events = mine.map(({ payload, signature }) => {
        // The SDK verifies the signature with the webhook's secret, and the webhook's parser takes the envelope.
        const verified = Stripe.webhooks.constructEvent(payload, signature, SECRET);
        return { verified, envelope: parseEnvelope(JSON.parse(payload)) };
      });
      expect(events.map((e) => e.envelope.type)).toEqual(['payment_intent.succeeded', 'payment_intent.payment_failed']);
      expect(events[0]!.envelope.object).toMatchObject({ id: succeeded.id, object: 'payment_intent', status: 'succeeded', customer: customerId, metadata: { crossing: 'a' } });
      expect(events[1]!.envelope.object).toMatchObject({
        id: failed.payment_intent!.id,
        status: 'requires_payment_method',
        metadata: { crossing: 'b' },
        last_payment_error: { code: 'card_declined', decline_code: 'generic_decline' },
      });
      expect(events[0]!.verified).toMatchObject({ type: 'payment_intent.succeeded', livemode: false, request: { idempotency_key: 'events-1' } });
      expect(events[0]!.envelope.apiVersion).toBe(events[1]!.envelope.apiVersion);
    });
  });
});
