import * as path from 'node:path';
import { decodeSubscriptionEvent } from '../../lambda/metering/logs-event';
import type { MeteringResult } from '../../lambda/metering/handler';
import { createApiKey } from '../../lambda/shared/customers/keys';
import { DEMO_CUSTOMERS, DEMO_PAYG_CREDITS, deliverEvent, seedDemoCustomers } from '../../lib/local/demo';
import { createMeteringFeed, LOCAL_ACCESS_LOG_GROUP } from '../../lib/local/metering-feed';
import { buildLocalDocument, createLocalApi, LOCAL_WEBHOOK_SECRET, type LocalApi } from '../../lib/local/stack';
import { loadProjectConfig } from '../../lib/config/tollgate-config';
import { buildStripeEvent, serializeEvent, signPayload } from '../../lib/stripe-events';
import { specOverrides } from '../../lib/stripe-events/spec';
import { freshTables, setCustomerAttributes, type TestTables } from '../support/dynamodb';
import { usageOf } from '../metering/support';
import { answeredWithin } from '../support/poll';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

/** A schedule the test fires by hand: no timers, no races. */
function manualSchedule() {
  const pending: Array<{ run: () => void; ms: number; cancelled: boolean }> = [];
  return {
    schedule: (run: () => void, ms: number) => {
      const entry = { run, ms, cancelled: false };
      pending.push(entry);
      return () => {
        entry.cancelled = true;
      };
    },
    fire: () => {
      for (const entry of pending.splice(0)) if (!entry.cancelled) entry.run();
    },
    get armed() {
      return pending.filter((e) => !e.cancelled).map((e) => e.ms);
    },
  };
}

describe('createMeteringFeed', () => {
  it('delivers a batch when the interval fires, encoded as CloudWatch Logs delivers it', async () => {
    const delivered: unknown[] = [];
    const clock = manualSchedule();
    const feed = createMeteringFeed({ deliver: (e) => Promise.resolve(void delivered.push(e)), schedule: clock.schedule, intervalMs: 1000, now: () => 42 });
    feed.push('line one');
    feed.push('line two');
    expect(clock.armed).toEqual([1000]);
    expect(delivered).toHaveLength(0);
    clock.fire();
    await feed.drain();
    expect(delivered).toHaveLength(1);
    const batch = decodeSubscriptionEvent(delivered[0]);
    expect(batch).toMatchObject({ messageType: 'DATA_MESSAGE', logGroup: LOCAL_ACCESS_LOG_GROUP });
    expect(batch.logEvents.map((e) => [e.message, e.timestamp])).toEqual([
      ['line one', 42],
      ['line two', 42],
    ]);
    expect(new Set(batch.logEvents.map((e) => e.id)).size).toBe(2);
  });

  it('delivers at maxLines without waiting, one batch at a time and in order', async () => {
    const order: string[] = [];
    let release: () => void = () => undefined;
    const firstHeld = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    const clock = manualSchedule();
    const feed = createMeteringFeed({
      deliver: async (e) => {
        const n = calls++;
        order.push(`start ${n}`);
        if (n === 0) await firstHeld;
        order.push(`end ${n}: ${decodeSubscriptionEvent(e).logEvents.map((l) => l.message).join(',')}`);
      },
      schedule: clock.schedule,
      maxLines: 2,
    });
    feed.push('a');
    feed.push('b'); // a batch of 2 goes now
    feed.push('c');
    feed.push('d'); // the second waits for the first
    await Promise.resolve();
    expect(order).toEqual(['start 0']);
    release();
    await feed.drain();
    expect(order).toEqual(['start 0', 'end 0: a,b', 'start 1', 'end 1: c,d']);
    expect(feed.waiting).toBe(0);
  });

  it('delivers what is waiting on stop, and takes nothing after close', async () => {
    const delivered: unknown[] = [];
    const clock = manualSchedule();
    const feed = createMeteringFeed({ deliver: (e) => Promise.resolve(void delivered.push(e)), schedule: clock.schedule });
    feed.push('x');
    await feed.stop();
    expect(delivered).toHaveLength(1);
    feed.push('y');
    feed.close();
    await feed.drain();
    expect(delivered).toHaveLength(1);
  });
});

