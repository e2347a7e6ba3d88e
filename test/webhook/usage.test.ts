import { walletKey } from '../../lambda/shared/customers/wallet';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoCustomerReader } from '../../lambda/authorizer/customer-store';
import { makeAuthorizerHandler } from '../../lambda/authorizer/handler';
import { evaluatePolicy } from '../../lambda/authorizer/policy';
import type { Plans } from '../../lambda/shared/customers/usage-view';
import type { RouteRule } from '../../lambda/shared/requirements';
import { buildStripeEvent, stripeId, type HandledEventType, type StripeEventOverrides } from '../../lib/stripe-events';
import { freshTables, setCustomerAttributes, type TestTables } from '../support/dynamodb';
import { quietObservability } from '../support/observability';
import { API_ID, seedApiKey, signedDelivery, STAGE, webhookFor } from './support';

let tables: TestTables;
let documents: DynamoDBDocumentClient;
beforeAll(async () => {
  tables = await freshTables('webhook-usage');
  documents = DynamoDBDocumentClient.from(tables.client);
});
afterAll(() => tables.client.destroy());

const PLANS: Plans = { sample_metered: { name: 'Metered', quota: 20, overage: 'block' }, pro: { name: 'Pro', overage: 'block' } };
const SEARCH: RouteRule = { method: 'GET', path: '/v1/search', requires: { kind: 'subscription' }, usage: { cost: 1 } };
const T0 = Math.floor(Date.now() / 1000) - 600;
const PERIOD_1 = T0 + 30 * 86_400;
const PERIOD_2 = PERIOD_1 + 30 * 86_400;

const webhook = () => webhookFor(tables, { plans: PLANS });
async function deliver(handler: ReturnType<typeof webhookFor>['handler'], type: HandledEventType, o: StripeEventOverrides) {
  const response = await handler(signedDelivery(buildStripeEvent(type, o)));
  return { status: response.statusCode, ...(JSON.parse(response.body) as { outcome?: string }) };
}
/** The customer item, with `credits` as every reader sees it: the wallet's balance once written (lambda/shared/customers/wallet.ts). */
const item = async (customerId: string): Promise<Record<string, any>> => {
  const stored = (await documents.send(new GetCommand({ TableName: tables.names.customers, Key: { customerId }, ConsistentRead: true }))).Item ?? {};
  const wallet = (await documents.send(new GetCommand({ TableName: tables.names.customers, Key: { customerId: walletKey(customerId) }, ConsistentRead: true }))).Item;
  return wallet?.balance === undefined ? stored : { ...stored, credits: wallet.balance };
};
const setUsage = (customerId: string, values: Record<string, unknown>) => setCustomerAttributes(documents, tables.names.customers, customerId, values);

/** The real authorizer on the metered route. */
async function search(key: string): Promise<{ effect: string; reason?: unknown }> {
  const handler = makeAuthorizerHandler({
    customers: new DynamoCustomerReader(tables.client, tables.names.customers),
    settings: { customersTable: tables.names.customers, routes: [SEARCH], gracePeriodSeconds: 0, plans: PLANS },
    observability: quietObservability(),
  });
  const methodArn = `arn:aws:execute-api:us-east-1:123456789012:${API_ID}/${STAGE}/GET/v1/search`;
  const result = await handler({
    type: 'REQUEST',
    methodArn,
    resource: '/v1/search',
    path: '/v1/search',
    httpMethod: 'GET',
    headers: { Authorization: `Bearer ${key}` },
  } as never);
  const effect = evaluatePolicy(result.policyDocument, methodArn);
  return effect === 'Allow' ? { effect } : { effect, reason: result.context?.reason };
}

