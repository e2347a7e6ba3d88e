import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type Stripe from 'stripe';
import { dynamoTopUpSettler } from '../../lambda/shared/auto-top-up';
import { ALERT_PREFIX } from '../../lambda/shared/alerts/outbox';
import { decide } from '../../lambda/shared/customers/standing';
import { readCustomer } from '../../lambda/shared/customers/store';
import { CHARGE_RETRY_SECONDS, claimTopUp, type TopUp } from '../../lambda/shared/customers/top-up';
import { walletKey } from '../../lambda/shared/customers/wallet';
import { makeMeteringTopUp } from '../../lambda/metering/top-up';
import { paymentIntentsOf } from '../../lib/local/stripe-api/payment-intents';
import { savePaymentMethod } from '../../lib/local/stripe-api/payment-methods';
import type { FakeStripeStore } from '../../lib/local/stripe-api/store';
import { startLocalStripe, type LocalStripe } from '../../lib/local/stripe-run';
import { freshTables, type TestTables } from '../support/dynamodb';
import { quietObservability } from '../support/observability';
import { accessLine, delivery, logEvents, meteringHandler } from '../metering/support';
import { proxyEvent, SECRET, signedDelivery, webhookFor } from '../webhook/support';
import { setupIntentSucceededEvent } from '../../lib/stripe-events/event';
import { setupIntentObject } from '../../lib/stripe-events/setup-intent';

// Auto top-up end to end on DynamoDB Local, the stripe SDK and the local fake of Stripe's API: metering
// charges the saved card when a write leaves the credits below the threshold, once per crossing; the pack is
// granted only from Stripe's payment_intent.succeeded (once per PaymentIntent, whatever the redelivery); a
// declined card pauses the top-up, tells the customer once, and makes the 402 say why.

process.env.POWERTOOLS_METRICS_DISABLED = 'true';

const NOW_MS = 1_700_000_100_000;
const PACK = { id: 'pack_50', name: '50 credits', credits: 50, price: 'sample_pack_50' };
const ROUTES = [{ method: 'GET', path: '/v1/search', requires: { kind: 'subscription' as const }, usage: { cost: 1 } }];

let tables: TestTables;
let local: LocalStripe;
let stripe: Stripe;
let store: FakeStripeStore;
let documents: DynamoDBDocumentClient;
let webhook: ReturnType<typeof webhookFor>['handler'];
let now = NOW_MS;

beforeAll(async () => {
  tables = await freshTables('top-up');
  documents = DynamoDBDocumentClient.from(tables.client);
  webhook = webhookFor(tables, { topUps: dynamoTopUpSettler(tables.client, { customers: tables.names.customers, events: tables.names.events }), now: () => new Date(now) }).handler;
  local = await startLocalStripe({
    catalog: { plans: [], creditPacks: [PACK] },
    pages: { checkout: (id) => `http://127.0.0.1/test-checkout/${id}`, billingPortal: (id) => `http://127.0.0.1/billing/${id}` },
    webhook: { secret: SECRET, deliver: async (payload, signature) => (await webhook(proxyEvent(payload, { 'Stripe-Signature': signature }))).statusCode },
  });
  store = local.fake!.store;
  stripe = local.client({ maxNetworkRetries: 0 });
});
afterAll(async () => {
  await local.close();
  tables.client.destroy();
});
beforeEach(() => {
  now = NOW_MS;
});

let seq = 0;
/** A pay-as-you-go customer with `credits` and a top-up of PACK below `below`, on a card that `pays` or not. */
async function customerWith(credits: number, below: number, card: 'pays' | 'declines' | 'authentication' = 'pays'): Promise<string> {
  const customerId = `cus_TopUp${++seq}`;
  const method = savePaymentMethod(store, customerId, card);
  const topUp: TopUp = { pack: PACK.id, credits: PACK.credits, price: PACK.price, below, method, methodLabel: 'visa …4242', state: 'armed', at: NOW_MS / 1000 };
  await documents.send(new PutCommand({ TableName: tables.names.customers, Item: { customerId, subscriptions: {}, invoices: {}, pastDue: {}, topUp } }));
  await documents.send(new PutCommand({ TableName: tables.names.customers, Item: { customerId: walletKey(customerId), balance: credits } }));
  return customerId;
}

