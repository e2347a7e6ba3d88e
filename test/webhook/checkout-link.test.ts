import { buildStripeEvent, checkoutSessionObject, stripeEvent, stripeId } from '../../lib/fixtures/stripe-events';
import { checkoutLinker, dynamoCheckoutLinkStore } from '../../lambda/webhook/checkout-link';
import { freshTables, type TestTables } from '../support/dynamodb';
import { authorize, seedApiKey, signedDelivery, webhookFor } from './support';

/**
 * A payment made through a Payment Link or a plain Checkout URL (a new Stripe customer, the 402's
 * customer as client_reference_id) reaches the keys of the customer it names, and nothing else.
 */

let tables: TestTables;
beforeAll(async () => {
  tables = await freshTables('link');
});

const deliver = async (event: Record<string, unknown>) => {
  const { handler } = webhookFor(tables, { checkoutLinks: checkoutLinker(dynamoCheckoutLinkStore(tables.client, tables.names)) });
  const result = await handler(signedDelivery(event));
  expect(result.statusCode).toBe(200);
  return JSON.parse(result.body) as { outcome: string };
};

/** Stripe's events for a Payment Link checkout that created `payer`, naming `reference`. */
function paymentLinkCheckout(payer: string, reference: string | null, created: number) {
  const subscription = stripeId('sub');
  const session = { ...checkoutSessionObject({ customer: payer, subscription, created }), client_reference_id: reference, customer_creation: 'always', payment_link: 'plink_1' };
  return {
    subscription,
    events: [
      buildStripeEvent('customer.subscription.created', { customer: payer, subscription, created, lookupKey: 'pro' }),
      buildStripeEvent('invoice.paid', { customer: payer, subscription, created, invoice: stripeId('in') }),
      stripeEvent('checkout.session.completed', session, { created }),
    ],
  };
}

describe('checkout link', () => {
  it('gives the referenced customer access with its existing key, and later events of the payer follow', async () => {
    const target = 'cus_linkTarget1';
    const key = await seedApiKey(tables, target);
    expect((await authorize(tables, key, '/v1/reports')).effect).toBe('Deny');
    const payer = stripeId('cus');
    const created = Math.floor(Date.now() / 1000) - 100;
    const { subscription, events } = paymentLinkCheckout(payer, target, created);
    for (const event of events) await deliver(event);
    expect(await authorize(tables, key, '/v1/reports')).toMatchObject({ effect: 'Allow' });

    // The payer's subscription ends later: its event lands on the linked customer.
    await deliver(buildStripeEvent('customer.subscription.deleted', { customer: payer, subscription, created: created + 50 }));
    expect(await authorize(tables, key, '/v1/reports')).toMatchObject({ effect: 'Deny', reason: 'subscription_canceled' });
  });

  it('links nothing when the reference names a customer without a live key, or nobody', async () => {
    const created = Math.floor(Date.now() / 1000) - 100;
    const unknownTarget = 'cus_linkNobodyHere';
    const payer = stripeId('cus');
    for (const event of paymentLinkCheckout(payer, unknownTarget, created).events) await deliver(event);
    const store = dynamoCheckoutLinkStore(tables.client, tables.names);
    expect(await store.targetOf(payer)).toBeUndefined();
    // The payment stays on the payer's own customer, as without tollgate's link.
    const payerKey = await seedApiKey(tables, payer);
    expect(await authorize(tables, payerKey, '/v1/reports')).toMatchObject({ effect: 'Allow' });
  });

  it("never moves entitlements or a deletion onto the referenced customer, nor takes away its own subscription", async () => {
    const target = 'cus_linkVictim1';
    const key = await seedApiKey(tables, target);
    const created = Math.floor(Date.now() / 1000) - 200;
    // The named customer pays for its own plan with the exports feature.
    await deliver(buildStripeEvent('customer.subscription.created', { customer: target, subscription: stripeId('sub'), created, lookupKey: 'pro' }));
    await deliver(buildStripeEvent('entitlements.active_entitlement_summary.updated', { customer: target, created, entitlements: ['exports'] }));
    expect(await authorize(tables, key, '/v1/exports')).toMatchObject({ effect: 'Allow' });

    // A stranger pays through a link naming it, then its own customer loses entitlements, fails and is deleted.
    const payer = stripeId('cus');
    const { subscription, events } = paymentLinkCheckout(payer, target, created + 10);
    for (const event of events) await deliver(event);
    await deliver(buildStripeEvent('entitlements.active_entitlement_summary.updated', { customer: payer, created: created + 20, entitlements: [] }));
    await deliver(buildStripeEvent('customer.subscription.updated', { customer: payer, subscription, created: created + 30, status: 'unpaid' }));
    await deliver(buildStripeEvent('customer.deleted', { customer: payer, created: created + 40 }));
    expect(await authorize(tables, key, '/v1/exports')).toMatchObject({ effect: 'Allow' });
    expect(await authorize(tables, key, '/v1/reports')).toMatchObject({ effect: 'Allow' });
  });

  it('keeps the first link of a payer: a later checkout naming another customer cannot redirect its events', async () => {
    const first = 'cus_linkFirst1';
    const second = 'cus_linkSecond1';
    const firstKey = await seedApiKey(tables, first);
    const secondKey = await seedApiKey(tables, second);
    const payer = stripeId('cus');
    const created = Math.floor(Date.now() / 1000) - 100;
    for (const event of paymentLinkCheckout(payer, first, created).events) await deliver(event);
    for (const event of paymentLinkCheckout(payer, second, created + 10).events) await deliver(event);
    expect(await dynamoCheckoutLinkStore(tables.client, tables.names).targetOf(payer)).toBe(first);
    expect((await authorize(tables, firstKey, '/v1/reports')).effect).toBe('Allow');
    expect((await authorize(tables, secondKey, '/v1/reports')).effect).toBe('Deny');
  });
});
