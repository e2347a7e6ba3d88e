import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { PAYMENT_REASONS } from '../../lambda/shared/problems';
import { OTHER_PROBLEMS, PROBLEM_TYPES } from '../../lambda/shared/portal-paths';
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
    backend: { type: 'http', baseUrl: 'https://backend.example' },
    authorizerCacheTtlSeconds: 300,
    corsAllowOrigin: '*',
    ...(docsBaseUrl === undefined ? {} : { docsBaseUrl }),
  });
}

let portal: PortalHarness;
beforeAll(async () => {
  portal = await portalHarness(await freshTables('docs'));
});
afterAll(() => portal.close());

describe('the documented problems', () => {
  const api = built();
  const documents = { 'the imported document': api.document as any, 'the public document': api.publicDocument as any };

  it.each(Object.entries(documents))('%s declares the problem body once and every secured operation references it for 401, 429 and 503 (and 402 unless free tier)', (_name, document) => {
    expect(document.components.schemas.Problem.required).toEqual(['type', 'title', 'status']);
    expect(Object.keys(document.components.schemas.Problem.properties)).toEqual(expect.arrayContaining(['type', 'title', 'status', 'detail', 'reason', 'paymentUrl', 'subscriptionStatus', 'requestId']));
    const secured = api.operations.filter((o) => o.requires.kind !== 'public');
    expect(secured.map((o) => `${o.method} ${o.path}`)).toEqual(expect.arrayContaining(['GET /v1/ping', 'GET /v1/quotes', 'GET /v1/reports/{reportId}']));
    for (const { method, path: route, requires } of secured) {
      const responses = document.paths[route][method.toLowerCase()].responses;
      const statuses = requires.kind === 'key' ? ['401', '429', '503'] : ['401', '402', '429', '503'];
      for (const status of statuses) {
        const content = responses[status].content['application/problem+json'];
        expect(content.schema).toEqual(PROBLEM_REF);
        for (const { value } of Object.values<any>(content.examples)) expect(value.status).toBe(Number(status));
      }
      // The free tier never answers 402: documenting one would be false.
      if (requires.kind === 'key') expect(responses['402']).toBeUndefined();
      else expect(Object.keys(responses['402'].content['application/problem+json'].examples)).toContain('no_subscription');
    }
    // Public operations are not given tollgate's answers.
    expect(document.paths['/v1/status'].get.responses['401']).toBeUndefined();
  });

  it("shows each operation's requirement to people and tools in the public document", () => {
    const paths = (api.publicDocument as any).paths;
    expect(paths['/v1/quotes'].get['x-tollgate']).toEqual({ requires: 'subscription' });
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
