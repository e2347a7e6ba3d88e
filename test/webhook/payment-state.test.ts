import { buildStripeEvent, stripeId, type HandledEventType, type StripeEventOverrides } from '../../lib/stripe-events';
import { freshTables, type TestTables } from '../support/dynamodb';
import { authorize, seedApiKey, signedDelivery, webhookFor } from './support';

let tables: TestTables;
beforeAll(async () => {
  tables = await freshTables('webhook-payment-state');
});
afterAll(() => tables.client.destroy());

const DAY = 86400;
const NOW = Math.floor(Date.now() / 1000);
const T0 = NOW - 600;

async function deliver(handler: ReturnType<typeof webhookFor>['handler'], type: HandledEventType, o: StripeEventOverrides): Promise<string> {
  const response = await handler(signedDelivery(buildStripeEvent(type, o)));
  expect(response.statusCode).toBe(200);
  return (JSON.parse(response.body) as { outcome: string }).outcome;
}

const answer = async (key: string, path = '/v1/reports'): Promise<string> => {
  const result = await authorize(tables, key, path);
  return result.effect === 'Deny' ? result.reason! : result.effect;
};

describe('a customer with several subscriptions (DynamoDB Local, real authorizer)', () => {
  it.each([
    ['an add-on whose first payment never completes', ['incomplete', 'incomplete_expired']],
    ['a second subscription it cancels', ['active', 'canceled']],
    ['a second subscription that is paused', ['trialing', 'paused']],
  ] as const)('keeps access through a paying subscription despite %s, and still applies the paying one\'s later events', async (_, [first, then]) => {
    const customer = stripeId('cus');
    const key = await seedApiKey(tables, customer);
    const { handler } = webhookFor(tables);
    const paying = stripeId('sub');
    const other = stripeId('sub');
    expect(await deliver(handler, 'customer.subscription.created', { customer, subscription: paying, status: 'active', created: T0 })).toBe('applied');
    // The second subscription is newer: with one tracked subscription per customer it took over.
    expect(await deliver(handler, 'customer.subscription.created', { customer, subscription: other, status: first, created: T0 + 10 })).toBe('applied');
    expect(await deliver(handler, 'customer.subscription.updated', { customer, subscription: other, status: then, created: T0 + 20 })).toBe('applied');
    expect(await answer(key)).toBe('Allow');

    expect(await deliver(handler, 'customer.subscription.updated', { customer, subscription: paying, status: 'unpaid', created: T0 + 30 })).toBe('applied');
    expect(await answer(key)).toBe('payment_failed');
  });

  it('names the reason of the subscription closest to access when none is in good standing', async () => {
    const customer = stripeId('cus');
    const key = await seedApiKey(tables, customer);
    const { handler } = webhookFor(tables);
    await deliver(handler, 'customer.subscription.deleted', { customer, subscription: stripeId('sub'), created: T0 });
    expect(await answer(key)).toBe('subscription_canceled');
    await deliver(handler, 'customer.subscription.paused', { customer, subscription: stripeId('sub'), created: T0 });
    expect(await answer(key)).toBe('trial_ended');
    const unpaid = stripeId('sub');
    await deliver(handler, 'customer.subscription.updated', { customer, subscription: unpaid, status: 'unpaid', created: T0 });
    await deliver(handler, 'invoice.payment_failed', { customer, subscription: unpaid, created: T0, invoiceUrl: 'https://invoice.stripe.com/i/acct_1/test_unpaid' });
    const result = await authorize(tables, key, '/v1/reports');
    expect(result).toMatchObject({ effect: 'Deny', reason: 'payment_failed', paymentUrl: 'https://invoice.stripe.com/i/acct_1/test_unpaid' });
    await deliver(handler, 'customer.subscription.created', { customer, subscription: stripeId('sub'), status: 'incomplete', created: T0 });
    expect(await answer(key)).toBe('payment_action_required');
  });

  it('keeps one subscription\'s invoices to that subscription', async () => {
    const customer = stripeId('cus');
    const key = await seedApiKey(tables, customer);
    const { handler } = webhookFor(tables);
    const [a, b] = [stripeId('sub'), stripeId('sub')];
    await deliver(handler, 'customer.subscription.updated', { customer, subscription: a, status: 'past_due', created: T0 - 5 * DAY });
    await deliver(handler, 'customer.subscription.updated', { customer, subscription: b, status: 'past_due', created: T0 - 5 * DAY });
    await deliver(handler, 'invoice.payment_failed', { customer, subscription: a, created: T0 - 5 * DAY, invoiceFinalizedAt: T0 - 5 * DAY });
    expect(await answer(key)).toBe('payment_failed');
    // B's invoice is paid: it settles B's invoice state only, and B stays past_due beyond its grace.
    expect(await deliver(handler, 'invoice.paid', { customer, subscription: b, invoice: 'in_1OtherInvoiceOfB', created: T0 })).toBe('applied');
    expect(await answer(key)).toBe('payment_failed');
    await deliver(handler, 'customer.subscription.updated', { customer, subscription: b, status: 'active', created: T0 + 1 });
    expect(await answer(key)).toBe('Allow');
  });
});

