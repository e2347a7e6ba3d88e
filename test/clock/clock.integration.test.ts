import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import * as path from 'node:path';
import { PERIOD_MS, SETTLE_MS } from '../../lambda/clock/schedule';
import { bucketOf } from '../../lambda/shared/boundaries';
import { createApiKey, rotateApiKey, type ApiKeyStore } from '../../lambda/shared/customers/keys';
import { deliverEvent } from '../../lib/local/demo';
import { buildLocalDocument, createLocalApi, LOCAL_WEBHOOK_SECRET, type LocalApi } from '../../lib/local/stack';
import { loadProjectConfig } from '../../lib/config/tollgate-config';
import { freshTables, type TestTables } from '../support/dynamodb';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

const ROOT = path.join(__dirname, '..', '..');
const config = loadProjectConfig(ROOT);
const built = buildLocalDocument(config, ROOT);
const GRACE_MS = config.gracePeriodHours * 3600 * 1000;

describe('the clock, through the local gateway (300 s authorizer TTL)', () => {
  let tables: TestTables;
  let api: LocalApi;
  // One injected clock for the gateway's cache, the handlers, the key store and the clock's waits.
  let t = Date.now();
  const keys = (): ApiKeyStore => ({ client: tables.client, tables: tables.names, now: () => new Date(t) });
  const get = (p: string, key: string) => api.gateway.handle({ method: 'GET', path: `/${config.stageName}${p}`, headers: { Authorization: `Bearer ${key}` } });
  /** The clock run whose own window holds `due` (its window opens one period after it is scheduled). */
  const runOwning = (due: number) => api.clock(new Date(due - PERIOD_MS - PERIOD_MS / 2));

  beforeAll(async () => {
    expect(config.authorizerCacheTtlSeconds).toBe(300);
    tables = await freshTables('clock');
    api = createLocalApi({
      config,
      built,
      dynamodbEndpoint: tables.endpoint,
      tables: tables.names,
      webhookSecret: LOCAL_WEBHOOK_SECRET,
      now: () => t,
      sleep: (ms) => {
        t += ms;
        return Promise.resolve();
      },
    });
  });
  beforeEach(() => {
    // Stripe signs with the real time: deliveries happen near it.
    t = Date.now();
  });
  afterAll(() => {
    api.destroy();
    tables.client.destroy();
  });

  it('answers 401 at once for a key whose expiry has passed, once the clock has run', async () => {
    const expiresAt = t + 10 * 60_000;
    const { key } = await createApiKey(keys(), { customerId: 'cus_ClockExpiry', expiresAt: new Date(expiresAt) });
    t = expiresAt - 10_000;
    expect((await get('/v1/ping', key)).statusCode).toBe(200);
    t = expiresAt + 1_000;
    // The defect: the cached Allow outlives the key by up to the TTL.
    const cached = await get('/v1/ping', key);
    expect([cached.statusCode, cached.diagnostics.authorizer]).toEqual([200, 'cache']);

    const run = await runOwning(expiresAt);

    expect(run.flushes).toBe(1);
    expect(t).toBe(expiresAt + SETTLE_MS);
    const after = await get('/v1/ping', key);
    expect([after.statusCode, after.diagnostics.authorizer]).toEqual([401, 'invoked']);
  });

  it('answers 402 at once when a grace period ends, once the clock has run', async () => {
    const customerId = 'cus_ClockGrace';
    const created = Math.floor(t / 1000);
    const { key } = await createApiKey(keys(), { customerId });
    const delivered = await deliverEvent(api.gateway, { type: 'customer.subscription.updated', customerId, status: 'past_due', created }, LOCAL_WEBHOOK_SECRET);
    expect(delivered.statusCode).toBe(200);
    const graceEnds = created * 1000 + GRACE_MS;
    t = graceEnds - 10_000;
    expect((await get('/v1/quotes', key)).statusCode).toBe(200);
    t = graceEnds + 1_000;
    expect((await get('/v1/quotes', key)).statusCode).toBe(200);

    const run = await runOwning(graceEnds);

    expect(run.flushes).toBe(1);
    const after = await get('/v1/quotes', key);
    expect(after.statusCode).toBe(402);
    expect(JSON.parse(after.body.toString('utf8'))).toMatchObject({ reason: 'payment_failed' });
  });

  it('flushes nothing when no recorded boundary falls in the run\'s window', async () => {
    const expiresAt = t + 20 * 60_000;
    const { key } = await createApiKey(keys(), { customerId: 'cus_ClockQuiet', expiresAt: new Date(expiresAt) });
    expect((await get('/v1/ping', key)).statusCode).toBe(200);
    const run = await api.clock(new Date(t));
    expect(run).toMatchObject({ due: 0, flushes: 0 });
    expect((await get('/v1/ping', key)).diagnostics.authorizer).toBe('cache');
  });

  it('catches up a boundary recorded after the run owning it looked: a rotation with no overlap', async () => {
    const { key, keyId } = await createApiKey(keys(), { customerId: 'cus_ClockRotate' });
    expect((await get('/v1/ping', key)).statusCode).toBe(200);
    const rotatedAt = t;
    // The run owning this instant looks before the rotation is recorded, and finds nothing.
    expect((await runOwning(rotatedAt)).flushes).toBe(0);
    await rotateApiKey(keys(), keyId, { overlapSeconds: 0 });
    expect((await get('/v1/ping', key)).diagnostics.authorizer).toBe('cache');

    const next = await runOwning(rotatedAt + PERIOD_MS);

    expect(next.flushes).toBe(1);
    expect((await get('/v1/ping', key)).statusCode).toBe(401);
  });

  it('records the boundaries in the hour bucket of their instant', async () => {
    const expiresAt = t + 30 * 60_000;
    await createApiKey(keys(), { customerId: 'cus_ClockBucket', expiresAt: new Date(expiresAt) });
    const { Items } = await api.clients[0]!.send(
      new QueryCommand({ TableName: tables.names.boundaries, KeyConditionExpression: '#b = :b AND #at = :at', ExpressionAttributeNames: { '#b': 'bucket', '#at': 'at' }, ExpressionAttributeValues: { ':b': bucketOf('at', expiresAt), ':at': expiresAt } }),
    );
    expect(Items).toEqual([{ bucket: bucketOf('at', expiresAt), at: expiresAt, recordedAt: t, expiresAt: Math.ceil(expiresAt / 1000) + 86_400 }]);
  });
});
