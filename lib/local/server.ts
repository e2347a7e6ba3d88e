import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { LocalGateway, LocalResponse } from './gateway';
import { serveOperatorPage } from './operator/page';
import { serveOutboxPage } from './outbox-page';
import { PROBLEM_JSON, problemBody } from '../../lambda/shared/http';

/**
 * node:http around the in-process gateway: raw request bytes in (Stripe signs bytes), the gateway's
 * bytes out. A second loopback server answers API Gateway's FlushStageAuthorizersCache, so the AWS SDK
 * client (webhook, CLI) reaches the local gateway exactly as it reaches AWS, with `endpoint` set.
 * Neither ever lets a request end the process: bad input is a 4xx problem, a fault a 5xx one.
 */

/** API Gateway's payload limit. */
export const MAX_REQUEST_BYTES = 10 * 1024 * 1024;
/** FlushStageAuthorizersCache takes no body. */
const MAX_ADMIN_REQUEST_BYTES = 64 * 1024;

export class LocalServerError extends Error {
  override readonly name = 'LocalServerError';
}

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** The gateway, or where to find the current one (the local run swaps it on reload). */
export type GatewaySource = LocalGateway | (() => LocalGateway);

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
    if (Number(req.headers['content-length'] ?? 0) > limit) {
      reject(new TooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new TooLarge());
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

interface Problem {
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  /** AWS's error code, which the AWS SDK reads from `x-amzn-ErrorType`. */
  readonly errorType?: string;
  readonly headers?: Record<string, string>;
}

/** RFC 9457, with AWS's `message` member too, so the AWS SDK's error parsing finds it. */
function sendProblem(res: ServerResponse, problem: Problem, method: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = Buffer.from(problemBody(problem.status, problem.title, problem.detail, { message: problem.detail }));
  res.writeHead(problem.status, {
    'content-type': PROBLEM_JSON,
    'content-length': String(body.length),
    ...(problem.errorType === undefined ? {} : { 'x-amzn-ErrorType': problem.errorType }),
    ...problem.headers,
  });
  res.end(method === 'HEAD' ? undefined : body);
}

const tooLarge = (limit: number): Problem => ({
  status: 413,
  title: 'Request Too Long',
  detail: `the request body is larger than ${limit} bytes: send a smaller body`,
  // The rest of an oversized body is not worth reading: answer, then close the connection.
  headers: { connection: 'close' },
});

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

/** Runs one request's handler; whatever it throws ends that request only, never the process. */
function serve(handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>, log?: (line: string) => void): Server {
  return createServer((req, res) => {
    handler(req, res).catch((err: unknown) => {
      log?.(`local server error: ${err instanceof Error ? err.message : String(err)}`);
      sendProblem(res, { status: 500, title: 'Internal Server Error', detail: 'the local server failed on this request: see its log' }, req.method ?? 'GET');
    });
  });
}

export function startGatewayServer(source: GatewaySource, options: GatewayServerOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const current = typeof source === 'function' ? source : () => source;
  const server = serve(async (req, res) => {
    const started = process.hrtime.bigint();
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    let response: LocalResponse | undefined;
    let body: Buffer | undefined;
    try {
      body = await readBody(req, MAX_REQUEST_BYTES);
    } catch (err) {
      if (!(err instanceof TooLarge)) throw err;
      sendProblem(res, tooLarge(MAX_REQUEST_BYTES), method);
    }
    if (body !== undefined) {
      try {
        response = await current().handle({ method, path: url, headers: rawHeaders(req), body, sourceIp: req.socket.remoteAddress ?? '127.0.0.1' });
        send(res, response, method);
      } catch (err) {
        // As API Gateway answers an integration it cannot serve: a 5xx, and the server goes on.
        options.log?.(`local gateway error: ${err instanceof Error ? err.message : String(err)}`);
        sendProblem(res, { status: 500, title: 'Internal server error', detail: 'the local gateway failed on this request: see its log' }, method);
      }
    }
    if (options.log !== undefined) {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const reason = res.statusCode < 400 ? undefined : (response?.diagnostics.reason ?? response?.diagnostics.responseType);
      const path = url.split('?')[0] ?? url;
      options.log(`${method} ${path} ${res.statusCode}${reason === undefined ? '' : ` ${reason}`} ${ms.toFixed(1)}ms`);
    }
  }, options.log);
  return listen(server, options.port, host, 'local gateway');
}

const FLUSH_PATH = /^\/restapis\/([^/]+)\/stages\/([^/]+)\/cache\/authorizers\/?$/;

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** FlushStageAuthorizersCache: DELETE /restapis/{restApiId}/stages/{stage}/cache/authorizers → 202. */
export interface AdminServerOptions extends GatewayServerOptions {
  /** Serve the operator page (lib/local/operator) from this state folder's logs. @default - not served */
  readonly operatorStateDir?: string;
}

export function startAdminServer(source: GatewaySource, options: AdminServerOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const current = typeof source === 'function' ? source : () => source;
  let listening = options.port;
  const server = serve(async (req, res) => {
    const method = req.method ?? 'GET';
    try {
      await readBody(req, MAX_ADMIN_REQUEST_BYTES);
    } catch (err) {
      if (!(err instanceof TooLarge)) throw err;
      sendProblem(res, tooLarge(MAX_ADMIN_REQUEST_BYTES), method);
      return;
    }
    if (options.operatorStateDir !== undefined && serveOperatorPage(req, res, { stateDir: options.operatorStateDir, port: () => listening })) return;
    if (options.operatorStateDir !== undefined && serveOutboxPage(req, res, { stateDir: options.operatorStateDir, port: () => listening })) return;
    const target = (req.url ?? '').split('?')[0] ?? '';
    const match = FLUSH_PATH.exec(target);
    if (match === null) {
      sendProblem(res, { status: 404, title: 'Not Found', detail: `no resource at ${JSON.stringify(target)}: this endpoint serves only DELETE /restapis/{restApiId}/stages/{stage}/cache/authorizers`, errorType: 'NotFoundException' }, method);
      return;
    }
    if (method !== 'DELETE') {
      sendProblem(res, { status: 405, title: 'Method Not Allowed', detail: `${method} is not allowed here: flush the authorizer cache with DELETE`, errorType: 'MethodNotAllowedException', headers: { allow: 'DELETE' } }, method);
      return;
    }
    const restApiId = decodeSegment(match[1]!);
    const stage = decodeSegment(match[2]!);
    if (restApiId === undefined || stage === undefined) {
      sendProblem(res, { status: 400, title: 'Bad Request', detail: `the path ${JSON.stringify(target)} is not valid percent-encoding: encode the API id and stage with encodeURIComponent`, errorType: 'BadRequestException' }, method);
      return;
    }
    const gateway = current();
    try {
      await gateway.flusher.flush({ restApiId, stage });
    } catch (err) {
      // The management budget spent: answered as API Gateway answers it, for the SDK to read.
      if (err instanceof Error && err.name === 'TooManyRequestsException') {
        sendProblem(res, { status: 429, title: 'Too Many Requests', detail: err.message, errorType: 'TooManyRequestsException', headers: { 'retry-after': '1' } }, method);
        return;
      }
      sendProblem(res, { status: 404, title: 'Not Found', detail: `Invalid stage identifier specified: this local API is ${gateway.restApiId}, stage ${gateway.stage}`, errorType: 'NotFoundException' }, method);
      return;
    }
    options.log?.(`authorizer cache flushed (${gateway.restApiId}/${gateway.stage})`);
    res.writeHead(202, { 'content-length': '0' });
    res.end();
  }, options.log);
  return listen(server, options.port, host, 'local admin endpoint').then((running) => {
    listening = running.port;
    return running;
  });
}