describe('webhook: credits top-ups (DynamoDB Local)', () => {
  it('adds a paid credits checkout to the balance once, however often Stripe delivers it, with no flush (routes sold by use are cached a second)', async () => {
    const customer = stripeId('cus');
    const key = await seedApiKey(tables, customer);
    const { handler, flusher } = webhook();
    const event = buildStripeEvent('checkout.session.completed', { customer, checkoutMode: 'payment', paymentStatus: 'paid', credits: 100 });
    expect(await search(key)).toEqual({ effect: 'Deny', reason: 'no_subscription' });
    const first = await handler(signedDelivery(event));
    expect(JSON.parse(first.body)).toMatchObject({ outcome: 'applied' });
    for (let i = 0; i < 3; i++) expect(JSON.parse((await handler(signedDelivery(event))).body)).toMatchObject({ outcome: 'duplicate' });
    expect((await item(customer)).credits).toBe(100);
    expect(flusher.flushes).toHaveLength(0);
    expect(await search(key)).toEqual({ effect: 'Allow' });
    await deliver(handler, 'checkout.session.completed', { customer, checkoutMode: 'payment', credits: 50 });
    expect((await item(customer)).credits).toBe(150);
  });

  it('credits a pack as a grant named by its Checkout Session, expiring the pack\'s lifetime after it is recorded when metadata.tollgate_expires_in says one (#26)', async () => {
    const customer = stripeId('cus');
    await seedApiKey(tables, customer);
    const { handler } = webhook();
    const event = buildStripeEvent('checkout.session.completed', { customer, checkoutMode: 'payment', paymentStatus: 'paid', credits: 30 }) as { data: { object: { id: string; metadata: Record<string, string> } } };
    event.data.object.metadata.tollgate_expires_in = '90d';
    const before = Math.floor(Date.now() / 1000);
    expect(JSON.parse((await handler(signedDelivery(event))).body)).toMatchObject({ outcome: 'applied' });
    const wallet = (await DynamoDBDocumentClient.from(tables.client).send(new GetCommand({ TableName: tables.names.customers, Key: { customerId: walletKey(customer) }, ConsistentRead: true }))).Item!;
    const session = event.data.object.id;
    const grant = (wallet.grants as Record<string, { units: number; left: number; category: string; expiresAt: number }>)[session]!;
    expect(grant).toMatchObject({ units: 30, left: 30, category: 'paid' });
    expect(grant.expiresAt - before).toBeGreaterThanOrEqual(90 * 86_400);
    expect(grant.expiresAt - before).toBeLessThan(90 * 86_400 + 60);
    expect(wallet.balance).toBe(30);
  });

  it('lifts a credits_exhausted block with the top-up, and leaves a quota block alone', async () => {
    const customer = stripeId('cus');
    const key = await seedApiKey(tables, customer);
    await setUsage(customer, { credits: 0, usageBlock: 'credits_exhausted' });
    const { handler, flusher } = webhook();
    expect(await search(key)).toEqual({ effect: 'Deny', reason: 'credits_exhausted' });
    expect(await deliver(handler, 'checkout.session.completed', { customer, checkoutMode: 'payment', credits: 10 })).toMatchObject({ status: 200, outcome: 'applied' });
    expect(await item(customer)).toMatchObject({ credits: 10 });
    expect((await item(customer)).usageBlock).toBeUndefined();
    // No subscription: lifting the block opens no standing route, so nothing to flush.
    expect(flusher.flushes).toHaveLength(0);
    expect(await search(key)).toEqual({ effect: 'Allow' });

    const blocked = stripeId('cus');
    await setUsage(blocked, { credits: 0, usageBlock: 'quota_exceeded' });
    await deliver(handler, 'checkout.session.completed', { customer: blocked, checkoutMode: 'payment', credits: 10 });
    expect(await item(blocked)).toMatchObject({ credits: 10, usageBlock: 'quota_exceeded' });
  });

  it.each([
    ['an unpaid (still settling) checkout', { paymentStatus: 'unpaid' as const, credits: 10 }, 'ignored'],
    ['a payment checkout without tollgate_credits', { paymentStatus: 'paid' as const }, 'ignored'],
  ])('adds nothing for %s', async (_label, overrides, outcome) => {
    const customer = stripeId('cus');
    const result = await deliver(webhook().handler, 'checkout.session.completed', { customer, checkoutMode: 'payment', ...overrides });
    expect(result).toMatchObject({ status: 200, outcome });
    expect((await item(customer)).credits).toBeUndefined();
  });

  it('credits a pack paid by a delayed method when its payment settles, once per Checkout Session (#24 item 4)', async () => {
    const customer = stripeId('cus');
    const key = await seedApiKey(tables, customer);
    const { handler } = webhook();
    const session = { customer, checkoutMode: 'payment' as const, credits: 40, checkoutSession: stripeId('cs_test') };
    expect(await deliver(handler, 'checkout.session.completed', { ...session, paymentStatus: 'unpaid' })).toMatchObject({ status: 200, outcome: 'ignored' });
    expect((await item(customer)).credits).toBeUndefined();
    expect(await search(key)).toEqual({ effect: 'Deny', reason: 'no_subscription' });

    expect(await deliver(handler, 'checkout.session.async_payment_succeeded', { ...session, paymentStatus: 'paid' })).toMatchObject({ status: 200, outcome: 'applied' });
    expect((await item(customer)).credits).toBe(40);
    expect(await search(key)).toEqual({ effect: 'Allow' });
    // Another event of the same session saying paid (a second event id) adds nothing.
    expect(await deliver(handler, 'checkout.session.completed', { ...session, paymentStatus: 'paid' })).toMatchObject({ status: 200, outcome: 'duplicate' });
    expect((await item(customer)).credits).toBe(40);
  });

  it('adds nothing when a delayed payment fails (#24 item 4)', async () => {
    const customer = stripeId('cus');
    const session = { customer, checkoutMode: 'payment' as const, credits: 40, checkoutSession: stripeId('cs_test') };
    expect(await deliver(webhook().handler, 'checkout.session.async_payment_failed', { ...session, paymentStatus: 'unpaid' })).toMatchObject({ status: 200, outcome: 'ignored' });
    expect((await item(customer)).credits).toBeUndefined();
  });

  it('parks a checkout whose tollgate_credits is not a whole number, never half-writing it', async () => {
    const customer = stripeId('cus');
    const event = buildStripeEvent('checkout.session.completed', { customer, checkoutMode: 'payment' }) as any;
    event.data.object.metadata = { tollgate_credits: '12.5' };
    const response = await webhook().handler(signedDelivery(event));
    expect(JSON.parse(response.body)).toMatchObject({ outcome: 'parked' });
    expect((await item(customer)).credits).toBeUndefined();
  });
});

