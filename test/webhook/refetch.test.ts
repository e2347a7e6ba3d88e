import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { buildStripeEvent, stripeId, subscriptionObject } from '../../lib/stripe-events';
import { freshTables, type TestTables } from '../support/dynamodb';
import { authorize, seedApiKey, signedDelivery, snapshotTables, webhookFor } from './support';

/** A local stand-in for api.stripe.com: the routes the webhook calls, and a log of the calls. */
class FakeStripeApi {
  readonly requests: string[] = [];
  subscriptions = new Map<string, Record<string, unknown>>();
  entitlements = new Map<string, string[]>();
  failing = false;
  private server?: Server;

  async start(): Promise<Stripe> {
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      this.requests.push(`${req.method} ${url.pathname}${url.search}`);
      const send = (status: number, body: unknown): void => {
        res.writeHead(status, { 'Content-Type': 'application/json', 'Request-Id': 'req_fake' });
        res.end(JSON.stringify(body));
      };
      if (this.failing) return send(500, { error: { type: 'api_error', message: 'fake outage' } });
      const sub = /^\/v1\/subscriptions\/([^/]+)$/.exec(url.pathname);
      if (sub) {
        const found = this.subscriptions.get(sub[1]!);
        return found ? send(200, found) : send(404, { error: { type: 'invalid_request_error', message: 'No such subscription' } });
      }
      if (url.pathname === '/v1/entitlements/active_entitlements') {
        const keys = this.entitlements.get(url.searchParams.get('customer') ?? '') ?? [];
        const limit = Number(url.searchParams.get('limit') ?? 10);
        const after = url.searchParams.get('starting_after');
        const start = after === null ? 0 : keys.indexOf(after.replace(/^ent_/, '')) + 1;
        const page = keys.slice(start, start + limit);
        return send(200, {
          object: 'list',
          url: '/v1/entitlements/active_entitlements',
          has_more: start + limit < keys.length,
          data: page.map((k) => ({ id: `ent_${k}`, object: 'entitlements.active_entitlement', feature: `feat_${k}`, livemode: false, lookup_key: k })),
        });
      }
      return send(404, { error: { type: 'invalid_request_error', message: 'unknown route' } });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    return new Stripe('sk_test_fake', { host: '127.0.0.1', port, protocol: 'http', maxNetworkRetries: 0 });
  }

  stop(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

let tables: TestTables;
const api = new FakeStripeApi();
let stripe: Stripe;
beforeAll(async () => {
  tables = await freshTables('webhook-refetch');
  stripe = await api.start();
});
afterAll(async () => {
  tables.client.destroy();
  await api.stop();
});
beforeEach(() => {
  api.requests.length = 0;
  api.failing = false;
});

const T = Math.floor(Date.now() / 1000) - 60;

describe('webhook re-fetch from stripe', () => {
  it('asks stripe when two subscription events share a second, and stores what stripe says', async () => {
    const customer = stripeId('cus');
    const subscription = stripeId('sub');
    const key = await seedApiKey(tables, customer);
    // In Stripe the retry succeeded: past_due then active within one second.
    api.subscriptions.set(subscription, subscriptionObject({ customer, subscription, status: 'active', created: T - 1000 }));
    const { handler } = webhookFor(tables, { stripe });
    const active = signedDelivery(buildStripeEvent('customer.subscription.updated', { customer, subscription, status: 'active', created: T, subscriptionCreated: T - 1000 }));
    const pastDue = signedDelivery(buildStripeEvent('customer.subscription.updated', { customer, subscription, status: 'past_due', created: T, subscriptionCreated: T - 1000 }));
    expect((await handler(active)).statusCode).toBe(200);
    expect(api.requests).toEqual([]);
    const second = await handler(pastDue);
    expect(second.statusCode).toBe(200);
    expect(api.requests).toEqual([`GET /v1/subscriptions/${subscription}`]);
    const state = await webhookFor(tables).store.read(customer);
    expect(state?.subscriptions[subscription]?.status).toBe('active');
    expect((await authorize(tables, key, '/v1/reports')).effect).toBe('Allow');
  });

  it('applies the documented same-second rule when no stripe key is configured', async () => {
    const customer = stripeId('cus');
    const subscription = stripeId('sub');
    const { handler, store } = webhookFor(tables);
    await handler(signedDelivery(buildStripeEvent('customer.subscription.updated', { customer, subscription, status: 'active', created: T })));
    await handler(signedDelivery(buildStripeEvent('customer.subscription.updated', { customer, subscription, status: 'past_due', created: T })));
    // Lifecycle precedence: past_due (5) outranks active (3) within one second.
    expect((await store.read(customer))?.subscriptions[subscription]?.status).toBe('past_due');
    expect(api.requests).toEqual([]);
  });

  it('reads the subscription of a completed checkout from stripe', async () => {
    const customer = stripeId('cus');
    const subscription = stripeId('sub');
    api.subscriptions.set(subscription, subscriptionObject({ customer, subscription, status: 'trialing', lookupKey: 'pro', created: T, currentPeriodEnd: T + 14 * 86400 }));
    const { handler, store } = webhookFor(tables, { stripe });
    expect((await handler(signedDelivery(buildStripeEvent('checkout.session.completed', { customer, subscription, created: T })))).statusCode).toBe(200);
    expect(await store.read(customer)).toMatchObject({ subscriptions: { [subscription]: { status: 'trialing', plan: 'pro', currentPeriodEnd: T + 14 * 86400 } } });
  });

  it('pages the entitlements list when the summary says there are more', async () => {
    const customer = stripeId('cus');
    const all = Array.from({ length: 130 }, (_, i) => `feature${String(i).padStart(3, '0')}`);
    api.entitlements.set(customer, all);
    const { handler, store } = webhookFor(tables, { stripe });
    const event = buildStripeEvent('entitlements.active_entitlement_summary.updated', { customer, entitlements: all.slice(0, 10), entitlementsHasMore: true, created: T });
    expect((await handler(signedDelivery(event))).statusCode).toBe(200);
    expect((await store.read(customer))?.entitlements).toEqual(all);
    expect(api.requests.filter((r) => r.startsWith('GET /v1/entitlements/active_entitlements'))).toHaveLength(2);
  });

  it('keeps the first page of entitlements when no stripe key is configured', async () => {
    const customer = stripeId('cus');
    const { handler, store } = webhookFor(tables);
    const event = buildStripeEvent('entitlements.active_entitlement_summary.updated', { customer, entitlements: ['b', 'a'], entitlementsHasMore: true, created: T });
    expect((await handler(signedDelivery(event))).statusCode).toBe(200);
    expect((await store.read(customer))?.entitlements).toEqual(['a', 'b']);
  });

  it('answers 500 and writes nothing when stripe cannot be reached', async () => {
    const customer = stripeId('cus');
    const subscription = stripeId('sub');
    api.failing = true;
    const { handler } = webhookFor(tables, { stripe });
    const before = await snapshotTables(tables);
    const response = await handler(signedDelivery(buildStripeEvent('checkout.session.completed', { customer, subscription, created: T })));
    expect(response.statusCode).toBe(500);
    expect(await snapshotTables(tables)).toBe(before);
  });
});
