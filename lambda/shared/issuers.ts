import { SettingsError } from './settings';

/**
 * Trusted OAuth 2.0 / OpenID Connect issuers: the contract between the configuration (validated at synth,
 * lib/config/issuers.ts), the stack (which writes it into the authorizer's environment) and the authorizer
 * (which reads it once, at init). Only public facts: issuer URLs, audiences, algorithms. No secret.
 */

/** Asymmetric algorithms only: a JWKS publishes public keys, so an HMAC (HS*) or `none` can never verify. */
export const TOKEN_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
export type TokenAlgorithm = (typeof TOKEN_ALGORITHMS)[number];

/** How a verified token names its Stripe customer. */
export type CustomerMapping =
  /** A claim carries the Stripe customer id (`custom:stripe_customer_id`, an Auth0 namespaced claim, …). */
  | { readonly kind: 'claim'; readonly claim: string }
  /** The token's `sub`, linked to a customer with `tollgate customers link-subject` (one Query on an index). */
  | { readonly kind: 'subject' };

export interface TrustedIssuer {
  /** The exact `iss` value. */
  readonly issuer: string;
  /** `cognito`: an Amazon Cognito user pool (token_use, client_id); `oidc`: any other issuer. */
  readonly kind: 'cognito' | 'oidc';
  /** Accepted `aud` values (OIDC issuers; Cognito id tokens use clientIds). */
  readonly audience?: readonly string[];
  /** Cognito app client ids (`client_id` of access tokens, `aud` of id tokens). */
  readonly clientIds?: readonly string[];
  /** Cognito's `token_use` claim. */
  readonly tokenUse?: 'access' | 'id';
  readonly algorithms: readonly TokenAlgorithm[];
  /** Where the keys are. @default - Cognito: `<issuer>/.well-known/jwks.json`; others: the discovery document's `jwks_uri` */
  readonly jwksUri?: string;
  readonly customer: CustomerMapping;
  /** Accepted clock difference for `exp`, `nbf` and `iat`, seconds. */
  readonly clockSkewSeconds: number;
}

export const ISSUERS_ENV = 'TOLLGATE_ISSUERS';
/** `METHOD /path` → the OAuth scopes a token needs on that route (x-tollgate "scopes"). */
export const ROUTE_SCOPES_ENV = 'TOLLGATE_ROUTE_SCOPES';
export type RouteScopes = Readonly<Record<string, readonly string[]>>;
/** The authorizer cache TTL: a token is accepted only while it outlives a decision cached now. */
export const CACHE_TTL_ENV = 'TOLLGATE_AUTHORIZER_CACHE_TTL_SECONDS';
/** Lambda's limit on a function's whole environment (names and values). */
export const LAMBDA_ENVIRONMENT_BYTES = 4096;

export class IssuersError extends Error {
  override readonly name = 'IssuersError';
}

/** Seconds a token may be early or late on its own timestamps; at most this much. */
export const MAX_CLOCK_SKEW_SECONDS = 300;
export const DEFAULT_CLOCK_SKEW_SECONDS = 30;

const COGNITO_ISSUER = /^https:\/\/cognito-idp\.([a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com\/([a-z]{2}(?:-[a-z]+)+-\d_[0-9A-Za-z]+)$/;

/** The region and user pool id of a Cognito issuer URL, undefined for any other issuer. */
export function cognitoUserPool(issuer: string): { readonly region: string; readonly userPoolId: string } | undefined {
  const match = COGNITO_ISSUER.exec(issuer);
  return match === null ? undefined : { region: match[1]!, userPoolId: match[2]! };
}

/** http is allowed for loopback issuers only (the local issuer of `npm start`). */
export function isLoopbackUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' && (url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]');
  } catch {
    return false;
  }
}

/** Compact, for the environment: short keys, nothing at its default. */
export function encodeIssuers(issuers: readonly TrustedIssuer[]): string {
  return JSON.stringify(issuers);
}

const isStringList = (value: unknown): value is string[] => Array.isArray(value) && value.every((v) => typeof v === 'string');

