import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import Stripe from 'stripe';
import { parseEnvelope } from '../../lambda/webhook/events';
import { createCheckoutSession } from '../../lib/local/stripe-api/checkout-sessions';
import { TEST_CARDS, type SavedCard } from '../../lib/local/stripe-api/payment-methods';
import { createFakeStripeStore, type FakeCheckoutSession, type FakeStripeStore } from '../../lib/local/stripe-api/store';
import { makeTestCheckoutHandler } from '../../lib/local/test-checkout';

/**
 * The local test checkout in setup mode: a page that saves one of three Stripe test cards and charges
 * nothing; each button completes the session in the fake, sends the webhook setup_intent.succeeded and
 * checkout.session.completed (signed), and returns to the success URL.
 */

const SECRET = 'whsec_test_checkout_setup';
const DOMAIN = '127.0.0.1:3000';
const STAGE = 'dev';
const ORIGIN = `http://${DOMAIN}`;

describe('the local test checkout in setup mode', () => {
  let store: FakeStripeStore;
  let delivered: Array<{ payload: string; signature: string }>;
  let status: number;
  let handler: (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;
  const request = (method: 'GET' | 'POST', session: string, body = '', origin = ORIGIN): Promise<APIGatewayProxyResult> =>
    handler({
      httpMethod: method,
      path: `/tollgate/portal/test-checkout/${session}`,
      pathParameters: { session },
      queryStringParameters: null,
      headers: method === 'POST' ? { 'Content-Type': 'application/x-www-form-urlencoded', Origin: origin } : {},
      multiValueHeaders: {},
      body,
      isBase64Encoded: false,
      requestContext: { stage: STAGE, domainName: DOMAIN },
    } as unknown as APIGatewayProxyEvent);
  const setupSession = (customer: string): FakeCheckoutSession =>
    createCheckoutSession(store, {
      mode: 'setup',
      customer,
      currency: 'usd',
      success_url: `${ORIGIN}/${STAGE}/tollgate/portal/account?saved={CHECKOUT_SESSION_ID}`,
      cancel_url: `${ORIGIN}/${STAGE}/tollgate/portal/account`,
      setup_intent_data: { metadata: { tollgate_auto_top_up: 'credits_100' } },
    }) as FakeCheckoutSession;

  beforeEach(() => {
    store = createFakeStripeStore({ checkout: (id) => `${ORIGIN}/${STAGE}/tollgate/portal/test-checkout/${id}`, billingPortal: (id) => id });
    delivered = [];
    status = 200;
    handler = makeTestCheckoutHandler({
      store,
      webhookSecret: SECRET,
      deliver: (payload, signature) => {
        delivered.push({ payload, signature });
        return Promise.resolve(status);
      },
    });
  });

  it('says it saves a card and charges nothing, with one labelled button per test card', async () => {
    const session = setupSession('cus_setuppage1');
    const page = await request('GET', session.id);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<h1>Save a card (test)</h1>');
    expect(page.body).toContain('nothing is charged now');
    expect(page.body).toContain('For customer <code>cus_setuppage1</code>');
    const buttons = [...page.body.matchAll(/<input type="hidden" name="card" value="(\w+)"><p><button type="submit">([^<]+)<\/button>/g)].map((m) => [m[1], m[2]]);
    expect(buttons).toEqual([
      ['pays', 'Save a card that pays (4242…)'],
      ['declines', 'Save a card that is declined (…0341)'],
      ['authentication', 'Save a card that needs authentication (…3184)'],
    ]);
    expect(page.body).toContain(`<a href="${ORIGIN}/${STAGE}/tollgate/portal/account">Cancel</a>`);
    expect(page.body).not.toContain('Pay (test)');
  });

  it.each<[SavedCard]>([['pays'], ['declines'], ['authentication']])('saves the %s card: the session complete, the signed events sent, back to the success URL', async (card) => {
    const session = setupSession(`cus_setup${card}`);
    const saved = await request('POST', session.id, `card=${card}`);
    expect(saved.statusCode).toBe(303);
    expect(saved.headers?.Location).toBe(`${ORIGIN}/${STAGE}/tollgate/portal/account?saved=${session.id}`);

    const completed = store.checkoutSessions.get(session.id)!;
    expect(completed).toMatchObject({ status: 'complete', customer: `cus_setup${card}` });
    const setupIntent = store.setupIntents.get(completed.setup_intent as string)!;
    expect(setupIntent).toMatchObject({ status: 'succeeded', usage: 'off_session', customer: `cus_setup${card}`, metadata: { tollgate_auto_top_up: 'credits_100' } });
    expect(store.paymentMethods.get(setupIntent.payment_method as string)).toMatchObject({ customer: `cus_setup${card}`, card: { last4: TEST_CARDS[card].last4 } });
    expect(store.paymentIntents.size).toBe(0);

    const events = delivered.map(({ payload, signature }) => {
      Stripe.webhooks.constructEvent(payload, signature, SECRET);
      return parseEnvelope(JSON.parse(payload));
    });
    expect(events.map((e) => e.type)).toEqual(['setup_intent.succeeded', 'checkout.session.completed']);
    expect(events[0]!.object).toMatchObject({ id: setupIntent.id, object: 'setup_intent', status: 'succeeded', payment_method: setupIntent.payment_method, metadata: { tollgate_auto_top_up: 'credits_100' } });
    expect(events[1]!.object).toMatchObject({ id: session.id, object: 'checkout.session', mode: 'setup', status: 'complete', payment_status: 'no_payment_required', setup_intent: setupIntent.id, subscription: null, invoice: null, customer: `cus_setup${card}`, amount_total: null });

    // Saving again sends nothing more and returns to the same place; the page now says it is done.
    expect((await request('POST', session.id, 'card=pays')).headers?.Location).toBe(saved.headers?.Location);
    expect(delivered).toHaveLength(2);
    expect(store.paymentMethods.size).toBe(1);
    expect((await request('GET', session.id)).body).toContain('<h1>Card saved</h1>');
  });

  it('refuses an unknown card, a form from another origin, and says so when the webhook refuses the events', async () => {
    const session = setupSession('cus_setuprefused');
    const unknown = await request('POST', session.id, 'card=visa');
    expect(unknown.statusCode).toBe(400);
    expect(unknown.body).toContain('Choose one of the three test cards.');
    expect((await request('POST', session.id, 'card=pays', 'https://evil.example')).statusCode).toBe(403);
    expect(store.checkoutSessions.get(session.id)!.status).toBe('open');
    expect(delivered).toHaveLength(0);

    status = 500;
    const failed = await request('POST', session.id, 'card=pays');
    expect(failed.statusCode).toBe(502);
    expect(failed.body).toContain('The local webhook answered 500.');
  });
});