describe('webhook: a new billing period (DynamoDB Local)', () => {
  it('starts a fresh counter when a quota plan renews and lifts the quota_exceeded answer at once, with no flush', async () => {
    const customer = stripeId('cus');
    const subscription = stripeId('sub');
    const key = await seedApiKey(tables, customer);
    const { handler, flusher } = webhook();
    const plan = { customer, subscription, lookupKey: 'sample_metered' };
    await deliver(handler, 'customer.subscription.created', { ...plan, created: T0, currentPeriodEnd: PERIOD_1 });
    await setUsage(customer, { periodUsed: 20, usagePeriodEnd: PERIOD_1 });
    expect(await search(key)).toEqual({ effect: 'Deny', reason: 'quota_exceeded' });
    const flushesBefore = flusher.flushes.length;

    expect(await deliver(handler, 'customer.subscription.updated', { ...plan, created: T0 + 10, currentPeriodEnd: PERIOD_2 })).toMatchObject({ outcome: 'applied' });
    // The closing period's counter stays, for units of it logged after the renewal (metering/settle.ts).
    expect(await item(customer)).toMatchObject({ periodUsed: 0, usagePeriodEnd: PERIOD_2, prevPeriodEnd: PERIOD_1, prevPeriodUsed: 20 });
    expect(flusher.flushes.length).toBe(flushesBefore);
    expect(await search(key)).toEqual({ effect: 'Allow' });
  });

  it('never moves the counter back: an older event, or a counter metering already started for the new period, is kept', async () => {
    const customer = stripeId('cus');
    const subscription = stripeId('sub');
    const { handler } = webhook();
    const plan = { customer, subscription, lookupKey: 'sample_metered' };
    await deliver(handler, 'customer.subscription.created', { ...plan, created: T0, currentPeriodEnd: PERIOD_1 });
    await setUsage(customer, { periodUsed: 7, usagePeriodEnd: PERIOD_2 });
    await deliver(handler, 'customer.subscription.updated', { ...plan, created: T0 + 10, currentPeriodEnd: PERIOD_2 });
    expect(await item(customer)).toMatchObject({ periodUsed: 7, usagePeriodEnd: PERIOD_2 });
    // A stale event of the old period, delivered late.
    expect(await deliver(handler, 'customer.subscription.updated', { ...plan, created: T0 + 5, currentPeriodEnd: PERIOD_1 })).toMatchObject({ outcome: 'stale' });
    expect(await item(customer)).toMatchObject({ periodUsed: 7, usagePeriodEnd: PERIOD_2 });
  });

  it('leaves the counter of an unlimited plan alone, and does not flush for its renewal', async () => {
    const customer = stripeId('cus');
    const subscription = stripeId('sub');
    const { handler, flusher } = webhook();
    const plan = { customer, subscription, lookupKey: 'pro' };
    await deliver(handler, 'customer.subscription.created', { ...plan, created: T0, currentPeriodEnd: PERIOD_1 });
    await setUsage(customer, { periodUsed: 3, usagePeriodEnd: PERIOD_1 });
    const before = flusher.flushes.length;
    await deliver(handler, 'customer.subscription.updated', { ...plan, created: T0 + 10, currentPeriodEnd: PERIOD_2 });
    expect(await item(customer)).toMatchObject({ periodUsed: 3, usagePeriodEnd: PERIOD_1 });
    expect(flusher.flushes.length).toBe(before);
  });
});

