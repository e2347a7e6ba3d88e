import type { APIGatewayAuthorizerResult, PolicyDocument, Statement } from 'aws-lambda';
import type { RouteRule } from '../shared/requirements';
import { wildcardMatches } from '../shared/wildcard';
import type { Decision } from './decide';

/**
 * The whole-API policy. API Gateway caches an authorizer's answer per identity-source value and
 * re-uses it for every method of the API, so the policy must state the verdict of every secured
 * route, not only of the method that triggered the call.
 */

/** The policy cannot state a decision exactly (overlapping route patterns): answering it would be wrong for some route. */
export class PolicyConflictError extends Error {
  override readonly name = 'PolicyConflictError';
}

const METHOD_ARN = /^(arn:[^:]+:execute-api:[^:]+:[^:]+:[^/]+\/[^/]+)\/([A-Z]+|\*)(\/.*)?$/;

/** `arn:aws:execute-api:region:account:apiId/stage/GET/v1/x` → `arn:aws:execute-api:region:account:apiId/stage`. */
export function baseArn(methodArn: string): string {
  const match = METHOD_ARN.exec(methodArn);
  if (!match) throw new PolicyConflictError(`unexpected methodArn "${methodArn.slice(0, 200)}": expected arn:…:execute-api:…:apiId/stage/METHOD/path`);
  return match[1]!;
}

/** The policy resource of a route: path parameters (and greedy `{proxy+}`) become `*`. */
export function routeResource(base: string, route: RouteRule): string {
  return `${base}/${route.method}${route.path.replace(/\{[^}]+\}/g, '*')}`;
}

/** IAM evaluation as API Gateway applies it to a resource: an explicit Deny wins, then Allow, else denied. */
export function evaluatePolicy(policy: PolicyDocument, resource: string): 'Allow' | 'Deny' {
  const statements = (Array.isArray(policy.Statement) ? policy.Statement : [policy.Statement]);
  const matching = (effect: string): boolean =>
    statements.some((s) => {
      if (s.Effect !== effect || !('Resource' in s)) return false;
      const resources: unknown[] = Array.isArray(s.Resource) ? s.Resource : [s.Resource];
      return resources.some((pattern) => typeof pattern === 'string' && wildcardMatches(pattern, resource));
    });
  if (matching('Deny')) return 'Deny';
  return matching('Allow') ? 'Allow' : 'Deny';
}

export function buildPolicy(decision: Decision, methodArn: string, principalId: string): APIGatewayAuthorizerResult {
  const base = baseArn(methodArn);
  const allowed = decision.verdicts.filter((v) => v.allow).map((v) => routeResource(base, v.route));
  // A Deny whose pattern also matches an allowed route would win over that route's Allow: leave it
  // out and let the implicit deny cover it (checked below).
  const denied = decision.verdicts
    .filter((v) => !v.allow)
    .map((v) => routeResource(base, v.route))
    .filter((pattern) => !allowed.some((resource) => wildcardMatches(pattern, resource)));

  const statements: Statement[] = [];
  if (allowed.length > 0) statements.push({ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: allowed });
  if (denied.length > 0) statements.push({ Action: 'execute-api:Invoke', Effect: 'Deny', Resource: denied });
  if (statements.length === 0) {
    statements.push({ Action: 'execute-api:Invoke', Effect: 'Deny', Resource: [`${base}/*`] });
  }
  const policyDocument: PolicyDocument = { Version: '2012-10-17', Statement: statements };

  for (const verdict of decision.verdicts) {
    const resource = routeResource(base, verdict.route);
    if ((evaluatePolicy(policyDocument, resource) === 'Allow') !== verdict.allow) {
      throw new PolicyConflictError(
        `${verdict.route.method} ${verdict.route.path} overlaps another route with a different requirement in a way one cached policy cannot express: give the routes distinct static path prefixes`,
      );
    }
  }
  return { principalId, policyDocument, context: { ...decision.context } };
}