/** Reads the environment the stack wrote; a malformed value fails the cold start (503), never a request. */
export function decodeIssuers(encoded: string | undefined): TrustedIssuer[] {
  if (encoded === undefined || encoded === '') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(encoded);
  } catch {
    throw new IssuersError(`${ISSUERS_ENV} is not JSON: redeploy the stack`);
  }
  if (!Array.isArray(parsed)) throw new IssuersError(`${ISSUERS_ENV} must be a JSON array: redeploy the stack`);
  return parsed.map((entry: unknown, i) => {
    const e = entry as Partial<Record<keyof TrustedIssuer, unknown>>;
    const customer = e.customer as Partial<CustomerMapping> | undefined;
    const valid =
      typeof entry === 'object' &&
      entry !== null &&
      typeof e.issuer === 'string' &&
      (e.kind === 'cognito' || e.kind === 'oidc') &&
      (e.audience === undefined || isStringList(e.audience)) &&
      (e.clientIds === undefined || isStringList(e.clientIds)) &&
      (e.tokenUse === undefined || e.tokenUse === 'access' || e.tokenUse === 'id') &&
      isStringList(e.algorithms) &&
      e.algorithms.length > 0 &&
      e.algorithms.every((a) => (TOKEN_ALGORITHMS as readonly string[]).includes(a)) &&
      (e.jwksUri === undefined || typeof e.jwksUri === 'string') &&
      typeof e.clockSkewSeconds === 'number' &&
      e.clockSkewSeconds >= 0 &&
      e.clockSkewSeconds <= MAX_CLOCK_SKEW_SECONDS &&
      typeof customer === 'object' &&
      customer !== null &&
      ((customer.kind === 'claim' && typeof customer.claim === 'string' && customer.claim !== '') || customer.kind === 'subject');
    if (!valid) throw new IssuersError(`${ISSUERS_ENV} entry ${i} is malformed: redeploy the stack`);
    return entry as TrustedIssuer;
  });
}

export function decodeCacheTtl(encoded: string | undefined): number {
  if (encoded === undefined || encoded === '') return 0;
  const ttl = Number(encoded);
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > 3600) throw new IssuersError(`${CACHE_TTL_ENV} must be 0 to 3600 seconds: redeploy the stack`);
  return ttl;
}

/** The authorizer's issuer settings, as environment variables; none when no issuer is trusted. */
export function issuersEnvironment(issuers: readonly TrustedIssuer[], cacheTtlSeconds: number, scopes: RouteScopes = {}): Record<string, string> {
  if (issuers.length === 0) return {};
  return {
    [ISSUERS_ENV]: encodeIssuers(issuers),
    [CACHE_TTL_ENV]: String(cacheTtlSeconds),
    ...(Object.keys(scopes).length === 0 ? {} : { [ROUTE_SCOPES_ENV]: JSON.stringify(scopes) }),
  };
}

export function decodeRouteScopes(encoded: string | undefined): RouteScopes {
  if (encoded === undefined || encoded === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(encoded);
  } catch {
    throw new IssuersError(`${ROUTE_SCOPES_ENV} is not JSON: redeploy the stack`);
  }
  const valid =
    typeof parsed === 'object' &&
    parsed !== null &&
    !Array.isArray(parsed) &&
    Object.values(parsed).every((list) => Array.isArray(list) && list.every((s) => typeof s === 'string'));
  if (!valid) throw new IssuersError(`${ROUTE_SCOPES_ENV} must map routes to lists of scopes: redeploy the stack`);
  return parsed as RouteScopes;
}

/** Lambda refuses a deployment whose environment is over 4 KB: say so at synth, with what to change. */
export function assertEnvironmentFits(environment: Readonly<Record<string, string>>): void {
  const bytes = Object.entries(environment).reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + Buffer.byteLength(value), 0);
  if (bytes > LAMBDA_ENVIRONMENT_BYTES) {
    throw new SettingsError(
      `the authorizer's environment takes ${bytes} bytes, more than Lambda's ${LAMBDA_ENVIRONMENT_BYTES}: trust fewer issuers or audiences in tollgate:issuers, or merge routes with path parameters`,
    );
  }
}
