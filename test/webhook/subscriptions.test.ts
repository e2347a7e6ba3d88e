import { DynamoCustomerReader } from '../../lambda/authorizer/customer-store';
import { makeAuthorizerHandler } from '../../lambda/authorizer/handler';
import { evaluatePolicy } from '../../lambda/authorizer/policy';
import { renderAccessLogLine } from '../../lambda/shared/access-log';
import type { Plans } from '../../lambda/shared/customers/usage-view';
import type { RouteRule } from '../../lambda/shared/requirements';
import { checkoutLinker, dynamoCheckoutLinkStore } from '../../lambda/webhook/checkout-link';
import { buildStripeEvent, checkoutSessionObject, stripeEvent, stripeId } from '../../lib/stripe-events';
import { freshTables, type TestTables } from '../support/dynamodb';
import { quietObservability } from '../support/observability';
import { delivery, logEvents, meteringHandler, startMeterStripe, type MeterStripe } from '../metering/support';
import { API_ID, ROUTES, seedApiKey, signedDelivery, STAGE, webhookFor } from './support';

/**
 * Several subscriptions of one customer, each counted on its own (#24 items 2 and 5), end to end:
 * Stripe's events through the webhook, every call decided by the real authorizer, and its access-log
 * line (rendered from the decision's context, as the gateway does) metered at once.
 */

const PLANS: Plans = {
  sample_metered: { name: 'Metered', quota: 20, overage: 'block' },
  addon_20: { name: '20-unit add-on', quota: 20, overage: 'block' },
  sample_bill: { name: 'Pay per use', quota: 10, overage: 'bill', meter: 'api_units' },
  pro: { name: 'Pro', overage: 'block' },
};
const SEARCH: RouteRule = { method: 'GET', path: '/v1/search', requires: { kind: 'subscription' }, usage: { cost: 1 } };
const EXPORTS = ROUTES.find((r) => r.path === '/v1/exports')!;
const RULES = { routes: [{ method: 'GET', path: '/v1/search', cost: 1 }], plans: PLANS };

let tables: TestTables;
let stripe: MeterStripe;
beforeAll(async () => {
  tables = await freshTables('subscriptions');
  stripe = await startMeterStripe(() => Date.now());
});
afterAll(async () => {
  await stripe.close();
  tables.client.destroy();
});

const deliver = async (event: Record<string, unknown>): Promise<string> => {
  const { handler } = webhookFor(tables, { plans: PLANS, checkoutLinks: checkoutLinker(dynamoCheckoutLinkStore(tables.client, tables.names)) });
  const response = await handler(signedDelivery(event));
  expect(response.statusCode).toBe(200);
  return (JSON.parse(response.body) as { outcome: string }).outcome;
};

let requests = 0;
/** One call: the authorizer's decision, then (when allowed and served) its access-log line metered at once. */
async function call(key: string, route: RouteRule = SEARCH): Promise<{ effect: string; reason?: unknown }> {
  const authorizer = makeAuthorizerHandler({
    customers: new DynamoCustomerReader(tables.client, tables.names.customers),
    settings: { customersTable: tables.names.customers, routes: [SEARCH, EXPORTS], gracePeriodSeconds: 0, plans: PLANS },
    observability: quietObservability(),
  });
  const methodArn = `arn:aws:execute-api:us-east-1:123456789012:${API_ID}/${STAGE}/${route.method}${route.path}`;
  const result = await authorizer({ type: 'REQUEST', methodArn, resource: route.path, path: route.path, httpMethod: route.method, headers: { Authorization: `Bearer ${key}` } } as never);
  const effect = evaluatePolicy(result.policyDocument, methodArn);
  const context = result.context ?? {};
  const line = renderAccessLogLine({
    'context.requestId': `req-${++requests}`,
    'context.httpMethod': route.method,
    'context.resourcePath': route.path,
    'context.status': effect === 'Allow' ? 200 : 402,
    ...Object.fromEntries(Object.entries(context).map(([name, value]) => [`context.authorizer.${name}`, value])),
  });
  const { handler } = meteringHandler(tables, { rules: RULES, reporter: stripe.reporter, now: () => new Date() });
  const metered = await handler(delivery(logEvents([line], Date.now()), `calls-${requests}`));
  // A served call on a route sold by use is counted before the next one is decided; nothing else is counted.
  expect(metered).toMatchObject(effect === 'Allow' && route.usage !== undefined ? { applied: 1 } : { countedCalls: 0 });
  return effect === 'Allow' ? { effect } : { effect, reason: context.reason };
}

