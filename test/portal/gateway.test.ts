import { createApiKey, listApiKeys } from '../../lambda/shared/customers/keys';
import type { LocalApi } from '../../lib/local/stack';
import { freshTables, type TestTables } from '../support/dynamodb';
import { PROJECT, portalLocalApi, type GatewayRequest } from '../support/local-api';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

/**
 * The portal as a browser reaches it: through the local gateway (the stage's document, its routes and
 * their integrations), the portal function on DynamoDB Local behind it, the fake Stripe API beside it.
 */

const ORIGIN = PROJECT.origin;

let tables: TestTables;
let api: LocalApi;
let request: GatewayRequest;

beforeAll(async () => {
  tables = await freshTables('portal-gateway');
  ({ api, request } = portalLocalApi(tables));
});
afterAll(() => {
  api.destroy();
  tables.client.destroy();
});

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

const FORM = { 'Content-Type': 'application/x-www-form-urlencoded', Origin: ORIGIN };
/** The session cookie a response sets (`tg_session=<value>`), as a browser would send it back. */
const sessionCookieOf = (answer: { multiValueHeaders: Record<string, string[]> }): string | undefined =>
  (answer.multiValueHeaders['set-cookie'] ?? []).find((c) => c.startsWith('tg_session='))?.split(';')[0];

describe('portal sessions through the gateway', () => {
  it('ends the session on sign-out: a copied cookie can neither read the account page nor rotate the key', async () => {
    const customerId = 'cus_portalSignOut1';
    const { key, keyId } = await createApiKey({ client: tables.client, tables: tables.names }, { customerId });
    const signedIn = await request('POST', '/tollgate/portal/sign-in', FORM, `key=${encodeURIComponent(key)}`);
    expect(signedIn.statusCode).toBe(303);
    const cookie = sessionCookieOf(signedIn)!;
    expect(cookie).toMatch(/^tg_session=.+/);
    expect((await request('GET', '/tollgate/portal/account', { Cookie: cookie })).statusCode).toBe(200);

    const signedOut = await request('POST', '/tollgate/portal/sign-out', { ...FORM, Cookie: cookie });
    expect(signedOut.statusCode).toBe(303);
    expect(sessionCookieOf(signedOut)).toBe('tg_session=');

    // The copied cookie, replayed after sign-out.
    const account = await request('GET', '/tollgate/portal/account', { Cookie: cookie });
    expect(account.statusCode).toBe(401);
    expect(account.body.toString('utf8')).not.toContain(customerId);
    const rotated = await request('POST', '/tollgate/portal/rotate', { ...FORM, Cookie: cookie });
    expect(rotated.statusCode).toBe(401);
    expect((await listApiKeys({ client: tables.client, tables: tables.names }, customerId)).map((k) => [k.keyId, k.state])).toEqual([[keyId, 'active']]);

    // Signing in again opens a new session; the old cookie stays dead.
    const again = sessionCookieOf(await request('POST', '/tollgate/portal/sign-in', FORM, `key=${encodeURIComponent(key)}`))!;
    expect((await request('GET', '/tollgate/portal/account', { Cookie: again })).statusCode).toBe(200);
    expect((await request('GET', '/tollgate/portal/account', { Cookie: cookie })).statusCode).toBe(401);
  });

  it('ends the session a rotation replaces: only the cookie the rotation set reads the account', async () => {
    const { key } = await createApiKey({ client: tables.client, tables: tables.names }, { customerId: 'cus_portalSignOut2' });
    const cookie = sessionCookieOf(await request('POST', '/tollgate/portal/sign-in', FORM, `key=${encodeURIComponent(key)}`))!;
    const rotated = await request('POST', '/tollgate/portal/rotate', { ...FORM, Cookie: cookie });
    expect(rotated.statusCode).toBe(200);
    const next = sessionCookieOf(rotated)!;
    expect((await request('GET', '/tollgate/portal/account', { Cookie: next })).statusCode).toBe(200);
    expect((await request('GET', '/tollgate/portal/account', { Cookie: cookie })).statusCode).toBe(401);
  });
});
