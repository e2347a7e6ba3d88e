import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { parseApiKey, type ParsedApiKey } from '../shared/customers/api-key';
import { authenticateKey, type KeyRefusal } from '../shared/customers/authenticate';
import { StoreTimeoutError, type CustomerReader } from '../shared/customers/decision-reads';
import { CorruptRecordError } from '../shared/customers/item';
import { fundsOfRecord, newReservationId } from '../shared/customers/wallet';
import { AUTHORIZER_GROUPS, groupOf, type AuthorizerGroup, type RouteRule } from '../shared/requirements';
import { headerValue } from '../shared/headers';
import { countOne, createObservability, type LineObservability } from '../shared/observability';
import { effectiveCheckoutUrl, effectivePortalUrl } from '../shared/portal-paths';
import type { AuthorizerSettings } from '../shared/settings';
import { decide, type Decision, type DecisionContext, type DecisionSettings } from '../shared/customers/standing';
import { buildPolicy, PolicyConflictError } from './policy';
import { applicableBudgets } from '../shared/budgets';
import { windowsToStart } from '../shared/customers/budgets-reservation';
import { credentialKind, MAX_AUTHORIZATION_LENGTH } from './credentials';
import { TokenRefused, type TokenRefusal } from './jwt';
import { JwksUnavailableError } from './jwks';
import { authenticateToken, type TokenAuthenticator } from './token-auth';
import type { DenyContextExtension } from './offers';

/** Why a credential is refused (401). Logged and counted; the caller only ever sees "Unauthorized". */
export type UnauthorizedReason =
  | 'missing_key'
  | 'malformed_key'
  | KeyRefusal
  /** A bearer token on a strict route: its reservation is conditioned on a key's stored hash. */
  | 'token_on_strict_route'
  | TokenRefusal;

export type ErrorReason = 'store_timeout' | 'store_error' | 'corrupt_record' | 'policy_conflict' | 'unknown_route' | 'reservation_refused' | 'jwks_unavailable';

/** A strict route's reservation was refused although the item as it was would have allowed it (a layout the write cannot read). */
export class ReservationRefusedError extends Error {
  override readonly name = 'ReservationRefusedError';
}

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

/** The `message` of every decision record (Logs Insights: `filter message = 'authorizer decision'`). */
export const DECISION_MESSAGE = 'authorizer decision';

/** API Gateway answers 401 only for an error whose message is exactly this. */
export const UNAUTHORIZED = 'Unauthorized';

export interface AuthorizerDeps {
  customers: CustomerReader;
  settings: AuthorizerSettings;
  /** Bearer JWTs of the trusted issuers. @default - none: every JWT is refused (401) */
  tokens?: TokenAuthenticator;
  now?: () => Date;
  observability?: LineObservability;
  /** Adds to a Deny's context (offers to agents, offers.ts). @default - nothing */
  denyContext?: DenyContextExtension;
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
  if (err instanceof ReservationRefusedError) return 'reservation_refused';
  if (err instanceof JwksUnavailableError) return 'jwks_unavailable';
  if (err instanceof StoreTimeoutError || (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError'))) {
    return 'store_timeout';
  }
  return 'store_error';
}

const textOf = (value: string | number | boolean | undefined): string | undefined => (value === undefined ? undefined : String(value));

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
  const { logger, metrics, lines } = deps.observability ?? createObservability('tollgate-authorizer');
  const { settings } = deps;

  /**
   * One record and one count per decision. An answer's record rides on its metric's EMF line (one line to
   * write per decision, the hot path's largest cost after the read, written by EmfLines); an error is a
   * Logger error line besides its count, so that it has the level operators and alarms look for.
   */
  const record = (outcome: DecisionOutcome, reason: string, fields: Readonly<Record<string, string | undefined>>): void => {
    if (outcome === 'error') {
      countOne(metrics, 'Decisions', { outcome, reason });
      logger.error(DECISION_MESSAGE, { outcome, reason, ...fields });
    } else {
      lines.count('Decisions', { outcome, reason }, fields);
    }
  };

