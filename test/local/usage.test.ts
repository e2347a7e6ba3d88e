import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as path from 'node:path';
import { createApiKey } from '../../lambda/shared/customers/keys';
import { deliverEvent } from '../../lib/local/demo';
import { buildLocalDocument, createLocalApi, LOCAL_WEBHOOK_SECRET, type LocalApi } from '../../lib/local/stack';
import { loadProjectConfig } from '../../lib/config/tollgate-config';
import { buildStripeEvent, serializeEvent, signPayload } from '../../lib/stripe-events';
import { freshTables, setCustomerAttributes, type TestTables } from '../support/dynamodb';
import { answeredWithin } from '../support/poll';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

const ROOT = path.join(__dirname, '..', '..');
const config = loadProjectConfig(ROOT);
const built = buildLocalDocument(config, ROOT);

/** The sample's usage story through the local gateway: the same document, handlers and gateway responses as deployed. */
describe('selling by use on the local gateway', () => {
  let tables: TestTables;
  let api: LocalApi;
  let documents: DynamoDBDocumentClient;
  let seq = 0;
  const get = (p: string, key: string) => api.gateway.handle({ method: 'GET', path: `/${config.stageName}${p}`, headers: { Authorization: `Bearer ${key}` } });
  const json = (buffer: Buffer): any => JSON.parse(buffer.toString('utf8'));
  const set = (customerId: string, values: Record<string, unknown>) => setCustomerAttributes(documents, tables.names.customers, customerId, values);
  const customer = async (): Promise<{ customerId: string; key: string }> => {
    const customerId = `cus_localusage${++seq}`;
    const { key } = await createApiKey({ client: tables.client, tables: tables.names }, { customerId });
    return { customerId, key };
  };
  const subscribe = (customerId: string) =>
    deliverEvent(api.gateway, { type: 'customer.subscription.created', customerId, status: 'active', plan: 'sample_metered', created: Math.floor(Date.now() / 1000) - 60 }, LOCAL_WEBHOOK_SECRET);

  beforeAll(async () => {
    tables = await freshTables('local-usage');
    documents = DynamoDBDocumentClient.from(tables.client);
    api = createLocalApi({ config, built, dynamodbEndpoint: tables.endpoint, tables: tables.names, webhookSecret: LOCAL_WEBHOOK_SECRET });
  });
  afterAll(() => {
    api.destroy();
    tables.client.destroy();
  });

  it('answers quota_exceeded as valid problem+json with limit, used and resetsAt, while the standing routes stay open', async () => {
    const { customerId, key } = await customer();
    expect((await subscribe(customerId)).statusCode).toBe(200);
    const end: number = Date.parse(json((await get('/tollgate/usage', key)).body).period.end) / 1000;
    await set(customerId, { periodUsed: 20, usagePeriodEnd: end });
    const denied = await get('/v1/search?q=x', key);
    expect(denied.statusCode).toBe(402);
    expect(denied.headers['content-type']).toBe('application/problem+json');
    expect(json(denied.body)).toMatchObject({
      // The stack's own problem page and portal, on the local gateway's domain.
      type: 'http://127.0.0.1/prod/tollgate/problems/quota_exceeded',
      reason: 'quota_exceeded',
      status: 402,
      limit: 20,
      used: 20,
      resetsAt: new Date(end * 1000).toISOString(),
      balance: null,
      paymentUrl: 'http://127.0.0.1/prod/tollgate/portal/account',
    });
    expect((await get('/v1/quotes', key)).statusCode).toBe(200);
  });

  it('answers credits_exhausted with the balance to a pay-as-you-go caller, and 200 after a top-up event', async () => {
    const { customerId, key } = await customer();
    await set(customerId, { credits: 0 });
    const denied = await get('/v1/search?q=x', key);
    expect(denied.statusCode).toBe(402);
    expect(json(denied.body)).toMatchObject({ reason: 'credits_exhausted', balance: 0, limit: null, used: null, resetsAt: null, subscriptionStatus: 'none' });
    // A no-subscription caller keeps the free tier.
    expect((await get('/v1/ping', key)).statusCode).toBe(200);

    const topUp = buildStripeEvent('checkout.session.completed', { customer: customerId, checkoutMode: 'payment', credits: 5 });
    const payload = serializeEvent(topUp);
    const delivered = await api.gateway.handle({
      method: 'POST',
      path: `/${config.stageName}/webhooks/stripe`,
      headers: { 'Content-Type': 'application/json', 'Stripe-Signature': signPayload(payload, LOCAL_WEBHOOK_SECRET) },
      body: Buffer.from(payload),
    });
    expect(delivered.statusCode).toBe(200);
    const after = await answeredWithin(() => get('/v1/search?q=x', key), (a) => a.statusCode === 200);
    expect(after.statusCode).toBe(200);
    expect(json(after.body)).toMatchObject({ route: 'GET /v1/search', query: 'x' });
  });

  it('passes a call without q to the backend, which answers 400', async () => {
    const { customerId, key } = await customer();
    await subscribe(customerId);
    const res = await get('/v1/search', key);
    expect(res.statusCode).toBe(400);
    expect(json(res.body)).toEqual({ error: 'missing_query', message: 'add ?q=<what to search for>' });
  });

  it('caches the metered and the standing decisions apart: one authorizer each', async () => {
    const { customerId, key } = await customer();
    await subscribe(customerId);
    expect((await get('/v1/quotes', key)).diagnostics.authorizer).toBe('invoked');
    expect((await get('/v1/search?q=a', key)).diagnostics.authorizer).toBe('invoked');
    expect((await get('/v1/search?q=b', key)).diagnostics.authorizer).toBe('cache');
    expect((await get('/v1/quotes', key)).diagnostics.authorizer).toBe('cache');
  });

  it('tells any valid key its plan, period, usage and credits at /tollgate/usage', async () => {
    const { customerId, key } = await customer();
    await subscribe(customerId);
    const first = json((await get('/tollgate/usage', key)).body);
    await set(customerId, { periodUsed: 7, usagePeriodEnd: Date.parse(first.period.end) / 1000, credits: 40 });
    const res = await get('/tollgate/usage', key);
    expect(res.statusCode).toBe(200);
    expect(json(res.body)).toEqual({
      customerId,
      plan: { key: 'sample_metered', name: 'Metered' },
      // The fixture subscription's item runs 30 days to its period end.
      period: { start: new Date(Date.parse(first.period.end) - 30 * 86_400_000).toISOString(), end: first.period.end },
      used: 7,
      limit: 20,
      remaining: 13,
      overage: 'block',
      credits: 40,
      resetsAt: first.period.end,
      grants: [],
    });
    const free = await customer();
    expect(json((await get('/tollgate/usage', free.key)).body)).toMatchObject({ plan: null, period: null, used: 0, limit: null, remaining: null, credits: null });
    expect((await api.gateway.handle({ method: 'GET', path: `/${config.stageName}/tollgate/usage`, headers: {} })).statusCode).toBe(401);
  });

});
