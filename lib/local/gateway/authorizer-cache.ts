import type { Authorizer } from './document';
import type { AuthorizerResult } from './types';

/**
 * API Gateway's authorizer result cache: per authorizer and identity-source value, for the
 * authorizer's TTL (0: never cached), Allow and Deny alike; only a stage-wide flush empties it early.
 */

export interface AuthorizerCache {
  get(authorizer: Authorizer, identity: readonly string[]): AuthorizerResult | undefined;
  set(authorizer: Authorizer, identity: readonly string[], result: AuthorizerResult): void;
  /** FlushStageAuthorizersCache. */
  clear(): void;
}

export function createAuthorizerCache(now: () => number): AuthorizerCache {
  const entries = new Map<string, { result: AuthorizerResult; expiresAt: number }>();
  const keyOf = (authorizer: Authorizer, identity: readonly string[]): string => `${authorizer.name}\u0000${identity.join('\u0000')}`;
  return {
    get: (authorizer, identity) => {
      const key = keyOf(authorizer, identity);
      const entry = entries.get(key);
      if (authorizer.ttlSeconds > 0 && entry !== undefined && entry.expiresAt > now()) return entry.result;
      entries.delete(key);
      return undefined;
    },
    set: (authorizer, identity, result) => {
      if (authorizer.ttlSeconds > 0) entries.set(keyOf(authorizer, identity), { result, expiresAt: now() + authorizer.ttlSeconds * 1000 });
    },
    clear: () => entries.clear(),
  };
}
