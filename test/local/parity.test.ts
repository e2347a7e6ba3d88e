import * as path from 'node:path';
import { createLocalGateway, localInvocationUri, type LocalFunction, type LocalResponse } from '../../lib/local/gateway';
import { buildLocalDocument, LOCAL_FUNCTION_NAMES } from '../../lib/local/stack';
import { loadProjectConfig } from '../../lib/config/tollgate-config';
import { synth } from '../support/synth';
import { PORTAL_PATHS } from '../../lambda/shared/portal-paths';

/**
 * Parity with what `cdk deploy` ships: the local gateway, fed the synthesized RestApi Body, renders
 * exactly the status, headers and body each gateway response declares, for every secured route; and
 * `npm start` serves the same document.
 */

const ROOT = path.join(__dirname, '..', '..');
const STAGE = 'prod';
const PLATFORM_HEADERS = ['x-amzn-requestid', 'x-amzn-errortype'];

type Doc = Record<string, any>;

/** The synthesized Body with each CloudFormation-built invocation URI replaced by the local one. */
function localise(body: Doc): Doc {
  const roles: [string, string][] = [
    ['Authorizer', LOCAL_FUNCTION_NAMES.authorizer],
    ['StripeWebhook', LOCAL_FUNCTION_NAMES.webhook],
    ['SampleBackend', LOCAL_FUNCTION_NAMES.backend],
    ['Portal', LOCAL_FUNCTION_NAMES.portal],
    ['Usage', LOCAL_FUNCTION_NAMES.usage],
    ['Purchase', LOCAL_FUNCTION_NAMES.purchase],
    ['Mcp', LOCAL_FUNCTION_NAMES.mcp],
  ];
  const walk = (value: unknown, key?: string): unknown => {
    if ((key === 'uri' || key === 'authorizerUri') && typeof value === 'object' && value !== null) {
      const text = JSON.stringify(value);
      const role = roles.find(([logicalId]) => new RegExp(`"${logicalId}[0-9A-F]{8}"`).test(text));
      if (role === undefined) throw new Error(`unrecognised invocation URI ${text}`);
      return localInvocationUri(role[1]);
    }
    if (Array.isArray(value)) return value.map((v) => walk(v));
    if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, k)]));
    return value;
  };
  return walk(body) as Doc;
}

/** What the template declares for a response type, with the given `$context` values substituted. */
function declared(body: Doc, type: string, defaultStatus: number, values: Record<string, string>) {
  const responses = body['x-amazon-apigateway-gateway-responses'] as Doc;
  const response = responses[type] ?? responses[defaultStatus >= 500 ? 'DEFAULT_5XX' : 'DEFAULT_4XX'];
  // The stage's own URLs (problem types): the local gateway's default domain, and the stage.
  values = { 'context.domainName': '127.0.0.1', 'context.stage': STAGE, ...values };
  // A static value is quoted; a mapping names a context variable (the authorizer's challenges), absent when unset.
  const headers = Object.fromEntries(
    Object.entries(response.responseParameters as Record<string, string>).flatMap(([k, v]) => {
      const value = v.startsWith("'") ? v.replace(/^'|'$/g, '') : values[v];
      return value === undefined ? [] : [[k.replace('gatewayresponse.header.', '').toLowerCase(), value]];
    }),
  );
  let template = response.responseTemplates['application/json'] as string;
  // Longest names first: $context.authorizer.reason must not be cut by a shorter variable.
  for (const name of Object.keys(values).sort((a, b) => b.length - a.length)) template = template.split(`$${name}`).join(values[name]);
  // As API Gateway: a variable the context does not set renders empty.
  template = template.replace(/\$context(\.[A-Za-z0-9_]+)+/g, '');
  return { statusCode: response.statusCode === undefined ? defaultStatus : Number(response.statusCode), headers, body: template };
}

function rendered(res: LocalResponse) {
  const headers = Object.fromEntries(Object.entries(res.headers).filter(([k]) => !PLATFORM_HEADERS.includes(k)));
  return { statusCode: res.statusCode, headers, body: res.body.toString('utf8') };
}

const denyContext = {
  reason: 'payment_failed',
  title: 'Payment failed',
  detail: 'Your last payment failed. Pay the open invoice at the payment URL.',
  subscriptionStatus: 'unpaid',
  paymentUrl: 'https://invoice.stripe.com/i/acct_x/test_1',
  customerId: 'cus_parity',
  // The usage members as tollgate's authorizer sets them: JSON literals.
  limit: 'null',
  used: 'null',
  resetsAt: 'null',
  balance: 'null',
  // Selling to agents: the offers (a JSON literal) and their challenges.
  offers: '[]',
  wwwAuthenticate: 'Payment id="parity", realm="tollgate", method="stripe", intent="charge", request="e30"',
};

