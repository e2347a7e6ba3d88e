import type { APIGatewayAuthorizerResult, PolicyDocument, Statement } from 'aws-lambda';
import type { RouteRule } from '../shared/requirements';
import { evaluatePolicy } from '../shared/iam-policy';
import { wildcardMatches } from '../shared/wildcard';
import type { Decision } from '../shared/customers/standing';

/**
 * The whole-API policy. API Gateway caches an authorizer's answer per identity-source value and
 * re-uses it for every method of the API, so the policy must state the verdict of every secured
 * route, not only of the method that triggered the call.
 */

export { evaluatePolicy };

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

/**
 * Policies by verdicts: a policy depends only on the stage's base ARN and which routes are allowed,
 * and a deployment sees a handful of such combinations. Building and checking one costs routes² pattern
 * matches, so each is built once. Bounded, whatever arrives.
 */
const MAX_CACHED_POLICIES = 256;
const policies = new Map<string, PolicyDocument>();

/**
 * API Gateway serves `/v1/quotes/` as `/v1/quotes`, and AWS does not promise the methodArn drops the
 * slash: a static route's policy names both forms (a pattern ending in `*` matches the slash already).
 */
const withTrailingSlash = (resource: string): string[] => (/[*/]$/.test(resource) ? [resource] : [resource, `${resource}/`]);

function policyFor(base: string, decision: Decision): PolicyDocument {
  const resources = decision.verdicts.map((v) => routeResource(base, v.route));
  const key = decision.verdicts.map((v, i) => `${v.allow ? '+' : '-'}${resources[i]}`).join(' ');
  const cached = policies.get(key);
  if (cached !== undefined) return cached;

  const allowed = resources.filter((_, i) => decision.verdicts[i]!.allow).flatMap(withTrailingSlash);
  // A Deny whose pattern also matches an allowed route would win over that route's Allow: leave it
  // out and let the implicit deny cover it (checked below).
  const denied = resources
    .filter((_, i) => !decision.verdicts[i]!.allow)
    .flatMap(withTrailingSlash)
    .filter((pattern) => !allowed.some((resource) => wildcardMatches(pattern, resource)));

  const statements: Statement[] = [];
  if (allowed.length > 0) statements.push({ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: allowed });
  if (denied.length > 0) statements.push({ Action: 'execute-api:Invoke', Effect: 'Deny', Resource: denied });
  if (statements.length === 0) {
    statements.push({ Action: 'execute-api:Invoke', Effect: 'Deny', Resource: [`${base}/*`] });
  }
  const policyDocument: PolicyDocument = { Version: '2012-10-17', Statement: statements };

  decision.verdicts.forEach((verdict, i) => {
    if (withTrailingSlash(resources[i]!).some((resource) => (evaluatePolicy(policyDocument, resource) === 'Allow') !== verdict.allow)) {
      throw new PolicyConflictError(
        `${verdict.route.method} ${verdict.route.path} overlaps another route with a different requirement in a way one cached policy cannot express: give the routes distinct static path prefixes`,
      );
    }
  });
  // Frozen: every answer shares it, so nobody may change it.
  for (const statement of statements) {
    if ('Resource' in statement) Object.freeze(statement.Resource);
    Object.freeze(statement);
  }
  Object.freeze(statements);
  if (policies.size >= MAX_CACHED_POLICIES) policies.clear();
  policies.set(key, Object.freeze(policyDocument));
  return policyDocument;
}

/** The answer for a decision: its policy, and its context with `extra` beside it (the gateway renders both). */
export function buildPolicy(decision: Decision, methodArn: string, principalId: string, extra: Readonly<Record<string, string>> = {}): APIGatewayAuthorizerResult {
  return { principalId, policyDocument: policyFor(baseArn(methodArn), decision), context: { ...decision.context, ...extra } };
}
