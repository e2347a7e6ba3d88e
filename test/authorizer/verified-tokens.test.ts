import type { Fetcher } from 'aws-jwt-verify/https';
import { TokenRefused, TokenVerifier, type VerifiedToken } from '../../lambda/authorizer/jwt';
import { VerifiedTokens } from '../../lambda/authorizer/verified-tokens';
import type { TrustedIssuer } from '../../lambda/shared/issuers';
import { generateSigningKey, LOCAL_AUDIENCE, LOCAL_CUSTOMER_CLAIM, mintToken, publicJwk, type SigningKey } from '../../lib/local/oidc-issuer';

/**
 * Verified tokens remembered by the instance: a token seen again skips the signature and claim checks,
 * but never past the point where the full check would refuse it (its expiry against the cache TTL, a key
 * set that changed), and never for a token that differs from the verified one in any byte.
 */

describe('VerifiedTokens', () => {
  const token = (expiresAt: number) => ({ expiresAt });

  it('answers a remembered token, counting the hit, and nothing else', () => {
    const memory = new VerifiedTokens<{ expiresAt: number }>(10);
    const verified = token(2_000);
    expect(memory.get('a.b.c', 1_000_000, 1)).toBeUndefined();
    memory.add('a.b.c', verified, 1);
    expect(memory.get('a.b.c', 1_000_000, 1)).toBe(verified);
    expect(memory.get('a.b.d', 1_000_000, 1)).toBeUndefined();
    expect(memory.hits).toBe(1);
  });

  it('forgets a token that would expire before validUntil, or that was verified under other keys', () => {
    const memory = new VerifiedTokens<{ expiresAt: number }>(10);
    memory.add('early', token(2_000), 1);
    expect(memory.get('early', 2_000_001, 1)).toBeUndefined();
    memory.add('rotated', token(2_000), 1);
    expect(memory.get('rotated', 1_000, 2)).toBeUndefined();
    expect(memory.size).toBe(0);
    expect(memory.hits).toBe(0);
  });

  it('keeps at most its capacity, dropping the oldest, and nothing at capacity 0', () => {
    const memory = new VerifiedTokens<{ expiresAt: number }>(2);
    for (const jwt of ['first', 'second', 'third']) memory.add(jwt, token(2_000), 1);
    expect(memory.size).toBe(2);
    expect(memory.get('first', 0, 1)).toBeUndefined();
    expect(memory.get('third', 0, 1)).toBeDefined();
    const none = new VerifiedTokens<{ expiresAt: number }>(0);
    none.add('first', token(2_000), 1);
    expect(none.size).toBe(0);
  });
});