describe('createLocalApi metering', () => {
  const ROOT = path.join(__dirname, '..', '..');
  const config = loadProjectConfig(ROOT);
  const built = buildLocalDocument(config, ROOT);
  let tables: TestTables;
  let api: LocalApi;
  const results: MeteringResult[] = [];
  const clock = manualSchedule();

  beforeAll(async () => {
    tables = await freshTables('local-metering');
    api = createLocalApi({
      config,
      built,
      dynamodbEndpoint: tables.endpoint,
      tables: tables.names,
      webhookSecret: LOCAL_WEBHOOK_SECRET,
      metering: {
        schedule: clock.schedule,
        // The sample document's /v1/quotes sold at 1 unit a call, pay-as-you-go.
        rules: { routes: [{ method: 'GET', path: '/v1/quotes', cost: 1 }], plans: {} },
        onBatch: (r) => results.push(r),
      },
    });
  });
  afterAll(() => {
    api.destroy();
    tables.client.destroy();
  });

  it("feeds the stage's access log to the metering handler: successful calls draw credits, others cost nothing, the last one blocks", async () => {
    const customerId = 'cus_local_feed1';
    await deliverEvent(api.gateway, { type: 'customer.subscription.created', customerId, status: 'active' }, LOCAL_WEBHOOK_SECRET);
    const { key } = await createApiKey({ client: tables.client, tables: tables.names }, { customerId });
    // The credits attribute as a top-up leaves it (the webhook's and the CLI's job; arranged here).
    await seedCustomerCredits(tables, customerId, 3);
    const get = (p: string, k?: string) => api.gateway.handle({ method: 'GET', path: `/${config.stageName}${p}`, headers: k === undefined ? {} : { Authorization: `Bearer ${k}` } });
    expect((await get('/v1/quotes', key)).statusCode).toBe(200);
    expect((await get('/v1/quotes', key)).statusCode).toBe(200);
    expect((await get('/v1/quotes')).statusCode).toBe(401);
    expect((await get('/v1/ping', key)).statusCode).toBe(200);
    expect(api.metering?.waiting).toBe(5); // the webhook's POST is logged too
    clock.fire();
    await api.metering!.drain();
    expect(results.at(-1)).toMatchObject({ outcome: 'applied', countedCalls: 2, applied: 1 });
    expect((await usageOf(tables, customerId)).credits).toBe(1);
    await get('/v1/quotes', key);
    await api.metering!.drain();
    expect(results.at(-1)).toMatchObject({ countedCalls: 1 });
    expect((await usageOf(tables, customerId)).credits).toBe(0);
  });
});

async function seedCustomerCredits(tables: TestTables, customerId: string, credits: number): Promise<void> {
  const { DynamoDBDocumentClient } = await import('@aws-sdk/lib-dynamodb');
  await setCustomerAttributes(DynamoDBDocumentClient.from(tables.client), tables.names.customers, customerId, { credits });
}