const metering = () =>
  meteringHandler(tables, {
    now: () => new Date(now),
    topUp: makeMeteringTopUp({ dynamodb: tables.client, tables: { customers: tables.names.customers, events: tables.names.events }, stripe, now: () => new Date(now), observability: quietObservability() }),
  }).handler;

const calls = (customerId: string, n: number) => delivery(logEvents(Array.from({ length: n }, () => accessLine({ customerId, headroom: 0 }))));
const topUpOf = async (customerId: string): Promise<TopUp | undefined> =>
  (await documents.send(new GetCommand({ TableName: tables.names.customers, Key: { customerId }, ConsistentRead: true }))).Item?.topUp as TopUp | undefined;
const balanceOf = async (customerId: string): Promise<number> =>
  (await documents.send(new GetCommand({ TableName: tables.names.customers, Key: { customerId: walletKey(customerId) }, ConsistentRead: true }))).Item!.balance as number;
const alertsOf = async (customerId: string, attempt: string): Promise<unknown> =>
  (await documents.send(new GetCommand({ TableName: tables.names.events, Key: { eventId: `${ALERT_PREFIX}${customerId}#topup#${attempt}` }, ConsistentRead: true }))).Item;
/** Every event the fake emitted so far, delivered to the webhook. */
const settled = async (): Promise<void> => {
  await local.fake!.settled();
};