  const routesByMethod = new Map(settings.routes.map((r) => [`${r.method} ${r.path}`, r]));
  const groups = Object.fromEntries(AUTHORIZER_GROUPS.map((g) => [g, settings.routes.filter((r) => groupOf(r) === g)])) as Record<AuthorizerGroup, RouteRule[]>;
  const soldByUse = Object.fromEntries(AUTHORIZER_GROUPS.map((g) => [g, groups[g].some((r) => r.usage !== undefined)])) as Record<AuthorizerGroup, boolean>;

  /**
   * Unconfigured payment URLs default to the stack's own portal, on the domain and stage the caller used.
   * Each URL is built only when the decision names it: an Allow names the portal at most, and the
   * checkout URL's client_reference_id costs a URL parse.
   */
  const settingsFor = (event: APIGatewayRequestAuthorizerEvent, customerId: string): DecisionSettings => {
    const caller = { customerId, domainName: event.requestContext?.domainName, stage: event.requestContext?.stage };
    return {
      gracePeriodSeconds: settings.gracePeriodSeconds,
      plans: settings.plans,
      get checkoutUrl() {
        return effectiveCheckoutUrl(settings, caller);
      },
      get portalUrl() {
        return effectivePortalUrl(settings, caller);
      },
    };
  };

  /**
   * A strict route: the customer item (key and standing) and its wallet in one read, then one conditional
   * write on the wallet that reserves the cost (conditioned on the balance and the grants it draws from,
   * so concurrent calls cannot both spend the last units; the read only plans which grants give them). The reservation's id is chosen before the write: a retried write is the same reservation,
   * and the access log names it so that metering settles it. No caching for this group: the policy
   * answers this call only.
   */
  const reserve = async (event: APIGatewayRequestAuthorizerEvent, key: string, parsed: ParsedApiKey, route: RouteRule, at: Date): Promise<Decision | Refusal> => {
    if (deps.customers.reserve === undefined) throw new ReservationRefusedError('this authorizer has no store for strict routes');
    const customer = await deps.customers.read(parsed.customerId, parsed.keyId, { wallet: true });
    const refused = authenticateKey(customer, key, parsed, at);
    if (refused !== undefined) return new Refusal(refused, parsed);
    const routes = groups.strict;
    const denyAll = (decision: Decision): Decision => ({ ...decision, verdicts: routes.map((r) => ({ route: r, allow: false })) });
    const cost = route.usage!.cost;
    // Everything but the balance and the budgets first (a usage block, a missing entitlement): the write only draws.
    const standing = decide({ ...customer!, credits: Math.max(cost, customer!.credits ?? 0) }, [route], at, settingsFor(event, parsed.customerId));
    if (!standing.verdicts[0]!.allow) return denyAll(standing);
    const reservation = newReservationId();
    // The key's budget and the customer's are checked and spent by the same write (exact).
    const request = { customerId: parsed.customerId, reservation, cost, now: at, keyId: parsed.keyId, funds: fundsOfRecord(customer!) };
    let result = await deps.customers.reserve(request);
    let windowsStarted = false;
    for (;;) {
      if (result.reserved) {
        const context: DecisionContext = {
          customerId: parsed.customerId,
          reserved: cost,
          // Metering settles the reservation by this id: kept on a 2xx, given back otherwise, once.
          reservation,
          balance: result.balance,
          limit: 'null',
          used: 'null',
          resetsAt: 'null',
        };
        return { customerId: parsed.customerId, standing: { good: true }, verdicts: routes.map((r) => ({ route: r, allow: true })), context };
      }
      // The wallet as the refused write found it: its balance and budgets decide the 402.
      const { credits: _none, ...rest } = customer!;
      const found = { ...rest, ...(result.balance === undefined ? {} : { credits: result.balance }), ...result.budget };
      const decision = decide(found, [route], at, settingsFor(event, parsed.customerId), parsed.keyId);
      // Every route of the group denied alike: the policy is not cached, only this call reads it.
      if (!decision.verdicts[0]!.allow) return denyAll(decision);
      // A budget window that ended fails the condition: start the new one (one write, once a window), then reserve again.
      const starts = windowsStarted ? [] : windowsToStart(found, applicableBudgets(found, parsed.keyId, at, decision.usage?.periodEnd));
      if (starts.length === 0 || deps.customers.startBudgetWindows === undefined) {
        throw new ReservationRefusedError(`the reservation for ${parsed.customerId} was refused although its wallet covers it: the balance or a budget is stored in a form the write's condition cannot compare: fix the wallet item (${parsed.customerId}#wallet) in the customers table`);
      }
      await deps.customers.startBudgetWindows(parsed.customerId, starts);
      windowsStarted = true;
      result = await deps.customers.reserve(request);
    }
  };