describe('the grace period (DynamoDB Local, real authorizer)', () => {
  it('ends for a past_due subscription that never had a failed payment (send_invoice collection)', async () => {
    const customer = stripeId('cus');
    const key = await seedApiKey(tables, customer);
    const { handler } = webhookFor(tables);
    await deliver(handler, 'customer.subscription.updated', { customer, status: 'active', created: T0 - 10 * DAY });
    await deliver(handler, 'customer.subscription.updated', { customer, status: 'past_due', previousStatus: 'active', created: T0 - 4 * DAY });
    expect(await answer(key)).toBe('payment_failed');
  });

  it('starts from the invoice due date when that is earlier than the first past_due event', async () => {
    const customer = stripeId('cus');
    const key = await seedApiKey(tables, customer);
    const { handler } = webhookFor(tables);
    await deliver(handler, 'customer.subscription.updated', { customer, status: 'past_due', created: T0 });
    expect(await answer(key)).toBe('Allow');
    await deliver(handler, 'invoice.payment_failed', { customer, created: T0 + 1, invoiceFinalizedAt: T0 - 20 * DAY, invoiceDueDate: T0 - 4 * DAY });
    expect(await answer(key)).toBe('payment_failed');
  });

  it('keeps running when an invoice.paid of another invoice arrives while the subscription stays past_due', async () => {
    const customer = stripeId('cus');
    const key = await seedApiKey(tables, customer);
    const { handler } = webhookFor(tables);
    await deliver(handler, 'customer.subscription.updated', { customer, status: 'past_due', created: T0 - 4 * DAY });
    await deliver(handler, 'invoice.payment_failed', { customer, created: T0 - 4 * DAY, invoiceFinalizedAt: T0 - 4 * DAY });
    await deliver(handler, 'invoice.paid', { customer, invoice: 'in_1AnotherInvoice', created: T0 });
    expect(await answer(key)).toBe('payment_failed');
  });
});

describe('invoices that end without payment (DynamoDB Local, real authorizer)', () => {
  it.each(['invoice.voided', 'invoice.marked_uncollectible'] as const)('%s leaves no payment URL, action request or invoice due date behind', async (type) => {
    const customer = stripeId('cus');
    const key = await seedApiKey(tables, customer);
    const { handler, store } = webhookFor(tables);
    await deliver(handler, 'customer.subscription.updated', { customer, status: 'active', created: T0 });
    // Every route allowed: the context's payment URL is the warning's, the open invoice's.
    await deliver(handler, 'entitlements.active_entitlement_summary.updated', { customer, entitlements: ['exports'], created: T0 });
    await deliver(handler, 'invoice.payment_action_required', { customer, created: T0, invoiceUrl: 'https://invoice.stripe.com/i/acct_1/test_3ds' });
    expect(await authorize(tables, key, '/v1/reports')).toMatchObject({ effect: 'Allow', paymentUrl: 'https://invoice.stripe.com/i/acct_1/test_3ds' });
    expect(await deliver(handler, type, { customer, created: T0 + 5 })).toBe('applied');
    const state = await store.read(customer);
    expect(Object.values(state!.invoices)).toEqual([{ invoiceId: expect.any(String), watermark: expect.any(String) }]);
    expect(await authorize(tables, key, '/v1/reports')).toEqual({ effect: 'Allow' });
  });
});