describe('auto top-up', () => {
  it('buys the pack once when a write takes the credits below the threshold, and credits it from payment_intent.succeeded', async () => {
    const customerId = await customerWith(7, 5);
    const handler = metering();
    await handler(calls(customerId, 2));
    await settled();
    // 7 - 2 = 5: not below 5, nothing bought.
    expect(paymentIntentsOf(store, customerId)).toHaveLength(0);
    await handler(calls(customerId, 1));
    await settled();
    const intents = paymentIntentsOf(store, customerId);
    expect(intents.map((pi) => [pi.status, pi.amount, pi.metadata.tollgate_credits])).toEqual([['succeeded', 1000, '50']]);
    expect(await balanceOf(customerId)).toBe(4 + 50);
    expect(await topUpOf(customerId)).toMatchObject({ state: 'armed' });
    expect((await topUpOf(customerId))?.attempt).toBeUndefined();
    // Above the threshold again: more calls buy nothing until the credits cross it again.
    await handler(calls(customerId, 3));
    await settled();
    expect(paymentIntentsOf(store, customerId)).toHaveLength(1);
  });

  it('charges once per crossing when writes race, and credits once however often Stripe delivers the event', async () => {
    const customerId = await customerWith(3, 5);
    await Promise.all([metering()(calls(customerId, 1)), metering()(calls(customerId, 1)), metering()(calls(customerId, 1))]);
    await settled();
    const intents = paymentIntentsOf(store, customerId);
    expect(intents).toHaveLength(1);
    expect(await balanceOf(customerId)).toBe(0 + 50);
    // Stripe redelivers payment_intent.succeeded: the same grant, not a second one.
    const succeeded = local.fake!.api.events.filter((e) => e.type === 'payment_intent.succeeded' && (e as unknown as { data: { object: { id: string } } }).data.object.id === intents[0]!.id);
    expect(succeeded).toHaveLength(1);
    const { serializeEvent, signPayload } = await import('../../lib/stripe-events/event');
    const body = serializeEvent(succeeded[0] as unknown as Record<string, unknown>);
    const again = await webhook(proxyEvent(body, { 'Stripe-Signature': signPayload(body, SECRET) }));
    expect(JSON.parse(again.body)).toMatchObject({ outcome: 'duplicate' });
    expect(await balanceOf(customerId)).toBe(50);
  });

  it('a declined card: no credits, the top-up paused with the reason, one e-mail alert, and the 402 says top_up_failed', async () => {
    const customerId = await customerWith(1, 5, 'declines');
    await metering()(calls(customerId, 1));
    await settled();
    const intents = paymentIntentsOf(store, customerId);
    expect(intents.map((pi) => pi.status)).toEqual(['requires_payment_method']);
    expect(await balanceOf(customerId)).toBe(0);
    const failed = await topUpOf(customerId);
    expect(failed).toMatchObject({ state: 'failed', failure: 'generic_decline' });
    // payment_intent.payment_failed reached the webhook too: the attempt was settled already, nothing moved twice.
    expect(local.fake!.api.events.filter((e) => e.type === 'payment_intent.payment_failed')).not.toHaveLength(0);
    const attempt = intents[0]!.metadata.tollgate_top_up!;
    expect(await alertsOf(customerId, attempt)).toMatchObject({ detailType: 'tollgate.customer.auto_top_up_failed', detail: { rule: 'topUp', failure: 'generic_decline', credits: 50 } });
    // Paused: the next writes charge nothing.
    await metering()(calls(customerId, 1));
    expect(paymentIntentsOf(store, customerId)).toHaveLength(1);
    const record = await readCustomer(tables.client, tables.names.customers, customerId);
    const decision = decide(record!, ROUTES, new Date(now), { gracePeriodSeconds: 0, portalUrl: 'https://portal.example/account' });
    expect(decision.reason).toBe('top_up_failed');
  });

  it('a card that needs authentication fails off-session, with that reason', async () => {
    const customerId = await customerWith(2, 5, 'authentication');
    await metering()(calls(customerId, 1));
    await settled();
    expect(await topUpOf(customerId)).toMatchObject({ state: 'failed', failure: 'authentication_required' });
    expect(await balanceOf(customerId)).toBe(1);
  });

  it('a charge whose answer was lost is claimed again after the retry time with the same attempt: Stripe answers with the first charge', async () => {
    const customerId = await customerWith(2, 5);
    const target = { dynamodb: tables.client, table: tables.names.customers, customerId };
    const topUp = (await topUpOf(customerId))!;
    const attempt = 'tu_LostAnswer000000000000001'.slice(0, 25);
    expect(await claimTopUp(target, { attempt, retry: false }, topUp.method!, new Date(now))).toBe(true);
    // The charge reached Stripe, its answer never came back.
    await stripe.paymentIntents.create(
      { amount: 1000, currency: 'usd', customer: customerId, payment_method: topUp.method!, off_session: true, confirm: true, metadata: { tollgate_credits: '50', tollgate_top_up: attempt } },
      { idempotencyKey: `tollgate-top-up-${attempt}` },
    );
    // Before the retry time: a charge is under way, nothing new.
    await metering()(calls(customerId, 1));
    expect(paymentIntentsOf(store, customerId)).toHaveLength(1);
    now += CHARGE_RETRY_SECONDS * 1000;
    await metering()(calls(customerId, 1));
    await settled();
    expect(paymentIntentsOf(store, customerId)).toHaveLength(1);
    expect(await balanceOf(customerId)).toBe(2 - 2 + 50);
    expect(await topUpOf(customerId)).toMatchObject({ state: 'armed' });
  });

  it('a customer without a top-up costs metering no read of the wallet and no Stripe call', async () => {
    const customerId = `cus_NoTopUp${++seq}`;
    await documents.send(new PutCommand({ TableName: tables.names.customers, Item: { customerId, subscriptions: {}, invoices: {}, pastDue: {} } }));
    await documents.send(new PutCommand({ TableName: tables.names.customers, Item: { customerId: walletKey(customerId), balance: 1 } }));
    const before = local.fake!.api.requests.length;
    await metering()(calls(customerId, 1));
    expect(local.fake!.api.requests.length).toBe(before);
    expect(await balanceOf(customerId)).toBe(0);
  });

  it('a top-up turned off while its charge is under way still credits the payment (the grant does not depend on the settings)', async () => {
    const customerId = await customerWith(1, 5);
    const claimed = { dynamodb: tables.client, table: tables.names.customers, customerId };
    const attempt = 'tu_TurnedOff0000000000000001'.slice(0, 25);
    expect(await claimTopUp(claimed, { attempt, retry: false }, (await topUpOf(customerId))!.method!, new Date(now))).toBe(true);
    await documents.send(new UpdateCommand({ TableName: tables.names.customers, Key: { customerId }, UpdateExpression: 'REMOVE topUp' }));
    const method = savePaymentMethod(store, customerId, 'pays');
    await stripe.paymentIntents.create(
      { amount: 1000, currency: 'usd', customer: customerId, payment_method: method, off_session: true, confirm: true, metadata: { tollgate_credits: '50', tollgate_top_up: attempt } },
      { idempotencyKey: `tollgate-top-up-${attempt}` },
    );
    await settled();
    expect(await balanceOf(customerId)).toBe(51);
    expect(await topUpOf(customerId)).toBeUndefined();
  });
});

