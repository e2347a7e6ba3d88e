import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createApiKey } from '../../lambda/shared/customers/keys';
import { decodeRouteScopes } from '../../lambda/shared/issuers';
import { buildApiDocument, configuredBuildOptions, OpenApiError } from '../../lib/openapi/build';
import { readRouteScopes, SCOPED_IDENTITY_SOURCE } from '../../lib/openapi/scopes';
import { DEMO_CUSTOMERS, seedDemoCustomers } from '../../lib/local/demo';
import { startLocalIssuer, type LocalIssuer } from '../../lib/local/oidc-issuer';
import { buildLocalDocument, createLocalApi, LOCAL_WEBHOOK_SECRET, type LocalApi } from '../../lib/local/stack';
import { loadProjectConfig } from '../../lib/config/tollgate-config';
import { freshTables, type TestTables } from '../support/dynamodb';
import { openedResources } from '../support/opened';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

const ROOT = path.join(__dirname, '..', '..');
const SAMPLE = JSON.parse(readFileSync(path.join(ROOT, 'api', 'openapi.json'), 'utf8')) as { paths: Record<string, Record<string, { 'x-tollgate': Record<string, unknown> }>> };

/** The sample API with the report route requiring a scope. */
function scopedSample(scopes: unknown = ['read:reports']): typeof SAMPLE {
  const document = JSON.parse(JSON.stringify(SAMPLE)) as typeof SAMPLE;
  document.paths['/v1/reports/{reportId}']!.get!['x-tollgate'].scopes = scopes;
  return document;
}

describe('x-tollgate scopes', () => {
  it('reads the scopes per route and keys the authorizer cache on the route when any is scoped', () => {
    expect(readRouteScopes(scopedSample())).toEqual({ 'GET /v1/reports/{reportId}': ['read:reports'] });
    expect(readRouteScopes(SAMPLE)).toEqual({});
    const options = { authorizerUri: 'a', webhookUri: 'w', backend: { type: 'lambda' as const, invocationUri: 'b' }, ...configuredBuildOptions(loadProjectConfig(ROOT)) };
    const scheme = (document: unknown) =>
      (buildApiDocument({ ...options, document }).document.components as any).securitySchemes.tollgateApiKey['x-amazon-apigateway-authorizer'].identitySource;
    expect(scheme(scopedSample())).toBe(SCOPED_IDENTITY_SOURCE);
    expect(scheme(SAMPLE)).toBe('method.request.header.Authorization');
  });

  it.each<[string, unknown, RegExp]>([
    ['an empty list', [], /must list 1 to 20 OAuth scopes/],
    ['a scope with a space', ['read reports'], /no spaces/],
    ['not a list', 'read:reports', /must list/],
  ])('refuses %s with a one-line document error', (_label, scopes, message) => {
    const options = { authorizerUri: 'a', webhookUri: 'w', backend: { type: 'lambda' as const, invocationUri: 'b' }, ...configuredBuildOptions(loadProjectConfig(ROOT)) };
    expect(() => buildApiDocument({ ...options, document: scopedSample(scopes) })).toThrow(OpenApiError);
    expect(() => buildApiDocument({ ...options, document: scopedSample(scopes) })).toThrow(message);
  });

  it('refuses scopes on a public operation', () => {
    const document = JSON.parse(JSON.stringify(SAMPLE)) as typeof SAMPLE;
    document.paths['/v1/status']!.get!['x-tollgate'].scopes = ['x'];
    expect(() => readRouteScopes(document)).toThrow(/GET \/v1\/status: a public operation has no credential to check scopes on/);
  });

  it('round-trips through the authorizer environment', () => {
    expect(decodeRouteScopes(JSON.stringify(readRouteScopes(scopedSample())))).toEqual({ 'GET /v1/reports/{reportId}': ['read:reports'] });
    expect(() => decodeRouteScopes('{"GET /x": "y"}')).toThrow(/redeploy the stack/);
  });
});

describe('scoped routes through the local gateway', () => {
  let tables: TestTables;
  let issuer: LocalIssuer;
  let api: LocalApi;
  let dir: string;
  let key: string;
  const get = (p: string, credential: string) => api.gateway.handle({ method: 'GET', path: `/prod${p}`, headers: { Authorization: `Bearer ${credential}` } });

  const opened = openedResources();
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'tollgate-scopes-'));
    opened.defer(() => rmSync(dir, { recursive: true, force: true }));
    const document = path.join(dir, 'openapi.json');
    writeFileSync(document, JSON.stringify(scopedSample()));
    [tables, issuer] = await Promise.all([opened.open(freshTables('scopes'), (t) => t.client.destroy()), opened.open(startLocalIssuer(), (i) => i.close())]);
    const config = { ...loadProjectConfig(ROOT), openApiDocument: document, issuers: [issuer.trusted] };
    api = await opened.open(
      createLocalApi({ config, built: buildLocalDocument(config, ROOT), dynamodbEndpoint: tables.endpoint, tables: tables.names, webhookSecret: LOCAL_WEBHOOK_SECRET }),
      (a) => a.destroy(),
    );
    await seedDemoCustomers(api.gateway, { stage: 'prod', webhookSecret: LOCAL_WEBHOOK_SECRET, dynamodb: tables.client, tables: tables.names });
    key = (await createApiKey({ client: tables.client, tables: { customers: tables.names.customers, apiKeys: tables.names.apiKeys } }, { customerId: DEMO_CUSTOMERS.paying })).key;
  });
  afterAll(() => opened.closeAll());

  it('refuses (401) a token without the route\'s scope on that route only, whichever route it called first', async () => {
    const unscoped = issuer.mint({ customerId: DEMO_CUSTOMERS.paying });
    // Allowed and cached on an unscoped route first: that cached Allow must not answer the scoped route.
    expect((await get('/v1/quotes', unscoped)).statusCode).toBe(200);
    const refused = await get('/v1/reports/r1', unscoped);
    expect(refused.statusCode).toBe(401);
    expect(refused.diagnostics.authorizer).toBe('invoked');
    expect((await get('/v1/quotes', unscoped)).statusCode).toBe(200);
    expect((await get('/v1/reports/r1', unscoped)).statusCode).toBe(401);
  });

  it('allows a token carrying the scope (scope or scp), and API keys, which are not scoped', async () => {
    expect((await get('/v1/reports/r1', issuer.mint({ customerId: DEMO_CUSTOMERS.paying, claims: { scope: 'openid read:reports' } }))).statusCode).toBe(200);
    expect((await get('/v1/reports/r1', issuer.mint({ customerId: DEMO_CUSTOMERS.paying, claims: { scp: ['read:reports'] } }))).statusCode).toBe(200);
    expect((await get('/v1/reports/r1', key)).statusCode).toBe(200);
    // The scope does not buy access: a customer without the entitlement still gets its 402.
    const free = await get('/v1/reports/r1', issuer.mint({ customerId: DEMO_CUSTOMERS.free, claims: { scope: 'read:reports' } }));
    expect(free.statusCode).toBe(402);
  });
});
