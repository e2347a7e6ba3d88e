import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { decide } from '../../lambda/shared/customers/standing';
import type { CustomerRecord, SubscriptionStatus } from '../../lambda/shared/customers/record';
import type { Plans } from '../../lambda/shared/customers/usage-view';
import { OTHER_PROBLEMS, PAYMENT_REASONS, PROBLEM_TYPES } from '../../lambda/shared/problems';
import type { RouteRule } from '../../lambda/shared/requirements';
import { buildApiDocument } from '../../lib/openapi/build';
import { substitute } from '../../lib/openapi/render';
import { freshTables } from '../support/dynamodb';
import { synth } from '../support/synth';
import { portalEvent, portalHarness, type PortalHarness } from '../portal/support';

/**
 * The docs: every secured operation documents tollgate's own answers with the shared Problem schema,
 * every problem type has a page, and the `type` of each gateway response resolves to one, in the
 * synthesized template as deployed.
 */

const ROOT = path.join(__dirname, '..', '..');
const sample = (): unknown => JSON.parse(readFileSync(path.join(ROOT, 'api', 'openapi.json'), 'utf8'));
const PROBLEM_REF = { $ref: '#/components/schemas/Problem' };

function built(docsBaseUrl?: string) {
  return buildApiDocument({
    document: sample(),
    authorizerUri: 'arn:authorizer',
    webhookUri: 'arn:webhook',
    portalUri: 'arn:portal',
    usageUri: 'arn:usage',
    mcpUri: 'arn:mcp',
    backend: { type: 'http', baseUrl: 'https://backend.example' },
    authorizerCacheTtlSeconds: 300,
    corsAllowOrigin: '*',
    ...(docsBaseUrl === undefined ? {} : { docsBaseUrl }),
  });
}

const PLANS: Plans = { pro: { name: 'Pro', overage: 'block' }, sample_metered: { name: 'Metered', quota: 20, overage: 'block' } };
const SUBSCRIBED = (status: SubscriptionStatus, plan = 'pro') => ({ sub_docs1: { status, plan, cancelAtPeriodEnd: false, currentPeriodEnd: 1_900_000_000, watermark: '0' } });

/**
 * Every payment standing a customer can be in when the authorizer decides (a deleted customer and a
 * revoked key are refused before, with a 401): no subscription, each failing status, a usage block of
 * either kind, credits used up, the quota used up, a missing entitlement.
 */
const STANDINGS: readonly CustomerRecord[] = [
  {},
  { subscriptions: SUBSCRIBED('canceled') },
  { subscriptions: SUBSCRIBED('unpaid') },
  { subscriptions: SUBSCRIBED('incomplete') },
  { subscriptions: SUBSCRIBED('paused') },
  { subscriptions: SUBSCRIBED('active'), usageBlock: 'quota_exceeded' as const },
  { subscriptions: SUBSCRIBED('active'), usageBlock: 'credits_exhausted' as const },
  { credits: 0 },
  { subscriptions: SUBSCRIBED('active', 'sample_metered'), periodUsed: 20, usagePeriodEnd: 1_900_000_000 },
  { subscriptions: SUBSCRIBED('active'), entitlements: [] },
].map((state) => ({ customerId: 'cus_docsStanding', subscriptions: {}, invoices: {}, pastDue: {}, ...state }));

/** Whether the authorizer answers 402 on this route for any payment standing (decide: the rule, not a restatement of it). */
const canAnswer402 = (route: RouteRule): boolean =>
  STANDINGS.some((customer) => decide(customer, [route], new Date('2026-01-01T00:00:00Z'), { gracePeriodSeconds: 0, plans: PLANS }).verdicts.some((v) => !v.allow));

/** Checks every operation of a document that has a security requirement (the authorizer's); returns them as "GET /path". */
function expectEverySecuredOperationDocumented(document: any): string[] {
  const routes = built().routes;
  const checked: string[] = [];
  for (const [route, item] of Object.entries<any>(document.paths)) {
    for (const [method, operation] of Object.entries<any>(item)) {
      if (!Array.isArray(operation?.security) || operation.security.length === 0) continue;
      const name = `${method.toUpperCase()} ${route}`;
      const rule = routes.find((r) => r.method === method.toUpperCase() && r.path === route);
      expect({ name, rule }).toEqual({ name, rule: expect.anything() });
      const documented = Object.keys(operation.responses);
      const expected = canAnswer402(rule!) ? ['401', '402', '429', '503'] : ['401', '429', '503'];
      // 402 exactly when it can happen: a free-tier (key) route is never denied, so documenting one there would be false.
      expect({ name, statuses: documented.filter((s) => ['401', '402', '403', '429', '503'].includes(s)) }).toEqual({ name, statuses: expected });
      for (const status of expected) {
        const content = operation.responses[status].content['application/problem+json'];
        expect(content.schema).toEqual(PROBLEM_REF);
        for (const { value } of Object.values<any>(content.examples)) expect(value.status).toBe(Number(status));
      }
      if (expected.includes('402')) expect(Object.keys(operation.responses['402'].content['application/problem+json'].examples)).toContain('no_subscription');
      checked.push(name);
    }
  }
  // Every secured route the authorizer covers was found in the document.
  expect(checked.sort()).toEqual(routes.map((r) => `${r.method} ${r.path}`).filter((n) => document.paths[n.slice(n.indexOf(' ') + 1)] !== undefined).sort());
  return checked;
}

