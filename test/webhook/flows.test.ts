import { GetItemCommand, ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { buildStripeEvent, stripeId, type StripeEventOverrides, type HandledEventType } from '../../lib/stripe-events';
import { freshTables, type TestTables } from '../support/dynamodb';
import { DynamoPaymentStateStore } from '../../lambda/webhook/store';
import { testFlushes } from '../support/flushes';
import { makeWebhookHandler } from '../../lambda/webhook/handler';
import { quietObservability } from '../support/observability';
import { API_ID, STAGE, authorize, RecordingFlusher, SECRET, seedApiKey, signedDelivery, snapshotTables, webhookFor } from './support';

let tables: TestTables;
beforeAll(async () => {
  tables = await freshTables('webhook-flows');
});
afterAll(() => tables.client.destroy());

const T0 = Math.floor(Date.now() / 1000) - 600;
const newCustomer = (): string => stripeId('cus');

async function deliver(handler: ReturnType<typeof webhookFor>['handler'], type: HandledEventType, o: StripeEventOverrides) {
  const response = await handler(signedDelivery(buildStripeEvent(type, o)));
  return { status: response.statusCode, outcome: (JSON.parse(response.body) as { outcome?: string }).outcome };
}

describe('webhook flows (DynamoDB Local, real authorizer)', () => {
  const cases: Array<{
    name: string;
    setup?: Array<[HandledEventType, StripeEventOverrides]>;
    event: [HandledEventType, StripeEventOverrides];
    reports: string;
    exports?: string;
    paymentUrl?: string;
  }> = [
    { name: 'subscription created incomplete', event: ['customer.subscription.created', { status: 'incomplete' }], reports: 'payment_action_required' },
    { name: 'subscription created active', event: ['customer.subscription.created', { status: 'active' }], reports: 'Allow', exports: 'upgrade_required' },
    { name: 'checkout completed (paid)', event: ['checkout.session.completed', { paymentStatus: 'paid' }], reports: 'Allow' },
    { name: 'checkout completed (trial)', event: ['checkout.session.completed', { paymentStatus: 'no_payment_required' }], reports: 'Allow' },
    {
      name: 'subscription updated to unpaid',
      setup: [['customer.subscription.created', { status: 'active' }]],
      event: ['customer.subscription.updated', { status: 'unpaid', created: T0 + 10 }],
      reports: 'payment_failed',
    },
    {
      name: 'subscription deleted',
      setup: [['customer.subscription.created', { status: 'active' }]],
      event: ['customer.subscription.deleted', { created: T0 + 10 }],
      reports: 'subscription_canceled',
    },
    { name: 'subscription paused', event: ['customer.subscription.paused', {}], reports: 'trial_ended' },
    {
      name: 'subscription resumed',
      setup: [['customer.subscription.paused', {}]],
      event: ['customer.subscription.resumed', { created: T0 + 10 }],
      reports: 'Allow',
    },
    {
      name: 'invoice payment failed beyond the grace period',
      setup: [['customer.subscription.updated', { status: 'past_due' }]],
      event: ['invoice.payment_failed', { invoiceFinalizedAt: T0 - 4 * 24 * 3600, invoiceUrl: 'https://invoice.stripe.com/i/acct_1/test_failed' }],
      reports: 'payment_failed',
      paymentUrl: 'https://invoice.stripe.com/i/acct_1/test_failed',
    },
    {
      name: 'invoice payment failed within the grace period',
      setup: [['customer.subscription.updated', { status: 'past_due' }]],
      event: ['invoice.payment_failed', { invoiceFinalizedAt: T0 }],
      reports: 'Allow',
    },
    {
      name: 'invoice needs 3-D Secure beyond the grace period',
      setup: [['customer.subscription.updated', { status: 'past_due' }]],
      event: ['invoice.payment_action_required', { invoiceFinalizedAt: T0 - 4 * 24 * 3600, invoiceUrl: 'https://invoice.stripe.com/i/acct_1/test_3ds' }],
      reports: 'payment_action_required',
      paymentUrl: 'https://invoice.stripe.com/i/acct_1/test_3ds',
    },
    {
      name: 'invoice paid after a failure',
      setup: [
        ['customer.subscription.updated', { status: 'past_due' }],
        ['invoice.payment_failed', { invoiceFinalizedAt: T0 - 4 * 24 * 3600 }],
        ['customer.subscription.updated', { status: 'active', created: T0 + 20 }],
      ],
      event: ['invoice.paid', { created: T0 + 20 }],
      reports: 'Allow',
    },
    {
      name: 'entitlements granted',
      setup: [['customer.subscription.created', { status: 'active' }]],
      event: ['entitlements.active_entitlement_summary.updated', { entitlements: ['exports', 'reports'] }],
      reports: 'Allow',
      exports: 'Allow',
    },
    {
      name: 'customer deleted',
      setup: [['customer.subscription.created', { status: 'active' }]],
      event: ['customer.deleted', { created: T0 + 10 }],
      reports: 'Unauthorized',
    },
  ];

  it.each(cases)('moves the customer to what the authorizer decides when $name', async ({ setup = [], event, reports, exports, paymentUrl }) => {
    const customer = newCustomer();
    const key = await seedApiKey(tables, customer);
    const { handler } = webhookFor(tables);
    const subscription = stripeId('sub');
    for (const [type, o] of setup) {
      expect(await deliver(handler, type, { customer, subscription, created: T0, ...o })).toMatchObject({ status: 200, outcome: 'applied' });
    }
    expect(await deliver(handler, event[0], { customer, subscription, created: T0 + 5, ...event[1] })).toMatchObject({ status: 200, outcome: 'applied' });

    const onReports = await authorize(tables, key, '/v1/reports');
    expect(onReports.effect === 'Deny' ? onReports.reason : onReports.effect).toBe(reports);
    if (exports !== undefined) {
      const onExports = await authorize(tables, key, '/v1/exports');
      expect(onExports.effect === 'Deny' ? onExports.reason : onExports.effect).toBe(exports);
    }
    if (paymentUrl !== undefined) expect(onReports.paymentUrl).toBe(paymentUrl);
    // The free route needs only a key: payment state never breaks it (unless the customer is gone).
    expect((await authorize(tables, key, '/v1/free')).effect).toBe(reports === 'Unauthorized' ? 'Unauthorized' : 'Allow');
  });

  it('keeps the api key attributes when it writes payment state', async () => {
    const customer = newCustomer();
    const key = await seedApiKey(tables, customer);
    const before = await itemOf(tables.client, customer);
    const { handler } = webhookFor(tables);
    await deliver(handler, 'customer.subscription.created', { customer, created: T0 });
    const after = await itemOf(tables.client, customer);
    const keyAttributes = (item: Record<string, unknown>) => Object.fromEntries(Object.entries(item).filter(([k]) => k.startsWith('key_')));
    expect(keyAttributes(after)).toEqual(keyAttributes(before));
    expect(Object.keys(keyAttributes(after))).toHaveLength(1);
    expect((await authorize(tables, key, '/v1/reports')).effect).toBe('Allow');
  });

  it('applies a delivery once when it is sent 5 times in sequence', async () => {
    const customer = newCustomer();
    const { handler, flusher } = webhookFor(tables);
    const delivery = signedDelivery(buildStripeEvent('customer.subscription.created', { customer, created: T0 }));
    const outcomes: string[] = [];
    for (let i = 0; i < 5; i++) {
      const response = await handler(delivery);
      expect(response.statusCode).toBe(200);
      outcomes.push((JSON.parse(response.body) as { outcome: string }).outcome);
    }
    expect(outcomes).toEqual(['applied', 'duplicate', 'duplicate', 'duplicate', 'duplicate']);
    expect(flusher.flushes).toHaveLength(1);
    expect(await ledgerCount(tables, customer)).toBe(1);
  });

  it('applies a delivery once when it is sent 5 times concurrently', async () => {
    const customer = newCustomer();
    const { handler, flusher } = webhookFor(tables);
    const delivery = signedDelivery(buildStripeEvent('customer.subscription.created', { customer, created: T0 }));
    const responses = await Promise.all(Array.from({ length: 5 }, () => handler(delivery)));
    expect(responses.map((r) => r.statusCode)).toEqual([200, 200, 200, 200, 200]);
    const outcomes = responses.map((r) => (JSON.parse(r.body) as { outcome: string }).outcome).sort();
    expect(outcomes).toEqual(['applied', 'duplicate', 'duplicate', 'duplicate', 'duplicate']);
    expect(flusher.flushes).toHaveLength(1);
    expect(await ledgerCount(tables, customer)).toBe(1);
  });

  it('answers 500 and writes nothing when the store fails after verification, then applies the replay once', async () => {
    const customer = newCustomer();
    const key = await seedApiKey(tables, customer);
    const broken = new DynamoPaymentStateStore(tables.client, { customersTable: tables.names.customers, eventsTable: `${tables.names.events}-missing` });
    const flusher = new RecordingFlusher();
    const failing = makeWebhookHandler({ store: broken, signingSecrets: () => Promise.resolve([SECRET]), flushes: testFlushes(tables, flusher), gracePeriodSeconds: 0, observability: quietObservability() });
    const delivery = signedDelivery(buildStripeEvent('customer.subscription.created', { customer, created: T0 }));

    const before = await snapshotTables(tables);
    const failed = await failing(delivery);
    expect(failed.statusCode).toBe(500);
    expect(failed.headers?.['Content-Type']).toBe('application/problem+json');
    expect(await snapshotTables(tables)).toBe(before);
    expect(flusher.flushes).toHaveLength(0);
    expect((await authorize(tables, key, '/v1/reports')).reason).toBe('no_subscription');

    const { handler } = webhookFor(tables);
    const replays = [await handler(delivery), await handler(delivery)];
    expect(replays.map((r) => JSON.parse(r.body).outcome)).toEqual(['applied', 'duplicate']);
    expect(await ledgerCount(tables, customer)).toBe(1);
    expect((await authorize(tables, key, '/v1/reports')).effect).toBe('Allow');
  });

  it('records an older event as stale and leaves the newer state', async () => {
    const customer = newCustomer();
    const key = await seedApiKey(tables, customer);
    const { handler } = webhookFor(tables);
    expect(await deliver(handler, 'customer.subscription.deleted', { customer, created: T0 + 100 })).toEqual({ status: 200, outcome: 'applied' });
    expect(await deliver(handler, 'customer.subscription.updated', { customer, created: T0 + 50, status: 'active' })).toEqual({ status: 200, outcome: 'stale' });
    expect((await authorize(tables, key, '/v1/reports')).reason).toBe('subscription_canceled');
    expect(await ledgerCount(tables, customer)).toBe(2);
  });

  it('flushes the stage when a standing route opens or closes, not for a renewal or a change that keeps it closed', async () => {
    const customer = newCustomer();
    const { handler, flusher } = webhookFor(tables);
    await deliver(handler, 'customer.subscription.created', { customer, created: T0, currentPeriodEnd: T0 + 1000 });
    expect(flusher.flushes).toEqual([{ restApiId: API_ID, stage: STAGE }]);
    await deliver(handler, 'customer.subscription.updated', { customer, created: T0 + 10, currentPeriodEnd: T0 + 2000 });
    await deliver(handler, 'invoice.paid', { customer, created: T0 + 10 });
    expect(flusher.flushes).toHaveLength(1);
    await deliver(handler, 'customer.subscription.updated', { customer, created: T0 + 20, status: 'unpaid' });
    expect(flusher.flushes).toHaveLength(2);
    // Closed already: canceling it changes no verdict (the 402's reason follows within the TTL).
    await deliver(handler, 'customer.subscription.deleted', { customer, created: T0 + 30 });
    expect(flusher.flushes).toHaveLength(2);
  });

  it('retries a failed flush itself and answers 200: a flush never makes Stripe deliver again', async () => {
    const customer = newCustomer();
    const { handler, flusher } = webhookFor(tables);
    const delivery = signedDelivery(buildStripeEvent('customer.subscription.created', { customer, created: T0 }));
    flusher.failNext = 2;
    const answer = await handler(delivery);
    expect(answer.statusCode).toBe(200);
    expect(JSON.parse(answer.body).outcome).toBe('applied');
    expect(flusher.flushes).toHaveLength(1);
    expect(JSON.parse((await handler(delivery)).body).outcome).toBe('duplicate');
    expect(flusher.flushes).toHaveLength(1);
  });

  it('leaves a flush it cannot make in the outbox and answers 200; the sweep of the clock makes it later', async () => {
    const customer = newCustomer();
    const delivery = signedDelivery(buildStripeEvent('customer.subscription.created', { customer, created: T0 }));
    const refusing = webhookFor(tables, {}, { maxWaitMs: 200, intervalMs: 20 });
    refusing.flusher.failNext = Number.POSITIVE_INFINITY;
    const answer = await refusing.handler(delivery);
    expect(answer.statusCode).toBe(200);
    expect(JSON.parse(answer.body).outcome).toBe('applied');
    expect(refusing.flusher.flushes).toHaveLength(0);

    const flusher = new RecordingFlusher();
    await expect(testFlushes(tables, flusher).sweep({ restApiId: API_ID, stage: STAGE })).resolves.toBe('flushed');
    expect(flusher.flushes).toEqual([{ restApiId: API_ID, stage: STAGE }]);
  });

  it('lets the sweep finish the flush of a delivery that died holding it, once its lease has run out', async () => {
    const customer = newCustomer();
    const delivery = signedDelivery(buildStripeEvent('customer.subscription.created', { customer, created: T0 }));
    // The first delivery writes its ledger entry and outbox request, then dies mid-flush (a Lambda timeout).
    const dying = webhookFor(tables);
    const frozen = new Promise<void>(() => undefined);
    dying.flusher.flush = () => frozen;
    void dying.handler(delivery);
    for (let i = 0; i < 200 && (await ledgerCount(tables, customer)) === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await ledgerCount(tables, customer)).toBe(1);
    // A redelivery meanwhile is a duplicate and flushes nothing: the request is the outbox's.
    const concurrent = webhookFor(tables);
    expect(JSON.parse((await concurrent.handler(delivery)).body).outcome).toBe('duplicate');
    expect(concurrent.flusher.flushes).toHaveLength(0);

    const flusher = new RecordingFlusher();
    const sweep = testFlushes(tables, flusher, { now: () => Date.now() + 11_000 });
    await expect(sweep.sweep({ restApiId: API_ID, stage: STAGE })).resolves.toBe('flushed');
    expect(flusher.flushes).toHaveLength(1);
  });

  it('acknowledges and ignores event types that do not decide access', async () => {
    const { handler } = webhookFor(tables);
    const before = await snapshotTables(tables);
    const plan = { id: 'price_1', object: 'plan' };
    const response = await handler(signedDelivery({ id: stripeId('evt'), object: 'event', type: 'plan.created', created: T0, data: { object: plan }, livemode: false, api_version: null, pending_webhooks: 0, request: { id: null, idempotency_key: null } }));
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body).outcome).toBe('ignored');
    const payment = await handler(signedDelivery(buildStripeEvent('checkout.session.completed', { checkoutMode: 'payment' })));
    expect(JSON.parse(payment.body).outcome).toBe('ignored');
    expect(await snapshotTables(tables)).toBe(before);
  });
});

async function itemOf(client: DynamoDBClient, customerId: string): Promise<Record<string, unknown>> {
  const { Item } = await client.send(new GetItemCommand({ TableName: tables.names.customers, Key: { customerId: { S: customerId } }, ConsistentRead: true }));
  return Item ?? {};
}

async function ledgerCount(t: TestTables, customerId: string): Promise<number> {
  const { Items = [] } = await t.client.send(
    new ScanCommand({ TableName: t.names.events, ConsistentRead: true, FilterExpression: 'customerId = :c', ExpressionAttributeValues: { ':c': { S: customerId } } }),
  );
  return Items.length;
}