describe('local gateway parity with the synthesized template', () => {
  const { template } = synth();
  const restApis = template.findResources('AWS::ApiGateway::RestApi');
  const body = Object.values(restApis)[0]!.Properties.Body as Doc;
  const document = localise(body);
  const behaviour: { mode: 'deny' | 'throw' | 'malformed' | 'allow' } = { mode: 'deny' };
  const authorizer = ((event: { methodArn: string }) => {
    if (behaviour.mode === 'throw') return Promise.reject(new Error('store unavailable'));
    if (behaviour.mode === 'malformed') return Promise.resolve({ principalId: 'cus_parity', policyDocument: { Statement: 'nope' } });
    return Promise.resolve({
      principalId: 'cus_parity',
      policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: behaviour.mode === 'allow' ? 'Allow' : 'Deny', Resource: event.methodArn }] },
      context: denyContext,
    });
  }) as LocalFunction;
  const failingBackend = (() => Promise.reject(new Error('backend crashed'))) as LocalFunction;
  const gateway = createLocalGateway({
    document,
    functions: {
      [LOCAL_FUNCTION_NAMES.authorizer]: authorizer,
      [LOCAL_FUNCTION_NAMES.webhook]: failingBackend,
      [LOCAL_FUNCTION_NAMES.backend]: failingBackend,
      [LOCAL_FUNCTION_NAMES.portal]: failingBackend,
      [LOCAL_FUNCTION_NAMES.usage]: failingBackend,
      [LOCAL_FUNCTION_NAMES.purchase]: failingBackend,
      [LOCAL_FUNCTION_NAMES.mcp]: failingBackend,
    },
    stage: STAGE,
  });

  const secured: [string, string, string][] = [];
  for (const [route, item] of Object.entries(body.paths as Doc)) {
    for (const [method, operation] of Object.entries(item as Doc)) {
      if (Array.isArray(operation.security) && operation.security.length > 0) {
        secured.push([method.toUpperCase(), route, route.replace(/\{([^}+]+)\+?\}/g, 'x1')]);
      }
    }
  }

  it('serves the same document as the one npm start builds, but for the local test checkout and http', () => {
    const local = buildLocalDocument(loadProjectConfig(ROOT), ROOT).document as Doc;
    // Local only: the test checkout standing in for Stripe, and problem pages on the local server's http.
    expect(Object.keys(local.paths).filter((p) => !(p in document.paths))).toEqual([PORTAL_PATHS.testCheckout]);
    delete local.paths[PORTAL_PATHS.testCheckout];
    expect(JSON.parse(JSON.stringify(local).replaceAll('http://$context.domainName', 'https://$context.domainName'))).toEqual(document);
  });

  it('finds secured routes in the template', () => {
    expect(secured.map(([m, r]) => `${m} ${r}`)).toEqual(['GET /v1/ping', 'GET /v1/quotes', 'GET /v1/reports/{reportId}', 'GET /v1/search', 'POST /mcp', 'GET /mcp', 'DELETE /mcp', 'GET /tollgate/usage', 'PUT /tollgate/budget', 'DELETE /tollgate/budget']);
  });

  describe.each(secured)('%s %s', (method, _route, concrete) => {
    const request = (key?: string) =>
      gateway.handle({ method, path: `/${STAGE}${concrete}`, headers: key === undefined ? {} : { Authorization: `Bearer ${key}` } });

    it('renders UNAUTHORIZED as declared when the request has no key', async () => {
      const res = await request();
      expect(rendered(res)).toEqual(declared(body, 'UNAUTHORIZED', 401, { 'context.requestId': res.diagnostics.requestId }));
    });

    it('renders ACCESS_DENIED as declared when the authorizer denies', async () => {
      behaviour.mode = 'deny';
      gateway.flushAuthorizerCache();
      const res = await request('k-deny');
      const values = Object.fromEntries(Object.entries(denyContext).map(([k, v]) => [`context.authorizer.${k}`, v]));
      expect(rendered(res)).toEqual(declared(body, 'ACCESS_DENIED', 403, { ...values, 'context.requestId': res.diagnostics.requestId }));
      expect(res.statusCode).toBe(402);
    });

    it.each([
      ['AUTHORIZER_FAILURE', 'throw'],
      ['AUTHORIZER_CONFIGURATION_ERROR', 'malformed'],
    ] as const)('renders %s as declared when the authorizer fails that way', async (type, mode) => {
      behaviour.mode = mode;
      gateway.flushAuthorizerCache();
      const res = await request(`k-${mode}`);
      expect(res.diagnostics.responseType).toBe(type);
      expect(rendered(res)).toEqual(declared(body, type, 500, { 'context.requestId': res.diagnostics.requestId }));
    });
  });

  it('renders DEFAULT_4XX as declared when no route matches', async () => {
    const res = await gateway.handle({ method: 'GET', path: `/${STAGE}/no/such/route` });
    expect(rendered(res)).toEqual(
      declared(body, 'MISSING_AUTHENTICATION_TOKEN', 403, { 'context.requestId': res.diagnostics.requestId, 'context.error.messageString': '"Missing Authentication Token"' }),
    );
  });

  it('renders DEFAULT_5XX as declared when the integration fails', async () => {
    behaviour.mode = 'allow';
    gateway.flushAuthorizerCache();
    const res = await gateway.handle({ method: 'GET', path: `/${STAGE}/v1/quotes`, headers: { Authorization: 'Bearer k-allow' } });
    expect(rendered(res)).toEqual(declared(body, 'DEFAULT_5XX', 502, { 'context.requestId': res.diagnostics.requestId, 'context.error.messageString': '"Internal server error"' }));
  });

  it('emulates every declared gateway response but THROTTLED', () => {
    // Stage throttling is not emulated locally (README: local vs deployed).
    const exercised = ['UNAUTHORIZED', 'ACCESS_DENIED', 'AUTHORIZER_FAILURE', 'AUTHORIZER_CONFIGURATION_ERROR', 'DEFAULT_4XX', 'DEFAULT_5XX'];
    const types = Object.keys(body['x-amazon-apigateway-gateway-responses'] as Doc);
    expect(types.filter((t) => !exercised.includes(t))).toEqual(['THROTTLED']);
  });
});
