import * as path from 'node:path';
import { createApiKey } from '../../lambda/shared/customers/keys';
import { DEMO_CUSTOMERS, deliverEvent, issueDemoKeys, seedDemoCustomers } from '../../lib/local/demo';
import { freePort } from '../../lib/local/dynamodb-local';
import { buildLocalDocument, createLocalApi, LOCAL_WEBHOOK_SECRET, loadProjectConfig, type LocalApi } from '../../lib/local/stack';
import { freshTables, type TestTables } from '../support/dynamodb';

// As npm start runs them: metrics off, only warnings and errors logged.
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

const ROOT = path.join(__dirname, '..', '..');
const config = loadProjectConfig(ROOT);
const built = buildLocalDocument(config, ROOT);

describe('createLocalApi', () => {
  let tables: TestTables;
  let api: LocalApi;
  const get = (p: string, key?: string) =>
    api.gateway.handle({ method: 'GET', path: `/${config.stageName}${p}`, headers: key === undefined ? {} : { Authorization: `Bearer ${key}` } });
  const body = (buffer: Buffer): any => JSON.parse(buffer.toString('utf8'));

  beforeAll(async () => {
    tables = await freshTables('local-stack');
    api = createLocalApi({ config, built, dynamodbEndpoint: tables.endpoint, tables: tables.names, webhookSecret: LOCAL_WEBHOOK_SECRET });
  });
  afterAll(() => {
    api.destroy();
    tables.client.destroy();
  });

  it('seeds the demo customers through the webhook once when the tables are empty', async () => {
    const options = { stage: config.stageName, webhookSecret: LOCAL_WEBHOOK_SECRET, dynamodb: tables.client, tables: tables.names };
    expect(await seedDemoCustomers(api.gateway, options)).toBe(true);
    expect(await seedDemoCustomers(api.gateway, options)).toBe(false);
    const first = await issueDemoKeys({ client: tables.client, tables: tables.names });
    const second = await issueDemoKeys({ client: tables.client, tables: tables.names });

    expect((await get('/v1/reports/r1', second.paying)).statusCode).toBe(200);
    const denied = await get('/v1/quotes', second.free);
    expect(denied.statusCode).toBe(402);
    expect(body(denied.body)).toMatchObject({ reason: 'no_subscription', status: 402 });
    // The previous start's demo keys are revoked.
    expect((await get('/v1/ping', first.paying)).statusCode).toBe(401);
    expect(first.paying).toContain(DEMO_CUSTOMERS.paying);
  });

  it('restores access at once when a subscription event arrives after a cached 402', async () => {
    const { key } = await createApiKey({ client: tables.client, tables: tables.names }, { customerId: 'cus_local_restore' });
    expect((await get('/v1/quotes', key)).statusCode).toBe(402);
    const delivered = await deliverEvent(api.gateway, { type: 'customer.subscription.created', customerId: 'cus_local_restore', status: 'active' }, LOCAL_WEBHOOK_SECRET);
    expect(delivered.statusCode).toBe(200);
    const after = await get('/v1/quotes', key);
    expect(after.statusCode).toBe(200);
    expect(after.diagnostics.authorizer).toBe('invoked');
  });

  it('refuses an event when it is signed with another secret', async () => {
    const delivered = await deliverEvent(api.gateway, { type: 'customer.subscription.created', customerId: 'cus_local_forged' }, 'whsec_not_the_local_secret');
    expect(delivered.statusCode).toBe(400);
  });

  it('answers 503 and never 402 when DynamoDB Local is unreachable', async () => {
    const { key } = await createApiKey({ client: tables.client, tables: tables.names }, { customerId: 'cus_local_unreachable' });
    const down = createLocalApi({
      config,
      built,
      dynamodbEndpoint: `http://127.0.0.1:${await freePort()}`,
      tables: tables.names,
      webhookSecret: LOCAL_WEBHOOK_SECRET,
    });
    try {
      const res = await down.gateway.handle({ method: 'GET', path: `/${config.stageName}/v1/quotes`, headers: { Authorization: `Bearer ${key}` } });
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('1');
      expect(body(res.body)).toMatchObject({ status: 503 });
    } finally {
      down.destroy();
    }
  });
});
