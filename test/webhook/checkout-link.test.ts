import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { buildStripeEvent, checkoutSessionObject, stripeEvent, stripeId } from '../../lib/stripe-events';
import { checkoutLinker, dynamoCheckoutLinkStore } from '../../lambda/webhook/checkout-link';
import { createApiKey, revokeApiKey } from '../../lambda/shared/customers/keys';
import { readCustomer } from '../../lambda/shared/customers/store';
import { walletKey } from '../../lambda/shared/customers/wallet';
import { freshTables, type TestTables } from '../support/dynamodb';
import { authorize, ROUTES, seedApiKey, signedDelivery, snapshotTables, webhookFor } from './support';

/**
 * A payment made through a Payment Link or a plain Checkout URL (a new Stripe customer, the 402's
 * customer as client_reference_id) reaches the keys of the customer it names, and nothing else.
 */

/** The support routes and one sold by use (1 unit a call, by subscription or credits). */
const METERED_ROUTES = [...ROUTES, { method: 'GET', path: '/v1/search', requires: { kind: 'subscription' }, usage: { cost: 1 } } as const];

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

const creditsOf = async (customerId: string): Promise<number | undefined> => (await readCustomer(tables.client, tables.names.customers, customerId))?.credits;

/** A credit pack bought through a Payment Link: a paid one-time checkout with the units in its metadata; `payer` null: a guest checkout (no Stripe customer). */
function creditsLinkCheckout(payer: string | null, reference: string | null, credits: number, created: number) {
  const session = {
    ...checkoutSessionObject({ customer: payer ?? undefined, created, checkoutMode: 'payment', credits }),
    customer: payer,
    client_reference_id: reference,
    customer_creation: payer === null ? 'if_required' : 'always',
    payment_link: 'plink_credits',
  };
  return stripeEvent('checkout.session.completed', session, { created });
}

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

  it('credits a pack bought through a link to the referenced customer, once, and its key then passes a route sold by use', async () => {
    const target = 'cus_linkCredits1';
    const key = await seedApiKey(tables, target);
    await tables.client.send(new UpdateItemCommand({ TableName: tables.names.customers, Key: { customerId: { S: walletKey(target) } }, UpdateExpression: 'SET balance = :zero', ExpressionAttributeValues: { ':zero': { N: '0' } } }));
    expect(await authorize(tables, key, '/v1/search', undefined, METERED_ROUTES)).toMatchObject({ effect: 'Deny', reason: 'credits_exhausted' });

    const payer = stripeId('cus');
    const event = creditsLinkCheckout(payer, target, 100, Math.floor(Date.now() / 1000) - 30);
    expect(await deliver(event)).toMatchObject({ outcome: 'applied' });
    expect(await creditsOf(target)).toBe(100);
    expect(await creditsOf(payer)).toBeUndefined();
    expect(await dynamoCheckoutLinkStore(tables.client, tables.names).targetOf(payer)).toBe(target);
    expect(await authorize(tables, key, '/v1/search', undefined, METERED_ROUTES)).toMatchObject({ effect: 'Allow' });

    // Stripe redelivers: nothing more is added.
    expect(await deliver(event)).toMatchObject({ outcome: 'duplicate' });
    expect(await creditsOf(target)).toBe(100);
  });

  it('credits a guest checkout (no Stripe customer) to the reference only when it holds a live key', async () => {
    const target = 'cus_linkGuest1';
    await seedApiKey(tables, target);
    expect(await deliver(creditsLinkCheckout(null, target, 40, Math.floor(Date.now() / 1000) - 30))).toMatchObject({ outcome: 'applied' });
    expect(await creditsOf(target)).toBe(40);
  });

  it('grants nothing to anyone when a credits checkout names a customer without a live key', async () => {
    const revoked = 'cus_linkRevoked1';
    const keys = { client: tables.client, tables: tables.names };
    await revokeApiKey(keys, (await createApiKey(keys, { customerId: revoked })).keyId);
    const created = Math.floor(Date.now() / 1000) - 30;
    for (const reference of [revoked, 'cus_linkNobodyAtAll']) {
      // A guest checkout names only the reference: nothing is written at all.
      const before = await snapshotTables(tables);
      expect(await deliver(creditsLinkCheckout(null, reference, 50, created))).toMatchObject({ outcome: 'ignored' });
      expect(await snapshotTables(tables)).toBe(before);

      // A checkout that created a customer: no link; the units stay on the payer's own new customer, which holds no key.
      const payer = stripeId('cus');
      await deliver(creditsLinkCheckout(payer, reference, 50, created));
      expect(await creditsOf(reference)).toBeUndefined();
      expect(await dynamoCheckoutLinkStore(tables.client, tables.names).targetOf(payer)).toBeUndefined();
      expect(Object.keys((await readCustomer(tables.client, tables.names.customers, payer))?.apiKeys ?? {})).toEqual([]);
    }
  });
});
