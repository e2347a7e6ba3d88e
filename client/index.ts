/**
 * A small, dependency-free client for APIs behind tollgate: `fetch` with the API key, a 402 turned
 * into a typed `PaymentRequiredError` (reason, detail, paymentUrl, and any usage fields the body
 * carries), 429 and 503 retried with backoff that honours `Retry-After`, and a way to wait until access
 * returns after paying. Runs in browsers and Node 18+ (global `fetch`).
 *
 *   const api = createTollgateClient({ baseUrl: 'https://api.example.com/prod', apiKey });
 *   try { await api.fetch('/v1/quotes'); }
 *   catch (err) { if (err instanceof PaymentRequiredError) err.openPaymentPage(); }
 *
 * A program can pay a 402 itself (docs/agents.md): give `pay`, a callback that answers the purchase
 * route's challenge with the credential's headers (MPP `Authorization: Payment …`, or x402's
 * `PAYMENT-SIGNATURE`, from whatever wallet or SDK it uses); the client buys the offer, keeps the key a
 * keyless purchase returns, and retries the call.
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

/** An offer of a 402's body (`offers`), as tollgate writes it. */
export interface Offer {
  readonly id: string;
  readonly kind: string;
  readonly name?: string;
  readonly amount?: string;
  readonly currency?: string;
  readonly protocols?: readonly string[];
  readonly purchaseUrl?: string;
}

/** What `pay` is asked to pay: the offer, and the purchase route's challenges (its 402's headers and body). */
export interface PaymentChallenge {
  readonly offer: Offer;
  readonly purchaseUrl: string;
  /** MPP: the `Payment` challenges; null when the 402 has none (the header absent, empty, or another scheme's). */
  readonly wwwAuthenticate: string | null;
  /** x402: base64 JSON with `accepts`; null when the 402 has none (the header absent or empty). */
  readonly paymentRequired: string | null;
  readonly problem: Problem | undefined;
}

/** The credential's headers for the purchase route, or undefined to decline (the 402 is thrown). */
export type PayCallback = (challenge: PaymentChallenge) => Promise<Readonly<Record<string, string>> | undefined>;

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
  /** Pays a 402 that offers something buyable (`purchaseUrl`), then retries. @default - 402s are thrown */
  readonly pay?: PayCallback;
  /** Which offer of a 402 to buy. @default the first with a purchaseUrl */
  readonly chooseOffer?: (offers: readonly Offer[]) => Offer | undefined;
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

/**
 * The offers a 402's headers carry. An empty header is no offer: API Gateway sends none for an empty mapped
 * value, but a proxy or another server may pass `PAYMENT-REQUIRED:` through empty (docs/agents.md).
 */
export function offeredChallenges(headers: Headers): { readonly wwwAuthenticate: string | null; readonly paymentRequired: string | null } {
  const www = headers.get('www-authenticate')?.trim() ?? '';
  const required = headers.get('payment-required')?.trim() ?? '';
  return { wwwAuthenticate: /(^|,)\s*payment\s/i.test(www) ? www : null, paymentRequired: required === '' ? null : required };
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
  // A keyless purchase's key replaces none: the calls after it carry it.
  let apiKey = options.apiKey;

  const withKey = (init: RequestInit | undefined): Headers => {
    const headers = new Headers(init?.headers);
    if (apiKey !== undefined && !headers.has('authorization')) headers.set('Authorization', `Bearer ${apiKey}`);
    return headers;
  };
  const once = (path: string, init: RequestInit | undefined): Promise<Response> => doFetch(`${base}${path.startsWith('/') ? path : `/${path}`}`, { ...init, headers: withKey(init) });

  /** Buys an offer of a 402 through `pay`: the purchase route's challenge, the callback's credential, the 200. True when paid. */
  const buy = async (problem: Problem): Promise<boolean> => {
    const offers = Array.isArray(problem.offers) ? (problem.offers as Offer[]) : [];
    const offer = (options.chooseOffer ?? ((all) => all.find((o) => typeof o.purchaseUrl === 'string')))(offers);
    if (offer?.purchaseUrl === undefined || options.pay === undefined) return false;
    const challenged = await doFetch(offer.purchaseUrl, { method: 'POST', headers: withKey(undefined) });
    if (challenged.status !== 402) return false;
    const { wwwAuthenticate, paymentRequired } = offeredChallenges(challenged.headers);
    // Nothing to answer: a 402 without offers is thrown as it is.
    if (wwwAuthenticate === null && paymentRequired === null) return false;
    const credential = await options.pay({ offer, purchaseUrl: offer.purchaseUrl, wwwAuthenticate, paymentRequired, problem: await readProblem(challenged) });
    if (credential === undefined) return false;
    const headers = withKey(undefined);
    for (const [name, value] of Object.entries(credential)) headers.set(name, value);
    const paid = await doFetch(offer.purchaseUrl, { method: 'POST', headers });
    if (paid.status !== 200) throw new TollgateHttpError(paid.status, await readProblem(paid), paid);
    const bought = (await paid.json()) as { key?: unknown };
    if (apiKey === undefined && typeof bought.key === 'string') apiKey = bought.key;
    return true;
  };

  const request = async (path: string, init?: RequestInit, paying = options.pay !== undefined): Promise<Response> => {
    for (let attempt = 0; ; attempt++) {
      const response = await once(path, init);
      if (response.status === 402) {
        const problem = (await readProblem(response)) ?? {};
        // Paid once per call: a 402 after paying is thrown (or waited out by waitForAccess).
        if (paying && (await buy(problem))) return waitForAccess(path, init, {}, false);
        throw new PaymentRequiredError(problem, response);
      }
      if (response.status === 401 && paying && apiKey === undefined) {
        const problem = (await readProblem(response)) ?? {};
        if (await buy(problem)) return waitForAccess(path, init, {}, false);
        throw new UnauthorizedError(401, problem, response);
      }
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

  const waitForAccess = async (path: string, init?: RequestInit, wait: WaitForAccessOptions = {}, paying = false): Promise<Response> => {
    const now = wait.now ?? Date.now;
    const deadline = now() + (wait.timeoutMs ?? 120_000);
    let interval = wait.intervalMs ?? 1000;
    for (;;) {
      try {
        return await request(path, init, paying);
      } catch (err) {
        if (!(err instanceof PaymentRequiredError) || now() + interval > deadline) throw err;
      }
      await sleep(interval);
      interval = Math.min(interval * 2, wait.maxIntervalMs ?? 10_000);
    }
  };

  return { fetch: (path, init) => request(path, init), waitForAccess: (path, init, wait) => waitForAccess(path, init, wait) };
}
