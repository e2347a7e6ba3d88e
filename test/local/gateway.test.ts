import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { buildApiDocument, type BuildApiOptions } from '../../lib/openapi/build';
import {
  createLocalGateway,
  functionNameFromUri,
  localInvocationUri,
  parseAuthorizerResult,
  type HttpClient,
  type LocalFunction,
  type LocalRequest,
  type OutboundRequest,
} from '../../lib/local/gateway';
import { wildcardMatches } from '../../lambda/shared/wildcard';

const sample: unknown = JSON.parse(readFileSync(path.join(__dirname, '../../api/openapi.json'), 'utf8'));
const ARN_PREFIX = 'arn:aws:execute-api:us-east-1:000000000000:api123/prod';

function documentFor(overrides: Partial<BuildApiOptions> = {}): Record<string, unknown> {
  return buildApiDocument({
    document: sample,
    authorizerUri: localInvocationUri('authorizer'),
    webhookUri: localInvocationUri('webhook'),
    backend: { type: 'lambda', invocationUri: localInvocationUri('backend') },
    authorizerCacheTtlSeconds: 300,
    corsAllowOrigin: '*',
    docsBaseUrl: 'https://docs.example/problems',
    ...overrides,
  }).document;
}

interface Recorded {
  authorizerEvents: Record<string, any>[];
  backendEvents: Record<string, any>[];
  webhookEvents: Record<string, any>[];
}

type Policy = { effect: 'Allow' | 'Deny'; resource: string | string[] }[];

/** An authorizer of keys → (policy, context), like tollgate's: whole-API policy, Deny carries the reason. */
function harness(options: {
  keys?: Record<string, { statements: Policy; context?: Record<string, unknown> } | 'throw-unauthorized' | 'throw' | 'malformed'>;
  ttl?: number;
  backend?: LocalFunction;
  httpClient?: HttpClient;
  document?: Record<string, unknown>;
} = {}) {
  const recorded: Recorded = { authorizerEvents: [], backendEvents: [], webhookEvents: [] };
  let clock = Date.parse('2026-08-01T00:00:00Z');
  const keys = options.keys ?? {};
  const authorizer = (event: any): Promise<unknown> => {
    recorded.authorizerEvents.push(event);
    const token = String(event.headers.Authorization ?? event.headers.authorization).replace(/^Bearer /, '');
    const entry = keys[token];
    if (entry === undefined || entry === 'throw-unauthorized') return Promise.reject(new Error('Unauthorized'));
    if (entry === 'throw') return Promise.reject(new Error('dynamodb unavailable'));
    if (entry === 'malformed') return Promise.resolve({ principalId: 'x' });
    return Promise.resolve({
      principalId: `principal-${token}`,
      policyDocument: {
        Version: '2012-10-17',
        Statement: entry.statements.map((s) => ({ Action: 'execute-api:Invoke', Effect: s.effect, Resource: s.resource })),
      },
      context: entry.context ?? {},
    });
  };
  const backend: LocalFunction =
    options.backend ??
    (((event: any) => {
      recorded.backendEvents.push(event);
      return Promise.resolve({ statusCode: 200, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ ok: true }) });
    }) as LocalFunction);
  const webhook = (event: any): Promise<unknown> => {
    recorded.webhookEvents.push(event);
    return Promise.resolve({ statusCode: 200, body: '{"received":true}' });
  };
  const gateway = createLocalGateway({
    document: options.document ?? documentFor({ authorizerCacheTtlSeconds: options.ttl ?? 300 }),
    functions: { authorizer, backend, webhook },
    stage: 'prod',
    restApiId: 'api123',
    now: () => clock,
    ...(options.httpClient === undefined ? {} : { httpClient: options.httpClient }),
  });
  const request = (method: string, p: string, init: Partial<LocalRequest> = {}) => gateway.handle({ method, path: p, ...init });
  const get = (p: string, key?: string) =>
    request('GET', p, key === undefined ? {} : { headers: { Authorization: `Bearer ${key}` } });
  return { gateway, recorded, request, get, advance: (ms: number) => (clock += ms) };
}

