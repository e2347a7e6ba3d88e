import type { Decision } from '../../lambda/shared/customers/standing';
import { buildPolicy, PolicyConflictError, routeResource } from '../../lambda/authorizer/policy';
import { formatRequirement, type RouteRule } from '../../lambda/shared/requirements';
import { wildcardMatches } from '../../lambda/shared/wildcard';

/**
 * Whether the authorizer can answer for a document: it caches one whole-API policy per key, built by
 * lambda/authorizer/policy.ts, and fails (503) when overlapping routes need verdicts one policy cannot
 * state. This builds that same policy, at synth, for the verdicts the requirements can produce.
 */

export interface VerdictScenario {
  /** Who gets these verdicts, for the message. */
  readonly caller: string;
  readonly allows: (route: RouteRule) => boolean;
}

/**
 * The verdict combinations worth building. "key" routes are always allowed; "subscription" routes only
 * in good standing; "entitlement:x" routes in good standing with x. A route's verdict can only go wrong
 * when it is denied while routes overlapping it are allowed, and allowing more of the other routes never
 * puts it right (it adds overlapping Allows and drops Denies that could shadow them). So for each way a
 * route can be denied, the combination that allows everything else is the one to check: no good standing
 * at all, and good standing without one entitlement, for each entitlement. test/lib proves this against
 * every combination on random documents.
 */
export function verdictScenarios(routes: readonly RouteRule[]): VerdictScenario[] {
  const entitlements = [...new Set(routes.flatMap((r) => (r.requires.kind === 'entitlement' ? [r.requires.lookupKey] : [])))];
  return [
    { caller: 'a customer without a subscription in good standing', allows: (route) => route.requires.kind === 'key' },
    ...entitlements.map((missing) => ({
      caller: `a subscriber whose plan lacks "${missing}"`,
      allows: (route: RouteRule) => route.requires.kind !== 'entitlement' || route.requires.lookupKey !== missing,
    })),
  ];
}

const CHECK_ARN = 'arn:aws:execute-api:us-east-1:000000000000:synthcheck/check/GET/';
const BASE = 'arn:aws:execute-api:us-east-1:000000000000:synthcheck/check';

const label = (route: RouteRule): string => `${route.method} ${route.path} (${formatRequirement(route.requires)})`;

/** The scenario the authorizer could not answer, with the routes involved; undefined when it can answer every one. */
export function findPolicyConflict(
  routes: readonly RouteRule[],
  scenarios: readonly VerdictScenario[] = verdictScenarios(routes),
): { scenario: VerdictScenario; denied?: RouteRule; allowed: RouteRule[]; error: PolicyConflictError } | undefined {
  for (const scenario of scenarios) {
    const verdicts = routes.map((route) => ({ route, allow: scenario.allows(route) }));
    const decision: Decision = { customerId: 'synth-check', standing: { good: true }, verdicts, context: {} };
    try {
      buildPolicy(decision, CHECK_ARN, 'synth-check');
    } catch (err) {
      if (!(err instanceof PolicyConflictError)) throw err;
      // A denied route an allowed route's pattern covers (that Allow would apply to it), and every
      // allowed route overlapping it either way (the ones that keep its Deny out of the policy).
      const covers = (a: RouteRule, b: RouteRule): boolean => wildcardMatches(routeResource(BASE, a), routeResource(BASE, b));
      const allowedRoutes = verdicts.filter((v) => v.allow).map((v) => v.route);
      for (const denied of verdicts.filter((v) => !v.allow).map((v) => v.route)) {
        if (!allowedRoutes.some((a) => covers(a, denied))) continue;
        const allowed = allowedRoutes.filter((a) => covers(a, denied) || covers(denied, a));
        return { scenario, denied, allowed, error: err };
      }
      return { scenario, allowed: [], error: err };
    }
  }
  return undefined;
}

/** The message for a document the authorizer cannot answer for, naming the routes and the fix. */
export function describePolicyConflict(conflict: NonNullable<ReturnType<typeof findPolicyConflict>>): string {
  const fix =
    'fix the document: give routes with different requirements distinct static path prefixes, or give the overlapping routes the same requirement';
  if (conflict.denied === undefined) return `the authorizer cannot answer for this document (${conflict.error.message}): ${fix}`;
  return (
    `${label(conflict.denied)} overlaps ${conflict.allowed.map(label).join(' and ')}: for ${conflict.scenario.caller}, ` +
    `one cached policy cannot refuse the first and admit the others, so every such caller would get 503 on every route; ${fix}`
  );
}
