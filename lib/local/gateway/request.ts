import type { LocalRequest } from './types';

/**
 * The method request: the client's request as API Gateway reads it before any route is known
 * (headers in the case sent, query string, body bytes, decoded path segments, `$context` basics).
 */

export interface RequestHeaders {
  /** Last value per name as sent (case kept). */
  readonly single: Record<string, string>;
  readonly multi: Record<string, string[]>;
  /** Case-insensitive; the last value when sent several times. */
  get(name: string): string | undefined;
}

export interface QueryString {
  /** Last value per name; null when there is none (as in the proxy event). */
  readonly single: Record<string, string> | null;
  readonly multi: Record<string, string[]> | null;
  /** As the client sent it, `?` included, or empty. */
  readonly raw: string;
}

export interface MethodRequest {
  readonly requestId: string;
  readonly method: string;
  /** Normalised path, stage first: `/prod/v1/quotes`. */
  readonly path: string;
  /** Decoded segments after the stage. Split before decoding: an encoded `/` stays inside its segment. */
  readonly resourceSegments: readonly string[];
  readonly stage: string | undefined;
  readonly headers: RequestHeaders;
  readonly query: QueryString;
  readonly body: Buffer;
  readonly sourceIp: string;
  readonly startedAt: number;
}

/** A record any name can key, `__proto__` included (a client chooses header and query names). */
const record = <T>(): Record<string, T> => Object.create(null) as Record<string, T>;

export function parseHeaders(input: LocalRequest['headers']): RequestHeaders {
  const single = record<string>();
  const multi = record<string[]>();
  const byLower = new Map<string, string>();
  for (const [name, value] of Object.entries(input ?? {})) {
    if (value === undefined) continue;
    const values = typeof value === 'string' ? [value] : [...value];
    if (values.length === 0) continue;
    multi[name] = [...(multi[name] ?? []), ...values];
    single[name] = values[values.length - 1]!;
    byLower.set(name.toLowerCase(), single[name]);
  }
  return { single, multi, get: (name) => byLower.get(name.toLowerCase()) };
}

export function parseQuery(search: string): QueryString {
  const params = new URLSearchParams(search);
  const multi = record<string[]>();
  for (const [key, value] of params) multi[key] = [...(multi[key] ?? []), value];
  const keys = Object.keys(multi);
  if (keys.length === 0) return { single: null, multi: null, raw: search };
  return { single: Object.fromEntries(keys.map((k) => [k, multi[k]![multi[k]!.length - 1]!])), multi, raw: search };
}

const safeDecode = (segment: string): string => {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
};

export function parseMethodRequest(request: LocalRequest, requestId: string, startedAt: number): MethodRequest {
  // The URL parser resolves dot segments (`..`, `%2e%2e`) before routing, so the route that is
  // authorised is the one the path names.
  const url = new URL(request.path, 'http://local');
  const parts = url.pathname.split('/').filter((s) => s !== '').map(safeDecode);
  const body = request.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(request.body) ? request.body : Buffer.from(request.body, 'utf8');
  return {
    requestId,
    method: request.method.toUpperCase(),
    path: url.pathname,
    stage: parts[0],
    resourceSegments: parts.slice(1),
    headers: parseHeaders(request.headers),
    query: parseQuery(url.search),
    body,
    sourceIp: request.sourceIp ?? '127.0.0.1',
    startedAt,
  };
}

/** The `$context` variables known before the route: `context.requestId`, `context.identity.sourceIp`, … */
export type ContextVariables = Record<string, string | number | boolean | undefined>;

export function contextVariables(request: MethodRequest, api: { stage: string; restApiId: string; accountId: string; domainName: string }): ContextVariables {
  return {
    'context.requestId': request.requestId,
    'context.extendedRequestId': request.requestId,
    'context.stage': api.stage,
    'context.apiId': api.restApiId,
    'context.accountId': api.accountId,
    'context.domainName': api.domainName,
    'context.httpMethod': request.method,
    'context.path': request.path,
    'context.requestTimeEpoch': request.startedAt,
    'context.identity.sourceIp': request.sourceIp,
    'context.identity.userAgent': request.headers.get('user-agent'),
  };
}
