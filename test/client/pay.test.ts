import { createTollgateClient, PaymentRequiredError, type PaymentChallenge } from '../../client/index';

/**
 * The client pays a 402 through a callback (docs/agents.md): a stub of a tollgate API whose paid route
 * answers 402 with an offer until a key with credits calls it, and whose purchase route challenges,
 * then takes the credential the callback supplies and returns a new key.
 */
function stubApi(): { fetch: typeof fetch; calls: string[] } {
  const calls: string[] = [];
  let toppedUp = false;
  const purchaseUrl = 'https://api.example.com/prod/tollgate/purchase?offer=credits_100';
  const json = (status: number, body: unknown, headers: Record<string, string> = {}): Response => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/problem+json', ...headers } });
  const stub = (input: string | URL | Request, init?: RequestInit): Promise<Response> => Promise.resolve(answer(input instanceof Request ? input.url : input.toString(), init));
  const answer = (url: string, init?: RequestInit): Response => {
    const headers = new Headers(init?.headers);
    calls.push(`${init?.method ?? 'GET'} ${url.replace('https://api.example.com/prod', '')} ${headers.get('authorization') ?? '-'}`);
    if (url === purchaseUrl) {
      if (headers.get('authorization')?.startsWith('Payment ') === true) {
        toppedUp = true;
        return json(200, { key: 'tg_test_new', credits: 100 });
      }
      return json(402, { type: 'payment-required' }, { 'WWW-Authenticate': 'Payment id="c1", method="stripe"', 'PAYMENT-REQUIRED': 'eyJ4NDAyVmVyc2lvbiI6Mn0=' });
    }
    if (headers.get('authorization') === 'Bearer tg_test_new' || (toppedUp && headers.get('authorization') === 'Bearer tg_test_old')) return new Response('{"ok":true}', { status: 200 });
    return json(402, { reason: 'credits_exhausted', offers: [{ id: 'plan', kind: 'plan' }, { id: 'credits_100', kind: 'credits', purchaseUrl }] });
  };
  return { fetch: stub, calls };
}

describe('the client pays a 402 through a callback', () => {
  it('buys the offer with the credential the callback supplies, keeps the new key and retries the call', async () => {
    const api = stubApi();
    const seen: PaymentChallenge[] = [];
    const client = createTollgateClient({
      baseUrl: 'https://api.example.com/prod',
      apiKey: 'tg_test_old',
      fetch: api.fetch,
      pay: (challenge) => {
        seen.push(challenge);
        return Promise.resolve({ Authorization: 'Payment credential-for-c1' });
      },
    });
    const response = await client.fetch('/v1/search');
    expect(response.status).toBe(200);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ offer: { id: 'credits_100' }, wwwAuthenticate: 'Payment id="c1", method="stripe"', paymentRequired: 'eyJ4NDAyVmVyc2lvbiI6Mn0=' });
    // A key was presented, so the purchase tops it up and the retry carries the same key (a credential in Authorization replaces it on the purchase alone).
    expect(api.calls).toEqual([
      'GET /v1/search Bearer tg_test_old',
      'POST /tollgate/purchase?offer=credits_100 Bearer tg_test_old',
      'POST /tollgate/purchase?offer=credits_100 Payment credential-for-c1',
      'GET /v1/search Bearer tg_test_old',
    ]);
  });

  it('a keyless client keeps the key its purchase returns and calls with it', async () => {
    const api = stubApi();
    const client = createTollgateClient({ baseUrl: 'https://api.example.com/prod', fetch: api.fetch, pay: () => Promise.resolve({ Authorization: 'Payment credential' }) });
    expect((await client.fetch('/v1/search')).status).toBe(200);
    expect(api.calls.at(-1)).toBe('GET /v1/search Bearer tg_test_new');
    expect(api.calls.filter((c) => c.startsWith('POST'))).toHaveLength(2);
  });

  it('throws the 402 when the callback declines, and without a callback pays nothing', async () => {
    const declined = stubApi();
    await expect(createTollgateClient({ baseUrl: 'https://api.example.com/prod', fetch: declined.fetch, pay: () => Promise.resolve(undefined) }).fetch('/v1/search')).rejects.toBeInstanceOf(PaymentRequiredError);
    const none = stubApi();
    await expect(createTollgateClient({ baseUrl: 'https://api.example.com/prod', fetch: none.fetch }).fetch('/v1/search')).rejects.toBeInstanceOf(PaymentRequiredError);
    expect(none.calls).toEqual(['GET /v1/search -']);
  });
});
