import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeForm } from './form';

/**
 * A local stand-in for api.stripe.com: the few endpoints tollgate calls, served on loopback so the
 * stripe SDK can be pointed at it (`new Stripe(key, { host, port, protocol: 'http' })`). Tests use it,
 * and `npm start` uses it when no Stripe API key is configured. Each resource is its own module
 * (`Resource`): it states its routes and keeps its own objects; the server parses requests the way
 * Stripe does (form-encoded bodies with bracketed keys, query strings for GET) and answers Stripe's
 * error shape. Resource modules type their request params and response objects with the stripe SDK's
 * own types (`Stripe.Checkout.SessionCreateParams` → `Stripe.Checkout.Session`, …), so a shape the SDK
 * would not send or accept does not compile.
 */

export interface FakeRequest {
  readonly method: string;
  /** Path without the query, e.g. `/v1/checkout/sessions/cs_test_123`. */
  readonly path: string;
  /** Captures of the route's pattern. */
  readonly params: readonly string[];
  /** The decoded form body (POST) or query (GET), Stripe's bracket notation expanded; a v2 request's JSON body. */
  readonly body: Record<string, unknown>;
  readonly idempotencyKey?: string;
  /** The bearer API key the SDK sent. */
  readonly apiKey: string;
}

export interface FakeResponse {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** The webhook events this request causes, emitted (`onEvent`) once the answer is sent: Stripe answers first. */
  readonly events?: readonly StripeEventObject[];
}

/** A webhook event the fake emits (a `Stripe.Event` built by lib/stripe-events). */
export interface StripeEventObject {
  readonly id: string;
  readonly object: 'event';
  readonly type: string;
  readonly created: number;
}

export interface Route {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** Anchored at both ends by the server. */
  readonly pattern: RegExp;
  handle(request: FakeRequest): FakeResponse | Promise<FakeResponse>;
}

export interface Resource {
  readonly routes: readonly Route[];
}

/** Stripe's error body (https://docs.stripe.com/api/errors). */
export function stripeError(
  status: number,
  type: 'invalid_request_error' | 'api_error' | 'rate_limit_error' | 'authentication_error' | 'temporary_session_expired',
  message: string, extra: Record<string, unknown> = {}): FakeResponse {
  return { status, body: { error: { type, message, ...extra } } };
}

export const ok = (body: unknown): FakeResponse => ({ status: 200, body });

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly body: Record<string, unknown>;
  readonly idempotencyKey?: string;
}

export interface FakeStripeApi {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Every request, in order (for assertions). */
  readonly requests: RecordedRequest[];
  /** Every webhook event the fake emitted, in order (whether or not an `onEvent` sink was given). */
  readonly events: StripeEventObject[];
  /** Answer the next `count` requests (of any route, or of `path` only) with this response instead: outages, 429s. */
  failNext(count: number, response: FakeResponse, path?: string): void;
  close(): Promise<void>;
}

export interface FakeStripeOptions {
  readonly resources: readonly Resource[];
  /** @default 0: any free port */
  readonly port?: number;
  /**
   * Where the events Stripe would send to the account's webhook go, each once, just after the answer that
   * caused it is sent (an idempotent replay causes none). The local run signs and posts them to its webhook.
   */
  readonly onEvent?: (event: StripeEventObject) => void;
}

/** Starts the fake on 127.0.0.1. */
export async function startFakeStripeApi(options: FakeStripeOptions): Promise<FakeStripeApi> {
  const routes = options.resources.flatMap((resource) => resource.routes);
  const requests: RecordedRequest[] = [];
  const events: StripeEventObject[] = [];
  let failures: { count: number; response: FakeResponse; path?: string } | undefined;

  const handle = async (req: IncomingMessage): Promise<FakeResponse> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const raw = await readBody(req);
    const method = req.method ?? 'GET';
    const json = (header(req, 'content-type') ?? '').startsWith('application/json');
    const body = method === 'GET' || method === 'DELETE' ? decodeForm(url.search.slice(1)) : json ? decodeJson(raw) : decodeForm(raw);
    const idempotencyKey = header(req, 'idempotency-key');
    requests.push({ method, path: url.pathname, body, ...(idempotencyKey === undefined ? {} : { idempotencyKey }) });
    if (failures !== undefined && failures.count > 0 && (failures.path === undefined || failures.path === url.pathname)) {
      failures.count -= 1;
      return failures.response;
    }
    const apiKey = /^Bearer (\S+)$/.exec(header(req, 'authorization') ?? '')?.[1];
    if (apiKey === undefined) return stripeError(401, 'authentication_error', 'You did not provide an API key.');
    for (const route of routes) {
      if (route.method !== method) continue;
      const match = new RegExp(`^${route.pattern.source}$`).exec(url.pathname);
      if (match === null) continue;
      return route.handle({ method, path: url.pathname, params: match.slice(1), body, apiKey, ...(idempotencyKey === undefined ? {} : { idempotencyKey }) });
    }
    return stripeError(404, 'invalid_request_error', `Unrecognized request URL (${method}: ${url.pathname}).`);
  };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    handle(req).then(
      (response) => {
        const caused = response.events ?? [];
        if (caused.length > 0) {
          res.once('finish', () =>
            setImmediate(() => {
              for (const event of caused) {
                events.push(event);
                options.onEvent?.(event);
              }
            }),
          );
        }
        send(res, response);
      },
      (err: unknown) => send(res, stripeError(500, 'api_error', err instanceof Error ? err.message : String(err))),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    requests,
    events,
    failNext: (count, response, path) => {
      failures = { count, response, ...(path === undefined ? {} : { path }) };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[value.length - 1] : value;
}

/** Stripe's v2 encoding (JSON); what is not an object reads as no params. */
function decodeJson(raw: string): Record<string, unknown> {
  try {
    const value: unknown = raw === '' ? {} : JSON.parse(raw);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, response: FakeResponse): void {
  res.writeHead(response.status, { 'Content-Type': 'application/json', 'Request-Id': `req_fake_${Date.now().toString(36)}`, ...response.headers });
  res.end(JSON.stringify(response.body));
}