describe('webhook: billing.alert.triggered (DynamoDB Local)', () => {
  it('blocks paid routes with quota_exceeded for a customer who meters in Stripe, lifted when the next period starts', async () => {
    const customer = stripeId('cus');
    const subscription = stripeId('sub');
    const key = await seedApiKey(tables, customer);
    const { handler, flusher } = webhook();
    const plan = { customer, subscription, lookupKey: 'sample_metered' };
    await deliver(handler, 'customer.subscription.created', { ...plan, created: T0, currentPeriodEnd: PERIOD_1 });
    expect(await search(key)).toEqual({ effect: 'Allow' });
    const before = flusher.flushes.length;
    expect(await deliver(handler, 'billing.alert.triggered', { customer, created: T0 + 5, alertValue: 1000 })).toMatchObject({ outcome: 'applied' });
    expect(await item(customer)).toMatchObject({ usageBlock: 'quota_exceeded' });
    // The block closes the standing routes of a customer whose subscription pays: a flush.
    expect(flusher.flushes.length).toBe(before + 1);
    expect(await search(key)).toEqual({ effect: 'Deny', reason: 'quota_exceeded' });

    await setUsage(customer, { periodUsed: 0, usagePeriodEnd: PERIOD_1 });
    await deliver(handler, 'customer.subscription.updated', { ...plan, created: T0 + 10, currentPeriodEnd: PERIOD_2 });
    expect((await item(customer)).usageBlock).toBeUndefined();
    expect(await search(key)).toEqual({ effect: 'Allow' });
  });

  it('ignores an alert about the period that just ended, delivered after the renewal (#24 item 3)', async () => {
    const customer = stripeId('cus');
    const subscription = stripeId('sub');
    const key = await seedApiKey(tables, customer);
    const { handler } = webhook();
    const plan = { customer, subscription, lookupKey: 'sample_metered' };
    await deliver(handler, 'customer.subscription.created', { ...plan, created: T0, currentPeriodEnd: PERIOD_1 });
    await deliver(handler, 'customer.subscription.updated', { ...plan, created: PERIOD_1 - 5, currentPeriodEnd: PERIOD_2 });
    // Crossed in the last seconds of the first period; delivered after the renewal.
    expect(await deliver(handler, 'billing.alert.triggered', { customer, created: PERIOD_1 - 10 })).toMatchObject({ status: 200, outcome: 'stale' });
    expect((await item(customer)).usageBlock).toBeUndefined();
    expect(await search(key)).toEqual({ effect: 'Allow' });
    // One of the new period blocks.
    expect(await deliver(handler, 'billing.alert.triggered', { customer, created: PERIOD_1 + 10 })).toMatchObject({ outcome: 'applied' });
    expect(await search(key)).toEqual({ effect: 'Deny', reason: 'quota_exceeded' });
  });

  it.each(['pro', 'not_declared'])('lifts the block on the renewal of a plan tollgate does not count (%s, #24 item 3)', async (lookupKey) => {
    const customer = stripeId('cus');
    const subscription = stripeId('sub');
    const key = await seedApiKey(tables, customer);
    const { handler } = webhook();
    const plan = { customer, subscription, lookupKey };
    await deliver(handler, 'customer.subscription.created', { ...plan, created: T0, currentPeriodEnd: PERIOD_1 });
    await deliver(handler, 'billing.alert.triggered', { customer, created: T0 + 5 });
    expect(await search(key)).toEqual({ effect: 'Deny', reason: 'quota_exceeded' });
    expect(await deliver(handler, 'customer.subscription.updated', { ...plan, created: T0 + 10, currentPeriodEnd: PERIOD_2 })).toMatchObject({ outcome: 'applied' });
    expect((await item(customer)).usageBlock).toBeUndefined();
    expect(await search(key)).toEqual({ effect: 'Allow' });
  });
});
