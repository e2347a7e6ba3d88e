/**
 * The tokens this function instance has verified, so that a token seen again is not verified again: its
 * signature check (an RSA operation) and its claim checks are the largest part of a token decision that
 * a key decision does not have. API Gateway asks the authorizer about one token many times over its
 * life: once per cache TTL, on each authorizer's own cache, per route when routes are scoped. Envoy's
 * `jwt_authn` keeps verified tokens the same way (`jwt_cache_config`).
 *
 * What keeps it exact:
 * - the key is the whole token, signature included: a token that differs in one byte is checked in full;
 * - only verified tokens are kept, never a refusal;
 * - an entry is used only while the token would still be accepted (`exp` ≥ now + the cache TTL, the rule
 *   of jwt.ts), and only while the issuers' key sets are those it was verified against: a rotated or
 *   withdrawn key (a JWKS that changed) has every token checked again;
 * - what depends on the route (scopes) or on the store (the customer, a linked subject) is decided on
 *   every call, after this.
 * Bounded: when full, the oldest entry goes.
 */

/** About 20 MB for tokens of 2 KB, 80 MB at most (tokens at the 8 KB header limit); the authorizer has 512 MB. */
export const DEFAULT_REMEMBERED_TOKENS = 10_000;

interface Entry<T> {
  readonly token: T;
  /** CachedJwks.version when the token was verified. */
  readonly keysVersion: number;
}

export class VerifiedTokens<T extends { readonly expiresAt: number }> {
  private readonly entries = new Map<string, Entry<T>>();
  /** Answers given from memory (the bench and tests read it). */
  hits = 0;

  /** @param capacity how many tokens to keep; 0 keeps none (every token is verified). */
  constructor(private readonly capacity: number = DEFAULT_REMEMBERED_TOKENS) {}

  get size(): number {
    return this.entries.size;
  }

  /**
   * The verified token, if it was verified under these key sets and still expires no sooner than
   * `validUntilMs`; otherwise undefined, and the caller verifies it in full.
   */
  get(jwt: string, validUntilMs: number, keysVersion: number): T | undefined {
    const entry = this.entries.get(jwt);
    if (entry === undefined) return undefined;
    if (entry.keysVersion !== keysVersion || entry.token.expiresAt * 1000 < validUntilMs) {
      this.entries.delete(jwt);
      return undefined;
    }
    this.hits++;
    return entry.token;
  }

  add(jwt: string, token: T, keysVersion: number): void {
    if (this.capacity <= 0) return;
    if (this.entries.size >= this.capacity && !this.entries.has(jwt)) {
      // A Map iterates in insertion order: the first key is the oldest.
      this.entries.delete(this.entries.keys().next().value!);
    }
    this.entries.set(jwt, { token, keysVersion });
  }
}
