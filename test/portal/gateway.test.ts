import * as path from 'node:path';
import { portalCatalog } from '../../lib/config/portal-catalog';
import { loadProjectConfig } from '../../lib/config/tollgate-config';
import { seedPrices } from '../../lib/local/stripe-run';
import { buildLocalDocument, createLocalApi, LOCAL_WEBHOOK_SECRET, type LocalApi } from '../../lib/local/stack';
import { createFakeStripeStore, type FakeStripeStore } from '../../lib/local/stripe-api/store';
import { freshTables, type TestTables } from '../support/dynamodb';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

/**
 * The portal as a browser reaches it: through the local gateway (the stage's document, its routes and
 * their integrations), the portal function on DynamoDB Local behind it, the fake Stripe API beside it.
 */

const ROOT = path.join(__dirname, '..', '..');
const config = loadProjectConfig(ROOT);
const built = buildLocalDocument(config, ROOT);
const ORIGIN = 'http://127.0.0.1';
const STAGE = `/${config.stageName}`;

let tables: TestTables;
let api: LocalApi;
let store: FakeStripeStore;

beforeAll(async () => {
  tables = await freshTables('portal-gateway');
  store = createFakeStripeStore({ checkout: (id) => `${ORIGIN}${STAGE}/tollgate/portal/test-checkout/${id}`, billingPortal: (id) => `${ORIGIN}${STAGE}/tollgate/portal/test-checkout/${id}` });
  seedPrices(store, portalCatalog(config));
  api = createLocalApi({ config, built, dynamodbEndpoint: tables.endpoint, tables: tables.names, webhookSecret: LOCAL_WEBHOOK_SECRET, portal: { fakeStripe: store, sessionSecret: 'test-session-secret' }, metering: false });
});
afterAll(() => {
  api.destroy();
  tables.client.destroy();
});

const request = (method: string, p: string, headers: Record<string, string> = {}, body?: string) =>
  api.gateway.handle({ method, path: `${STAGE}${p}`, headers, ...(body === undefined ? {} : { body: Buffer.from(body) }) });

describe('portal assets through the gateway', () => {
  it('answers a name every plain object inherits with a clean 404 problem, unauthenticated', async () => {
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'missing.js']) {
      const answer = await request('GET', `/tollgate/assets/${name}`);
      expect({ name, status: answer.statusCode }).toEqual({ name, status: 404 });
      expect(answer.headers['content-type']).toBe('application/problem+json');
      expect(JSON.parse(answer.body.toString('utf8'))).toMatchObject({ status: 404, title: 'Not found' });
    }
    const found = await request('GET', '/tollgate/assets/portal.css');
    expect(found.statusCode).toBe(200);
  });
});
