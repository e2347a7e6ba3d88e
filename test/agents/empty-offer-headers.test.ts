import { createTollgateClient, PaymentRequiredError, type PaymentChallenge } from '../../client/index';
import { denyOffers, NO_OFFER_CHALLENGE, type AgentPayments } from '../../lambda/shared/agents/offers';
import { buildGatewayResponses } from '../../lib/openapi/gateway-responses';
import { renderGatewayAnswer } from '../../lib/local/gateway/responses';
import { parseHeaders, parseQuery, type MethodRequest } from '../../lib/local/gateway/request';
import type { AuthorizerContext } from '../../lib/local/gateway/types';
import type { RouteRule } from '../../lambda/shared/requirements';

/**
 * A 402 with no offer for a protocol: the authorizer leaves `paymentRequired` empty (x402 on, nothing sold over
 * it fits) or absent (an authorizer without offers), and the gateway response maps it into `PAYMENT-REQUIRED`.
 * API Gateway sends no header for a mapped value that is absent or empty (docs/agents.md); the local gateway
 * renders the same, and the client reads an empty or absent header, or a `WWW-Authenticate` with no Payment
 * challenge, as "no offers".
 */

const X402 = { network: 'eip155:84532', asset: '0x036CbD53842c5426634e7929541eC2318f3dCF7e', payTo: '0x209693Bc6afc0C5328bA36FaF03C514EF312287C', facilitatorUrl: 'https://x402.example', assetName: 'USDC', assetVersion: '2', decimals: 6 };
const SETTINGS: AgentPayments = {
  realm: 'tollgate',
  networkId: 'profile_test',
  paymentMethodTypes: ['card'],
  // Priced in euros: sold over MPP, never over x402 (a USD stablecoin).
  packs: [{ id: 'credits_eur', name: '100 credits', credits: 100, amount: 900, currency: 'eur' }],
  plans: [],
  denyChallengeSeconds: 1200,
  x402: X402,
};
const SEARCH: RouteRule = { method: 'GET', path: '/v1/search', requires: { kind: 'subscription' }, usage: { cost: 1 } };
const QUOTES: RouteRule = { method: 'GET', path: '/v1/quotes', requires: { kind: 'subscription' } };
const AT = new Date('2026-12-07T08:00:00Z');

const request = (): MethodRequest => ({
  requestId: 'req-1',
  method: 'GET',
  path: '/prod/v1/search',
  resourceSegments: ['v1', 'search'],
  stage: 'prod',
  headers: parseHeaders({}),
  query: parseQuery(''),
  body: Buffer.alloc(0),
  sourceIp: '127.0.0.1',
  startedAt: AT.getTime(),
});

/** The 402 the local gateway renders for a Deny with this context, from the document's own ACCESS_DENIED. */
function denied(agentPayments: AgentPayments | undefined, authorizer: AuthorizerContext): Readonly<Record<string, readonly string[]>> {
  const responses = buildGatewayResponses({ corsAllowOrigin: '*', ...(agentPayments === undefined ? {} : { agentPayments }) });
  const answer = renderGatewayAnswer(responses, { type: 'ACCESS_DENIED', request: request(), context: { 'context.requestId': 'req-1' }, authorizer: { reason: 'credits_exhausted', offers: '[]', ...authorizer } });
  expect(answer.statusCode).toBe(402);
  return answer.multiValueHeaders;
}

