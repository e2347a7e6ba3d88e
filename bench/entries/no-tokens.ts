/**
 * B11's baseline: what the authorizer imports for bearer JWTs (token-auth.ts, jwt.ts, jwks.ts), replaced
 * by the least that keeps its handler whole, so the bundle is the authorizer without the verifier
 * (aws-jwt-verify and tollgate's token code). Every JWT is refused, as before issuers existed.
 */

export type TokenRefusal = 'unknown_issuer';

export class TokenRefused {
  constructor(readonly reason: TokenRefusal) {}
}

export class JwksUnavailableError extends Error {}

export type TokenAuthenticator = never;

export const authenticateToken = (): Promise<TokenRefused> => Promise.resolve(new TokenRefused('unknown_issuer'));

export const tokenAuthenticatorFromEnv = (): undefined => undefined;
