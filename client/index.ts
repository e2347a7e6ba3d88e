/**
 * A small, dependency-free client for APIs behind tollgate: `fetch` with the API key, a 402 turned
 * into a typed `PaymentRequiredError` (reason, detail, paymentUrl, and any usage fields the body
 * carries), 429 and 503 retried with backoff that honours `Retry-After`, and a way to wait until access
 * returns after paying. Runs in browsers and Node 18+ (global `fetch`).
 *
 *   const api = createTollgateClient({ baseUrl: 'https://api.example.com/prod', apiKey });
 *   try { await api.fetch('/v1/quotes'); }
 *   catch (err) { if (err instanceof PaymentRequiredError) err.openPaymentPage(); }
 */

/** An RFC 9457 problem body as tollgate answers it. */
export interface Problem {
  readonly type?: string;
  readonly title?: string;
  readonly status?: number;
  readonly detail?: string;
  readonly reason?: string;
  readonly subscriptionStatus?: string;
  readonly paymentUrl?: string;
  readonly requestId?: string;
  readonly [member: string]: unknown;
}

const STANDARD_MEMBERS = new Set(['type', 'title', 'status', 'detail', 'reason', 'subscriptionStatus', 'paymentUrl', 'requestId', 'instance']);

/** A non-2xx answer tollgate or the API gave, with its problem body when it had one. */
export class TollgateHttpError extends Error {
  override readonly name: string = 'TollgateHttpError';
  constructor(
    readonly status: number,
    readonly problem: Problem | undefined,
    readonly response: Response,
  ) {
    super(problem?.detail ?? `the API answered ${status}`);
  }
}

/** 401: the key is missing, malformed, unknown, revoked or expired. Retrying will not help. */
export class UnauthorizedError extends TollgateHttpError {
  override readonly name = 'UnauthorizedError';
}

/** 402: the caller's payment standing does not cover the route. */
export class PaymentRequiredError extends TollgateHttpError {
  override readonly name = 'PaymentRequiredError';
  /** Stable and machine-readable: no_subscription, payment_failed, quota_exceeded, … */
  readonly reason: string;
  readonly detail: string;
  /** Where to fix it; empty when the API has none configured. */
  readonly paymentUrl: string;
  /** The body's members beyond RFC 9457's and tollgate's own (quota, used, credits, …). */
  readonly usage: Readonly<Record<string, unknown>>;

  constructor(problem: Problem, response: Response) {
    super(402, problem, response);
    this.reason = typeof problem.reason === 'string' ? problem.reason : 'unknown';
    this.detail = typeof problem.detail === 'string' ? problem.detail : 'Payment required.';
    this.paymentUrl = typeof problem.paymentUrl === 'string' ? problem.paymentUrl : '';
    this.usage = Object.fromEntries(Object.entries(problem).filter(([name]) => !STANDARD_MEMBERS.has(name)));
  }

  /** Opens the payment page (a new browser tab by default); false when there is none to open. */
  openPaymentPage(open: ((url: string) => unknown) | undefined = browserOpen()): boolean {
    if (this.paymentUrl === '' || open === undefined || !/^https?:\/\//.test(this.paymentUrl)) return false;
    open(this.paymentUrl);
    return true;
  }
}

function browserOpen(): ((url: string) => unknown) | undefined {
  const open = (globalThis as { open?: (url: string, target?: string, features?: string) => unknown }).open;
  return typeof open === 'function' ? (url) => open(url, '_blank', 'noopener,noreferrer') : undefined;
}

export interface TollgateClientOptions {
  /** The stage's URL, e.g. `https://abc.execute-api.eu-west-1.amazonaws.com/prod`. */
  readonly baseUrl: string;
  /** Sent as `Authorization: Bearer <key>`. */
  readonly apiKey?: string;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** Retries of a 429 or 503 (each after its Retry-After, else backoff). @default 2 */
  readonly retries?: number;
  /** First backoff when there is no Retry-After; doubles each time. @default 500 ms */
  readonly backoffMs?: number;
  /** The longest wait the client accepts from Retry-After. @default 30 s */
  readonly maxDelayMs?: number;
  /** @default a timer */
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface WaitForAccessOptions {
  /** Give up after this long. @default 120 s */
  readonly timeoutMs?: number;
  /** First wait between tries; doubles up to `maxIntervalMs`. @default 1 s */
  readonly intervalMs?: number;
  /** @default 10 s */
  readonly maxIntervalMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

export interface TollgateClient {
  /** The response of a 2xx (or any status tollgate does not own); throws the typed errors above. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /**
   * After paying: repeats the request while it answers 402, backing off, and resolves with the first
   * answer that is not a 402 (access returned). Rejects with the last PaymentRequiredError on timeout.
   */
  waitForAccess(path: string, init?: RequestInit, options?: WaitForAccessOptions): Promise<Response>;
}

/** Seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

async function readProblem(response: Response): Promise<Problem | undefined> {
  const type = response.headers.get('content-type') ?? '';
  if (!/json/i.test(type)) return undefined;
  try {
    const body: unknown = await response.clone().json();
    return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Problem) : undefined;
  } catch {
    return undefined;
  }
}

export function createTollgateClient(options: TollgateClientOptions): TollgateClient {
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const retries = options.retries ?? 2;
  const backoff = options.backoffMs ?? 500;
  const maxDelay = options.maxDelayMs ?? 30_000;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const base = options.baseUrl.replace(/\/+$/, '');

  const once = (path: string, init: RequestInit | undefined): Promise<Response> => {
    const headers = new Headers(init?.headers);
    if (options.apiKey !== undefined && !headers.has('authorization')) headers.set('Authorization', `Bearer ${options.apiKey}`);
    return doFetch(`${base}${path.startsWith('/') ? path : `/${path}`}`, { ...init, headers });
  };

  const request = async (path: string, init?: RequestInit): Promise<Response> => {
    for (let attempt = 0; ; attempt++) {
      const response = await once(path, init);
      if (response.status === 402) throw new PaymentRequiredError((await readProblem(response)) ?? {}, response);
      if (response.status === 401) throw new UnauthorizedError(401, await readProblem(response), response);
      if ((response.status === 429 || response.status === 503) && attempt < retries) {
        const wait = retryAfterMs(response.headers.get('retry-after')) ?? backoff * 2 ** attempt;
        if (wait <= maxDelay) {
          await sleep(wait);
          continue;
        }
      }
      if (response.status === 429 || response.status === 503) throw new TollgateHttpError(response.status, await readProblem(response), response);
      return response;
    }
  };

  const waitForAccess = async (path: string, init?: RequestInit, wait: WaitForAccessOptions = {}): Promise<Response> => {
    const now = wait.now ?? Date.now;
    const deadline = now() + (wait.timeoutMs ?? 120_000);
    let interval = wait.intervalMs ?? 1000;
    for (;;) {
      try {
        return await request(path, init);
      } catch (err) {
        if (!(err instanceof PaymentRequiredError) || now() + interval > deadline) throw err;
      }
      await sleep(interval);
      interval = Math.min(interval * 2, wait.maxIntervalMs ?? 10_000);
    }
  };

  return { fetch: request, waitForAccess };
}
