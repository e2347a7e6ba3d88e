import { createLocalGateway, type HttpClient, type LocalRequest, type OutboundRequest } from '../../../lib/local/gateway';
import { allowing, documentWith, httpProxy } from './support';

/** The http_proxy translator in process: what it would send (a recording client), and what it returns. */

const IDENTITY = {
  'integration.request.header.X-Tollgate-Customer-Id': 'context.authorizer.customerId',
  'integration.request.header.X-Tollgate-Plan': 'context.authorizer.plan',
  'integration.request.header.X-Tollgate-Credits': 'context.authorizer.credits',
  'integration.request.header.Authorization': "'tollgate-verified'",
};

function setup(options: { parameters?: Record<string, string>; uri?: string; path?: string; context?: Record<string, string | number | boolean>; public?: boolean; answer?: Awaited<ReturnType<HttpClient>> }) {
  const sent: OutboundRequest[] = [];
  const client: HttpClient = (outbound) => {
    sent.push(outbound);
    return Promise.resolve(options.answer ?? { statusCode: 200, headers: [], body: Buffer.from('ok') });
  };
  const template = options.path ?? '/v1/reports/{reportId}';
  const operation = { 'x-amazon-apigateway-integration': httpProxy(options.uri ?? 'https://backend.example/base/v1/reports/{reportId}', options.parameters), ...(options.public === true ? { security: [] } : {}) };
  const gateway = createLocalGateway({
    document: documentWith({ [template]: { get: operation } }),
    functions: { authorizer: allowing(['/GET/*'], options.context ?? { customerId: 'cus_1', plan: 'pro', credits: 12 }) },
    httpClient: client,
  });
  const call = async (request: Partial<LocalRequest> & { path: string }) => {
    const res = await gateway.handle({ method: 'GET', ...request, headers: { Authorization: 'Bearer k', ...request.headers } });
    return { res, sent: sent[sent.length - 1] };
  };
  return { call };
}

const REPORT_PATH = { 'integration.request.path.reportId': 'method.request.path.reportId' };

