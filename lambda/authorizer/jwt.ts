import { CognitoJwtVerifier } from 'aws-jwt-verify/cognito-verifier';
import { JwtBaseError, JwtExpiredError, JwtInvalidSignatureAlgorithmError } from 'aws-jwt-verify/error';
import type { Fetcher } from 'aws-jwt-verify/https';
import type { JwtHeader, JwtPayload } from 'aws-jwt-verify/jwt-model';
import { JwtVerifier } from 'aws-jwt-verify/jwt-verifier';
import { CUSTOMER_ID } from '../shared/customers/api-key';
import { cognitoUserPool, isLoopbackUrl, type TrustedIssuer } from '../shared/issuers';
import { isJwtShaped, MAX_JWT_HEADER_SEGMENT } from './credentials';
import { CachedJwks, DEFAULT_JWKS_COOLDOWN_MS, JwkNotCached, JwksUnavailableError, MAX_JWKS_BYTES } from './jwks';
import { DEFAULT_REMEMBERED_TOKENS, VerifiedTokens } from './verified-tokens';

/**
 * OAuth 2.0 / OIDC access tokens: verified with aws-jwt-verify (AWS's library, for Cognito and any OIDC
 * issuer) against the issuer's JWKS, cached in memory (jwks.ts). Before any key is looked up the token
 * must be shaped like a JWT, name a trusted issuer in `iss` and use one of that issuer's algorithms: a
 * token from anywhere else costs nothing, not a fetch, not a read. Then the library checks the signature,
 * `iss`, `aud` (or Cognito's `client_id` and `token_use`), `exp` and `nbf` with the issuer's clock skew.
 * A token that passed is remembered by the instance, and not checked again while it stays acceptable
 * under the same keys (verified-tokens.ts).
 *
 * API Gateway caches a decision for the authorizer's TTL, keyed on the whole Authorization header, and
 * cannot be told a shorter life for one entry. So a token is accepted only if it is still valid when a
 * decision cached now expires (`exp` ≥ now + TTL): a cached decision never outlives its token. A token
 * closer to its end is refused as a credential about to expire, and the client refreshes it, as it would
 * at `exp`.
 */

export type TokenRefusal =
  /** Not a JWT, bad signature, wrong audience, client or token_use, disallowed algorithm, unknown kid… */
  | 'invalid_token'
  /** `iss` names no trusted issuer. */
  | 'unknown_issuer'
  | 'expired_token'
  /** Valid now, but not for the whole cache TTL. */
  | 'expiring_token'
  /** The mapping claim is missing or not a Stripe customer id. */
  | 'no_customer_claim'
  /** No customer is linked to the token's subject. */
  | 'unlinked_subject'
  /** The route requires a scope the token does not carry (x-tollgate "scopes"). */
  | 'insufficient_scope';

/** A verified token: who it is, and how to find its customer. */
export interface VerifiedToken {
  readonly issuer: TrustedIssuer;
  readonly subject: string;
  readonly customer: { readonly kind: 'id'; readonly customerId: string } | { readonly kind: 'subject'; readonly subjectKey: string };
  readonly expiresAt: number;
  /** From `scope` (space-separated, RFC 8693/9068) or `scp` (a list or a string, as Okta and Entra ID send it). */
  readonly scopes: ReadonlySet<string>;
}

export class TokenRefused {
  constructor(readonly reason: TokenRefusal) {}
}

export interface TokenVerifierOptions {
  readonly issuers: readonly TrustedIssuer[];
  /** The authorizer cache TTL: a token must outlive a decision cached now. */
  readonly cacheTtlSeconds: number;
  /** Fetches discovery documents and JWKS. */
  readonly fetcher: Fetcher;
  /** @default Date.now */
  readonly now?: () => number;
  /** Least time between two fetches of one JWKS (unknown kids). @default 30 s */
  readonly jwksCooldownMs?: number;
  /** How many verified tokens to remember (verified-tokens.ts); 0 verifies every token every time. @default DEFAULT_REMEMBERED_TOKENS */
  readonly rememberedTokens?: number;
}

/** The `sub` of a token, linked to a customer: `<issuer>#<sub>` (lambda/shared/customers/subjects.ts). */
export const subjectKey = (issuer: string, subject: string): string => `${issuer}#${subject}`;

const MAX_SUBJECT_LENGTH = 255;

interface Verifier {
  /** Fetches the issuer's keys when the token's is not cached (the rules of CachedJwks.getJwk). */
  verify(jwt: string): Promise<JwtPayload>;
  /** With the cached keys only: JwkNotCached when the token's key is not among them. */
  verifySync(jwt: string): JwtPayload;
}

