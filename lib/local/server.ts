import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { LocalGateway, LocalResponse } from './gateway';

/**
 * node:http around the in-process gateway: raw request bytes in (Stripe signs bytes), the gateway's
 * bytes out. A second loopback server answers API Gateway's FlushStageAuthorizersCache, so the AWS SDK
 * client (webhook, CLI) reaches the local gateway exactly as it reaches AWS, with `endpoint` set.
 */

/** API Gateway's payload limit. */
export const MAX_REQUEST_BYTES = 10 * 1024 * 1024;

export class LocalServerError extends Error {
  override readonly name = 'LocalServerError';
}

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export interface GatewayServerOptions {
  readonly port: number;
  /** @default "127.0.0.1" */
  readonly host?: string;
  /** One line per request. @default - no log */
  readonly log?: (line: string) => void;
}

class TooLarge extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new TooLarge());
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Header names as the client sent them (API Gateway keeps their case), every value kept. */
function rawHeaders(req: IncomingMessage): Record<string, string[]> {
  const headers: Record<string, string[]> = {};
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    (headers[name] ??= []).push(req.rawHeaders[i + 1]!);
  }
  return headers;
}

function send(res: ServerResponse, response: Pick<LocalResponse, 'statusCode' | 'multiValueHeaders' | 'body'>, method: string): void {
  for (const [name, values] of Object.entries(response.multiValueHeaders)) res.setHeader(name, values.length === 1 ? values[0]! : values);
  res.setHeader('content-length', String(response.body.length));
  res.writeHead(response.statusCode);
  res.end(method === 'HEAD' ? undefined : response.body);
}

function listen(server: Server, port: number, host: string, what: string): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'EADDRINUSE'
          ? new LocalServerError(`port ${port} on ${host} is already in use: stop whatever uses it or choose another port (PORT=3001 npm start)`)
          : new LocalServerError(`the ${what} could not listen on ${host}:${port}: ${err.message}`),
      );
    });
    server.listen(port, host, () => {
      const address = server.address();
      const actual = typeof address === 'object' && address !== null ? address.port : port;
      resolve({
        url: `http://${host}:${actual}`,
        port: actual,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

export function startGatewayServer(gateway: LocalGateway, options: GatewayServerOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const server = createServer((req, res) => {
    const started = process.hrtime.bigint();
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    void (async () => {
      let response: LocalResponse | undefined;
      try {
        const body = await readBody(req, MAX_REQUEST_BYTES);
        response = await gateway.handle({ method, path: url, headers: rawHeaders(req), body, sourceIp: req.socket.remoteAddress ?? '127.0.0.1' });
        send(res, response, method);
      } catch (err) {
        const status = err instanceof TooLarge ? 413 : 500;
        const message = err instanceof TooLarge ? 'Request Too Long' : 'Internal server error';
        send(res, { statusCode: status, multiValueHeaders: { 'content-type': ['application/json'] }, body: Buffer.from(JSON.stringify({ message })) }, method);
        if (!(err instanceof TooLarge)) options.log?.(`local gateway error: ${err instanceof Error ? err.message : String(err)}`);
      }
      if (options.log !== undefined) {
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        const reason = res.statusCode < 400 ? undefined : (response?.diagnostics.reason ?? response?.diagnostics.responseType);
        const path = url.split('?')[0] ?? url;
        options.log(`${method} ${path} ${res.statusCode}${reason === undefined ? '' : ` ${reason}`} ${ms.toFixed(1)}ms`);
      }
    })();
  });
  return listen(server, options.port, host, 'local gateway');
}

/** FlushStageAuthorizersCache: DELETE /restapis/{restApiId}/stages/{stage}/cache/authorizers → 202. */
export function startAdminServer(gateway: LocalGateway, options: GatewayServerOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const server = createServer((req, res) => {
    const json = (status: number, body: unknown, errorType?: string): void => {
      res.writeHead(status, { 'content-type': 'application/json', ...(errorType === undefined ? {} : { 'x-amzn-ErrorType': errorType }) });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    req.resume();
    const match = /^\/restapis\/([^/]+)\/stages\/([^/]+)\/cache\/authorizers\/?$/.exec((req.url ?? '').split('?')[0] ?? '');
    if (req.method !== 'DELETE' || match === null) {
      json(404, { message: 'Resource not found' }, 'NotFoundException');
      return;
    }
    gateway.flusher
      .flush({ restApiId: decodeURIComponent(match[1]!), stage: decodeURIComponent(match[2]!) })
      .then(() => {
        options.log?.(`authorizer cache flushed (${gateway.restApiId}/${gateway.stage})`);
        res.writeHead(202);
        res.end();
      })
      .catch(() => json(404, { message: 'Invalid stage identifier specified' }, 'NotFoundException'));
  });
  return listen(server, options.port, host, 'local admin endpoint');
}
