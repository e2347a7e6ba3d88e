import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runCli } from '../../lib/cli';
import { writeCoordinates } from '../../lib/local/coordinates';
import { DEMO_CUSTOMERS, seedDemoCustomers } from '../../lib/local/demo';
import { signingKeyPath, startLocalIssuer, type LocalIssuer } from '../../lib/local/oidc-issuer';
import { buildLocalDocument, createLocalApi, LOCAL_WEBHOOK_SECRET, type LocalApi } from '../../lib/local/stack';
import { loadProjectConfig } from '../../lib/config/tollgate-config';
import { freshTables, type TestTables } from '../support/dynamodb';
import { openedResources } from '../support/opened';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

/**
 * JWTs through the local gateway, as npm start wires it: the real local issuer (JWKS over loopback
 * http), the real authorizer, DynamoDB Local, and API Gateway's authorizer cache on an injected clock.
 */

const ROOT = path.join(__dirname, '..', '..');
const loaded = loadProjectConfig(ROOT);

describe('bearer JWTs through the local gateway', () => {
  let tables: TestTables;
  let issuer: LocalIssuer;
  let api: LocalApi;
  let stateDir: string;
  let clock = Date.now();
  const config = () => ({ ...loaded, issuers: [issuer.trusted] });
  const get = (p: string, token?: string) =>
    api.gateway.handle({ method: 'GET', path: `/${loaded.stageName}${p}`, headers: token === undefined ? {} : { Authorization: `Bearer ${token}` } });

  const opened = openedResources();
  beforeAll(async () => {
    stateDir = mkdtempSync(path.join(tmpdir(), 'tollgate-tokens-'));
    opened.defer(() => rmSync(stateDir, { recursive: true, force: true }));
    [tables, issuer] = await Promise.all([opened.open(freshTables('tokens'), (t) => t.client.destroy()), opened.open(startLocalIssuer({ stateDir }), (i) => i.close())]);
    api = await opened.open(
      createLocalApi({ config: config(), built: buildLocalDocument(config(), ROOT), dynamodbEndpoint: tables.endpoint, tables: tables.names, webhookSecret: LOCAL_WEBHOOK_SECRET, now: () => clock }),
      (a) => a.destroy(),
    );
    await seedDemoCustomers(api.gateway, { stage: loaded.stageName, webhookSecret: LOCAL_WEBHOOK_SECRET, dynamodb: tables.client, tables: tables.names });
  });
  afterAll(() => opened.closeAll());

  it('answers a token as it answers a key: 200 paying, 402 no_subscription with the same body, 401 garbage', async () => {
    const paid = await get('/v1/quotes', issuer.mint({ customerId: DEMO_CUSTOMERS.paying }));
    expect(paid.statusCode).toBe(200);
    const free = await get('/v1/quotes', issuer.mint({ customerId: DEMO_CUSTOMERS.free }));
    expect(free.statusCode).toBe(402);
    expect(JSON.parse(free.body.toString('utf8'))).toMatchObject({ status: 402, reason: 'no_subscription', subscriptionStatus: 'none' });
    const forged = await get('/v1/quotes', `${issuer.mint({ customerId: DEMO_CUSTOMERS.free }).slice(0, -4)}AAAA`);
    expect(forged.statusCode).toBe(401);
    expect(forged.multiValueHeaders['WWW-Authenticate'] ?? forged.multiValueHeaders['www-authenticate']).toBeDefined();
  });

  it('never serves a cached decision after its token expired', async () => {
    const ttl = loaded.authorizerCacheTtlSeconds;
    const start = (clock = Date.now());
    // Valid for longer than one TTL: accepted, and the cached Allow dies (TTL) before the token does.
    const token = issuer.mint({ customerId: DEMO_CUSTOMERS.paying, now: start, expiresInSeconds: ttl + 100 });
    const expiresAt = start + (ttl + 100) * 1000;
    const answers: Array<[number, number]> = [];
    for (const offset of [0, 1, ttl / 2, ttl - 1, ttl + 1, ttl + 99, ttl + 101, 2 * ttl]) {
      clock = start + offset * 1000;
      answers.push([offset, (await get('/v1/quotes', token)).statusCode]);
    }
    // Every 200 was served while the token was valid; once no cached decision covers it, 401.
    for (const [offset, status] of answers) if (status === 200) expect(start + offset * 1000).toBeLessThan(expiresAt);
    expect(answers).toEqual([[0, 200], [1, 200], [ttl / 2, 200], [ttl - 1, 200], [ttl + 1, 401], [ttl + 99, 401], [ttl + 101, 401], [2 * ttl, 401]]);
    // A token that would expire within one TTL is never accepted, so never cached.
    clock = Date.now();
    expect((await get('/v1/quotes', issuer.mint({ customerId: DEMO_CUSTOMERS.paying, now: clock, expiresInSeconds: ttl - 1 }))).statusCode).toBe(401);
  });

  it('mints with the CLI from the running stack\'s state folder (the key readable by its owner only)', async () => {
    expect(statSync(signingKeyPath(stateDir)).mode & 0o777).toBe(0o600);
    const base = { apiUrl: 'http://127.0.0.1:1/prod/', webhookUrl: 'x', adminUrl: 'x', dynamodbEndpoint: tables.endpoint, region: 'us-east-1', tables: tables.names, stage: 'prod', restApiId: 'local', webhookSecretSource: 'default' as const, pid: process.pid };
    writeCoordinates(stateDir, { ...base, oidcIssuerUrl: issuer.url });
    const out: string[] = [];
    const err: string[] = [];
    const io = { stdout: (t: string) => void out.push(t), stderr: (t: string) => void err.push(t), env: { TOLLGATE_STATE_DIR: stateDir }, root: ROOT, now: () => new Date(clock) };
    expect(await runCli(['tokens', 'mint', '--customer', DEMO_CUSTOMERS.paying, '--expires-in', '900', '--json'], io)).toBe(0);
    const minted = JSON.parse(out.join('')) as { token: string; issuer: string; customerId: string; expiresAt: string };
    expect(minted).toMatchObject({ issuer: issuer.url, customerId: DEMO_CUSTOMERS.paying, expiresAt: new Date(Math.floor(clock / 1000) * 1000 + 900_000).toISOString() });
    expect((await get('/v1/quotes', minted.token)).statusCode).toBe(200);

    // A lifetime within the authorizer cache TTL mints a token the authorizer refuses: said, not silent.
    const ttl = loaded.authorizerCacheTtlSeconds;
    out.length = 0;
    err.length = 0;
    expect(await runCli(['tokens', 'mint', '--customer', DEMO_CUSTOMERS.paying, '--expires-in', '60'], io)).toBe(0);
    expect(err.join('')).toBe(
      `tollgate: warning: the authorizer refuses a token that expires within its cache ttl (${ttl} s), so this token gets 401 at once: give --expires-in ${ttl + 60} or more\n`,
    );
    const doomed = await get('/v1/quotes', out.join('').trim());
    expect(doomed.statusCode).toBe(401);
    // Its 401 speaks of tokens, not only of API keys.
    expect((JSON.parse(doomed.body.toString('utf8')) as { detail: string }).detail).toContain('Send a valid API key or access token as: Authorization: Bearer <key or token>.');
    // The running stack's -c overrides count: with a shorter TTL the same lifetime is fine.
    writeCoordinates(stateDir, { ...base, oidcIssuerUrl: issuer.url, context: { 'tollgate:authorizerCacheTtlSeconds': '30' } });
    err.length = 0;
    expect(await runCli(['tokens', 'mint', '--customer', DEMO_CUSTOMERS.paying, '--expires-in', '60'], io)).toBe(0);
    expect(err.join('')).toBe('');

    expect(await runCli(['tokens', 'mint', '--customer', DEMO_CUSTOMERS.paying, '--expires-in', '0'], io)).toBe(2);
    expect(err.join('')).toContain('--expires-in "0" is not a lifetime');
    writeCoordinates(stateDir, base);
    expect(await runCli(['tokens', 'mint', '--customer', DEMO_CUSTOMERS.paying], io)).toBe(1);
    expect(err.join('')).toContain('no local OIDC issuer is running: start the local stack with npm start');
  });
});
