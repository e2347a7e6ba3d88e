import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { folderAssets } from '../../lambda/portal/assets';
import { makePortalHandler, type PortalDeps } from '../../lambda/portal/handler';
import { PORTAL_ROUTES } from '../../lambda/portal/routes';
import { SAMPLE_CATALOG } from '../../lib/config/portal-catalog';
import { portalPaths } from '../../lib/openapi/portal';
import { quietObservability } from '../support/observability';
import { PLANS, portalEvent, ROUTES } from './support';

/**
 * The route table and its one catch, with no DynamoDB and no Stripe behind it: every answer is a
 * response (a page error, a failure, an unknown route), never a rejected promise.
 */

const folder = mkdtempSync(path.join(tmpdir(), 'tollgate-portal-assets-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));
writeFileSync(path.join(folder, 'scalar.js'), 'window.scalar = true;');

function handler(overrides: Partial<PortalDeps> = {}) {
  const unreachable = (): Promise<never> => Promise.reject(new Error('this route must not reach this dependency'));
  return makePortalHandler({
    settings: { tables: { customers: 'customers', events: 'events', apiKeys: 'api-keys' }, routes: ROUTES, gracePeriodSeconds: 3600, catalog: SAMPLE_CATALOG, plans: PLANS, flush: { eventsTable: 'events', cacheTtlSeconds: 300, flushIntervalSeconds: 1 } },
    // Nothing listens there: a route that reached DynamoDB would fail the test.
    dynamodb: new DynamoDBClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 }),
    stripe: unreachable,
    sessionSecret: unreachable,
    flusher: { flush: unreachable },
    assets: folderAssets(folder),
    observability: quietObservability(),
    ...overrides,
  });
}

const asset = (name: string) => portalEvent('GET', '/tollgate/assets/{asset}', { pathParameters: { asset: name } });

describe('portal routes', () => {
  it('serves exactly the operations the document routes to the portal function', () => {
    const declared = Object.entries(portalPaths('arn:portal')).flatMap(([resource, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${resource}`));
    expect([...PORTAL_ROUTES.keys()].sort()).toEqual(declared.sort());
  });

  it('serves an asset from the folder, and 404 for a name that is no asset of its own', async () => {
    const handle = handler();
    const found = await handle(asset('scalar.js'));
    expect(found).toMatchObject({ statusCode: 200, body: 'window.scalar = true;', headers: { 'Content-Type': 'text/javascript; charset=utf-8' } });
    // Names every plain object inherits: the lookup must see none of them.
    for (const name of ['constructor', 'tostring', 'valueof', 'hasownproperty', 'missing.js']) {
      const answer = await handle(asset(name));
      expect(answer).toMatchObject({ statusCode: 404, headers: { 'Content-Type': 'application/problem+json' } });
      expect(JSON.parse(answer.body)).toMatchObject({ status: 404, title: 'Not found' });
    }
  });

  it('answers a failing asset read with the error page, inside the catch', async () => {
    const handle = handler({ assets: { asset: () => Promise.reject(new Error('disk gone')), document: () => Promise.reject(new Error('disk gone')) } });
    for (const event of [asset('portal.js'), portalEvent('GET', '/tollgate/openapi.json')]) {
      const result = await handle(event);
      expect(result.statusCode).toBe(500);
      expect(result.body).toContain('The portal could not complete this request');
      expect(result.headers?.['Content-Security-Policy']).toMatch(/^default-src 'none'/);
    }
  });

  it('answers every route with a response when every dependency fails: no route escapes the catch', async () => {
    const failing = (): Promise<never> => Promise.reject(new Error('dependency down'));
    const handle = handler({ sessionSecret: failing, stripe: failing, assets: { asset: failing, document: failing } });
    const cookies = { tg_session: 'a.b', tg_checkout: 'a.b' };
    for (const key of PORTAL_ROUTES.keys()) {
      const [method, resource] = key.split(' ') as [string, string];
      const event = portalEvent(method, resource, { cookies, body: 'plan=pro&key=tg_test_x', query: { session_id: 'cs_test_abc' }, pathParameters: { asset: 'portal.js', reason: 'no_subscription' } });
      const answer = await handle(event);
      expect({ key, status: typeof answer.statusCode }).toEqual({ key, status: 'number' });
    }
  });

  it('answers an unknown route with a 404 page and a foreign POST with a 403 page, before any dependency', async () => {
    const handle = handler();
    const unknown = await handle(portalEvent('GET', '/tollgate/portal/nothing'));
    expect(unknown.statusCode).toBe(404);
    expect(unknown.body).toContain('There is no such page.');
    const foreign = await handle(portalEvent('POST', '/tollgate/portal/rotate', { origin: 'https://evil.example' }));
    expect(foreign.statusCode).toBe(403);
    expect(foreign.body).toContain('This form must be sent from the portal itself');
  });

  it('serves the document with the stage as its server, and the docs page under its own CSP', async () => {
    const handle = handler({ assets: { asset: () => Promise.resolve(undefined), document: () => Promise.resolve({ openapi: '3.0.1', paths: {} }) } });
    const document = await handle(portalEvent('GET', '/tollgate/openapi.json'));
    expect(JSON.parse(document.body)).toEqual({ openapi: '3.0.1', paths: {}, servers: [{ url: 'https://api.example.com/prod' }] });
    expect(document.headers).toMatchObject({ 'Access-Control-Allow-Origin': '*', 'Cache-Control': 'max-age=60' });
    const docs = await handle(portalEvent('GET', '/tollgate/docs'));
    expect(docs.statusCode).toBe(200);
    expect(docs.headers?.['Content-Security-Policy']).toContain("style-src 'self' 'unsafe-inline'");
    expect(docs.body).toContain('data-url="/prod/tollgate/openapi.json"');
  });

  it('signs out by clearing the session cookie, without reading anything', async () => {
    const result = await handler()(portalEvent('POST', '/tollgate/portal/sign-out'));
    expect(result).toMatchObject({ statusCode: 303, headers: { Location: '/prod/tollgate/portal/sign-in' } });
    expect(result.multiValueHeaders?.['Set-Cookie']).toEqual(['tg_session=; Path=/prod/tollgate/portal; Max-Age=0; HttpOnly; Secure; SameSite=Strict']);
  });
});
