import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import Stripe from 'stripe';
import { HANDLED_EVENT_TYPES, STRIPE_API_VERSION } from '../../lib/stripe-events';
import { metersResource } from '../../lib/local/stripe-api/meters';
import { pricesResource } from '../../lib/local/stripe-api/prices';
import { productsResource } from '../../lib/local/stripe-api/products';
import { startFakeStripeApi, type FakeStripeApi } from '../../lib/local/stripe-api/server';
import { createFakeStripeStore, type FakeStripeStore } from '../../lib/local/stripe-api/store';
import { eventDestinationsResource, webhookEndpointsResource } from '../../lib/local/stripe-api/webhook-endpoints';
import { HANDLED_THIN_EVENT_TYPES } from '../../lambda/webhook/thin-events';
import { run, ROOT } from './support';

/**
 * `tollgate stripe setup` against the fake of Stripe's API: the objects the configuration names, each
 * created once however often it runs, and the endpoint with exactly the events the webhook handles.
 */

const WEBHOOK_URL = 'https://abc123.execute-api.us-east-1.amazonaws.com/prod/webhooks/stripe';

describe('tollgate stripe setup', () => {
  let api: FakeStripeApi;
  let store: FakeStripeStore;
  let root: string;
  const io = { stripe: (key: string) => new Stripe(key, { host: api.host, port: api.port, protocol: 'http', maxNetworkRetries: 0 }) };
  const env = { STRIPE_API_KEY: 'sk_test_tollgate_setup' };

  beforeEach(async () => {
    store = createFakeStripeStore({ checkout: (id) => `http://127.0.0.1/checkout/${id}`, billingPortal: (id) => `http://127.0.0.1/billing/${id}` });
    api = await startFakeStripeApi({ resources: [productsResource(store), pricesResource(store), metersResource(store), webhookEndpointsResource(store), eventDestinationsResource(store)] });
    // A project of its own: the sample document, plans that bill overage to a meter, a credit pack.
    root = mkdtempSync(path.join(tmpdir(), 'tollgate-stripe-setup-'));
    writeFileSync(
      path.join(root, 'cdk.json'),
      JSON.stringify({
        context: {
          'tollgate:openApiDocument': path.join(ROOT, 'api', 'openapi.json'),
          'tollgate:stripeApiKeySecretName': 'tollgate/stripe-api-key',
          'tollgate:plans': { pro: { name: 'Pro' }, scale: { name: 'Scale', quota: 1000, overage: 'bill', meter: 'api_calls' }, price_1Legacy: { name: 'Legacy' } },
          'tollgate:creditPacks': [{ id: 'credits_100', name: '100 credits', credits: 100, price: 'credits_100' }],
        },
      }),
    );
  });
  afterEach(async () => {
    await api.close();
    rmSync(root, { recursive: true, force: true });
  });

  const setup = (argv: string[] = [], extraEnv: Record<string, string> = {}) => run(['stripe', 'setup', '--webhook-url', WEBHOOK_URL, ...argv], { ...env, ...extraEnv }, { ...io, root });
  const posts = (pathname: RegExp) => api.requests.filter((r) => r.method === 'POST' && pathname.test(r.path));

  it('creates each object once: a second run finds everything and creates nothing', async () => {
    const first = await setup(['--json', '--price', 'pro=2900']);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    const created = JSON.parse(first.stdout);
    expect(created.mode).toBe('test');
    const priceKeys = [...store.prices.values()].map((p) => p.lookup_key).sort();
    expect(priceKeys).toEqual(['api_calls_metered', 'credits_100', 'pro', 'scale']);
    expect(store.products.size).toBe(4);
    expect([...store.meters.values()].map((m) => m.event_name)).toEqual(['api_calls']);
    expect(store.webhookEndpoints.size).toBe(1);
    expect(store.eventDestinations.size).toBe(1);
    const requestsAfterFirst = api.requests.length;
    const creations = posts(/^\/v1\/(products|prices|billing\/meters|webhook_endpoints)$|^\/v2\/core\/event_destinations$/).length;
    expect(creations).toBe(4 + 4 + 1 + 1 + 1);

    const second = await setup(['--json', '--price', 'pro=2900']);
    expect(second).toMatchObject({ code: 0, stderr: '' });
    const again = JSON.parse(second.stdout);
    expect(again.objects.map((o: { action: string }) => o.action)).toEqual(again.objects.map(() => 'found'));
    expect(again.webhookEndpoint).toMatchObject({ action: 'found', url: WEBHOOK_URL });
    expect(again.webhookEndpoint.secret).toBeUndefined();
    expect(again.eventDestination).toMatchObject({ action: 'found', url: WEBHOOK_URL });
    expect(again.eventDestination.secret).toBeUndefined();
    // Only look-ups the second time: no POST at all.
    expect(api.requests.slice(requestsAfterFirst).filter((r) => r.method === 'POST')).toEqual([]);
    expect(store.prices.size).toBe(4);
    expect(store.products.size).toBe(4);
    expect(store.meters.size).toBe(1);
    expect(store.webhookEndpoints.size).toBe(1);
    expect(store.eventDestinations.size).toBe(1);
  });

  it('creates prices with the lookup keys, amounts and kinds the configuration names', async () => {
    expect((await setup(['--price', 'pro=2900', '--currency', 'EUR'])).code).toBe(0);
    const byKey = new Map([...store.prices.values()].map((p) => [p.lookup_key, p]));
    expect(byKey.get('pro')).toMatchObject({ unit_amount: 2900, currency: 'eur', type: 'recurring', recurring: { interval: 'month', usage_type: 'licensed' }, nickname: 'Pro' });
    expect(byKey.get('scale')).toMatchObject({ unit_amount: 500, type: 'recurring' });
    expect(byKey.get('credits_100')).toMatchObject({ unit_amount: 1000, type: 'one_time', recurring: null });
    const meter = [...store.meters.values()][0]!;
    expect(meter).toMatchObject({ default_aggregation: { formula: 'sum' }, customer_mapping: { event_payload_key: 'stripe_customer_id', type: 'by_id' }, value_settings: { event_payload_key: 'value' } });
    expect(byKey.get('api_calls_metered')).toMatchObject({ type: 'recurring', recurring: { usage_type: 'metered', meter: meter.id }, unit_amount: 1 });
    // A plan named by its price id exists already: nothing is created for it.
    expect([...store.products.keys()].some((id) => id.includes('Legacy'))).toBe(false);
  });

  it('registers the endpoint with exactly the event types the webhook handles, and prints each secret with its command', async () => {
    const result = await setup();
    expect(result.code).toBe(0);
    const endpoint = [...store.webhookEndpoints.values()][0]!;
    expect(endpoint.url).toBe(WEBHOOK_URL);
    expect([...endpoint.enabled_events].sort()).toEqual([...HANDLED_EVENT_TYPES].sort());
    expect(endpoint.api_version).toBe(STRIPE_API_VERSION);
    const secret = /webhook signing secret \(shown only this once by Stripe\): (whsec_\w+)/.exec(result.stdout)?.[1];
    expect(secret).toBeDefined();
    // The thin events tollgate handles come from an event destination to the same URL, with a secret of its own.
    const destination = [...store.eventDestinations.values()][0]!;
    expect(destination).toMatchObject({ type: 'webhook_endpoint', event_payload: 'thin', webhook_endpoint: { url: WEBHOOK_URL } });
    expect([...destination.enabled_events]).toEqual([...HANDLED_THIN_EVENT_TYPES]);
    const thinSecret = /event destination signing secret \(shown only this once by Stripe\): (whsec_\w+)/.exec(result.stdout)?.[1];
    expect(thinSecret).toBe(destination.webhook_endpoint.signing_secret);
    expect(result.stdout).toContain(`aws secretsmanager put-secret-value --secret-id tollgate/stripe-webhook-secret --secret-string '${secret},${thinSecret}'`);
    expect(result.stdout).toContain("aws secretsmanager create-secret --name tollgate/stripe-api-key --secret-string 'rk_test_...'");
    expect(result.stdout).toMatch(/^ {2}created {2}meter +api_calls {2}mtr_test_/m);
  });

  it('corrects the events of a thin-event destination registered by hand for the same URL, and leaves other destinations alone', async () => {
    const stripe = io.stripe(env.STRIPE_API_KEY);
    const byHand = await stripe.v2.core.eventDestinations.create({ name: 'by hand', type: 'webhook_endpoint', event_payload: 'thin', enabled_events: ['v1.billing.meter.no_meter_found'], webhook_endpoint: { url: WEBHOOK_URL } });
    await stripe.v2.core.eventDestinations.create({ name: 'elsewhere', type: 'webhook_endpoint', event_payload: 'thin', enabled_events: ['v1.billing.meter.no_meter_found'], webhook_endpoint: { url: 'https://example.com/hook' } });
    const result = JSON.parse((await setup(['--json'])).stdout);
    expect(result.eventDestination).toMatchObject({ action: 'updated', id: byHand.id });
    expect(store.eventDestinations.size).toBe(2);
    expect(store.eventDestinations.get(byHand.id)!.enabled_events).toEqual([...HANDLED_THIN_EVENT_TYPES]);
    expect([...store.eventDestinations.values()].find((d) => d.id !== byHand.id)!.enabled_events).toEqual(['v1.billing.meter.no_meter_found']);
  });

  it('corrects the events of an endpoint registered by hand for the same URL', async () => {
    const stripe = io.stripe(env.STRIPE_API_KEY);
    await stripe.webhookEndpoints.create({ url: WEBHOOK_URL, enabled_events: ['invoice.paid', 'charge.succeeded'] });
    const result = JSON.parse((await setup(['--json'])).stdout);
    expect(result.webhookEndpoint).toMatchObject({ action: 'updated' });
    expect(store.webhookEndpoints.size).toBe(1);
    expect([...[...store.webhookEndpoints.values()][0]!.enabled_events].sort()).toEqual([...HANDLED_EVENT_TYPES].sort());
  });

  it('refuses a live-mode key unless --live is passed', async () => {
    const refused = await setup([], { STRIPE_API_KEY: 'sk_live_tollgate_setup' });
    expect(refused).toMatchObject({ code: 1 });
    expect(refused.stderr).toMatch(/live-mode key.*--live/);
    expect(api.requests).toEqual([]);
    const allowed = await setup(['--live', '--json'], { STRIPE_API_KEY: 'rk_live_tollgate_setup' });
    expect(allowed.code).toBe(0);
    expect(JSON.parse(allowed.stdout).mode).toBe('live');
  });

  it('says what to set when there is no key, or it is not a secret key, and rejects a bad --price', async () => {
    expect((await run(['stripe', 'setup'], {}, { ...io, root })).stderr).toMatch(/set STRIPE_API_KEY/);
    expect((await setup([], { STRIPE_API_KEY: 'pk_test_publishable' })).stderr).toMatch(/not a Stripe secret key/);
    const bad = await setup(['--price', 'pro=29.00']);
    expect(bad).toMatchObject({ code: 2 });
    expect(bad.stderr).toMatch(/--price "pro=29.00" is invalid/);
    expect(api.requests).toEqual([]);
  });

  it('reads the webhook URL from the stack outputs, and without one skips the endpoint and says how to add it', async () => {
    const outputs = path.join(root, 'cdk-outputs.json');
    const url = 'https://xyz.execute-api.eu-west-1.amazonaws.com/prod/webhooks/stripe';
    writeFileSync(
      outputs,
      JSON.stringify({ Tollgate: { ApiUrl: 'https://xyz.execute-api.eu-west-1.amazonaws.com/prod/', StripeWebhookUrl: url, CustomersTableName: 'c', ApiKeysTableName: 'k', EventsTableName: 'e', UsageTableName: 'u', RestApiId: 'xyz', StageName: 'prod' } }),
    );
    const none = await run(['stripe', 'setup'], env, { ...io, root });
    expect(none.code).toBe(0);
    expect(none.stdout).toMatch(/note: webhook endpoint: not set up/);
    expect(store.webhookEndpoints.size).toBe(0);
    expect((await run(['stripe', 'setup', '--outputs', outputs], env, { ...io, root })).code).toBe(0);
    expect([...store.webhookEndpoints.values()].map((e) => e.url)).toEqual([url]);
  });
});