describe('a 402 without offers for a protocol', () => {
  it('leaves the x402 context empty when nothing sold over x402 fits, and WWW-Authenticate without a Payment challenge when nothing fits at all', () => {
    const euroOnly = denyOffers(SETTINGS, { reason: 'credits_exhausted', denied: [SEARCH], domainName: 'api.example.com', stage: 'prod', secret: 's3cret', expiresAt: AT });
    expect(euroOnly.paymentRequired).toBe('');
    expect(euroOnly.wwwAuthenticate).toMatch(/^Payment id="/);
    const none = denyOffers(SETTINGS, { reason: 'payment_failed', denied: [QUOTES], domainName: 'api.example.com', stage: 'prod', secret: 's3cret', expiresAt: AT });
    expect(none).toMatchObject({ paymentRequired: '', wwwAuthenticate: NO_OFFER_CHALLENGE, offers: '[]' });
  });

  it('renders no PAYMENT-REQUIRED header for an empty or absent context value (never an empty header, never the expression)', () => {
    const offered = denied(SETTINGS, { wwwAuthenticate: 'Payment id="c1"', paymentRequired: 'eyJ4NDAyVmVyc2lvbiI6Mn0=' });
    expect(offered['payment-required']).toEqual(['eyJ4NDAyVmVyc2lvbiI6Mn0=']);
    const contexts: readonly AuthorizerContext[] = [{ wwwAuthenticate: 'Payment id="c1"', paymentRequired: '' }, { wwwAuthenticate: 'Payment id="c1"' }];
    for (const context of contexts) {
      const headers = denied(SETTINGS, context);
      expect(headers['payment-required']).toBeUndefined();
      expect(headers['www-authenticate']).toEqual(['Payment id="c1"']);
      // Still exposed to browsers: the name is static, whether or not this answer carries it.
      expect(headers['access-control-expose-headers']).toEqual(['Retry-After,WWW-Authenticate,PAYMENT-REQUIRED']);
    }
    expect(denied(SETTINGS, { wwwAuthenticate: '' })['www-authenticate']).toBeUndefined();
  });

  it('maps neither header when offers are off, whatever the context holds', () => {
    const headers = denied(undefined, { wwwAuthenticate: 'Payment id="c1"', paymentRequired: 'eyJ4NDAyVmVyc2lvbiI6Mn0=' });
    expect(headers['payment-required']).toBeUndefined();
    expect(headers['www-authenticate']).toBeUndefined();
  });
});

describe("the client helper reads an empty offer header as no offer", () => {
  const json = (status: number, body: unknown, headers: Record<string, string> = {}): Response =>
    new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/problem+json', ...headers } });
  const OFFER = { id: 'credits_100', kind: 'credits', purchaseUrl: 'https://api.example.com/prod/tollgate/purchase?offer=credits_100' };

  /** A paid route that answers 402 with one offer, and a purchase route whose 402 carries `challengeHeaders`. */
  function api(challengeHeaders: Record<string, string>): { fetch: typeof fetch; purchases: () => number } {
    let purchases = 0;
    const fetchImpl = (input: string | URL | Request): Promise<Response> => {
      const url = input instanceof Request ? input.url : input.toString();
      if (url.includes('/tollgate/purchase')) {
        purchases += 1;
        return Promise.resolve(json(402, { type: 'https://paymentauth.org/problems/payment-required' }, challengeHeaders));
      }
      return Promise.resolve(json(402, { reason: 'credits_exhausted', offers: [OFFER] }));
    };
    return { fetch: fetchImpl, purchases: () => purchases };
  }

  it('passes null, not "", for an empty PAYMENT-REQUIRED, and for a WWW-Authenticate with no Payment challenge', async () => {
    const seen: PaymentChallenge[] = [];
    const pay = (challenge: PaymentChallenge): Promise<undefined> => {
      seen.push(challenge);
      return Promise.resolve(undefined);
    };
    const mppOnly = api({ 'WWW-Authenticate': 'Payment id="c1", method="stripe"', 'PAYMENT-REQUIRED': '' });
    await expect(createTollgateClient({ baseUrl: 'https://api.example.com/prod', fetch: mppOnly.fetch, pay }).fetch('/v1/search')).rejects.toBeInstanceOf(PaymentRequiredError);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ wwwAuthenticate: 'Payment id="c1", method="stripe"', paymentRequired: null });

    const x402Only = api({ 'WWW-Authenticate': 'Bearer realm="tollgate"', 'PAYMENT-REQUIRED': 'eyJ4NDAyVmVyc2lvbiI6Mn0=' });
    await expect(createTollgateClient({ baseUrl: 'https://api.example.com/prod', fetch: x402Only.fetch, pay }).fetch('/v1/search')).rejects.toBeInstanceOf(PaymentRequiredError);
    expect(seen[1]).toMatchObject({ wwwAuthenticate: null, paymentRequired: 'eyJ4NDAyVmVyc2lvbiI6Mn0=' });
  });

  it('does not call pay when the challenge offers nothing (both headers empty or absent): the 402 is thrown', async () => {
    const cases: ReadonlyArray<Record<string, string>> = [{ 'WWW-Authenticate': '', 'PAYMENT-REQUIRED': '' }, {}, { 'WWW-Authenticate': 'Bearer realm="tollgate"' }];
    for (const headers of cases) {
      const calls: PaymentChallenge[] = [];
      const none = api(headers);
      const client = createTollgateClient({ baseUrl: 'https://api.example.com/prod', fetch: none.fetch, pay: (c) => (calls.push(c), Promise.resolve({ 'PAYMENT-SIGNATURE': 'x' })) });
      await expect(client.fetch('/v1/search')).rejects.toBeInstanceOf(PaymentRequiredError);
      expect(none.purchases()).toBe(1);
      expect(calls).toEqual([]);
    }
  });
});
