import { DynamoDBDocumentClient, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { makeRecoveryRecorder } from '../../lambda/metering/recovered';
import { ALERT_PREFIX } from '../../lambda/shared/alerts/outbox';
import { buildStripeEvent } from '../../lib/stripe-events';
import { quietObservability } from '../support/observability';
import { freshTables, type TestTables } from '../support/dynamodb';
import { accessLine, delivery, logEvents, meteringHandler, seedCustomer } from '../metering/support';
import { signedDelivery, webhookFor } from '../webhook/support';

/**
 * payment_recovered on DynamoDB Local, through the real webhook and metering: the payment that lifts a 402
 * leaves its marker with the change; the first counted 2xx after it fires the alert once, whatever the
 * redelivery, reordering or concurrency of the batches and the webhook's deliveries; a renewal in good
 * standing, a payment within the grace period and a first subscription leave no marker.
 */

/** logEvents' default time: calls are logged then. */
const LOGGED = 1_700_000_000_000;
/** The webhook applies the payments 4 s before. */
const APPLIED = LOGGED - 4_000;
const PAID = LOGGED / 1000 - 10;

let tables: TestTables;
let documents: DynamoDBDocumentClient;
beforeAll(async () => {
  tables = await freshTables('recovered');
  documents = DynamoDBDocumentClient.from(tables.client);
});
afterAll(() => tables.client.destroy());

const webhook = () => webhookFor(tables, { now: () => new Date(APPLIED) }).handler;
const recorder = (alert = true) =>
  makeRecoveryRecorder({ dynamodb: tables.client, tables: { customers: tables.names.customers, events: tables.names.events }, alert, observability: quietObservability(), now: () => new Date(LOGGED + 100_000) });
const marker = async (customerId: string): Promise<unknown> =>
  (await documents.send(new GetCommand({ TableName: tables.names.customers, Key: { customerId }, ConsistentRead: true }))).Item?.paymentRecovery;
const recoveredAlerts = async (customerId: string): Promise<Array<Record<string, unknown>>> =>
  ((await documents.send(new ScanCommand({ TableName: tables.names.events, ConsistentRead: true, FilterExpression: 'begins_with(eventId, :p)', ExpressionAttributeValues: { ':p': `${ALERT_PREFIX}${customerId}#recovered#` } }))).Items ?? []);
const call = (customerId: string, at: number) => delivery(logEvents([accessLine({ customerId })], at));

describe('payment_recovered on DynamoDB Local', () => {
  it('marks the payment that lifted payment_failed, and fires once at the first counted 2xx, whatever the batches', async () => {
    const customerId = 'cus_rec_sub';
    const hook = webhook();
    await hook(signedDelivery(buildStripeEvent('customer.subscription.created', { customer: customerId, status: 'unpaid', created: PAID - 20 })));
    expect(await marker(customerId)).toBeUndefined();
    const paid = signedDelivery(buildStripeEvent('customer.subscription.updated', { customer: customerId, status: 'active', created: PAID, eventId: 'evt_rec_paid' }));
    await hook(paid);
    const expected = { eventId: 'evt_rec_paid', eventType: 'customer.subscription.updated', via: 'subscription', reason: 'payment_failed', paidAt: PAID * 1000, restoredAt: APPLIED };
    expect(await marker(customerId)).toEqual(expected);
    // Redelivered by Stripe: a duplicate of its ledger entry, the marker as it was.
    expect(JSON.parse((await hook(paid)).body)).toMatchObject({ outcome: 'duplicate' });
    expect(await marker(customerId)).toEqual(expected);

    const { handler } = meteringHandler(tables, { recoveries: recorder() });
    // Calls logged before the restoration (the 2xx of before the refusal, delivered late) fire nothing.
    await handler(call(customerId, APPLIED - 60_000));
    expect(await recoveredAlerts(customerId)).toEqual([]);
    expect(await marker(customerId)).toEqual(expected);
    // Reordered: the later batch arrives first; then the earlier one, a redelivery, and three at once.
    const later = call(customerId, LOGGED + 60_000);
    const earlier = call(customerId, LOGGED);
    await handler(later);
    await handler(earlier);
    await handler(later);
    await Promise.all([handler(call(customerId, LOGGED + 61_000)), handler(call(customerId, LOGGED + 62_000)), handler(call(customerId, LOGGED + 63_000))]);
    const alerts = await recoveredAlerts(customerId);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      eventId: `${ALERT_PREFIX}${customerId}#recovered#evt_rec_paid`,
      outcome: 'alert',
      detailType: 'tollgate.customer.payment_recovered',
      detail: { rule: 'recovered', customerId, reason: 'payment_failed', via: 'subscription', paymentEventId: 'evt_rec_paid', paidAt: PAID, restoredAt: APPLIED / 1000, firstCallAt: (LOGGED + 60_000) / 1000, secondsToFirstCall: 70 },
    });
    expect(await marker(customerId)).toBeUndefined();
  });

  it('marks a credits purchase that lifts credits_exhausted, and fires with how it was paid', async () => {
    const customerId = 'cus_rec_credits';
    await seedCustomer(tables, customerId, { credits: 0 });
    const hook = webhook();
    await hook(signedDelivery(buildStripeEvent('checkout.session.completed', { customer: customerId, credits: 100, checkoutMode: 'payment', paymentStatus: 'paid', created: PAID, eventId: 'evt_rec_pack' })));
    expect(await marker(customerId)).toMatchObject({ eventId: 'evt_rec_pack', via: 'credits', reason: 'credits_exhausted' });
    const { handler } = meteringHandler(tables, { recoveries: recorder() });
    await handler(call(customerId, LOGGED));
    await handler(call(customerId, LOGGED + 1_000));
    expect((await recoveredAlerts(customerId)).map((a) => a.detail)).toEqual([expect.objectContaining({ reason: 'credits_exhausted', via: 'credits', paymentEventType: 'checkout.session.completed', secondsToFirstCall: 10 })]);
    // A second pack while the balance is positive lifts nothing: no marker.
    await hook(signedDelivery(buildStripeEvent('checkout.session.completed', { customer: customerId, credits: 100, checkoutMode: 'payment', paymentStatus: 'paid', created: PAID + 1 })));
    expect(await marker(customerId)).toBeUndefined();
  });

  it('leaves no marker for a renewal in good standing, a payment within the grace period or a first subscription', async () => {
    const customerId = 'cus_rec_renewal';
    const hook = webhook();
    const t = PAID - 1000;
    // A first subscription: a sale, not a recovery (its 402 was no_subscription).
    await hook(signedDelivery(buildStripeEvent('customer.subscription.created', { customer: customerId, status: 'active', created: t, currentPeriodEnd: t + 100 })));
    expect(await marker(customerId)).toBeUndefined();
    // The month-end renewal: invoice paid, period moved on.
    await hook(signedDelivery(buildStripeEvent('invoice.paid', { customer: customerId, created: t + 100 })));
    await hook(signedDelivery(buildStripeEvent('customer.subscription.updated', { customer: customerId, status: 'active', created: t + 101, currentPeriodEnd: t + 200 })));
    expect(await marker(customerId)).toBeUndefined();
    // A failed renewal paid within the grace period: never refused, so nothing recovered.
    await hook(signedDelivery(buildStripeEvent('invoice.payment_failed', { customer: customerId, created: t + 200 })));
    await hook(signedDelivery(buildStripeEvent('customer.subscription.updated', { customer: customerId, status: 'past_due', created: t + 201 })));
    await hook(signedDelivery(buildStripeEvent('invoice.paid', { customer: customerId, created: t + 300 })));
    await hook(signedDelivery(buildStripeEvent('customer.subscription.updated', { customer: customerId, status: 'active', created: t + 301, currentPeriodEnd: t + 400 })));
    expect(await marker(customerId)).toBeUndefined();
  });

  it('with the rule off, removes the marker at the first call and fires nothing', async () => {
    const customerId = 'cus_rec_off';
    const hook = webhook();
    await hook(signedDelivery(buildStripeEvent('customer.subscription.created', { customer: customerId, status: 'canceled', created: PAID - 20 })));
    await hook(signedDelivery(buildStripeEvent('customer.subscription.created', { customer: customerId, subscription: 'sub_rec_off_2', status: 'active', created: PAID })));
    expect(await marker(customerId)).toMatchObject({ via: 'subscription', reason: 'subscription_canceled' });
    const { handler } = meteringHandler(tables, { recoveries: recorder(false) });
    await handler(call(customerId, LOGGED));
    expect(await marker(customerId)).toBeUndefined();
    expect(await recoveredAlerts(customerId)).toEqual([]);
  });
});