  const authenticate = async (event: APIGatewayRequestAuthorizerEvent, route: RouteRule, at: Date): Promise<{ parsed: ParsedApiKey; decision: Decision } | Refusal> => {
    const key = presentedKey(event);
    if (key === undefined) return new Refusal('missing_key');
    const group = groupOf(route);
    if (credentialKind(key) === 'jwt') {
      // A strict reservation is conditioned on the stored hash of a key: strict routes take API keys only.
      if (group === 'strict') return new Refusal('token_on_strict_route');
      const token = await authenticateToken(deps.tokens, key, { method: event.httpMethod, resource: event.resource });
      if (token instanceof TokenRefused) return new Refusal(token.reason);
      if (token.customer.deleted === true) return new Refusal('deleted_customer', token.identity);
      return { parsed: token.identity, decision: decide(token.customer, groups[group], at, settingsFor(event, token.customer.customerId)) };
    }
    const parsed = parseApiKey(key);
    if (parsed === undefined) return new Refusal('malformed_key');
    if (group === 'strict') {
      const decision = await reserve(event, key, parsed, route, at);
      return decision instanceof Refusal ? decision : { parsed, decision };
    }
    // The wallet only where a balance decides: the standing routes read the customer item alone.
    const customer = await deps.customers.read(parsed.customerId, parsed.keyId, { wallet: soldByUse[group] });
    const refused = authenticateKey(customer, key, parsed, at);
    if (refused !== undefined) return new Refusal(refused, parsed);
    // The policy covers this group's routes only: the other groups' authorizers cache their own.
    return { parsed, decision: decide(customer!, groups[group], at, settingsFor(event, parsed.customerId), parsed.keyId) };
  };

  return async (event) => {
    const at = now();
    const route = { method: event.httpMethod, resource: event.resource };
    let result: { parsed: ParsedApiKey; decision: Decision; policy: APIGatewayAuthorizerResult; allowed: boolean } | Refusal;
    try {
      // The route that triggered the call is the method and the resource template API Gateway matched.
      const called = routesByMethod.get(`${event.httpMethod} ${event.resource}`);
      if (called === undefined) {
        throw new UnknownRouteError(`${event.httpMethod} ${event.resource} is not among the configured routes: redeploy the stack so the authorizer knows it`);
      }
      const auth = await authenticate(event, called, at);
      if (auth instanceof Refusal) {
        result = auth;
      } else {
        const verdict = auth.decision.verdicts.find((v) => v.route === called)!;
        const policy = buildPolicy(auth.decision, event.methodArn, auth.decision.customerId, { keyId: auth.parsed.keyId });
        result = { ...auth, policy, allowed: verdict.allow };
      }
    } catch (err) {
      const reason = errorReason(err);
      record('error', reason, { ...route, error: err instanceof Error ? `${err.name}: ${err.message}` : 'non-error thrown' });
      throw new AuthorizerFailure(reason, { cause: err });
    }
    if (result instanceof Refusal) {
      record('unauthorized', result.reason, { message: DECISION_MESSAGE, ...route, customerId: result.parsed?.customerId, keyId: result.parsed?.keyId });
      throw new Error(UNAUTHORIZED);
    }
    const { decision, parsed, allowed } = result;
    let { policy } = result;
    // Whenever the policy denies a route (not only the one called): a cached policy answers the others too.
    if (decision.reason !== undefined && deps.denyContext !== undefined) policy = { ...policy, context: { ...policy.context, ...(await deps.denyContext(decision, event, at)) } };
    record(allowed ? 'allow' : 'deny', allowed ? 'none' : decision.reason!, {
      message: DECISION_MESSAGE,
      method: route.method,
      resource: route.resource,
      customerId: decision.customerId,
      keyId: parsed.keyId,
      subscriptionStatus: textOf(decision.context.subscriptionStatus),
      policyReason: decision.reason ?? 'none',
      paymentWarning: textOf(decision.context.paymentWarning),
    });
    return policy;
  };
}
