import { gzipSync } from 'node:zlib';
import { createLocalGateway } from '../../../lib/local/gateway';
import { allowing, documentWith, httpProxy, loopbackBackend, type Backend } from './support';

/**
 * The HTTP proxy against a real backend on loopback: what arrives there is what API Gateway would
 * send, and nothing outside the matched route.
 */

describe('http_proxy against a loopback backend', () => {
  let backend: Backend;
  afterEach(() => backend.close());

  const gatewayFor = (origin: string) =>
    createLocalGateway({
      document: documentWith({
        '/v1/files/{proxy+}': { get: { 'x-amazon-apigateway-integration': httpProxy(`${origin}/v1/files/{proxy}`, { 'integration.request.path.proxy': 'method.request.path.proxy' }) } },
        '/admin/export': { get: { 'x-amazon-apigateway-integration': httpProxy(`${origin}/admin/export`) } },
      }),
      functions: { authorizer: allowing(['/GET/v1/files/*']) },
    });

  it('keeps an encoded ../ inside the greedy segment when the path tries to climb out of the route', async () => {
    backend = await loopbackBackend();
    const gateway = gatewayFor(backend.origin);
    const headers = { Authorization: 'Bearer k' };

    expect((await gateway.handle({ method: 'GET', path: '/prod/admin/export', headers })).statusCode).toBe(402);
    const res = await gateway.handle({ method: 'GET', path: '/prod/v1/files/..%2F..%2Fadmin%2Fexport', headers });

    expect(res.statusCode).toBe(200);
    expect(backend.seen.map((s) => s.url)).toEqual(['/v1/files/..%2F..%2Fadmin%2Fexport']);
  });

  it.each([
    ['a literal ../', '/prod/v1/files/../../admin/export'],
    ['an encoded dot segment', '/prod/v1/files/%2e%2e/%2E%2E/admin/export'],
  ])('routes %s as the path it resolves to, so the route it reaches is the one authorised', async (_label, path) => {
    backend = await loopbackBackend();
    const res = await gatewayFor(backend.origin).handle({ method: 'GET', path, headers: { Authorization: 'Bearer k' } });
    expect(res.statusCode).toBe(402);
    expect(backend.seen).toHaveLength(0);
  });

  it('forwards the segments of a greedy value as sent, each re-encoded', async () => {
    backend = await loopbackBackend();
    await gatewayFor(backend.origin).handle({ method: 'GET', path: '/prod/v1/files/a%20b/c%252F/d?x=1&x=2', headers: { Authorization: 'Bearer k' } });
    expect(backend.seen[0]!.url).toBe('/v1/files/a%20b/c%252F/d?x=1&x=2');
  });

  it('adds no header the client did not send', async () => {
    backend = await loopbackBackend();
    const gateway = gatewayFor(backend.origin);
    const sent = { Authorization: 'Bearer k', 'X-Trace': 'a', 'x-multi': ['1', '2'] };
    await gateway.handle({ method: 'GET', path: '/prod/v1/files/report.csv', headers: sent });

    // Host and Connection belong to the new connection; everything else is the client's, unchanged.
    const received = backend.seen[0]!.headers.filter(([name]) => !['host', 'connection'].includes(name.toLowerCase()));
    expect(received).toEqual([
      ['Authorization', 'Bearer k'],
      ['X-Trace', 'a'],
      ['x-multi', '1'],
      ['x-multi', '2'],
    ]);
    expect(backend.seen[0]!.headers.find(([name]) => name.toLowerCase() === 'host')?.[1]).toBe(backend.origin.replace('http://', ''));
  });

  it('sends the backend the identity the integration maps and never the client key', async () => {
    backend = await loopbackBackend();
    const gateway = createLocalGateway({
      document: documentWith({
        '/v1/quotes': {
          get: {
            'x-amazon-apigateway-integration': httpProxy(`${backend.origin}/v1/quotes`, {
              'integration.request.header.X-Tollgate-Customer-Id': 'context.authorizer.customerId',
              'integration.request.header.Authorization': "'tollgate-verified'",
            }),
          },
        },
      }),
      functions: { authorizer: allowing(['/GET/v1/quotes'], { customerId: 'cus_42' }) },
    });
    await gateway.handle({ method: 'GET', path: '/prod/v1/quotes', headers: { Authorization: 'Bearer tg_secret_key', 'X-Tollgate-Customer-Id': 'cus_victim' } });
    const received = backend.seen[0]!.headers.filter(([name]) => !['host', 'connection'].includes(name.toLowerCase()));
    expect(received).toEqual([
      ['X-Tollgate-Customer-Id', 'cus_42'],
      ['Authorization', 'tollgate-verified'],
    ]);
  });

  it('returns a redirect as the backend sent it instead of following it', async () => {
    backend = await loopbackBackend((_req, res) => {
      res.writeHead(302, { Location: '/elsewhere' });
      res.end();
    });
    const res = await gatewayFor(backend.origin).handle({ method: 'GET', path: '/prod/v1/files/old', headers: { Authorization: 'Bearer k' } });
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe('/elsewhere');
    expect(backend.seen).toHaveLength(1);
  });

  it('passes a compressed body through byte for byte with its content-encoding', async () => {
    const compressed = gzipSync(Buffer.from('{"rows":[1,2,3]}'));
    backend = await loopbackBackend((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' });
      res.end(compressed);
    });
    const res = await gatewayFor(backend.origin).handle({ method: 'GET', path: '/prod/v1/files/rows', headers: { Authorization: 'Bearer k', 'Accept-Encoding': 'gzip' } });
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(res.body.equals(compressed)).toBe(true);
  });

  it('sends the body of a POST with its length', async () => {
    backend = await loopbackBackend();
    const gateway = createLocalGateway({
      document: documentWith({ '/v1/upload': { post: { 'x-amazon-apigateway-integration': httpProxy(`${backend.origin}/v1/upload`) } } }),
      functions: { authorizer: allowing(['/POST/v1/upload']) },
    });
    await gateway.handle({ method: 'POST', path: '/prod/v1/upload', headers: { Authorization: 'Bearer k', 'Content-Type': 'text/plain', 'Content-Length': '5' }, body: 'hello' });
    expect(backend.seen[0]!.body.toString()).toBe('hello');
    expect(backend.seen[0]!.headers.filter(([n]) => n.toLowerCase() === 'content-length').map(([, v]) => v)).toEqual(['5']);
  });

  it('answers 504 when nothing listens at the backend', async () => {
    backend = await loopbackBackend();
    const origin = backend.origin;
    await backend.close();
    const res = await gatewayFor(origin).handle({ method: 'GET', path: '/prod/v1/files/x', headers: { Authorization: 'Bearer k' } });
    expect(res.statusCode).toBe(504);
  });
});