describe('a bounded customer item (DynamoDB Local)', () => {
  it('keeps a terminal subscription as a tombstone that takes no event bringing it back', async () => {
    const customer = stripeId('cus');
    const subscription = stripeId('sub');
    const { handler, store } = webhookFor(tables);
    await deliver(handler, 'customer.subscription.updated', { customer, subscription, status: 'past_due', created: T0 - 10 });
    await deliver(handler, 'invoice.payment_failed', { customer, subscription, created: T0 - 10 });
    expect(await deliver(handler, 'customer.subscription.deleted', { customer, subscription, created: T0 })).toBe('applied');
    expect(await deliver(handler, 'customer.subscription.updated', { customer, subscription, status: 'active', created: T0 + 10 })).toBe('stale');
    expect(await deliver(handler, 'invoice.voided', { customer, subscription, created: T0 + 10 })).toBe('stale');
    expect(await store.read(customer)).toMatchObject({ subscriptions: { [subscription]: { status: 'canceled' } }, invoices: {}, pastDue: {} });
  });

  it('forgets terminal subscriptions once no stale event of theirs can arrive, but the newest one', async () => {
    const customer = stripeId('cus');
    const key = await seedApiKey(tables, customer);
    const { handler, store } = webhookFor(tables);
    const [oldest, older, current] = [stripeId('sub'), stripeId('sub'), stripeId('sub')];
    await deliver(handler, 'customer.subscription.deleted', { customer, subscription: oldest, created: NOW - 60 * DAY });
    await deliver(handler, 'customer.subscription.deleted', { customer, subscription: older, created: NOW - 40 * DAY });
    await deliver(handler, 'invoice.payment_failed', { customer, subscription: stripeId('sub'), created: NOW - 40 * DAY });
    expect(Object.keys((await store.read(customer))!.invoices)).toHaveLength(1);
    await deliver(handler, 'customer.subscription.created', { customer, subscription: current, status: 'incomplete', created: T0 });
    const state = await store.read(customer);
    expect(Object.keys(state!.subscriptions).sort()).toEqual([older, current].sort());
    expect(state!.invoices).toEqual({});
    expect(await answer(key)).toBe('payment_action_required');
  });

  it('parks a subscription beyond the most one item tracks (200, not retried for days), and keeps the others', async () => {
    const customer = stripeId('cus');
    const key = await seedApiKey(tables, customer);
    const { handler, store } = webhookFor(tables);
    for (let i = 0; i < 100; i++) {
      await deliver(handler, 'customer.subscription.created', { customer, subscription: `sub_1Many${String(i).padStart(3, '0')}`, status: i === 0 ? 'active' : 'canceled', created: T0 });
    }
    const response = await handler(signedDelivery(buildStripeEvent('customer.subscription.created', { customer, subscription: 'sub_1ManyOneMore', created: T0 })));
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ outcome: 'parked', cause: 'item_limit' });
    expect(Object.keys((await store.read(customer))!.subscriptions)).toHaveLength(100);
    // A subscription it already tracks still takes its events.
    expect(await deliver(handler, 'customer.subscription.updated', { customer, subscription: 'sub_1Many000', status: 'unpaid', created: T0 + 1 })).toBe('applied');
    expect(await answer(key)).toBe('payment_failed');
  });
});
