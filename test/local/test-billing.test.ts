import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createApiKey } from '../../lambda/shared/customers/keys';
import { readCustomer } from '../../lambda/shared/customers/store';
import { walletKey } from '../../lambda/shared/customers/wallet';
import { deliverEvent } from '../../lib/local/demo';
import Stripe from 'stripe';
import { LOCAL_WEBHOOK_SECRET, webhookDelivery, type LocalApi } from '../../lib/local/stack';
import { savePaymentMethod } from '../../lib/local/stripe-api/payment-methods';
import { startFakeStripeApi } from '../../lib/local/stripe-api/server';
import { fakeSharedPayments } from '../../lib/local/stripe-api/shared-payments';
import { webhookSink } from '../../lib/local/stripe-run';
import { createCheckoutSession } from '../../lib/local/stripe-api/checkout-sessions';
import { addCustomer, fakeId, type FakeCheckoutSession, type FakeStripeStore } from '../../lib/local/stripe-api/store';
import { freshTables, type TestTables } from '../support/dynamodb';
import { PROJECT, portalLocalApi, type GatewayRequest } from '../support/local-api';
import { answeredWithin } from '../support/poll';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

const { origin: ORIGIN, stage: STAGE } = PROJECT;

/**
 * The local run's stand-ins for Stripe on the local gateway, with the same document, handlers and
 * webhook as npm start: a credit pack bought through a Payment Link-style checkout reaches the key of
 * the 402, and the test billing portal's switch and cancel reach the authorizer as Stripe's events.
 */
