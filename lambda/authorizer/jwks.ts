import type { Fetcher } from 'aws-jwt-verify/https';
import { assertIsJwks, findJwkInJwks, type Jwks, type JwksCache, type JwkWithKid } from 'aws-jwt-verify/jwk';
import { JwtWithoutValidKidError, KidNotFoundInJwksError } from 'aws-jwt-verify/error';
import type { DecomposedJwt } from 'aws-jwt-verify/jwt';

/**
 * Each issuer's JWKS, fetched once per function instance and kept in memory: no network call per
 * decision. An unknown `kid` (the issuer rotated its keys) fetches the set again, at most once per
 * cooldown per URI, so a flood of tokens with made-up kids costs the issuer one request per cooldown.
 * A set that cannot be fetched while none is cached is a JwksUnavailableError (503: the caller may be
 * valid); with a set cached, an unknown kid within the cooldown is refused (401).
 */

/** The issuer's keys could not be had: the authorizer answers 503, never 401. */
export class JwksUnavailableError extends Error {
  override readonly name = 'JwksUnavailableError';
}

/** The token's key is not in memory: the synchronous check cannot decide, the asynchronous one (getJwk) will. */
export class JwkNotCached extends Error {
  override readonly name = 'JwkNotCached';
}

export interface JwksCacheOptions {
  readonly fetcher: Fetcher;
  /** @default Date.now */
  readonly now?: () => number;
  /** Least time between two fetches of one URI. @default 30 s */
  readonly cooldownMs?: number;
}

export const DEFAULT_JWKS_COOLDOWN_MS = 30_000;
/** A JWKS is a few keys; a larger answer is not one. */
export const MAX_JWKS_BYTES = 64 * 1024;

export class CachedJwks implements JwksCache {
  private readonly sets = new Map<string, Jwks>();
  private readonly lastFetch = new Map<string, number>();
  private readonly inflight = new Map<string, Promise<Jwks>>();
  private readonly now: () => number;
  private readonly cooldownMs: number;
  /** How many times each URI was fetched (the bench and tests read it). */
  readonly fetches = new Map<string, number>();
  /** Each set's text as last fetched: a fetch that brings the same set changes nothing. */
  private readonly texts = new Map<string, string>();
  /**
   * Goes up whenever a key set is stored that differs from the one before (a key rotated, added or
   * withdrawn): a token verified under an older version is verified again (verified-tokens.ts).
   */
  version = 0;

  constructor(private readonly options: JwksCacheOptions) {
    this.now = options.now ?? Date.now;
    this.cooldownMs = options.cooldownMs ?? DEFAULT_JWKS_COOLDOWN_MS;
  }

  addJwks(jwksUri: string, jwks: Jwks): void {
    this.store(jwksUri, jwks, JSON.stringify(jwks));
  }

  private store(jwksUri: string, jwks: Jwks, text: string): void {
    this.sets.set(jwksUri, jwks);
    if (this.texts.get(jwksUri) === text) return;
    this.texts.set(jwksUri, text);
    this.version++;
  }

  getJwks(jwksUri: string): Promise<Jwks> {
    const running = this.inflight.get(jwksUri);
    if (running !== undefined) return running;
    this.lastFetch.set(jwksUri, this.now());
    this.fetches.set(jwksUri, (this.fetches.get(jwksUri) ?? 0) + 1);
    const fetching = (async () => {
      try {
        const body = await this.options.fetcher.fetch(jwksUri);
        if (body.byteLength > MAX_JWKS_BYTES) throw new Error(`larger than ${MAX_JWKS_BYTES} bytes`);
        const text = new TextDecoder().decode(body);
        const jwks: unknown = JSON.parse(text);
        assertIsJwks(jwks as Parameters<typeof assertIsJwks>[0]);
        this.store(jwksUri, jwks as Jwks, text);
        return jwks as Jwks;
      } catch (err) {
        throw new JwksUnavailableError(`the JWKS at ${jwksUri} could not be fetched: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      } finally {
        this.inflight.delete(jwksUri);
      }
    })();
    this.inflight.set(jwksUri, fetching);
    return fetching;
  }

  /** The key when it is cached; else JwkNotCached, and getJwk decides whether to fetch. */
  getCachedJwk(jwksUri: string, decomposedJwt: DecomposedJwt): JwkWithKid {
    const kid = kidOf(decomposedJwt);
    const jwks = this.sets.get(jwksUri);
    const jwk = jwks === undefined ? undefined : findJwkInJwks(jwks, kid);
    if (jwk === undefined) throw new JwkNotCached(`no key "${kid}" cached for ${jwksUri}`);
    return jwk;
  }

  async getJwk(jwksUri: string, decomposedJwt: DecomposedJwt): Promise<JwkWithKid> {
    const kid = kidOf(decomposedJwt);
    const cached = this.sets.get(jwksUri);
    const known = cached === undefined ? undefined : findJwkInJwks(cached, kid);
    if (known !== undefined) return known;
    const last = this.lastFetch.get(jwksUri);
    if (last !== undefined && this.now() - last < this.cooldownMs && this.inflight.get(jwksUri) === undefined) {
      // Fetched moments ago: the kid is not the issuer's (or the issuer could not be reached just now).
      if (cached === undefined) throw new JwksUnavailableError(`the JWKS at ${jwksUri} could not be fetched recently; retrying after the cooldown`);
      throw new KidNotFoundInJwksError(`no key "${kid}" in the JWKS`);
    }
    const jwks = await this.getJwks(jwksUri);
    const jwk = findJwkInJwks(jwks, kid);
    if (jwk === undefined) throw new KidNotFoundInJwksError(`no key "${kid}" in the JWKS`);
    return jwk;
  }
}

function kidOf(decomposedJwt: DecomposedJwt): string {
  const kid = decomposedJwt.header.kid;
  if (typeof kid !== 'string' || kid === '' || kid.length > 256) throw new JwtWithoutValidKidError('the token has no valid kid');
  return kid;
}

/** Fetches over https (and http on loopback, for the local issuer), with a deadline and a size cap. */
export function httpFetcher(timeoutMs: number): Fetcher {
  return {
    fetch: async (uri) => {
      const response = await fetch(uri, { signal: AbortSignal.timeout(timeoutMs), redirect: 'error', headers: { accept: 'application/json' } });
      if (response.status !== 200) throw new Error(`status ${response.status}, expected 200`);
      const body = await response.arrayBuffer();
      if (body.byteLength > MAX_JWKS_BYTES) throw new Error(`larger than ${MAX_JWKS_BYTES} bytes`);
      return body;
    },
  };
}