function decodeSegment(segment: string): unknown {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function scopesOf(payload: JwtPayload): ReadonlySet<string> {
  const words = (value: unknown): string[] =>
    typeof value === 'string' ? value.split(' ').filter((s) => s !== '') : Array.isArray(value) ? value.filter((s): s is string => typeof s === 'string') : [];
  return new Set([...words(payload.scope), ...words(payload.scp)]);
}

export class TokenVerifier {
  private readonly byIssuer: ReadonlyMap<string, TrustedIssuer>;
  private readonly verifiers = new Map<string, Promise<Verifier>>();
  /** The verifiers built so far, by issuer: the synchronous path needs no await. */
  private readonly ready = new Map<string, Verifier>();
  private readonly discoveryFailedAt = new Map<string, number>();
  private readonly now: () => number;
  private readonly cooldownMs: number;
  private readonly ttlMs: number;
  readonly jwks: CachedJwks;
  /** Tokens verified before: a token seen again skips the signature and claim checks. */
  readonly remembered: VerifiedTokens<VerifiedToken>;

  constructor(private readonly options: TokenVerifierOptions) {
    this.byIssuer = new Map(options.issuers.map((issuer) => [issuer.issuer, issuer]));
    this.now = options.now ?? Date.now;
    this.cooldownMs = options.jwksCooldownMs ?? DEFAULT_JWKS_COOLDOWN_MS;
    this.ttlMs = options.cacheTtlSeconds * 1000;
    this.jwks = new CachedJwks({ fetcher: options.fetcher, now: this.now, cooldownMs: this.cooldownMs });
    this.remembered = new VerifiedTokens(options.rememberedTokens ?? DEFAULT_REMEMBERED_TOKENS);
  }

  /** Refusal (401), a verified token, or a throw (JwksUnavailableError and the unexpected: 503). */
  async verify(token: string): Promise<VerifiedToken | TokenRefused> {
    const keysVersion = this.jwks.version;
    const known = this.remembered.get(token, this.now() + this.ttlMs, keysVersion);
    if (known !== undefined) return known;
    const verified = await this.check(token);
    // Only if no key set changed during the check: then it was checked against the sets of keysVersion.
    if (!(verified instanceof TokenRefused) && this.jwks.version === keysVersion) this.remembered.add(token, verified, keysVersion);
    return verified;
  }

  /** Every check, in full. */
  private async check(token: string): Promise<VerifiedToken | TokenRefused> {
    if (!isJwtShaped(token)) return new TokenRefused('invalid_token');
    const [headerSegment, payloadSegment] = token.split('.') as [string, string, string];
    if (headerSegment.length > MAX_JWT_HEADER_SEGMENT) return new TokenRefused('invalid_token');
    const header = decodeSegment(headerSegment) as JwtHeader | undefined;
    const unverified = decodeSegment(payloadSegment) as JwtPayload | undefined;
    if (header === undefined || unverified === undefined) return new TokenRefused('invalid_token');
    const issuer = typeof unverified.iss === 'string' ? this.byIssuer.get(unverified.iss) : undefined;
    if (issuer === undefined) return new TokenRefused('unknown_issuer');
    // Pinned per issuer, before any key is fetched: `none`, HS256 and anything unexpected stop here.
    if (typeof header.alg !== 'string' || !(issuer.algorithms as readonly string[]).includes(header.alg)) return new TokenRefused('invalid_token');
    // No extension this verifier does not implement may be marked critical (RFC 7515 §4.1.11).
    if (header.crit !== undefined) return new TokenRefused('invalid_token');

    let payload: JwtPayload;
    try {
      payload = await this.verifyWith(issuer, token);
    } catch (err) {
      if (err instanceof JwksUnavailableError) throw err;
      if (err instanceof JwtExpiredError) return new TokenRefused('expired_token');
      if (err instanceof JwtBaseError) return new TokenRefused('invalid_token');
      throw err;
    }
    if (typeof payload.exp !== 'number') return new TokenRefused('invalid_token');
    if (payload.exp * 1000 < this.now() + this.ttlMs) {
      return new TokenRefused(payload.exp * 1000 < this.now() ? 'expired_token' : 'expiring_token');
    }
    const subject = payload.sub;
    if (typeof subject !== 'string' || subject === '' || subject.length > MAX_SUBJECT_LENGTH) return new TokenRefused('invalid_token');
    const base = { issuer, subject, expiresAt: payload.exp, scopes: scopesOf(payload) };
    if (issuer.customer.kind === 'subject') return { ...base, customer: { kind: 'subject', subjectKey: subjectKey(issuer.issuer, subject) } };
    const customerId = payload[issuer.customer.claim];
    if (typeof customerId !== 'string' || !CUSTOMER_ID.test(customerId)) return new TokenRefused('no_customer_claim');
    return { ...base, customer: { kind: 'id', customerId } };
  }

  /**
   * The signature and the claims, by the issuer's verifier. Synchronously when the verifier is built and
   * the token's key cached, as for nearly every decision: no promise chain on the hot path. Otherwise
   * (a cold start, a key rotation, a made-up kid) asynchronously, which builds the verifier (discovery)
   * and fetches the keys under the JWKS cooldown.
   */
  private async verifyWith(issuer: TrustedIssuer, token: string): Promise<JwtPayload> {
    const ready = this.ready.get(issuer.issuer);
    if (ready !== undefined) {
      try {
        return ready.verifySync(token);
      } catch (err) {
        if (!(err instanceof JwkNotCached)) throw err;
      }
    }
    const verifier = await this.verifierFor(issuer);
    return verifier.verify(token);
  }

  /** Fetches every issuer's keys (a cold start can warm them before the first request). */
  async hydrate(): Promise<void> {
    await Promise.all(
      this.options.issuers.map(async (issuer) => {
        const verifier = (await this.verifierFor(issuer)) as unknown as { hydrate(): Promise<void> };
        await verifier.hydrate();
      }),
    );
  }

  private verifierFor(issuer: TrustedIssuer): Promise<Verifier> {
    const existing = this.verifiers.get(issuer.issuer);
    if (existing !== undefined) return existing;
    const failedAt = this.discoveryFailedAt.get(issuer.issuer);
    if (failedAt !== undefined && this.now() - failedAt < this.cooldownMs) {
      return Promise.reject(new JwksUnavailableError(`the discovery document of ${issuer.issuer} could not be fetched recently; retrying after the cooldown`));
    }
    const creating = this.createVerifier(issuer).then(
      (verifier) => {
        this.ready.set(issuer.issuer, verifier);
        return verifier;
      },
      (err: unknown) => {
        this.verifiers.delete(issuer.issuer);
        this.discoveryFailedAt.set(issuer.issuer, this.now());
        throw err;
      },
    );
    this.verifiers.set(issuer.issuer, creating);
    return creating;
  }

  private async createVerifier(issuer: TrustedIssuer): Promise<Verifier> {
    const algorithms: readonly string[] = issuer.algorithms;
    const customJwtCheck = ({ header }: { header: JwtHeader }): void => {
      if (header.alg === undefined || !algorithms.includes(header.alg)) {
        throw new JwtInvalidSignatureAlgorithmError(`algorithm not allowed for ${issuer.issuer}`, header.alg, algorithms);
      }
    };
    const pool = cognitoUserPool(issuer.issuer);
    if (issuer.kind === 'cognito' && pool !== undefined) {
      return CognitoJwtVerifier.create(
        { userPoolId: pool.userPoolId, tokenUse: issuer.tokenUse ?? 'access', clientId: [...(issuer.clientIds ?? [])], graceSeconds: issuer.clockSkewSeconds, customJwtCheck },
        { jwksCache: this.jwks },
      );
    }
    const jwksUri = issuer.jwksUri ?? (await this.discoverJwksUri(issuer.issuer));
    return JwtVerifier.create(
      { issuer: issuer.issuer, audience: [...(issuer.audience ?? [])], jwksUri, graceSeconds: issuer.clockSkewSeconds, customJwtCheck },
      { jwksCache: this.jwks },
    );
  }

  /** OpenID Connect Discovery: the document at `<issuer>/.well-known/openid-configuration` names the JWKS. */
  private async discoverJwksUri(issuer: string): Promise<string> {
    const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    let document: unknown;
    try {
      const body = await this.options.fetcher.fetch(url);
      if (body.byteLength > MAX_JWKS_BYTES) throw new Error(`larger than ${MAX_JWKS_BYTES} bytes`);
      document = JSON.parse(new TextDecoder().decode(body));
    } catch (err) {
      throw new JwksUnavailableError(`the discovery document at ${url} could not be fetched: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    const { issuer: stated, jwks_uri: jwksUri } = (document ?? {}) as { issuer?: unknown; jwks_uri?: unknown };
    // OIDC Discovery §4.3: the document must name the issuer it was fetched for.
    if (stated !== issuer) throw new JwksUnavailableError(`the discovery document at ${url} names issuer ${JSON.stringify(stated)}, not ${issuer}`);
    if (typeof jwksUri !== 'string' || !URL.canParse(jwksUri) || (new URL(jwksUri).protocol !== 'https:' && !isLoopbackUrl(jwksUri))) {
      throw new JwksUnavailableError(`the discovery document at ${url} has no https jwks_uri`);
    }
    return jwksUri;
  }
}