describe('the local test checkout and billing portal', () => {
  let tables: TestTables;
  let api: LocalApi;
  let store: FakeStripeStore;
  let seq = 0;
  let request: GatewayRequest;
  const get = (p: string, key?: string) => request('GET', p, key === undefined ? {} : { Authorization: `Bearer ${key}` });
  const post = (p: string, form: string, origin = ORIGIN) => request('POST', p, { 'Content-Type': 'application/x-www-form-urlencoded', Origin: origin }, form);
  const json = (buffer: Buffer): any => JSON.parse(buffer.toString('utf8'));
  const customer = async (): Promise<{ customerId: string; key: string }> => {
    const customerId = `cus_localbilling${++seq}`;
    const { key } = await createApiKey({ client: tables.client, tables: tables.names }, { customerId });
    return { customerId, key };
  };
  const local = (url: string): string => url.replace(`${ORIGIN}${STAGE}`, '');

  beforeAll(async () => {
    tables = await freshTables('local-billing');
    ({ api, store, request } = portalLocalApi(tables));
  });
  afterAll(() => {
    api.destroy();
    tables.client.destroy();
  });

  it('takes a pay-as-you-go key from 402 credits_exhausted through a Payment Link-style checkout (a new Stripe customer) to 200', async () => {
    const { customerId, key } = await customer();
    await DynamoDBDocumentClient.from(tables.client).send(new UpdateCommand({ TableName: tables.names.customers, Key: { customerId: walletKey(customerId) }, UpdateExpression: 'SET balance = :zero', ExpressionAttributeValues: { ':zero': 0 } }));
    const denied = await get('/v1/search?q=x', key);
    expect(denied.statusCode).toBe(402);
    expect(json(denied.body)).toMatchObject({ reason: 'credits_exhausted', balance: 0 });

    // The credit pack's Payment Link, with the customer of the 402 as client_reference_id.
    const link = await get(`/tollgate/portal/test-checkout/plink_credits_100?client_reference_id=${customerId}`);
    expect(link.statusCode).toBe(303);
    const checkout = local(link.headers.location!);
    const sessionId = checkout.split('/').at(-1)!;
    expect(store.checkoutSessions.get(sessionId)).toMatchObject({ mode: 'payment', customer: null, client_reference_id: customerId, metadata: { tollgate_credits: '100' } });
    expect((await get(checkout)).body.toString()).toContain(`For customer <code>${customerId}</code>`);
    const paid = await post(checkout, '');
    expect(paid.statusCode).toBe(303);
    const payer = store.checkoutSessions.get(sessionId)!.customer as string;
    expect(payer).not.toBe(customerId);

    // A route sold by use: no flush, its 402 cached a second at most.
    const allowed = await answeredWithin(() => get('/v1/search?q=x', key), (a) => a.statusCode === 200);
    expect(allowed.statusCode).toBe(200);
    expect((await readCustomer(tables.client, tables.names.customers, customerId))?.credits).toBe(100);
    expect(await readCustomer(tables.client, tables.names.customers, payer)).toBeUndefined();
  });

  it('saves a card in a setup-mode checkout through the gateway: the webhook takes its events, the browser returns to the success URL', async () => {
    const { customerId } = await customer();
    const session = createCheckoutSession(store, {
      mode: 'setup',
      customer: customerId,
      currency: 'usd',
      success_url: `${ORIGIN}${STAGE}/tollgate/portal/account?saved={CHECKOUT_SESSION_ID}`,
      cancel_url: `${ORIGIN}${STAGE}/tollgate/portal/account`,
      setup_intent_data: { metadata: { tollgate_auto_top_up: 'credits_100' } },
    }) as FakeCheckoutSession;
    const checkout = local(session.url!);
    const page = (await get(checkout)).body.toString();
    expect(page).toContain('Save a card that is declined (…0341)');
    // The webhook answers 2xx to setup_intent.succeeded and a setup checkout.session.completed (else the page says 502).
    const saved = await post(checkout, 'card=declines');
    expect(saved.statusCode).toBe(303);
    expect(saved.headers.location).toBe(`${ORIGIN}${STAGE}/tollgate/portal/account?saved=${session.id}`);
    const setupIntent = store.setupIntents.get(store.checkoutSessions.get(session.id)!.setup_intent as string)!;
    expect(store.paymentMethods.get(setupIntent.payment_method as string)).toMatchObject({ customer: customerId, card: { last4: '0341' } });
  });

  it("delivers the fake API's payment_intent events to the stage's webhook, which verifies and acknowledges them (as npm start wires it)", async () => {
    const refused: string[] = [];
    const sink = webhookSink({ secret: LOCAL_WEBHOOK_SECRET, deliver: webhookDelivery(() => api.gateway, () => PROJECT.config.stageName), log: (line) => refused.push(line) });
    const fake = await startFakeStripeApi({ resources: [fakeSharedPayments(undefined, store)], onEvent: sink.emit });
    try {
      const stripe = new Stripe('sk_test_local', { host: fake.host, port: fake.port, protocol: 'http', maxNetworkRetries: 0 });
      const { customerId } = await customer();
      const paying = savePaymentMethod(store, customerId, 'pays');
      const declining = savePaymentMethod(store, customerId, 'declines');
      await stripe.paymentIntents.create({ amount: 1000, currency: 'usd', customer: customerId, payment_method: paying, off_session: true, confirm: true });
      await expect(stripe.paymentIntents.create({ amount: 1000, currency: 'usd', customer: customerId, payment_method: declining, off_session: true, confirm: true })).rejects.toThrow('Your card was declined.');
      await answeredWithin(() => Promise.resolve(fake.events.length), (n) => n === 2, 2000);
      await sink.settled();
      expect(fake.events.map((e) => e.type)).toEqual(['payment_intent.succeeded', 'payment_intent.payment_failed']);
      expect(refused).toEqual([]);
      // A bad signature would be refused: the sink reports what the webhook answers.
      const forged = webhookSink({ secret: 'whsec_not_the_stage_secret', deliver: webhookDelivery(() => api.gateway, () => PROJECT.config.stageName), log: (line) => refused.push(line) });
      forged.emit(fake.events[0]!);
      await forged.settled();
      expect(refused).toEqual([expect.stringMatching(/^tollgate: the local webhook answered 4\d\d to payment_intent\.succeeded/)]);
    } finally {
      await fake.close();
    }
  });

  it('lists the subscription in the test billing portal, switches its plan and cancels it: the next call is 402', async () => {
    const { customerId, key } = await customer();
    const subscribed = await deliverEvent(api.gateway, { type: 'customer.subscription.created', customerId, subscriptionId: fakeId('sub'), status: 'active', plan: 'pro', created: Math.floor(Date.now() / 1000) }, LOCAL_WEBHOOK_SECRET);
    expect(subscribed.statusCode).toBe(200);
    expect((await get('/v1/quotes', key)).statusCode).toBe(200);
    addCustomer(store, { id: customerId });
    const id = fakeId('bps');
    store.billingPortalSessions.set(id, { id, object: 'billing_portal.session', customer: customerId, return_url: `${ORIGIN}${STAGE}/tollgate/portal/account`, url: '', created: 0, livemode: false });
    const portal = `/tollgate/portal/test-checkout/${id}`;

    const page = (await get(portal)).body.toString();
    expect(page).toContain('LOCAL TEST BILLING PORTAL');
    expect(page).toContain('<h3>Pro</h3>');
    const subscriptionId = /data-subscription="(sub_\w+)"/.exec(page)![1]!;

    const switched = await post(portal, `action=switch&subscription=${subscriptionId}&plan=sample_metered`);
    expect(switched.statusCode).toBe(303);
    expect((await readCustomer(tables.client, tables.names.customers, customerId))?.subscriptions[subscriptionId]).toMatchObject({ status: 'active', plan: 'sample_metered' });
    expect((await get(portal)).body.toString()).toContain('<h3>Metered</h3>');

    // Another origin's form changes nothing; nor does a subscription the customer does not hold.
    expect((await post(portal, `action=cancel&subscription=${subscriptionId}`, 'https://evil.example')).statusCode).toBe(403);
    expect((await post(portal, 'action=cancel&subscription=sub_notyours')).statusCode).toBe(400);
    expect((await get('/v1/quotes', key)).statusCode).toBe(200);

    // Cancel asks first: the first POST shows what ends and changes nothing.
    const asked = await post(portal, `action=cancel&subscription=${subscriptionId}`);
    expect(asked.statusCode).toBe(200);
    const question = asked.body.toString();
    expect(question).toContain('<h1>Cancel Metered?</h1>');
    expect(question).toContain('<input type="hidden" name="confirm" value="yes">');
    expect(question).toContain(`<a href="${STAGE}${portal}">Keep Metered</a>`);
    expect((await get('/v1/quotes', key)).statusCode).toBe(200);
    expect((await post(portal, `action=cancel&subscription=${subscriptionId}&confirm=yes`)).statusCode).toBe(303);
    const after = await get('/v1/quotes', key);
    expect(after.statusCode).toBe(402);
    expect(json(after.body)).toMatchObject({ reason: 'subscription_canceled' });
    expect((await get(portal)).body.toString()).toContain('No active subscription.');
  });
});
