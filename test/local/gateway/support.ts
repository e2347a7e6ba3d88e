import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { localInvocationUri, type LocalFunction } from '../../../lib/local/gateway';

/** Hand-written documents and a loopback backend for the gateway's tests (no builder in between). */

export const ARN_PREFIX = 'arn:aws:execute-api:us-east-1:000000000000:local/prod';

export const authorizerScheme = (ttl = 0) => ({
  type: 'apiKey',
  name: 'Authorization',
  in: 'header',
  'x-amazon-apigateway-authtype': 'custom',
  'x-amazon-apigateway-authorizer': {
    type: 'request',
    identitySource: 'method.request.header.Authorization',
    authorizerUri: localInvocationUri('authorizer'),
    authorizerResultTtlInSeconds: ttl,
  },
});

export const httpProxy = (uri: string, requestParameters?: Record<string, string>) => ({
  type: 'http_proxy',
  httpMethod: 'ANY',
  uri,
  ...(requestParameters === undefined ? {} : { requestParameters }),
});

/** A secured operation per path, each with its integration; `ACCESS_DENIED` re-mapped to 402. */
export function documentWith(paths: Record<string, Record<string, unknown>>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const secured = Object.fromEntries(
    Object.entries(paths).map(([p, item]) => [p, Object.fromEntries(Object.entries(item).map(([m, op]) => [m, { security: [{ key: [] }], ...(op as object) }]))]),
  );
  return {
    openapi: '3.0.3',
    paths: secured,
    components: { securitySchemes: { key: authorizerScheme() } },
    'x-amazon-apigateway-gateway-responses': { ACCESS_DENIED: { statusCode: '402', responseTemplates: { 'application/json': '{"reason":"$context.authorizer.reason"}' } } },
    ...extra,
  };
}

/** An authorizer allowing the given resource patterns (under ARN_PREFIX) and denying the rest, with a context. */
export function allowing(patterns: string[], context: Record<string, string | number | boolean> = {}): LocalFunction {
  return (() =>
    Promise.resolve({
      principalId: 'cus_1',
      policyDocument: {
        Version: '2012-10-17',
        Statement: [
          { Action: 'execute-api:Invoke', Effect: 'Allow', Resource: patterns.map((p) => `${ARN_PREFIX}${p}`) },
          { Action: 'execute-api:Invoke', Effect: 'Deny', Resource: [`${ARN_PREFIX}/GET/admin/*`] },
        ],
      },
      context: { reason: 'upgrade_required', ...context },
    }));
}

export interface Seen {
  readonly method: string;
  /** The request target exactly as it arrived. */
  readonly url: string;
  /** Name/value pairs as sent. */
  readonly headers: [string, string][];
  readonly body: Buffer;
}

export interface Backend {
  readonly origin: string;
  readonly seen: Seen[];
  close(): Promise<void>;
}

/** A real HTTP server on 127.0.0.1 (free port) recording every request; `respond` shapes the answer. */
export async function loopbackBackend(respond: (req: IncomingMessage, res: ServerResponse) => void = (_q, res) => res.end('ok')): Promise<Backend> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers: [string, string][] = [];
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i]!, req.rawHeaders[i + 1]!]);
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers, body: Buffer.concat(chunks) });
      respond(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