let portal: PortalHarness;
beforeAll(async () => {
  portal = await portalHarness(await freshTables('docs'));
});
afterAll(() => portal.close());

describe('the documented problems', () => {
  const api = built();
  const documents = { 'the imported document': api.document as any, 'the public document': api.publicDocument as any };

  it.each(Object.entries(documents))('%s declares the problem body once and every secured operation references it for 401, 429 and 503, and for 402 exactly when the authorizer can answer one', (_name, document) => {
    expect(document.components.schemas.Problem.required).toEqual(['type', 'title', 'status']);
    expect(Object.keys(document.components.schemas.Problem.properties)).toEqual(expect.arrayContaining(['type', 'title', 'status', 'detail', 'reason', 'paymentUrl', 'subscriptionStatus', 'requestId']));
    const checked = expectEverySecuredOperationDocumented(document);
    expect(checked).toEqual(expect.arrayContaining(['GET /v1/ping', 'GET /v1/quotes', 'GET /v1/reports/{reportId}', 'GET /v1/search']));
    // Public operations are not given tollgate's answers.
    expect(document.paths['/v1/status'].get.responses['401']).toBeUndefined();
  });

  it('holds for the document the synthesized template deploys, tollgate\'s own usage route included', () => {
    const { template } = synth();
    const body = Object.values(template.findResources('AWS::ApiGateway::RestApi'))[0]!.Properties.Body;
    expect(expectEverySecuredOperationDocumented(body)).toEqual(expect.arrayContaining(['GET /tollgate/usage', 'GET /v1/search']));
  });
  it("shows each operation's requirement to people and tools in the public document", () => {
    const paths = (api.publicDocument as any).paths;
    // The MCP marking too: an agent reading the document knows the tool that stands for the operation.
    expect(paths['/v1/quotes'].get['x-tollgate']).toEqual({ requires: 'subscription', mcp: { name: 'list_quotes', description: 'The latest quotes, for subscribers.' } });
    expect(paths['/v1/quotes'].get.description).toMatch(/^\*\*Requires:\*\* An API key of a customer with a subscription in good standing\./);
    expect(paths['/v1/reports/{reportId}'].get.description).toContain('"premium-reports" feature');
    expect(paths['/v1/search'].get.description).toContain('Each successful call costs 1 unit(s).');
    expect(paths['/v1/search'].get['x-tollgate']).toMatchObject({ requires: 'subscription', cost: 1 });
    expect(paths['/v1/status'].get.security).toEqual([]);
    expect(JSON.stringify(api.publicDocument)).not.toContain('x-amazon-apigateway');
    expect(paths['/tollgate/docs']).toBeUndefined();
  });
});

describe('problem pages', () => {
  it.each(PROBLEM_TYPES)('%s has a page saying what it means and what to do', async (type) => {
    const page = await portal.handle(portalEvent('GET', '/tollgate/problems/{reason}', { pathParameters: { reason: type } }));
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('What it means');
    expect(page.body).toContain('What to do');
    if ((PAYMENT_REASONS as readonly string[]).includes(type)) expect(page.body).toContain('href="/prod/tollgate/portal"');
  });
});

describe('problem type URIs in the synthesized template', () => {
  const { template } = synth();
  const body = Object.values(template.findResources('AWS::ApiGateway::RestApi'))[0]!.Properties.Body;
  const responses = body['x-amazon-apigateway-gateway-responses'];
  const typeOf = (response: string, values: Record<string, string>) =>
    /"type":"([^"]*)"/.exec(substitute(responses[response].responseTemplates['application/json'], { 'context.domainName': 'abc123.execute-api.eu-west-1.amazonaws.com', 'context.stage': 'prod', 'context.requestId': 'r', ...values }))![1]!;

  it('name a problem page of the stack itself, served by the portal function, for every 402 reason and every other problem', async () => {
    const page = body.paths['/tollgate/problems/{reason}'].get;
    expect(JSON.stringify(page['x-amazon-apigateway-integration'].uri)).toMatch(/Portal[0-9A-F]{8}/);
    expect(page.security).toBeUndefined();
    const types = [
      ...PAYMENT_REASONS.map((reason) => typeOf('ACCESS_DENIED', { 'context.authorizer.reason': reason, 'context.authorizer.title': 't', 'context.authorizer.detail': 'd' })),
      typeOf('UNAUTHORIZED', {}),
      typeOf('THROTTLED', {}),
      typeOf('AUTHORIZER_FAILURE', {}),
    ];
    for (const type of types) {
      const match = /^https:\/\/abc123\.execute-api\.eu-west-1\.amazonaws\.com\/prod\/tollgate\/problems\/([a-z_]+)$/.exec(type);
      expect(match).not.toBeNull();
      const answer = await portal.handle(portalEvent('GET', '/tollgate/problems/{reason}', { pathParameters: { reason: match![1]! } }));
      expect(answer.statusCode).toBe(200);
    }
    expect(types.slice(-3).map((t) => t.split('/').at(-1))).toEqual(Object.keys(OTHER_PROBLEMS));
  });

  it('use a configured docs base URL instead', () => {
    const responses = built('https://docs.example.com/problems').document['x-amazon-apigateway-gateway-responses'] as any;
    expect(responses.ACCESS_DENIED.responseTemplates['application/json']).toContain('"type":"https://docs.example.com/problems/$context.authorizer.reason"');
  });
});