/** `n` calls; the answers counted by effect and reason. */
async function calls(key: string, n: number): Promise<Record<string, number>> {
  const tally: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const { effect, reason } = await call(key);
    const outcome = effect === 'Allow' ? 'allowed' : String(reason);
    tally[outcome] = (tally[outcome] ?? 0) + 1;
  }
  return tally;
}

const now = (): number => Math.floor(Date.now() / 1000);

describe('one usage counter per subscription (#24 item 2)', () => {
  it('a second counted subscription adds its own quota and nothing more: the first one stays used up', async () => {
    const customer = stripeId('cus');
    const key = await seedApiKey(tables, customer);
    const created = now() - 100;
    expect(await deliver(buildStripeEvent('customer.subscription.created', { customer, subscription: 'sub_1first', created, lookupKey: 'sample_metered', currentPeriodEnd: created + 10 * 86_400 }))).toBe('applied');
    expect(await calls(key, 25)).toEqual({ allowed: 20, quota_exceeded: 5 });

    // A second subscription of a counted plan, whose period ends later.
    expect(await deliver(buildStripeEvent('customer.subscription.created', { customer, subscription: 'sub_2second', created: created + 1, lookupKey: 'sample_metered', currentPeriodEnd: created + 30 * 86_400 }))).toBe('applied');
    // Its 20 units, then 402: never 100 more calls on a counter that says 0.
    expect(await calls(key, 100)).toEqual({ allowed: 20, quota_exceeded: 80 });
  });

  it('an unlimited plan beside a 20-unit add-on stays open past the add-on\'s 20 units', async () => {
    const customer = stripeId('cus');
    const key = await seedApiKey(tables, customer);
    const created = now() - 100;
    // The add-on's id sorts first: it would decide on its own.
    await deliver(buildStripeEvent('customer.subscription.created', { customer, subscription: 'sub_1addon', created, lookupKey: 'addon_20' }));
    await deliver(buildStripeEvent('customer.subscription.created', { customer, subscription: 'sub_2pro', created: created + 1, lookupKey: 'pro' }));
    expect(await calls(key, 30)).toEqual({ allowed: 30 });
  });
});

/** Stripe's events for a Payment Link checkout that created `payer`, naming `reference`. */
function paymentLinkCheckout(payer: string, reference: string, created: number, lookupKey: string) {
  const subscription = stripeId('sub');
  const session = { ...checkoutSessionObject({ customer: payer, subscription, created }), client_reference_id: reference, customer_creation: 'always', payment_link: 'plink_1' };
  return {
    subscription,
    events: [
      stripeEvent('checkout.session.completed', session, { created }),
      buildStripeEvent('customer.subscription.created', { customer: payer, subscription, created, lookupKey }),
      buildStripeEvent('invoice.paid', { customer: payer, subscription, created, invoice: stripeId('in') }),
    ],
  };
}

describe('the payer of a subscription bought through a Payment Link (#24 item 5)', () => {
  it("reports a bill plan's overage to the payer's Stripe customer, who is invoiced for it", async () => {
    const holder = stripeId('cus');
    const payer = stripeId('cus');
    const key = await seedApiKey(tables, holder);
    for (const event of paymentLinkCheckout(payer, holder, now() - 100, 'sample_bill').events) await deliver(event);
    // 10 in the quota, 3 over it: billed.
    expect(await calls(key, 13)).toEqual({ allowed: 13 });
    const reported = stripe.meterEvents.events().filter((e) => e.payload.stripe_customer_id === payer || e.payload.stripe_customer_id === holder);
    expect(reported.map((e) => [e.payload.stripe_customer_id, e.event_name, Number(e.payload.value)])).toEqual([
      [payer, 'api_units', 1],
      [payer, 'api_units', 1],
      [payer, 'api_units', 1],
    ]);
  });

  it("opens entitlement routes on the entitlements the payer's subscription brought, while it is in good standing", async () => {
    const holder = stripeId('cus');
    const payer = stripeId('cus');
    const key = await seedApiKey(tables, holder);
    const created = now() - 100;
    const { subscription, events } = paymentLinkCheckout(payer, holder, created, 'pro');
    for (const event of events) await deliver(event);
    expect(await deliver(buildStripeEvent('entitlements.active_entitlement_summary.updated', { customer: payer, created: created + 1, entitlements: ['exports'] }))).toBe('applied');
    expect(await call(key, EXPORTS)).toEqual({ effect: 'Allow' });

    // The payer's subscription fails: what it brought goes with it.
    await deliver(buildStripeEvent('customer.subscription.updated', { customer: payer, subscription, created: created + 2, status: 'unpaid' }));
    expect(await call(key, EXPORTS)).toMatchObject({ effect: 'Deny' });
  });
});
