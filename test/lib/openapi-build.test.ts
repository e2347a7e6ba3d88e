import { PROBLEM_SCHEMA_OBJECT } from '../../lib/openapi/portal';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ANY_METHOD, AUTHORIZER_SCHEME, buildApiDocument, OpenApiError, pathParameters, readRoutes, WEBHOOK_PATH, type BuildApiOptions } from '../../lib/openapi/build';
import { createLocalGateway, localInvocationUri } from '../../lib/local/gateway';

const sample = (): any => JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'api', 'openapi.json'), 'utf8'));
const options = (document: unknown, overrides: Partial<BuildApiOptions> = {}): BuildApiOptions => ({
  document,
  authorizerUri: 'arn:authorizer',
  webhookUri: 'arn:webhook',
  backend: { type: 'lambda', invocationUri: 'arn:backend' },
  authorizerCacheTtlSeconds: 300,
  corsAllowOrigin: 'https://app.example.com',
  docsBaseUrl: 'https://docs.example.com/problems/',
  ...overrides,
});

describe('buildApiDocument', () => {
  it('never mutates the document it is given', () => {
    const document = sample();
    const before = JSON.stringify(document);
    buildApiDocument(options(document));
    expect(JSON.stringify(document)).toBe(before);
  });

  it('returns every operation with its requirement, and the secured ones as routes', () => {
    const built = buildApiDocument(options(sample()));
    expect(built.operations.map((o) => `${o.method} ${o.path}`)).toEqual([
      'GET /v1/status',
      'GET /v1/ping',
      'GET /v1/quotes',
      'GET /v1/reports/{reportId}',
      'GET /v1/search',
    ]);
    expect(built.routes).toEqual([
      { method: 'GET', path: '/v1/ping', requires: { kind: 'key' } },
      { method: 'GET', path: '/v1/quotes', requires: { kind: 'subscription' } },
      { method: 'GET', path: '/v1/reports/{reportId}', requires: { kind: 'entitlement', lookupKey: 'premium-reports' } },
      { method: 'GET', path: '/v1/search', requires: { kind: 'subscription' }, usage: { cost: 1 } },
    ]);
    expect(readRoutes(sample())).toEqual(built.routes);
  });

  describe('usage declarations', () => {
    const withSearch = (declaration: unknown): unknown => {
      const document = sample();
      document.paths['/v1/search'].get['x-tollgate'] = declaration;
      return document;
    };

    it.each([
      [{ requires: 'public', cost: 1 }, 'GET /v1/search: a "public" route cannot have a cost: tollgate bills only routes that require "subscription" or "entitlement:<lookup_key>"; change "requires" or remove "cost"'],
      [{ requires: 'key', cost: 1 }, 'GET /v1/search: a "key" route cannot have a cost'],
      [{ requires: 'subscription', strict: true }, 'GET /v1/search: "strict" needs a "cost": add "cost": <units per call>, or remove "strict"'],
      [{ requires: 'subscription', cost: 1.5 }, 'GET /v1/search: "cost" is 1.5: use a whole number of units ≥ 1 per successful call'],
      [{ requires: 'subscription', cost: -2 }, '"cost" is -2: use a whole number of units ≥ 1'],
      [{ requires: 'subscription', cost: 0 }, '"cost" is 0: use a whole number of units ≥ 1'],
      [{ requires: 'subscription', cost: '1' }, '"cost" is "1": use a whole number'],
      [{ requires: 'subscription', cost: 1, strict: 'yes' }, '"strict" is "yes": use true, or remove it'],
      [{ requires: 'subscription', cost: 1, meter: 'has space' }, '"meter" is "has space": use the Stripe meter\'s event_name'],
      [{ requires: 'subscription', meter: 'api_calls' }, '"meter" needs a "cost"'],
      [{ requires: 'subscription', costs: 1 }, 'unknown x-tollgate field "costs": use "requires", "cost", "strict", "meter", "scopes" and "mcp" only'],
    ])('refuses %j with a message saying what to change', (declaration, message) => {
      expect(() => buildApiDocument(options(withSearch(declaration)))).toThrow(OpenApiError);
      expect(() => buildApiDocument(options(withSearch(declaration)))).toThrow(message);
    });

    it('reads cost, strict and meter, and puts each group behind its own authorizer with its TTL', () => {
      const document = withSearch({ requires: 'entitlement:search', cost: 3, strict: true, meter: 'search_calls' }) as any;
      document.paths['/v1/ask'] = { post: { 'x-tollgate': { requires: 'subscription', cost: 2 }, responses: { '200': { description: 'ok' } } } };
      const built = buildApiDocument(options(document, { usageUri: 'arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:1:function:usage/invocations', mcpUri: 'arn:mcp' }));
      expect(built.routes.find((r) => r.path === '/v1/search')).toEqual({
        method: 'GET',
        path: '/v1/search',
        requires: { kind: 'entitlement', lookupKey: 'search' },
        usage: { cost: 3, strict: true, meter: 'search_calls' },
      });
      const doc = built.document as any;
      expect(doc.paths['/v1/search'].get.security).toEqual([{ tollgateStrict: [] }]);
      expect(doc.paths['/v1/ask'].post.security).toEqual([{ tollgateMetered: [] }]);
      expect(doc.paths['/v1/quotes'].get.security).toEqual([{ [AUTHORIZER_SCHEME]: [] }]);
      const ttl = (name: string): number => doc.components.securitySchemes[name]['x-amazon-apigateway-authorizer'].authorizerResultTtlInSeconds;
      expect([ttl(AUTHORIZER_SCHEME), ttl('tollgateMetered'), ttl('tollgateStrict')]).toEqual([300, 300, 0]);
      // tollgate's own usage route: any valid key, so the standing group, with its own Lambda.
      expect(doc.paths['/tollgate/usage'].get.security).toEqual([{ [AUTHORIZER_SCHEME]: [] }]);
      expect(doc.paths['/tollgate/usage'].get['x-amazon-apigateway-integration'].uri).toContain(':function:usage/');
      expect(built.routes.find((r) => r.path === '/tollgate/usage')).toEqual({ method: 'GET', path: '/tollgate/usage', requires: { kind: 'key' } });
      expect(readRoutes(document, true)).toEqual(built.routes);
    });

    it('reserves /tollgate/ for the routes tollgate adds', () => {
      const document = sample();
      document.paths['/tollgate/mine'] = { get: { 'x-tollgate': { requires: 'key' }, responses: { '200': { description: 'ok' } } } };
      expect(() => buildApiDocument(options(document))).toThrow('path "/tollgate/mine" is under /tollgate/, which is reserved for the routes tollgate adds: move it elsewhere');
    });

    it('checks overlapping routes per authorizer group: a metered route under a key-only proxy is fine', () => {
      const document = sample();
      document.paths['/{proxy+}'] = { get: { 'x-tollgate': { requires: 'key' }, responses: { '200': { description: 'ok' } } } };
      delete document.paths['/v1/quotes'];
      delete document.paths['/v1/reports/{reportId}'];
      expect(() => buildApiDocument(options(document))).not.toThrow();
    });
  });

  it('keeps an integration the user declared on an operation', () => {
    const document = sample();
    const own = { type: 'http_proxy', httpMethod: 'GET', uri: 'https://own.example.com/quotes' };
    document.paths['/v1/quotes'].get['x-amazon-apigateway-integration'] = own;
    expect(buildApiDocument(options(document)).document.paths['/v1/quotes']!.get).toMatchObject({ 'x-amazon-apigateway-integration': own });
  });

  it('keeps the user\'s own security schemes next to the authorizer', () => {
    const document = sample();
    document.components = { securitySchemes: { other: { type: 'http', scheme: 'basic' } }, schemas: { Quote: { type: 'object' } } };
    const built = buildApiDocument(options(document)).document as any;
    expect(Object.keys(built.components.securitySchemes).sort()).toEqual(['other', AUTHORIZER_SCHEME, 'tollgateMetered']);
    expect(built.components.schemas).toEqual({ Quote: { type: 'object' }, Problem: PROBLEM_SCHEMA_OBJECT });
  });

  it('uses the configured CORS origin in the preflight and every gateway response', () => {
    const built = buildApiDocument(options(sample())).document as any;
    expect(built.paths['/v1/ping'].options['x-amazon-apigateway-integration'].responses.default.responseParameters['method.response.header.Access-Control-Allow-Origin']).toBe(
      "'https://app.example.com'",
    );
    for (const response of Object.values<any>(built['x-amazon-apigateway-gateway-responses'])) {
      expect(response.responseParameters['gatewayresponse.header.Access-Control-Allow-Origin']).toBe("'https://app.example.com'");
    }
  });

  it('joins the docs base URL without a double slash', () => {
    const built = buildApiDocument(options(sample())).document as any;
    expect(built['x-amazon-apigateway-gateway-responses'].ACCESS_DENIED.responseTemplates['application/json']).toContain(
      '"type":"https://docs.example.com/problems/$context.authorizer.reason"',
    );
  });

  it('maps greedy and plain path parameters for an HTTP backend', () => {
    const document = sample();
    document.paths['/v1/files/{proxy+}'] = { get: { 'x-tollgate': { requires: 'key' } } };
    const built = buildApiDocument(options(document, { backend: { type: 'http', baseUrl: 'https://api.example.com/' } })).document as any;
    const files = built.paths['/v1/files/{proxy+}'].get;
    expect(files['x-amazon-apigateway-integration']).toMatchObject({
      uri: 'https://api.example.com/v1/files/{proxy}',
      requestParameters: { 'integration.request.path.proxy': 'method.request.path.proxy' },
    });
    expect(files.parameters).toEqual([{ name: 'proxy', in: 'path', required: true, schema: { type: 'string' } }]);
  });

  it('adds the webhook route without an authorizer', () => {
    const built = buildApiDocument(options(sample())).document as any;
    expect(built.paths[WEBHOOK_PATH].post.security).toBeUndefined();
    expect(built.paths[WEBHOOK_PATH].post['x-amazon-apigateway-integration']).toMatchObject({ type: 'aws_proxy', uri: 'arn:webhook' });
  });

  it.each([
    [null, 'must be a JSON object'],
    [{ openapi: '2.0', paths: {} }, 'must declare "openapi": "3.0.x"'],
    [{ openapi: '3.0.1', paths: {} }, 'has no "paths"'],
    [{ openapi: '3.0.1', paths: { 'v1/x': {} } }, 'path "v1/x" is not a valid API Gateway resource path'],
    [{ openapi: '3.0.1', paths: { '/x': { options: {} } } }, 'tollgate adds the CORS preflight itself'],
    [{ openapi: '3.0.1', paths: { '/x': { get: 'no' } } }, 'GET /x must be an object'],
    [{ openapi: '3.0.1', paths: { '/x': { get: { 'x-tollgate': { requires: 'entitlement:' } } } } }, 'GET /x: "entitlement:" names an invalid entitlement lookup key'],
  ])('rejects %j with a clear message', (document, message) => {
    expect(() => buildApiDocument(options(document))).toThrow(OpenApiError);
    expect(() => buildApiDocument(options(document))).toThrow(message);
  });
});