describe("a card saved for auto top-up, told by Stripe's setup_intent.succeeded", () => {
  // With the stripe client, so the webhook can read the card's brand and last digits.
  const webhookWithStripe = () => webhookFor(tables, { topUps: dynamoTopUpSettler(tables.client, { customers: tables.names.customers, events: tables.names.events }), stripe, now: () => new Date(now) }).handler;
  const settingsOnly = async (): Promise<string> => {
    const customerId = `cus_CardSaved${++seq}`;
    const topUp: TopUp = { pack: PACK.id, credits: PACK.credits, price: PACK.price, below: 5, state: 'armed', at: NOW_MS / 1000 };
    await documents.send(new PutCommand({ TableName: tables.names.customers, Item: { customerId, subscriptions: {}, invoices: {}, pastDue: {}, topUp } }));
    return customerId;
  };
  const setUp = (customerId: string, created: number) =>
    setupIntentObject({ customer: customerId, paymentMethod: savePaymentMethod(store, customerId, 'pays'), metadata: { tollgate_customer: customerId }, created });
  const deliver = async (intent: Stripe.SetupIntent): Promise<{ status: number; outcome: string }> => {
    const answer = await webhookWithStripe()(signedDelivery(setupIntentSucceededEvent(intent) as unknown as Record<string, unknown>));
    return { status: answer.statusCode, outcome: JSON.parse(answer.body).outcome };
  };

  it('keeps the card with its label even when the customer never came back from Checkout, once however often it is delivered', async () => {
    const customerId = await settingsOnly();
    const intent = setUp(customerId, 1_700_000_000);
    expect(await deliver(intent)).toEqual({ status: 200, outcome: 'applied' });
    expect(await topUpOf(customerId)).toMatchObject({ method: intent.payment_method, methodLabel: 'visa …4242', cardSetAt: 1_700_000_000, state: 'armed', below: 5 });
    expect(await deliver(intent)).toEqual({ status: 200, outcome: 'duplicate' });
  });

  it('keeps the card set up last whatever the order the two are told in, and re-arms a paused top-up only for a new card', async () => {
    const customerId = await settingsOnly();
    const older = setUp(customerId, 1_700_000_000);
    const newer = setUp(customerId, 1_700_000_060);
    expect(await deliver(newer)).toEqual({ status: 200, outcome: 'applied' });
    expect(await deliver(older)).toEqual({ status: 200, outcome: 'duplicate' });
    expect((await topUpOf(customerId))!.method).toBe(newer.payment_method);
    // Its charge failed: the same card told again does not re-arm it; a card set up later does.
    await documents.send(new UpdateCommand({ TableName: tables.names.customers, Key: { customerId }, UpdateExpression: 'SET topUp.#s = :failed, topUp.failure = :f', ExpressionAttributeNames: { '#s': 'state' }, ExpressionAttributeValues: { ':failed': 'failed', ':f': 'card_declined' } }));
    expect(await deliver(newer)).toEqual({ status: 200, outcome: 'duplicate' });
    expect(await topUpOf(customerId)).toMatchObject({ state: 'failed', failure: 'card_declined' });
    const latest = setUp(customerId, 1_700_000_120);
    expect(await deliver(latest)).toEqual({ status: 200, outcome: 'applied' });
    const kept = (await topUpOf(customerId))!;
    expect(kept).toMatchObject({ method: latest.payment_method, state: 'armed' });
    expect(kept.failure).toBeUndefined();
  });

  it('a charge under way holds a new card back: the webhook answers 500 and Stripe delivers it again after the charge', async () => {
    const customerId = await customerWith(1, 5);
    const claimed = { dynamodb: tables.client, table: tables.names.customers, customerId };
    const attempt = 'tu_HeldBack00000000000000';
    expect(await claimTopUp(claimed, { attempt, retry: false }, (await topUpOf(customerId))!.method!, new Date(now))).toBe(true);
    const intent = setUp(customerId, 1_700_000_000);
    expect((await deliver(intent)).status).toBe(500);
    expect((await topUpOf(customerId))!.method).not.toBe(intent.payment_method);
    await dynamoTopUpSettler(tables.client, { customers: tables.names.customers, events: tables.names.events }).paid(customerId, attempt, new Date(now));
    expect(await deliver(intent)).toEqual({ status: 200, outcome: 'applied' });
    expect((await topUpOf(customerId))!.method).toBe(intent.payment_method);
  });
});
