import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { keyMatchesHash, parseApiKey, type ParsedApiKey } from '../shared/customers/api-key';
import { CorruptRecordError } from '../shared/customers/item';
import { keyState } from '../shared/customers/record';
import { headerValue } from '../shared/headers';
import { countOne, createObservability, type Observability } from '../shared/observability';
import type { AuthorizerSettings } from '../shared/settings';
import type { CustomerReader } from './customer-store';
import { StoreTimeoutError } from './customer-store';
import { decide, type Decision } from './decide';
import { buildPolicy, PolicyConflictError } from './policy';
import { credentialKind, MAX_AUTHORIZATION_LENGTH } from './credentials';
import { TokenRefused, type TokenRefusal } from './jwt';
import { JwksUnavailableError } from './jwks';
import { authenticateToken, type TokenAuthenticator } from './token-auth';

/** Why a credential is refused (401). Logged and counted; the caller only ever sees "Unauthorized". */
export type UnauthorizedReason =
  | 'missing_key'
  | 'malformed_key'
  | 'unknown_key'
  | 'revoked_key'
  | 'expired_key'
  | 'deleted_customer'
  | TokenRefusal;

export type ErrorReason = 'store_timeout' | 'store_error' | 'corrupt_record' | 'policy_conflict' | 'unknown_route' | 'jwks_unavailable';

/** The method that triggered the call is not among the configured routes (routes and API out of step). */
export class UnknownRouteError extends Error {
  override readonly name = 'UnknownRouteError';
}

export type DecisionOutcome = 'allow' | 'deny' | 'unauthorized' | 'error';

/** The authorizer could not decide: API Gateway answers 503. Never "Unauthorized", never a policy. */
export class AuthorizerFailure extends Error {
  override readonly name = 'AuthorizerFailure';
  constructor(
    readonly reason: ErrorReason,
    options: { cause: unknown },
  ) {
    super(`the authorizer could not decide (${reason}): retry`, options);
  }
}

/** API Gateway answers 401 only for an error whose message is exactly this. */
export const UNAUTHORIZED = 'Unauthorized';

export interface AuthorizerDeps {
  customers: CustomerReader;
  settings: AuthorizerSettings;
  /** Bearer JWTs of the trusted issuers. @default - none: every JWT is refused (401) */
  tokens?: TokenAuthenticator;
  now?: () => Date;
  observability?: Observability;
}

const BEARER = /^bearer[ \t]+(\S+)[ \t]*$/i;

function presentedKey(event: APIGatewayRequestAuthorizerEvent): string | undefined {
  const header = headerValue(event, 'authorization');
  if (header === undefined) return undefined;
  // Reject oversized headers before running a regex over them.
  if (header.length > MAX_AUTHORIZATION_LENGTH) return '';
  return BEARER.exec(header.trim())?.[1] ?? '';
}

function errorReason(err: unknown): ErrorReason {
  if (err instanceof CorruptRecordError) return 'corrupt_record';
  if (err instanceof PolicyConflictError) return 'policy_conflict';
  if (err instanceof UnknownRouteError) return 'unknown_route';
  if (err instanceof JwksUnavailableError) return 'jwks_unavailable';
  if (err instanceof StoreTimeoutError || (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError'))) {
    return 'store_timeout';
  }
  return 'store_error';
}

class Refusal {
  constructor(
    readonly reason: UnauthorizedReason,
    readonly parsed?: ParsedApiKey,
  ) {}
}

export function makeAuthorizerHandler(
  deps: AuthorizerDeps,
): (event: APIGatewayRequestAuthorizerEvent) => Promise<APIGatewayAuthorizerResult> {
  const now = deps.now ?? ((): Date => new Date());
  const { logger, metrics } = deps.observability ?? createObservability('tollgate-authorizer');
  const { settings } = deps;

  const record = (outcome: DecisionOutcome, reason: string, fields: Record<string, unknown>): void => {
    countOne(metrics, 'Decisions', { outcome, reason });
    const line = { outcome, reason, ...fields };
    if (outcome === 'error') logger.error('authorizer decision', line);
    else logger.info('authorizer decision', line);
  };

  const authenticate = async (event: APIGatewayRequestAuthorizerEvent, at: Date): Promise<{ parsed: ParsedApiKey; decision: Decision } | Refusal> => {
    const key = presentedKey(event);
    if (key === undefined) return new Refusal('missing_key');
    if (credentialKind(key) === 'jwt') {
      const token = await authenticateToken(deps.tokens, key, { method: event.httpMethod, resource: event.resource });
      if (token instanceof TokenRefused) return new Refusal(token.reason);
      if (token.customer.deleted === true) return new Refusal('deleted_customer', token.identity);
      return { parsed: token.identity, decision: decide(token.customer, settings.routes, at, settings) };
    }
    const parsed = parseApiKey(key);
    if (parsed === undefined) return new Refusal('malformed_key');
    const customer = await deps.customers.read(parsed.customerId, parsed.keyId);
    const stored = customer?.apiKeys?.[parsed.keyId];
    if (customer === undefined || stored === undefined || !keyMatchesHash(key, stored.hash)) return new Refusal('unknown_key', parsed);
    const state = keyState(stored, at);
    if (state !== 'active') return new Refusal(state === 'revoked' ? 'revoked_key' : 'expired_key', parsed);
    // customer.deleted: the customer is gone from Stripe, so its keys no longer authenticate.
    if (customer.deleted === true) return new Refusal('deleted_customer', parsed);
    return { parsed, decision: decide(customer, settings.routes, at, settings) };
  };

  return async (event) => {
    const at = now();
    const route = { method: event.httpMethod, resource: event.resource };
    let result: { parsed: ParsedApiKey; decision: Decision; policy: APIGatewayAuthorizerResult; allowed: boolean } | Refusal;
    try {
      const auth = await authenticate(event, at);
      if (auth instanceof Refusal) {
        result = auth;
      } else {
        // The route that triggered the call is the method and the resource template API Gateway matched.
        const verdict = auth.decision.verdicts.find((v) => v.route.method === event.httpMethod && v.route.path === event.resource);
        if (verdict === undefined) {
          throw new UnknownRouteError(`${event.httpMethod} ${event.resource} is not among the configured routes: redeploy the stack so the authorizer knows it`);
        }
        const policy = buildPolicy(auth.decision, event.methodArn, auth.decision.customerId);
        result = { ...auth, policy, allowed: verdict.allow };
      }
    } catch (err) {
      const reason = errorReason(err);
      record('error', reason, { ...route, error: err instanceof Error ? `${err.name}: ${err.message}` : 'non-error thrown' });
      throw new AuthorizerFailure(reason, { cause: err });
    }
    if (result instanceof Refusal) {
      record('unauthorized', result.reason, { ...route, customerId: result.parsed?.customerId, keyId: result.parsed?.keyId });
      throw new Error(UNAUTHORIZED);
    }
    const { decision, parsed, policy, allowed } = result;
    record(allowed ? 'allow' : 'deny', allowed ? 'none' : decision.reason!, {
      ...route,
      customerId: decision.customerId,
      keyId: parsed.keyId,
      subscriptionStatus: decision.context.subscriptionStatus,
      policyReason: decision.reason ?? 'none',
      paymentWarning: decision.context.paymentWarning,
    });
    return { ...policy, context: { ...policy.context, keyId: parsed.keyId } };
  };
}