describe('every operation is secured or refused', () => {
  const withPaths = (paths: Record<string, unknown>): any => ({ ...sample(), paths: { ...sample().paths, ...paths } });

  it('secures an x-amazon-apigateway-any-method operation and routes every method it answers', () => {
    const document = withPaths({ '/v1/things/{id}': { [ANY_METHOD]: { 'x-tollgate': { requires: 'subscription' } } } });
    const built = buildApiDocument(options(document));
    const any = (built.document as any).paths['/v1/things/{id}'][ANY_METHOD];
    expect(any.security).toEqual([{ [AUTHORIZER_SCHEME]: [] }]);
    expect(any['x-amazon-apigateway-integration']).toMatchObject({ type: 'aws_proxy', uri: 'arn:backend' });
    expect(built.routes.filter((r) => r.path === '/v1/things/{id}').map((r) => r.method)).toEqual(['GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'HEAD']);
    expect(built.operations).toContainEqual({ method: 'ANY', path: '/v1/things/{id}', requires: { kind: 'subscription' } });
    expect((built.document as any).paths['/v1/things/{id}'].options['x-amazon-apigateway-integration'].responses.default.responseParameters).toMatchObject({
      'method.response.header.Access-Control-Allow-Methods': "'GET,PUT,POST,DELETE,PATCH,HEAD,OPTIONS'",
    });
  });

  it('leaves a method the path declares explicitly to its own operation, not to ANY', () => {
    const document = withPaths({
      '/v1/things': { get: { 'x-tollgate': { requires: 'key' } }, [ANY_METHOD]: { 'x-tollgate': { requires: 'subscription' } } },
    });
    const routes = readRoutes(document).filter((r) => r.path === '/v1/things');
    expect(routes).toEqual([
      { method: 'GET', path: '/v1/things', requires: { kind: 'key' } },
      ...['PUT', 'POST', 'DELETE', 'PATCH', 'HEAD'].map((method) => ({ method, path: '/v1/things', requires: { kind: 'subscription' } })),
    ]);
  });

  it('refuses an ANY operation without a requirement', () => {
    const document = withPaths({ '/v1/things': { [ANY_METHOD]: { responses: {} } } });
    expect(() => buildApiDocument(options(document))).toThrow(`ANY /v1/things has no x-tollgate requirement`);
  });

  it.each([
    ['trace', { 'x-tollgate': { requires: 'key' } }],
    ['$ref', '#/components/pathItems/x'],
    ['GET', { 'x-tollgate': { requires: 'key' } }],
    ['x-amazon-apigateway-other-method', {}],
  ])('refuses a path item member %s it cannot secure, naming it', (key, value) => {
    const document = withPaths({ '/v1/things': { [key]: value } });
    expect(() => buildApiDocument(options(document))).toThrow(OpenApiError);
    expect(() => buildApiDocument(options(document))).toThrow(`/v1/things declares "${key}", which tollgate cannot secure`);
  });

  it('keeps path item fields that are not operations', () => {
    const document = withPaths({ '/v1/things': { summary: 's', description: 'd', parameters: [], 'x-internal': true, get: { 'x-tollgate': { requires: 'key' } } } });
    expect(readRoutes(document).filter((r) => r.path === '/v1/things')).toHaveLength(1);
  });

  it('serves an ANY operation locally only through the authorizer', async () => {
    const document = withPaths({ '/v1/things': { [ANY_METHOD]: { 'x-tollgate': { requires: 'key' } } } });
    const built = buildApiDocument(options(document, {
      authorizerUri: localInvocationUri('authorizer'),
      webhookUri: localInvocationUri('webhook'),
      backend: { type: 'lambda', invocationUri: localInvocationUri('backend') },
    }));
    const backendCalls: unknown[] = [];
    const gateway = createLocalGateway({
      document: built.document,
      functions: {
        authorizer: () => Promise.reject(new Error('Unauthorized')),
        backend: ((event: unknown) => {
          backendCalls.push(event);
          return Promise.resolve({ statusCode: 200, body: '{}' });
        }),
        webhook: () => Promise.resolve({ statusCode: 200, body: '{}' }),
      },
      stage: 'prod',
    });
    for (const method of ['GET', 'POST', 'DELETE']) {
      expect((await gateway.handle({ method, path: '/prod/v1/things' })).statusCode).toBe(401);
    }
    expect(backendCalls).toEqual([]);
  });
});

describe('what an HTTP backend receives', () => {
  const http = { type: 'http', baseUrl: 'https://api.example.com' } as const;
  const integrationOf = (built: any, p: string, method = 'get'): any => built.document.paths[p][method]['x-amazon-apigateway-integration'];
  const IDENTITY = {
    'integration.request.header.X-Tollgate-Customer-Id': 'context.authorizer.customerId',
    'integration.request.header.X-Tollgate-Key-Id': 'context.authorizer.keyId',
    'integration.request.header.X-Tollgate-Plan': 'context.authorizer.plan',
    'integration.request.header.X-Tollgate-Subscription-Status': 'context.authorizer.subscriptionStatus',
    'integration.request.header.X-Tollgate-Payment-Warning': 'context.authorizer.paymentWarning',
    'integration.request.header.X-Tollgate-Current-Period-End': 'context.authorizer.currentPeriodEnd',
  };

  it('maps the authorizer\'s identity and standing to X-Tollgate- headers, and withholds the API key', () => {
    const built = buildApiDocument(options(sample(), { backend: http }));
    expect(integrationOf(built, '/v1/reports/{reportId}').requestParameters).toEqual({
      'integration.request.path.reportId': 'method.request.path.reportId',
      ...IDENTITY,
      'integration.request.header.Authorization': "'redacted-by-tollgate'",
    });
  });

  it('overrides the identity headers on a public route, so a client cannot forge them', () => {
    const built = buildApiDocument(options(sample(), { backend: http }));
    const parameters = integrationOf(built, '/v1/status').requestParameters;
    for (const header of Object.keys(IDENTITY)) expect(parameters[header]).toBe("'none'");
    expect(parameters['integration.request.header.Authorization']).toBe("'redacted-by-tollgate'");
  });

  it('forwards Authorization only when asked to', () => {
    const built = buildApiDocument(options(sample(), { backend: http, forwardAuthorization: true }));
    expect(integrationOf(built, '/v1/quotes').requestParameters).toEqual(IDENTITY);
  });

  it('adds the headers to an HTTP integration the document declares, keeping its own mappings', () => {
    const document = sample();
    document.paths['/v1/quotes'].get['x-amazon-apigateway-integration'] = {
      type: 'HTTP_PROXY',
      httpMethod: 'GET',
      uri: 'https://own.example.com/quotes',
      requestParameters: { 'integration.request.header.X-Tollgate-Plan': "'fixed'" },
    };
    const built = buildApiDocument(options(document));
    expect(integrationOf(built, '/v1/quotes').requestParameters).toEqual({
      ...IDENTITY,
      'integration.request.header.X-Tollgate-Plan': "'fixed'",
      'integration.request.header.Authorization': "'redacted-by-tollgate'",
    });
    expect(integrationOf(built, '/v1/ping').requestParameters).toBeUndefined();
  });
});

describe('CORS from configuration', () => {
  const preflight = (built: any, p: string): Record<string, string> =>
    built.document.paths[p].options['x-amazon-apigateway-integration'].responses.default.responseParameters;

  it('applies allowed headers, methods and max-age to preflights, and the headers to every gateway response', () => {
    const document = sample();
    document.paths['/v1/quotes'].post = { 'x-tollgate': { requires: 'subscription' } };
    const built = buildApiDocument(
      options(document, { corsAllowHeaders: ['Authorization', 'Content-Type', 'X-Request-Id'], corsAllowMethods: ['GET'], corsMaxAgeSeconds: 3600 }),
    ) as any;
    expect(preflight(built, '/v1/quotes')).toEqual({
      'method.response.header.Access-Control-Allow-Origin': "'https://app.example.com'",
      'method.response.header.Access-Control-Allow-Methods': "'GET,OPTIONS'",
      'method.response.header.Access-Control-Allow-Headers': "'Authorization,Content-Type,X-Request-Id'",
      'method.response.header.Access-Control-Max-Age': "'3600'",
    });
    for (const response of Object.values<any>(built.document['x-amazon-apigateway-gateway-responses'])) {
      expect(response.responseParameters['gatewayresponse.header.Access-Control-Allow-Headers']).toBe("'Authorization,Content-Type,X-Request-Id'");
    }
  });

  it('defaults to each path\'s own methods, Authorization and Content-Type, and 600 s', () => {
    const built = buildApiDocument(options(sample())) as any;
    expect(preflight(built, '/v1/quotes')).toMatchObject({
      'method.response.header.Access-Control-Allow-Methods': "'GET,OPTIONS'",
      'method.response.header.Access-Control-Allow-Headers': "'Authorization,Content-Type'",
      'method.response.header.Access-Control-Max-Age': "'600'",
    });
  });
});

describe('the document API Gateway imports', () => {
  it('carries no x-tollgate extension (the routes travel to the authorizer apart from it)', () => {
    const built = buildApiDocument(options(sample()));
    const keys: string[] = [];
    JSON.stringify(built.document, (key: string, value: unknown) => (keys.push(key), value));
    expect(keys).not.toContain('x-tollgate');
    expect(built.routes).toHaveLength(4);
  });

  it.each([
    [{ openapi: '3.1.0', paths: { '/x': { get: { 'x-tollgate': { requires: 'key' } } } } }],
    [{ swagger: '2.0', paths: { '/x': { get: { 'x-tollgate': { requires: 'key' } } } } }],
    [{ openapi: '3.0', paths: { '/x': { get: { 'x-tollgate': { requires: 'key' } } } } }],
  ])('refuses %j with the one message for what API Gateway cannot import', (document) => {
    expect(() => buildApiDocument(options(document))).toThrow(
      'the OpenAPI document must declare "openapi": "3.0.x": API Gateway REST APIs import OpenAPI 3.0 only, convert the document to 3.0',
    );
  });
});

describe('pathParameters', () => {
  it.each([
    ['/v1/quotes', []],
    ['/v1/reports/{reportId}', ['reportId']],
    ['/v1/{a}/b/{c+}', ['a', 'c']],
  ])('finds the parameters of %s', (route, expected) => {
    expect(pathParameters(route)).toEqual(expected);
  });
});
