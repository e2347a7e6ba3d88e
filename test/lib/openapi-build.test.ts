import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { AUTHORIZER_SCHEME, buildApiDocument, OpenApiError, pathParameters, readRoutes, WEBHOOK_PATH, type BuildApiOptions } from '../../lib/openapi/build';

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
    ]);
    expect(built.routes).toEqual([
      { method: 'GET', path: '/v1/ping', requires: { kind: 'key' } },
      { method: 'GET', path: '/v1/quotes', requires: { kind: 'subscription' } },
      { method: 'GET', path: '/v1/reports/{reportId}', requires: { kind: 'entitlement', lookupKey: 'premium-reports' } },
    ]);
    expect(readRoutes(sample())).toEqual(built.routes);
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
    expect(Object.keys(built.components.securitySchemes).sort()).toEqual(['other', AUTHORIZER_SCHEME]);
    expect(built.components.schemas).toEqual({ Quote: { type: 'object' } });
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

describe('pathParameters', () => {
  it.each([
    ['/v1/quotes', []],
    ['/v1/reports/{reportId}', ['reportId']],
    ['/v1/{a}/b/{c+}', ['a', 'c']],
  ])('finds the parameters of %s', (route, expected) => {
    expect(pathParameters(route)).toEqual(expected);
  });
});