describe('http_proxy translator', () => {
  it("maps the authorizer's identity into headers and replaces the client's key", async () => {
    const { call } = setup({ parameters: { ...REPORT_PATH, ...IDENTITY } });
    const { sent } = await call({ path: '/prod/v1/reports/r1', headers: { 'X-Client': 'web' } });
    expect(sent!.headers).toEqual({
      'X-Client': ['web'],
      'X-Tollgate-Customer-Id': ['cus_1'],
      'X-Tollgate-Plan': ['pro'],
      'X-Tollgate-Credits': ['12'],
      Authorization: ['tollgate-verified'],
    });
    expect(JSON.stringify(sent)).not.toContain('Bearer k');
  });

  it('drops a header the client sent under a mapped name, even when the mapping has no value', async () => {
    const { call } = setup({ parameters: { ...REPORT_PATH, ...IDENTITY }, context: { plan: 'free' } });
    const { sent } = await call({ path: '/prod/v1/reports/r1', headers: { 'x-tollgate-customer-id': 'cus_victim', 'X-TOLLGATE-PLAN': 'enterprise' } });
    expect(sent!.headers['X-Tollgate-Customer-Id']).toBeUndefined();
    expect(sent!.headers['x-tollgate-customer-id']).toBeUndefined();
    expect(sent!.headers['X-TOLLGATE-PLAN']).toBeUndefined();
    expect(sent!.headers['X-Tollgate-Plan']).toEqual(['free']);
  });

  it('drops a forged identity header on a public route, where there is no authorizer context', async () => {
    const { call } = setup({ parameters: { ...REPORT_PATH, ...IDENTITY }, public: true });
    const { res, sent } = await call({ path: '/prod/v1/reports/r1', headers: { 'X-Tollgate-Customer-Id': 'cus_victim' } });
    expect(res.diagnostics.authorizer).toBeUndefined();
    expect(Object.keys(sent!.headers).map((h) => h.toLowerCase())).not.toContain('x-tollgate-customer-id');
  });

  it('passes the request id and source ip from $context', async () => {
    const { call } = setup({ parameters: { ...REPORT_PATH, 'integration.request.header.X-Request-Id': 'context.requestId', 'integration.request.header.X-Source-Ip': 'context.identity.sourceIp' } });
    const { res, sent } = await call({ path: '/prod/v1/reports/r1', sourceIp: '10.1.2.3' });
    expect(sent!.headers['X-Request-Id']).toEqual([res.diagnostics.requestId]);
    expect(sent!.headers['X-Source-Ip']).toEqual(['10.1.2.3']);
  });

  it("overrides a mapped query parameter and keeps the client's others byte for byte", async () => {
    const { call } = setup({ parameters: { ...REPORT_PATH, 'integration.request.querystring.customer': 'context.authorizer.customerId' } });
    const { sent } = await call({ path: '/prod/v1/reports/r1?a=%20x&customer=cus_victim&b=1&Customer=kept' });
    expect(sent!.path).toBe('/base/v1/reports/r1?a=%20x&b=1&Customer=kept&customer=cus_1');
  });

  it('encodes a path target whatever its source, so a value with a slash stays one segment', async () => {
    const { call } = setup({ uri: 'https://backend.example/tenants/{tenant}/reports', path: '/v1/reports', parameters: { 'integration.request.path.tenant': 'context.authorizer.customerId' }, context: { customerId: 'a/../b' } });
    const { sent } = await call({ path: '/prod/v1/reports?x=1' });
    expect(`${sent!.origin}${sent!.path}`).toBe('https://backend.example/tenants/a%2F..%2Fb/reports?x=1');
  });

  it('does not forward hop-by-hop headers and lets the client set Host and Content-Length', async () => {
    const { call } = setup({ parameters: REPORT_PATH });
    const { sent } = await call({
      path: '/prod/v1/reports/r1',
      headers: { Host: 'gateway.local', Connection: 'keep-alive, X-Secret', 'Keep-Alive': 'timeout=5', 'Transfer-Encoding': 'chunked', 'Content-Length': '0', Upgrade: 'h2c', TE: 'trailers', 'X-Secret': 'for the next hop only', 'X-Kept': '1' },
    });
    expect(Object.keys(sent!.headers).sort()).toEqual(['Authorization', 'X-Kept']);
  });

  it('returns the backend answer without hop-by-hop headers, every other value kept', async () => {
    const { call } = setup({
      parameters: REPORT_PATH,
      answer: {
        statusCode: 201,
        headers: [['Content-Type', 'text/csv'], ['Set-Cookie', 'a=1'], ['Set-Cookie', 'b=2'], ['Connection', 'close'], ['Transfer-Encoding', 'chunked'], ['Content-Length', '3']],
        body: Buffer.from('a,b'),
      },
    });
    const { res } = await call({ path: '/prod/v1/reports/r1' });
    expect(res.statusCode).toBe(201);
    expect(res.multiValueHeaders).toEqual({ 'content-type': ['text/csv'], 'set-cookie': ['a=1', 'b=2'], 'x-amzn-requestid': [res.diagnostics.requestId] });
    expect(res.body.toString()).toBe('a,b');
  });

  it('refuses to start when the uri names a path parameter no mapping fills', () => {
    expect(() => setup({ parameters: IDENTITY })).toThrow(
      'GET /v1/reports/{reportId}: the integration uri has {reportId} but no requestParameters "integration.request.path.reportId": map it, e.g. from "method.request.path.reportId"',
    );
  });

  it('refuses to start when the uri is not an http(s) URL', () => {
    expect(() => setup({ uri: 'ftp://backend.example/x', path: '/v1/x' })).toThrow(/the http_proxy integration uri "ftp:\/\/backend\.example\/x" is not an http\(s\) URL/);
  });
});
