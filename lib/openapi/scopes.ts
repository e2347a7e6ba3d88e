import type { RouteScopes } from '../../lambda/shared/issuers';

/**
 * Required OAuth scopes per operation: `"x-tollgate": { "requires": "subscription", "scopes": ["read:reports"] }`.
 * A bearer JWT must carry every scope listed (in its `scope` claim, or `scp`); API keys are not scoped.
 *
 * A token without them is refused for that operation only: 401, and the authorizer says why in its log.
 * It cannot be a 402 (every Deny is a payment answer in tollgate) nor a 403 (an authorizer cannot pick a
 * status). Because API Gateway caches one result per identity-source value and re-uses it for every
 * method, an API with scoped operations keys its authorizer cache on the method and resource too
 * (`context.httpMethod`, `context.resourcePath`), so a refusal on one operation never answers another.
 */

const ANY = 'x-amazon-apigateway-any-method';
const ANY_METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'HEAD'];
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head'];
/** RFC 6749 §3.3 scope-token. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/;
const MAX_SCOPES = 20;

export const IDENTITY_SOURCE = 'method.request.header.Authorization';
export const SCOPED_IDENTITY_SOURCE = 'method.request.header.Authorization, context.httpMethod, context.resourcePath';

export class ScopeError extends Error {
  override readonly name = 'ScopeError';
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** `METHOD /path` → the scopes its operation requires; none: no operation declares any. */
export function readRouteScopes(document: unknown): RouteScopes {
  const scopes: Record<string, string[]> = {};
  if (!isObject(document) || !isObject(document.paths)) return scopes;
  for (const [path, item] of Object.entries(document.paths)) {
    if (!isObject(item)) continue;
    const explicit = Object.keys(item).filter((k) => HTTP_METHODS.includes(k)).map((k) => k.toUpperCase());
    for (const [key, operation] of Object.entries(item)) {
      if (key !== ANY && !HTTP_METHODS.includes(key)) continue;
      const extension = isObject(operation) ? operation['x-tollgate'] : undefined;
      if (!isObject(extension) || extension.scopes === undefined) continue;
      const label = `${key === ANY ? 'ANY' : key.toUpperCase()} ${path}`;
      const list = extension.scopes;
      if (!Array.isArray(list) || list.length === 0 || list.length > MAX_SCOPES || !list.every((s) => typeof s === 'string' && SCOPE_TOKEN.test(s))) {
        throw new ScopeError(`${label}: x-tollgate "scopes" must list 1 to ${MAX_SCOPES} OAuth scopes (no spaces, quotes or backslashes), e.g. ["read:reports"]`);
      }
      if (extension.requires === 'public') throw new ScopeError(`${label}: a public operation has no credential to check scopes on: remove "scopes" or require "key" or more`);
      const methods = key === ANY ? ANY_METHODS.filter((m) => !explicit.includes(m)) : [key.toUpperCase()];
      for (const method of methods) scopes[`${method} ${path}`] = [...new Set(list as string[])];
    }
  }
  return scopes;
}

export const identitySourceFor = (scopes: RouteScopes): string => (Object.keys(scopes).length > 0 ? SCOPED_IDENTITY_SOURCE : IDENTITY_SOURCE);