const json = (body: Buffer): any => JSON.parse(body.toString('utf8'));
const allowAll: Policy = [{ effect: 'Allow', resource: `${ARN_PREFIX}/*/*` }];
const payingKey = { statements: allowAll, context: { customerId: 'cus_paying', plan: 'pro', credits: 12, trial: false } };
/** As tollgate's authorizer answers a customer without subscription: free routes allowed, paid ones denied. */
const freeKey = {
  statements: [
    { effect: 'Allow' as const, resource: `${ARN_PREFIX}/GET/v1/ping` },
    { effect: 'Deny' as const, resource: [`${ARN_PREFIX}/GET/v1/quotes`, `${ARN_PREFIX}/GET/v1/reports/*`] },
  ],
  context: {
    customerId: 'cus_free',
    reason: 'no_subscription',
    title: 'Subscription required',
    detail: 'Subscribe at the payment URL, then retry.',
    subscriptionStatus: 'none',
    paymentUrl: 'https://buy.example/checkout',
    // JSON literals, as tollgate's authorizer sets them for the 402 template's usage members.
    limit: 'null',
    used: 'null',
    resetsAt: 'null',
    balance: 'null',
  },
};

describe('functionNameFromUri', () => {
  it.each([
    [localInvocationUri('tollgate-authorizer'), 'tollgate-authorizer'],
    ['arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:fn:live/invocations', 'fn'],
    ['https://example.com/backend', undefined],
  ])('reads the function name when the uri is %s', (uri, name) => {
    expect(functionNameFromUri(uri)).toBe(name);
  });
});

describe('wildcardMatches', () => {
  it.each([
    ['arn:a/prod/*/*', 'arn:a/prod/GET/v1/ping', true],
    ['arn:a/prod/GET/v1/reports/*', 'arn:a/prod/GET/v1/reports/r1', true],
    ['arn:a/prod/GET/v1/reports/*', 'arn:a/prod/GET/v1/quotes', false],
    ['arn:a/prod/GET/v1/pin?', 'arn:a/prod/GET/v1/ping', true],
    ['arn:a/prod/GET/v1/ping', 'arn:a/prod/GET/v1/pingx', false],
    ['arn:a/prod/GET/v1.ping', 'arn:a/prod/GET/v1xping', false],
    ['*', 'anything at all', true],
    ['*', 'two\nlines', true],
  ])('matches %s against %s → %s', (pattern, value, expected) => {
    expect(wildcardMatches(pattern, value)).toBe(expected);
    // Again, from the compiled-pattern cache.
    expect(wildcardMatches(pattern, value)).toBe(expected);
  });
});

describe('parseAuthorizerResult', () => {
  const policy = { Version: '2012-10-17', Statement: { Action: 'execute-api:Invoke', Effect: 'Allow', Resource: '*' } };
  it.each([
    ['a single statement object', { principalId: 'p', policyDocument: policy }, true],
    ['flat context values', { principalId: 'p', policyDocument: policy, context: { a: 'x', b: 1, c: true } }, true],
    ['a nested context value', { principalId: 'p', policyDocument: policy, context: { a: { b: 1 } } }, false],
    ['no principalId', { policyDocument: policy }, false],
    ['no policy', { principalId: 'p' }, false],
    ['an unknown effect', { principalId: 'p', policyDocument: { Statement: [{ Action: '*', Effect: 'Maybe', Resource: '*' }] } }, false],
  ])('accepts the output only when it is valid: %s', (_label, output, valid) => {
    expect(parseAuthorizerResult(output) !== undefined).toBe(valid);
  });
});