describe('npm start metering, the sample plan', () => {
  const ROOT = path.join(__dirname, '..', '..');
  const config = loadProjectConfig(ROOT);
  const built = buildLocalDocument(config, ROOT);
  let tables: TestTables;
  let api: LocalApi;
  const clock = manualSchedule();
  const batches: unknown[] = [];

  beforeAll(async () => {
    tables = await freshTables('local-metering-sample');
    api = createLocalApi({
      config,
      built,
      dynamodbEndpoint: tables.endpoint,
      tables: tables.names,
      webhookSecret: LOCAL_WEBHOOK_SECRET,
      metering: { schedule: clock.schedule, onBatch: (r) => batches.push(r), onError: (e) => batches.push(e) },
    });
  });
  afterAll(() => {
    api.destroy();
    tables.client.destroy();
  });

  it('answers 402 quota_exceeded on GET /v1/search once the batch that used the last units of sample_metered is metered', async () => {
    const customerId = 'cus_local_sample1';
    await deliverEvent(api.gateway, { type: 'customer.subscription.created', customerId, status: 'active', plan: 'sample_metered' }, LOCAL_WEBHOOK_SECRET);
    const { key } = await createApiKey({ client: tables.client, tables: tables.names }, { customerId });
    const search = (q?: string) =>
      api.gateway.handle({ method: 'GET', path: `/${config.stageName}/v1/search${q === undefined ? '' : `?q=${q}`}`, headers: { Authorization: `Bearer ${key}` } });
    for (let i = 0; i < 19; i++) expect((await search('x')).statusCode).toBe(200);
    expect((await search()).statusCode).toBe(400); // a backend 4xx costs nothing
    await api.metering!.drain();
    expect(batches).toEqual([expect.objectContaining({ outcome: 'applied', countedCalls: 19, applied: 1 })]);
    expect(await usageOf(tables, customerId)).toMatchObject({ periodUsed: 19 });
    expect((await search('x')).statusCode).toBe(200); // the 20th unit
    expect((await search('x')).statusCode).toBe(200); // cached Allow until the batch is metered: overshoot
    await api.metering!.drain();
    // No flush: the metered route's decision is cached a second at most.
    const blocked = await answeredWithin(() => search('x'), (a) => a.statusCode === 402);
    expect(blocked.statusCode).toBe(402);
    expect(JSON.parse(blocked.body.toString('utf8'))).toMatchObject({ reason: 'quota_exceeded', limit: 20, used: 21 });
  });

  it('draws no credits for calls an unlimited plan pays for, and draws them once the plan no longer does (#24 item 1)', async () => {
    // Its own clock: calls of an unlimited plan are summed over a usage window, which must close.
    let t = Date.now();
    const clocked = createLocalApi({ config, built, dynamodbEndpoint: tables.endpoint, tables: tables.names, webhookSecret: LOCAL_WEBHOOK_SECRET, now: () => t, metering: { schedule: clock.schedule } });
    try {
      const customerId = 'cus_local_unlimited1';
      const created = Math.floor(t / 1000) - 60;
      await deliverEvent(clocked.gateway, { type: 'customer.subscription.created', customerId, status: 'active', plan: 'pro', created }, LOCAL_WEBHOOK_SECRET);
      const { key } = await createApiKey({ client: tables.client, tables: tables.names }, { customerId });
      await seedCustomerCredits(tables, customerId, 10);
      const search = () => clocked.gateway.handle({ method: 'GET', path: `/${config.stageName}/v1/search?q=x`, headers: { Authorization: `Bearer ${key}` } });
      for (let i = 0; i < 6; i++) expect((await search()).statusCode).toBe(200);
      await clocked.metering!.drain();
      t += 10 * 60_000;
      expect(await clocked.sumMeteringWindows()).toMatchObject({ outcome: 'summed', applied: 1 });
      expect((await usageOf(tables, customerId)).credits).toBe(10);

      // Unpaid: the credits pay now, and only for the calls made on them.
      const unpaid = serializeEvent(buildStripeEvent('customer.subscription.updated', specOverrides({ type: 'customer.subscription.updated', customerId, status: 'unpaid', plan: 'pro', created: Math.floor(t / 1000) })));
      const delivered = await clocked.gateway.handle({
        method: 'POST',
        path: `/${config.stageName}/webhooks/stripe`,
        headers: { 'Stripe-Signature': signPayload(unpaid, LOCAL_WEBHOOK_SECRET, Math.floor(t / 1000)) },
        body: Buffer.from(unpaid, 'utf8'),
      });
      expect(delivered.statusCode).toBe(200);
      t += 5_000;
      for (let i = 0; i < 2; i++) expect((await search()).statusCode).toBe(200);
      await clocked.metering!.drain();
      t += 10 * 60_000;
      await clocked.sumMeteringWindows();
      expect((await usageOf(tables, customerId)).credits).toBe(8);
    } finally {
      clocked.destroy();
    }
  });

  it('meters with no one listening for batch results, as npm start runs it', async () => {
    // `onBatch?.(await handler(event))` once skipped the handler itself when no callback was given.
    const quiet = createLocalApi({ config, built, dynamodbEndpoint: tables.endpoint, tables: tables.names, webhookSecret: LOCAL_WEBHOOK_SECRET, metering: { schedule: clock.schedule } });
    try {
      const customerId = 'cus_local_unheard1';
      await deliverEvent(quiet.gateway, { type: 'customer.subscription.created', customerId, status: 'active', plan: 'sample_metered' }, LOCAL_WEBHOOK_SECRET);
      const { key } = await createApiKey({ client: tables.client, tables: tables.names }, { customerId });
      for (let i = 0; i < 3; i++) {
        const res = await quiet.gateway.handle({ method: 'GET', path: `/${config.stageName}/v1/search?q=x`, headers: { Authorization: `Bearer ${key}` } });
        expect(res.statusCode).toBe(200);
      }
      await quiet.metering!.drain();
      expect(await usageOf(tables, customerId)).toMatchObject({ periodUsed: 3 });
    } finally {
      quiet.destroy();
    }
  });

  it('seeds the usage demo customers: one on sample_metered, one pay-as-you-go with a few credits', async () => {
    const options = { stage: config.stageName, webhookSecret: LOCAL_WEBHOOK_SECRET, dynamodb: tables.client, tables: tables.names };
    expect(await seedDemoCustomers(api.gateway, options)).toBe(true);
    expect(await usageOf(tables, DEMO_CUSTOMERS.payg)).toMatchObject({ credits: DEMO_PAYG_CREDITS });
    const { key } = await createApiKey({ client: tables.client, tables: tables.names }, { customerId: DEMO_CUSTOMERS.metered });
    const search = await api.gateway.handle({ method: 'GET', path: `/${config.stageName}/v1/search?q=x`, headers: { Authorization: `Bearer ${key}` } });
    expect(search.statusCode).toBe(200);
    // Seeded once: a second start finds them.
    expect(await seedDemoCustomers(api.gateway, options)).toBe(false);
    expect(await usageOf(tables, DEMO_CUSTOMERS.payg)).toMatchObject({ credits: DEMO_PAYG_CREDITS });
  });
});
