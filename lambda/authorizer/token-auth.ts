import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Fetcher } from 'aws-jwt-verify/https';
import type { ParsedApiKey } from '../shared/customers/api-key';
import type { TokenCustomerReader } from '../shared/customers/decision-reads';
import type { CustomerRecord } from '../shared/customers/record';
import { CACHE_TTL_ENV, decodeCacheTtl, decodeIssuers, decodeRouteScopes, ISSUERS_ENV, ROUTE_SCOPES_ENV, type RouteScopes, type TrustedIssuer } from '../shared/issuers';
import { httpFetcher } from './jwks';
import { TokenRefused, TokenVerifier, type VerifiedToken } from './jwt';
import { DynamoTokenCustomerReader } from './customer-store';

/**
 * A bearer JWT → the customer whose standing decides, in one read after verification (none before it:
 * every refusal of the token itself costs zero DynamoDB requests).
 */

export interface TokenAuthenticator {
  readonly verifier: TokenVerifier;
  readonly customers: TokenCustomerReader;
  /** `METHOD /resource` → the scopes a token needs there. @default - none */
  readonly routeScopes?: RouteScopes;
}

export interface AuthenticatedToken {
  readonly token: VerifiedToken;
  readonly customer: CustomerRecord;
  /** As a key's parse: the customer, and no key id (a token is not a tollgate key). */
  readonly identity: ParsedApiKey;
}

export async function authenticateToken(
  tokens: TokenAuthenticator | undefined,
  credential: string,
  route: { readonly method: string; readonly resource: string },
): Promise<AuthenticatedToken | TokenRefused> {
  // No issuer trusted: a JWT is just an unknown credential.
  if (tokens === undefined) return new TokenRefused('unknown_issuer');
  const token = await tokens.verifier.verify(credential);
  if (token instanceof TokenRefused) return token;
  // Before the read: a token that may not call this route costs nothing. The cache is keyed per route
  // when any route is scoped (lib/openapi/scopes.ts), so this answer is this route's alone.
  const required = tokens.routeScopes?.[`${route.method} ${route.resource}`] ?? [];
  if (!required.every((scope) => token.scopes.has(scope))) return new TokenRefused('insufficient_scope');
  let customer: CustomerRecord | undefined;
  if (token.customer.kind === 'id') {
    // The issuer vouches for the customer id: a customer tollgate holds no state for yet has no
    // subscription (402 no_subscription, with where to subscribe), not an unknown credential.
    customer = (await tokens.customers.readById(token.customer.customerId)) ?? { customerId: token.customer.customerId, subscriptions: {}, invoices: {}, pastDue: {} };
  } else {
    customer = await tokens.customers.readBySubject(token.customer.subjectKey);
    if (customer === undefined) return new TokenRefused('unlinked_subject');
  }
  return { token, customer, identity: { environment: 'live', customerId: customer.customerId, keyId: '' } };
}

/** Each JWKS or discovery fetch: two in a row and the one read still fit the authorizer's 3 s timeout. */
export const JWKS_FETCH_TIMEOUT_MS = 900;

export interface TokenAuthenticatorOptions {
  readonly issuers: readonly TrustedIssuer[];
  readonly cacheTtlSeconds: number;
  readonly client: DynamoDBClient;
  readonly customersTable: string;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default https (and loopback http) with JWKS_FETCH_TIMEOUT_MS */
  readonly fetcher?: Fetcher;
  /** @default - no route requires a scope */
  readonly routeScopes?: RouteScopes;
  /** Verified tokens to remember (verified-tokens.ts); 0 verifies every token every time. @default DEFAULT_REMEMBERED_TOKENS */
  readonly rememberedTokens?: number;
}

/** undefined when no issuer is trusted: the authorizer then refuses every JWT without looking at it. */
export function createTokenAuthenticator(options: TokenAuthenticatorOptions): TokenAuthenticator | undefined {
  if (options.issuers.length === 0) return undefined;
  return {
    verifier: new TokenVerifier({
      issuers: options.issuers,
      cacheTtlSeconds: options.cacheTtlSeconds,
      fetcher: options.fetcher ?? httpFetcher(JWKS_FETCH_TIMEOUT_MS),
      ...(options.now === undefined ? {} : { now: options.now }),
      ...(options.rememberedTokens === undefined ? {} : { rememberedTokens: options.rememberedTokens }),
    }),
    customers: new DynamoTokenCustomerReader(options.client, options.customersTable),
    ...(options.routeScopes === undefined ? {} : { routeScopes: options.routeScopes }),
  };
}

/** From the environment the stack wrote (lambda/shared/issuers.ts). */
export function tokenAuthenticatorFromEnv(env: Readonly<Record<string, string | undefined>>, client: DynamoDBClient, customersTable: string): TokenAuthenticator | undefined {
  return createTokenAuthenticator({
    issuers: decodeIssuers(env[ISSUERS_ENV]),
    cacheTtlSeconds: decodeCacheTtl(env[CACHE_TTL_ENV]),
    routeScopes: decodeRouteScopes(env[ROUTE_SCOPES_ENV]),
    client,
    customersTable,
  });
}