describe('createLocalGateway', () => {
  describe('route matching', () => {
    it.each([
      ['an unknown path', 'GET', '/prod/v1/nope'],
      ['another stage', 'GET', '/dev/v1/ping'],
      ['no stage', 'GET', '/v1/ping'],
      ['a method the path does not declare', 'DELETE', '/prod/v1/quotes'],
      ['a path parameter without a value', 'GET', '/prod/v1/reports/'],
    ])('answers 403 Missing Authentication Token for %s', async (_label, method, p) => {
      const { request, recorded } = harness({ keys: { k: payingKey } });
      const res = await request(method, p, { headers: { Authorization: 'Bearer k' } });
      expect(res.statusCode).toBe(403);
      expect(json(res.body)).toMatchObject({ title: 'Missing Authentication Token', detail: 'Missing Authentication Token' });
      expect(res.headers['x-amzn-errortype']).toBe('MissingAuthenticationTokenException');
      expect(recorded.authorizerEvents).toHaveLength(0);
    });

    it('passes decoded path parameters, the resource template and the query string when a route has parameters', async () => {
      const { get, recorded } = harness({ keys: { k: payingKey } });
      const res = await get('/prod/v1/reports/annual%202026?format=csv&format=pdf&lang=en', 'k');
      expect(res.statusCode).toBe(200);
      const event = recorded.backendEvents[0]!;
      expect(event).toMatchObject({
        resource: '/v1/reports/{reportId}',
        path: '/v1/reports/annual 2026',
        httpMethod: 'GET',
        pathParameters: { reportId: 'annual 2026' },
        queryStringParameters: { format: 'pdf', lang: 'en' },
        multiValueQueryStringParameters: { format: ['csv', 'pdf'], lang: ['en'] },
        requestContext: { stage: 'prod', apiId: 'api123', resourcePath: '/v1/reports/{reportId}', path: '/prod/v1/reports/annual%202026' },
      });
    });

    it('prefers a literal segment over a path parameter when both match', async () => {
      const doc = documentFor();
      const paths = doc.paths as Record<string, Record<string, unknown>>;
      paths['/v1/reports/latest'] = { get: { ...(paths['/v1/reports/{reportId}']!.get as object), security: [] } };
      const { get, recorded } = harness({ document: doc });
      expect((await get('/prod/v1/reports/latest')).statusCode).toBe(200);
      expect(recorded.backendEvents[0]!.resource).toBe('/v1/reports/latest');
      expect(recorded.authorizerEvents).toHaveLength(0);
    });

    it('serves a public route without calling the authorizer', async () => {
      const { get, recorded } = harness();
      const res = await get('/prod/v1/status');
      expect(res.statusCode).toBe(200);
      expect(recorded.authorizerEvents).toHaveLength(0);
      expect(recorded.backendEvents[0]!.requestContext.authorizer).toBeUndefined();
    });
  });

  describe('authorizer', () => {
    it.each([
      ['no Authorization header', {}],
      ['an empty Authorization header', { Authorization: '' }],
    ])('answers 401 without calling the authorizer when there is %s', async (_label, headers) => {
      const { request, recorded } = harness({ keys: { k: payingKey } });
      const res = await request('GET', '/prod/v1/quotes', { headers });
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="tollgate"');
      expect(res.headers['content-type']).toBe('application/problem+json');
      expect(json(res.body)).toMatchObject({ status: 401, type: 'https://docs.example/problems/unauthorized', requestId: res.diagnostics.requestId });
      expect(recorded.authorizerEvents).toHaveLength(0);
    });

    it('sends the REQUEST event API Gateway sends when a secured route is called', async () => {
      const { request, recorded } = harness({ keys: { k: payingKey } });
      await request('GET', '/prod/v1/reports/r1?x=1', { headers: { Authorization: 'Bearer k', 'User-Agent': 'jest' }, sourceIp: '10.0.0.9' });
      expect(recorded.authorizerEvents[0]).toMatchObject({
        type: 'REQUEST',
        methodArn: `${ARN_PREFIX}/GET/v1/reports/r1`,
        resource: '/v1/reports/{reportId}',
        path: '/v1/reports/r1',
        httpMethod: 'GET',
        headers: { Authorization: 'Bearer k', 'User-Agent': 'jest' },
        multiValueHeaders: { Authorization: ['Bearer k'] },
        queryStringParameters: { x: '1' },
        pathParameters: { reportId: 'r1' },
        stageVariables: null,
        requestContext: { stage: 'prod', apiId: 'api123', accountId: '000000000000', httpMethod: 'GET', identity: { sourceIp: '10.0.0.9', userAgent: 'jest' } },
      });
    });

    it('passes the context to the backend as strings when the authorizer allows', async () => {
      const { get, recorded } = harness({ keys: { k: payingKey } });
      expect((await get('/prod/v1/quotes', 'k')).statusCode).toBe(200);
      expect(recorded.backendEvents[0]!.requestContext.authorizer).toMatchObject({
        principalId: 'principal-k',
        customerId: 'cus_paying',
        plan: 'pro',
        credits: '12',
        trial: 'false',
      });
    });

    it('renders the 402 problem from the deny context when the authorizer denies', async () => {
      const { get } = harness({ keys: { free: freeKey } });
      const res = await get('/prod/v1/quotes', 'free');
      expect(res.statusCode).toBe(402);
      expect(res.headers).toMatchObject({
        'content-type': 'application/problem+json',
        'cache-control': 'no-store',
        'access-control-allow-origin': '*',
        'x-amzn-errortype': 'AccessDeniedException',
      });
      expect(json(res.body)).toEqual({
        type: 'https://docs.example/problems/no_subscription',
        title: 'Subscription required',
        status: 402,
        detail: 'Subscribe at the payment URL, then retry.',
        reason: 'no_subscription',
        subscriptionStatus: 'none',
        paymentUrl: 'https://buy.example/checkout',
        limit: null,
        used: null,
        resetsAt: null,
        balance: null,
        requestId: res.diagnostics.requestId,
      });
      expect(res.diagnostics).toMatchObject({ reason: 'no_subscription', responseType: 'ACCESS_DENIED', route: 'GET /v1/quotes' });
    });

    it('denies when a deny and an allow both cover the route', async () => {
      const { get } = harness({
        keys: { k: { statements: [...allowAll, { effect: 'Deny', resource: `${ARN_PREFIX}/GET/v1/quotes` }], context: { reason: 'payment_failed' } } },
      });
      expect((await get('/prod/v1/quotes', 'k')).statusCode).toBe(402);
      expect((await get('/prod/v1/ping', 'k')).statusCode).toBe(200);
    });

    it('denies when no statement covers the route', async () => {
      const { get, recorded } = harness({ keys: { k: { statements: [{ effect: 'Allow', resource: `${ARN_PREFIX}/GET/v1/ping` }] } } });
      const res = await get('/prod/v1/quotes', 'k');
      expect(res.statusCode).toBe(402);
      expect(recorded.backendEvents).toHaveLength(0);
    });

    it.each([
      ['throws exactly "Unauthorized"', 'throw-unauthorized', 401, 'UNAUTHORIZED'],
      ['throws another error', 'throw', 503, 'AUTHORIZER_FAILURE'],
      ['returns a malformed result', 'malformed', 503, 'AUTHORIZER_CONFIGURATION_ERROR'],
    ] as const)('answers %s with %i', async (_label, behaviour, status, type) => {
      const { get, recorded } = harness({ keys: { k: behaviour } });
      const res = await get('/prod/v1/quotes', 'k');
      expect(res.statusCode).toBe(status);
      expect(res.diagnostics.responseType).toBe(type);
      expect(recorded.backendEvents).toHaveLength(0);
      if (status === 503) {
        expect(res.headers['retry-after']).toBe('1');
        expect(json(res.body)).toMatchObject({ status: 503, type: 'https://docs.example/problems/service_unavailable' });
      }
    });
  });

  describe('authorizer cache', () => {
    it('re-uses the result when the same key calls again within the TTL', async () => {
      const { get, recorded, advance } = harness({ keys: { k: payingKey, j: payingKey } });
      expect((await get('/prod/v1/quotes', 'k')).diagnostics.authorizer).toBe('invoked');
      advance(299_000);
      expect((await get('/prod/v1/quotes', 'k')).diagnostics.authorizer).toBe('cache');
      expect((await get('/prod/v1/quotes', 'j')).diagnostics.authorizer).toBe('invoked');
      expect(recorded.authorizerEvents).toHaveLength(2);
      expect(recorded.backendEvents).toHaveLength(3);
    });

    it('calls the authorizer again when the TTL has passed', async () => {
      const { get, recorded, advance } = harness({ keys: { k: payingKey }, ttl: 60 });
      await get('/prod/v1/quotes', 'k');
      advance(60_000);
      expect((await get('/prod/v1/quotes', 'k')).diagnostics.authorizer).toBe('invoked');
      expect(recorded.authorizerEvents).toHaveLength(2);
    });

    it('never caches when the TTL is 0', async () => {
      const { get, recorded } = harness({ keys: { k: payingKey }, ttl: 0 });
      await get('/prod/v1/quotes', 'k');
      await get('/prod/v1/quotes', 'k');
      expect(recorded.authorizerEvents).toHaveLength(2);
    });

    it('calls the authorizer again when the cache is flushed through the port', async () => {
      const { gateway, get, recorded } = harness({ keys: { k: payingKey } });
      await get('/prod/v1/quotes', 'k');
      await gateway.flusher.flush({ restApiId: 'api123', stage: 'prod' });
      expect((await get('/prod/v1/quotes', 'k')).diagnostics.authorizer).toBe('invoked');
      expect(recorded.authorizerEvents).toHaveLength(2);
    });

    it('rejects a flush when it names another API or stage', async () => {
      const { gateway } = harness();
      await expect(gateway.flusher.flush({ restApiId: 'other', stage: 'prod' })).rejects.toThrow(/no stage "prod" on REST API "other"/);
      await expect(gateway.flusher.flush({ restApiId: 'api123', stage: 'dev' })).rejects.toThrow(/serves api123\/prod/);
    });

    it('applies a policy cached on one route to another route', async () => {
      const { get, recorded } = harness({ keys: { free: freeKey } });
      expect((await get('/prod/v1/ping', 'free')).statusCode).toBe(200);
      const denied = await get('/prod/v1/reports/r9', 'free');
      expect(denied.statusCode).toBe(402);
      expect(denied.diagnostics.authorizer).toBe('cache');
      expect(json(denied.body).reason).toBe('no_subscription');
      expect(recorded.authorizerEvents).toHaveLength(1);
      expect(recorded.authorizerEvents[0]!.methodArn).toBe(`${ARN_PREFIX}/GET/v1/ping`);
    });

    it('keeps a thrown Unauthorized out of the cache', async () => {
      const { get, recorded } = harness({ keys: { k: 'throw-unauthorized' } });
      await get('/prod/v1/quotes', 'k');
      await get('/prod/v1/quotes', 'k');
      expect(recorded.authorizerEvents).toHaveLength(2);
    });
  });

  describe('integrations', () => {
    it('answers the CORS preflight from the mock integration', async () => {
      const { request, recorded } = harness();
      const res = await request('OPTIONS', '/prod/v1/quotes');
      expect(res.statusCode).toBe(204);
      expect(res.headers).toMatchObject({
        'access-control-allow-origin': '*',
        'access-control-allow-methods': 'GET,OPTIONS',
        'access-control-allow-headers': 'Authorization,Content-Type',
        'access-control-max-age': '600',
      });
      expect(res.body.length).toBe(0);
      expect(recorded.authorizerEvents).toHaveLength(0);
    });

    it('returns the proxy result with multi-value headers and a base64 body decoded', async () => {
      const bytes = Buffer.from([0, 1, 2, 250, 255]);
      const { get } = harness({
        backend: (() =>
          Promise.resolve({
            statusCode: 201,
            headers: { 'Content-Type': 'application/octet-stream', 'X-One': 'a' },
            multiValueHeaders: { 'Set-Cookie': ['a=1', 'b=2'] },
            body: bytes.toString('base64'),
            isBase64Encoded: true,
          })),
      });
      const res = await get('/prod/v1/status');
      expect(res.statusCode).toBe(201);
      expect(res.body.equals(bytes)).toBe(true);
      expect(res.headers['x-one']).toBe('a');
      expect(res.multiValueHeaders['set-cookie']).toEqual(['a=1', 'b=2']);
    });

    it.each([
      ['throws', () => Promise.reject(new Error('boom'))],
      ['returns no status code', () => Promise.resolve({ body: 'x' })],
      ['returns a string', () => Promise.resolve('hello')],
    ])('answers 502 Internal server error when the backend %s', async (_label, fn) => {
      const { get } = harness({ backend: fn });
      const res = await get('/prod/v1/status');
      expect(res.statusCode).toBe(502);
      expect(json(res.body)).toMatchObject({ title: 'Internal server error' });
      expect(res.diagnostics.responseType).toBe('DEFAULT_5XX');
    });

    it('delivers the webhook body byte for byte when it is text', async () => {
      const { request, recorded } = harness();
      const raw = '{"id":"evt_1",  "note":"caf\u00e9 \u2603",\n"n":1.50}';
      const res = await request('POST', '/prod/webhooks/stripe', { headers: { 'Stripe-Signature': 't=1,v1=abc', 'Content-Type': 'application/json' }, body: Buffer.from(raw, 'utf8') });
      expect(res.statusCode).toBe(200);
      const event = recorded.webhookEvents[0]!;
      expect(event.isBase64Encoded).toBe(false);
      expect(event.body).toBe(raw);
      expect(event.headers['Stripe-Signature']).toBe('t=1,v1=abc');
      expect(event.requestContext.authorizer).toBeUndefined();
    });

    it('base64-encodes the body when it is not valid UTF-8', async () => {
      const { request, recorded } = harness();
      const raw = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
      await request('POST', '/prod/webhooks/stripe', { body: raw });
      const event = recorded.webhookEvents[0]!;
      expect(event.isBase64Encoded).toBe(true);
      expect(Buffer.from(event.body, 'base64').equals(raw)).toBe(true);
    });

    it('forwards to the HTTP backend when the integration is an HTTP proxy', async () => {
      const calls: OutboundRequest[] = [];
      const fakeClient: HttpClient = (outbound) => {
        calls.push(outbound);
        return Promise.resolve({ statusCode: 207, headers: [['content-type', 'application/json'], ['x-up', '1']], body: Buffer.from('{"from":"upstream"}') });
      };
      const doc = documentFor({ backend: { type: 'http', baseUrl: 'https://backend.example/base' } });
      const { get } = harness({ keys: { k: payingKey }, document: doc, httpClient: fakeClient });
      const res = await get('/prod/v1/reports/r%2F1?x=2', 'k');
      expect(res.statusCode).toBe(207);
      expect(res.headers['x-up']).toBe('1');
      expect(json(res.body)).toEqual({ from: 'upstream' });
      expect(`${calls[0]!.origin}${calls[0]!.path}`).toBe('https://backend.example/base/v1/reports/r%2F1?x=2');
      expect(calls[0]!.method).toBe('GET');
    });

    it('answers 504 when the HTTP backend cannot be reached', async () => {
      const doc = documentFor({ backend: { type: 'http', baseUrl: 'https://backend.example' } });
      const failing: HttpClient = () => Promise.reject(new Error('connect ECONNREFUSED'));
      const { get } = harness({ document: doc, httpClient: failing });
      const res = await get('/prod/v1/status');
      expect(res.statusCode).toBe(504);
    });
  });

  it('refuses to start when a function the document names is missing', () => {
    const noop = (() => Promise.resolve({ statusCode: 200 })) as LocalFunction;
    expect(() => createLocalGateway({ document: documentFor(), functions: { backend: noop, webhook: noop } })).toThrow(
      /GET \/v1\/ping needs the function "authorizer": pass it in functions/,
    );
  });
});
