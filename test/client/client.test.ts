import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTollgateClient, PaymentRequiredError, retryAfterMs, TollgateHttpError, UnauthorizedError } from '../../client/index';

/** The client helper against a real HTTP server on loopback that answers as tollgate does. */

type Answer = { status: number; headers?: Record<string, string>; body?: unknown };
let server: Server;
let baseUrl: string;
let script: Answer[] = [];
const seen: Array<{ url: string; authorization: string | undefined }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', authorization: req.headers.authorization });
    const answer = script.shift() ?? { status: 200, body: { ok: true } };
    res.writeHead(answer.status, { 'Content-Type': answer.status >= 400 ? 'application/problem+json' : 'application/json', ...answer.headers });
    res.end(JSON.stringify(answer.body ?? {}));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/prod`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  script = [];
  seen.length = 0;
});

const problem402 = {
  type: 'https://api.example.com/prod/tollgate/problems/quota_exceeded',
  title: 'Quota exceeded',
  status: 402,
  detail: 'You have used your plan quota for this billing period.',
  reason: 'quota_exceeded',
  subscriptionStatus: 'active',
  paymentUrl: 'https://api.example.com/prod/tollgate/portal',
  requestId: 'r1',
  quota: 20,
  used: 20,
};

describe('tollgate client', () => {
  it('sends the key as a bearer token and returns 2xx responses', async () => {
    const api = createTollgateClient({ baseUrl, apiKey: 'tg_test_key' });
    const response = await api.fetch('/v1/quotes');
    expect(response.status).toBe(200);
    expect(seen).toEqual([{ url: '/prod/v1/quotes', authorization: 'Bearer tg_test_key' }]);
  });

  it('turns a 402 into a PaymentRequiredError with reason, detail, paymentUrl and the usage fields', async () => {
    script = [{ status: 402, body: problem402 }];
    const err = await createTollgateClient({ baseUrl, apiKey: 'k' }).fetch('/v1/quotes').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PaymentRequiredError);
    const payment = err as PaymentRequiredError;
    expect(payment).toMatchObject({ status: 402, reason: 'quota_exceeded', detail: problem402.detail, paymentUrl: problem402.paymentUrl, usage: { quota: 20, used: 20 } });
    const opened: string[] = [];
    expect(payment.openPaymentPage((url) => opened.push(url))).toBe(true);
    expect(opened).toEqual([problem402.paymentUrl]);
  });

  it('opens nothing when the 402 has no payment URL or not an http(s) one', async () => {
    script = [{ status: 402, body: { ...problem402, paymentUrl: '' } }, { status: 402, body: { ...problem402, paymentUrl: 'javascript:alert(1)' } }];
    const api = createTollgateClient({ baseUrl, apiKey: 'k' });
    for (let i = 0; i < 2; i++) {
      const err = (await api.fetch('/v1/quotes').catch((e: unknown) => e)) as PaymentRequiredError;
      const opened: string[] = [];
      expect(err.openPaymentPage((url) => opened.push(url))).toBe(false);
      expect(opened).toEqual([]);
    }
  });

  it('throws UnauthorizedError on 401 without retrying', async () => {
    script = [{ status: 401, body: { type: 'x/unauthorized', title: 'Unauthorized', status: 401, detail: 'Send a valid API key' } }];
    await expect(createTollgateClient({ baseUrl }).fetch('/v1/quotes')).rejects.toBeInstanceOf(UnauthorizedError);
    expect(seen).toHaveLength(1);
  });

  it('retries 503 and 429 after their Retry-After, then gives up with the last answer', async () => {
    const waits: number[] = [];
    const sleep = (ms: number) => (waits.push(ms), Promise.resolve());
    script = [{ status: 503, headers: { 'Retry-After': '1' } }, { status: 429, headers: { 'Retry-After': '2' } }, { status: 200 }];
    const ok = await createTollgateClient({ baseUrl, apiKey: 'k', sleep }).fetch('/v1/quotes');
    expect(ok.status).toBe(200);
    expect(waits).toEqual([1000, 2000]);

    waits.length = 0;
    script = [{ status: 503 }, { status: 503 }, { status: 503 }];
    const err = await createTollgateClient({ baseUrl, apiKey: 'k', sleep, backoffMs: 100 }).fetch('/v1/quotes').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TollgateHttpError);
    expect((err as TollgateHttpError).status).toBe(503);
    // No Retry-After: exponential backoff.
    expect(waits).toEqual([100, 200]);
  });

  it('waits for access after paying: repeats while 402, backing off, until the API answers', async () => {
    const waits: number[] = [];
    script = [{ status: 402, body: problem402 }, { status: 402, body: problem402 }, { status: 200 }];
    const api = createTollgateClient({ baseUrl, apiKey: 'k', sleep: (ms) => (waits.push(ms), Promise.resolve()) });
    const response = await api.waitForAccess('/v1/quotes', undefined, { intervalMs: 50 });
    expect(response.status).toBe(200);
    expect(waits).toEqual([50, 100]);
  });

  it('gives up waiting for access at the deadline with the last 402', async () => {
    let clock = 0;
    script = [{ status: 402, body: problem402 }, { status: 402, body: problem402 }, { status: 402, body: problem402 }];
    const api = createTollgateClient({ baseUrl, apiKey: 'k', sleep: (ms) => ((clock += ms), Promise.resolve()) });
    const err = await api.waitForAccess('/v1/quotes', undefined, { intervalMs: 100, timeoutMs: 250, now: () => clock }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PaymentRequiredError);
    expect(seen.length).toBe(2);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(retryAfterMs(null)).toBeUndefined();
    expect(retryAfterMs('soon')).toBeUndefined();
  });
});
