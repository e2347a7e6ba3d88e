import type { Fetcher } from 'aws-jwt-verify/https';
import { TokenRefused, TokenVerifier } from '../../lambda/authorizer/jwt';
import type { TrustedIssuer } from '../../lambda/shared/issuers';
import { generateSigningKey, mintToken, publicJwk } from '../../lib/local/oidc-issuer';

/**
 * A Cognito user pool's tokens through aws-jwt-verify's Cognito verifier: token_use and client_id as
 * Cognito issues them. The pool's JWKS is the real public half of a generated key, served by a fetcher
 * that answers the pool's own JWKS URL (no network: the unit under test is the verification).
 */

const POOL = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123xyz';
const CLIENT = '4example5clientid6';
const key = generateSigningKey(POOL);

function verifier(overrides: Partial<TrustedIssuer> = {}): { verifier: TokenVerifier; fetched: string[] } {
  const fetched: string[] = [];
  const fetcher: Fetcher = {
    fetch: (uri) => {
      fetched.push(uri);
      if (uri !== `${POOL}/.well-known/jwks.json`) return Promise.reject(new Error(`unexpected fetch of ${uri}`));
      return Promise.resolve(new TextEncoder().encode(JSON.stringify({ keys: [publicJwk(key)] })).buffer);
    },
  };
  const issuer: TrustedIssuer = {
    issuer: POOL,
    kind: 'cognito',
    clientIds: [CLIENT],
    tokenUse: 'access',
    algorithms: ['RS256'],
    customer: { kind: 'claim', claim: 'custom:stripe_customer_id' },
    clockSkewSeconds: 30,
    ...overrides,
  };
  return { verifier: new TokenVerifier({ issuers: [issuer], cacheTtlSeconds: 300, fetcher }), fetched };
}

/** A Cognito access token (no aud; client_id, token_use, scope) or id token (aud is the client). */
const accessToken = (claims: Record<string, unknown> = {}) =>
  mintToken(key, { subject: 'user-1', claims: { aud: undefined, client_id: CLIENT, token_use: 'access', scope: 'aws.cognito.signin.user.admin', 'custom:stripe_customer_id': 'cus_Cognito1', ...claims } });
const idToken = (claims: Record<string, unknown> = {}) => mintToken(key, { subject: 'user-1', audience: CLIENT, claims: { token_use: 'id', 'custom:stripe_customer_id': 'cus_Cognito1', ...claims } });

describe('Cognito user pool tokens', () => {
  it('accepts an access token of the configured client and reads the customer claim, fetching the pool JWKS once', async () => {
    const { verifier: v, fetched } = verifier();
    const first = await v.verify(accessToken());
    expect(first).toMatchObject({ subject: 'user-1', customer: { kind: 'id', customerId: 'cus_Cognito1' } });
    await v.verify(accessToken());
    expect(fetched).toEqual([`${POOL}/.well-known/jwks.json`]);
  });

  it.each<[string, () => string]>([
    ['an id token where access tokens are configured', () => idToken()],
    ['an access token of another app client', () => accessToken({ client_id: 'another-client' })],
    ['an access token without token_use', () => accessToken({ token_use: undefined })],
  ])('refuses %s', async (_label, token) => {
    const result = await verifier().verifier.verify(token());
    expect(result).toBeInstanceOf(TokenRefused);
    expect((result as TokenRefused).reason).toBe('invalid_token');
  });

  it('accepts id tokens whose aud is the client when tokenUse is "id"', async () => {
    expect(await verifier({ tokenUse: 'id' }).verifier.verify(idToken())).toMatchObject({ customer: { kind: 'id', customerId: 'cus_Cognito1' } });
    expect(await verifier({ tokenUse: 'id' }).verifier.verify(accessToken())).toBeInstanceOf(TokenRefused);
  });

  it('refuses a token whose customer claim is missing or not a Stripe customer id', async () => {
    for (const value of [undefined, 'not-a-customer', 42]) {
      const result = await verifier().verifier.verify(accessToken({ 'custom:stripe_customer_id': value }));
      expect(result).toEqual(new TokenRefused('no_customer_claim'));
    }
  });
});
