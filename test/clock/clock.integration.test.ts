import * as path from 'node:path';
import { TooManyRequestsException } from '@aws-sdk/client-api-gateway';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { createApiKey, rotateApiKey, type ApiKeyStore } from '../../lambda/shared/customers/keys';
import { newReservationId, PENDING_BOUND_SECONDS, readWallet, reserveInWallet, walletKey } from '../../lambda/shared/customers/wallet';
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
const TTL_MS = config.authorizerCacheTtlSeconds * 1000;

/**
 * Access and time, through the local gateway (300 s TTL on standing routes): a lock that comes with
 * time (a key expiry, a grace period's end, a rotation) reaches a cached decision within the TTL, with
 * no flush; an unlock flushes at once; and a flush the management API refused is made by the clock's
 * next run, not lost.
 */
describe('the clock and the cache, through the local gateway (300 s authorizer TTL)', () => {
  let tables: TestTables;
  let api: LocalApi;
  // One injected clock for the gateway's cache, the handlers, the key store and the flusher's waits.
  let t = Date.now();
  const keys = (): ApiKeyStore => ({ client: tables.client, tables: tables.names, now: () => new Date(t) });
  const get = (p: string, key: string) => api.gateway.handle({ method: 'GET', path: `/${config.stageName}${p}`, headers: { Authorization: `Bearer ${key}` } });

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
    // Stripe signs with the real time: deliveries happen near it. A test that travelled far (hours)
    // comes back; otherwise time only moves forward, as it does for the stage's flush outbox.
    t = t - Date.now() > 60_000 ? Date.now() : Math.max(t + 1, Date.now());
  });
  afterAll(() => {
    api.destroy();
    tables.client.destroy();
  });

  it('answers 401 for a key whose expiry has passed once the cached Allow ends, within the TTL, with no flush', async () => {
    const expiresAt = t + 10 * 60_000;
    const { key } = await createApiKey(keys(), { customerId: 'cus_ClockExpiry', expiresAt: new Date(expiresAt) });
    t = expiresAt - 10_000;
    expect((await get('/v1/ping', key)).statusCode).toBe(200);
    const flushesBefore = api.gateway.management.calls.accepted;
    t = expiresAt + 1_000;
    expect((await get('/v1/ping', key)).diagnostics.authorizer).toBe('cache');
    t = expiresAt - 10_000 + TTL_MS + 1;
    const after = await get('/v1/ping', key);
    expect([after.statusCode, after.diagnostics.authorizer]).toEqual([401, 'invoked']);
    expect(api.gateway.management.calls.accepted).toBe(flushesBefore);
  });

  it('answers 402 when a grace period has ended, within the TTL after its end', async () => {
    const customerId = 'cus_ClockGrace';
    const created = Math.floor(t / 1000);
    const { key } = await createApiKey(keys(), { customerId });
    expect((await deliverEvent(api.gateway, { type: 'customer.subscription.updated', customerId, status: 'past_due', created }, LOCAL_WEBHOOK_SECRET)).statusCode).toBe(200);
    const graceEnds = created * 1000 + GRACE_MS;
    t = graceEnds - 10_000;
    expect((await get('/v1/quotes', key)).statusCode).toBe(200);
    t = graceEnds + TTL_MS;
    const after = await get('/v1/quotes', key);
    expect(after.statusCode).toBe(402);
    expect(JSON.parse(after.body.toString('utf8'))).toMatchObject({ reason: 'payment_failed' });
  });

  it('flushes at once for a payment that opens access: 402 before the event, 200 right after', async () => {
    const customerId = 'cus_ClockUnlock';
    const { key } = await createApiKey(keys(), { customerId });
    expect((await get('/v1/quotes', key)).statusCode).toBe(402);
    expect((await get('/v1/quotes', key)).diagnostics.authorizer).toBe('cache');
    const created = Math.floor(t / 1000);
    expect((await deliverEvent(api.gateway, { type: 'customer.subscription.created', customerId, status: 'active', created }, LOCAL_WEBHOOK_SECRET)).statusCode).toBe(200);
    expect((await get('/v1/quotes', key)).statusCode).toBe(200);
  });

  it('makes a flush the management API refused on its next run: the webhook answered 200 and left it in the outbox', async () => {
    const customerId = 'cus_ClockQueued';
    const { key } = await createApiKey(keys(), { customerId });
    expect((await get('/v1/quotes', key)).statusCode).toBe(402);
    // Someone else spends the account's management budget (a deployment, another stage's flushes).
    const refuse = api.gateway.flusher.flush;
    let refused = 0;
    api.gateway.flusher.flush = () => {
      refused += 1;
      return Promise.reject(new TooManyRequestsException({ message: 'Too Many Requests', $metadata: { httpStatusCode: 429 } }));
    };
    try {
      const delivered = await deliverEvent(api.gateway, { type: 'customer.subscription.created', customerId, status: 'active', created: Math.floor(t / 1000) }, LOCAL_WEBHOOK_SECRET);
      expect(delivered.statusCode).toBe(200);
    } finally {
      api.gateway.flusher.flush = refuse;
    }
    expect(refused).toBeGreaterThan(1);
    expect((await get('/v1/quotes', key)).statusCode).toBe(402);

    const run = await api.clock(new Date(t));

    expect(run.sweep).toBe('flushed');
    expect((await get('/v1/quotes', key)).statusCode).toBe(200);
    expect((await api.clock(new Date(t))).sweep).toBe('covered');
  });

  it('refuses a rotated key at once after the first rotation of the hour, and within the TTL after another', async () => {
    const { key, keyId } = await createApiKey(keys(), { customerId: 'cus_ClockRotate' });
    expect((await get('/v1/ping', key)).statusCode).toBe(200);
    await rotateApiKey(keys(), keyId, { overlapSeconds: 0 });
    // The key store alone does not flush (the portal asks, at most once an hour per customer): cached.
    expect((await get('/v1/ping', key)).diagnostics.authorizer).toBe('cache');
    t += TTL_MS + 1;
    expect((await get('/v1/ping', key)).statusCode).toBe(401);
  });

  it('gives back, on its run past the bound, a strict reservation no access-log line named (the customer never called again)', async () => {
    const customerId = 'cus_ClockReservation';
    await tables.client.send(new PutItemCommand({ TableName: tables.names.customers, Item: { customerId: { S: walletKey(customerId) }, balance: { N: '9' } } }));
    // As the authorizer's write leaves it when its answer came too late and its cancel failed.
    const reserved = await reserveInWallet(tables.client, tables.names.customers, { customerId, reservation: newReservationId(), cost: 4, now: new Date(t) }, { deadlineAt: Date.now() + 10_000 });
    expect(reserved).toEqual({ reserved: true, balance: 5 });
    expect((await api.clock(new Date(t + 60_000))).reservations).toEqual({ wallets: 0, expired: 0, units: 0, more: false });
    const run = await api.clock(new Date(t + (PENDING_BOUND_SECONDS + 60) * 1000));
    expect(run.reservations).toEqual({ wallets: 1, expired: 1, units: 4, more: false });
    expect(await readWallet(tables.client, tables.names.customers, customerId)).toMatchObject({ balance: 9, pending: new Map() });
  });
});
