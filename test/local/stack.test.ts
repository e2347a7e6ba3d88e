import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createApiKey, listApiKeys, revokeApiKey } from '../../lambda/shared/customers/keys';
import { DEMO_CUSTOMERS, DEMO_KEYS_FILE, deliverEvent, issueDemoKeys, seedDemoCustomers } from '../../lib/local/demo';
import { freePort } from '../../lib/local/dynamodb-local';
import { buildLocalDocument, createLocalApi, LOCAL_WEBHOOK_SECRET, type LocalApi } from '../../lib/local/stack';
import { loadProjectConfig } from '../../lib/config/tollgate-config';
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
  let stateDir: string;
  const get = (p: string, key?: string) =>
    api.gateway.handle({ method: 'GET', path: `/${config.stageName}${p}`, headers: key === undefined ? {} : { Authorization: `Bearer ${key}` } });
  const body = (buffer: Buffer): any => JSON.parse(buffer.toString('utf8'));

  beforeAll(async () => {
    stateDir = mkdtempSync(path.join(tmpdir(), 'tollgate-demo-'));
    tables = await freshTables('local-stack');
    api = createLocalApi({ config, built, dynamodbEndpoint: tables.endpoint, tables: tables.names, webhookSecret: LOCAL_WEBHOOK_SECRET });
  });
  afterAll(() => {
    rmSync(stateDir, { recursive: true, force: true });
    api.destroy();
    tables.client.destroy();
  });

  it('seeds the demo customers through the webhook once when the tables are empty', async () => {
    const options = { stage: config.stageName, webhookSecret: LOCAL_WEBHOOK_SECRET, dynamodb: tables.client, tables: tables.names };
    expect(await seedDemoCustomers(api.gateway, options)).toBe(true);
    expect(await seedDemoCustomers(api.gateway, options)).toBe(false);
    const keysFile = path.join(stateDir, DEMO_KEYS_FILE);
    const first = await issueDemoKeys({ client: tables.client, tables: tables.names }, keysFile);
    const second = await issueDemoKeys({ client: tables.client, tables: tables.names }, keysFile);

    expect((await get('/v1/reports/r1', second.paying)).statusCode).toBe(200);
    const denied = await get('/v1/quotes', second.free);
    expect(denied.statusCode).toBe(402);
    expect(body(denied.body)).toMatchObject({ reason: 'no_subscription', status: 402 });
    expect(first.paying).toContain(DEMO_CUSTOMERS.paying);
    expect(statSync(keysFile).mode & 0o777).toBe(0o600);
  });

  it('keeps one demo key per demo customer however often it starts', async () => {
    const keysFile = path.join(stateDir, DEMO_KEYS_FILE);
    const store = { client: tables.client, tables: tables.names };
    const first = await issueDemoKeys(store, keysFile);
    for (let start = 0; start < 6; start++) expect(await issueDemoKeys(store, keysFile)).toEqual({ ...first, reused: true });
    for (const customerId of Object.values(DEMO_CUSTOMERS)) expect(await listApiKeys(store, customerId)).toHaveLength(1);

    // A demo key revoked by hand is replaced, once; the old one stays refused (401) and is pruned
    // from the item when the replacement is written (revoked keys never authenticate again).
    const [paying] = await listApiKeys(store, DEMO_CUSTOMERS.paying);
    await revokeApiKey(store, paying!.keyId);
    api.gateway.flushAuthorizerCache(); // as the CLI's revoke does
    const replaced = await issueDemoKeys(store, keysFile);
    expect(replaced.paying).not.toBe(first.paying);
    expect(replaced.free).toBe(first.free);
    expect((await get('/v1/ping', first.paying)).statusCode).toBe(401);
    expect((await get('/v1/ping', replaced.paying)).statusCode).toBe(200);
    expect((await issueDemoKeys(store, keysFile)).reused).toBe(true);
    expect((await listApiKeys(store, DEMO_CUSTOMERS.paying)).map((k) => k.state)).toEqual(['active']);
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