describe('TokenVerifier remembering verified tokens', () => {
  const ISSUER = 'https://issuer.example';
  const JWKS_URI = `${ISSUER}/.well-known/jwks.json`;
  const TTL = 300;

  /**
   * An OIDC issuer whose JWKS the test can change, a clock the test moves, and every fetch counted. The
   * keys are fetched first, as at a warm instance: a token whose check brought a new set (a cold start)
   * is checked again next time rather than remembered.
   */
  async function setup(options: { rememberedTokens?: number } = {}) {
    const state = { keys: [generateSigningKey(ISSUER)], clock: Date.now(), fetches: 0 };
    const fetcher: Fetcher = {
      fetch: (uri) => {
        state.fetches++;
        if (uri !== JWKS_URI) return Promise.reject(new Error(`unexpected fetch of ${uri}`));
        return Promise.resolve(new TextEncoder().encode(JSON.stringify({ keys: state.keys.map(publicJwk) })).buffer);
      },
    };
    const trusted: TrustedIssuer = {
      issuer: ISSUER,
      kind: 'oidc',
      audience: [LOCAL_AUDIENCE],
      algorithms: ['RS256'],
      jwksUri: JWKS_URI,
      customer: { kind: 'claim', claim: LOCAL_CUSTOMER_CLAIM },
      clockSkewSeconds: 30,
    };
    const verifier = new TokenVerifier({ issuers: [trusted], cacheTtlSeconds: TTL, fetcher, now: () => state.clock, ...options });
    const mint = (key: SigningKey = state.keys[0]!, expiresInSeconds = 3600) => mintToken(key, { customerId: 'cus_Remembered1', expiresInSeconds });
    await verifier.hydrate();
    return { verifier, state, mint };
  }

  it('answers a token it verified before from memory, with the same answer', async () => {
    const { verifier, mint } = await setup();
    const jwt = mint();
    const first = await verifier.verify(jwt);
    expect(first).toMatchObject({ customer: { kind: 'id', customerId: 'cus_Remembered1' } });
    expect(verifier.remembered.hits).toBe(0);
    expect(await verifier.verify(jwt)).toBe(first);
    expect(verifier.remembered.hits).toBe(1);
  });

  it('checks in full every token that differs in a byte from a remembered one', async () => {
    const { verifier, mint } = await setup();
    const jwt = mint();
    await verifier.verify(jwt);
    const [header, payload, signature] = jwt.split('.') as [string, string, string];
    const flipped = `${signature.slice(0, -2)}${signature.at(-2) === 'A' ? 'B' : 'A'}${signature.at(-1)}`;
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const otherCustomer = Buffer.from(JSON.stringify({ ...claims, [LOCAL_CUSTOMER_CLAIM]: 'cus_SomeoneElse' })).toString('base64url');
    for (const forged of [`${header}.${payload}.${flipped}`, `${header}.${otherCustomer}.${signature}`]) {
      expect(await verifier.verify(forged)).toEqual(new TokenRefused('invalid_token'));
    }
    expect(verifier.remembered.hits).toBe(0);
    expect(verifier.remembered.size).toBe(1);
  });

  it('refuses a remembered token once a decision cached now would outlive it, then once it expires', async () => {
    const { verifier, state, mint } = await setup();
    const jwt = mint(undefined, TTL + 60);
    expect(await verifier.verify(jwt)).not.toBeInstanceOf(TokenRefused);
    state.clock += 30_000;
    expect(await verifier.verify(jwt)).not.toBeInstanceOf(TokenRefused);
    expect(verifier.remembered.hits).toBe(1);
    state.clock += 31_000;
    expect(await verifier.verify(jwt)).toEqual(new TokenRefused('expiring_token'));
    state.clock += (TTL + 60) * 1000;
    expect(await verifier.verify(jwt)).toEqual(new TokenRefused('expired_token'));
    expect(verifier.remembered.hits).toBe(1);
  });

  it('checks remembered tokens again when a JWKS changes: a withdrawn key stops its tokens at once', async () => {
    const { verifier, state, mint } = await setup();
    const old = state.keys[0]!;
    const jwt = mint(old);
    await verifier.verify(jwt);
    // The same set fetched again (a made-up kid, after the cooldown) changes nothing.
    state.clock += 31_000;
    expect(await verifier.verify(mint({ ...old, kid: 'made-up' }))).toEqual(new TokenRefused('invalid_token'));
    expect(state.fetches).toBe(2);
    expect(await verifier.verify(jwt)).not.toBeInstanceOf(TokenRefused);
    expect(verifier.remembered.hits).toBe(1);
    // The issuer withdraws the old key for a new one; a token of the new key brings the new set.
    state.clock += 31_000;
    state.keys = [generateSigningKey(ISSUER)];
    expect(await verifier.verify(mint(state.keys[0]))).not.toBeInstanceOf(TokenRefused);
    expect(state.fetches).toBe(3);
    expect(await verifier.verify(jwt)).toEqual(new TokenRefused('invalid_token'));
    expect(verifier.remembered.hits).toBe(1);
  });

  it('remembers no refusal, and nothing at all when told to remember no token', async () => {
    const { verifier, mint } = await setup();
    const expired = mint(undefined, TTL - 10);
    await verifier.verify(expired);
    expect(await verifier.verify(expired)).toEqual(new TokenRefused('expiring_token'));
    expect(verifier.remembered.size).toBe(0);

    const { verifier: forgetful, mint: mintForgetful } = await setup({ rememberedTokens: 0 });
    const jwt = mintForgetful();
    const answers: Array<VerifiedToken | TokenRefused> = [await forgetful.verify(jwt), await forgetful.verify(jwt)];
    expect(answers.every((a) => !(a instanceof TokenRefused))).toBe(true);
    expect(answers[0]).not.toBe(answers[1]);
    expect(forgetful.remembered.hits).toBe(0);
  });
});
