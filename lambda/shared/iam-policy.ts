import type { PolicyDocument, Statement } from 'aws-lambda';
import { wildcardMatches } from './wildcard';

/**
 * IAM evaluation of an authorizer's policy as API Gateway applies it to one method ARN: an explicit
 * Deny wins, then any Allow, else the call is implicitly denied. The one evaluator: the authorizer
 * checks the whole-API policy it builds with it, and the local gateway enforces what authorizers return.
 */

export const INVOKE_ACTION = 'execute-api:Invoke';

export type PolicyDecision = 'Allow' | 'ExplicitDeny' | 'ImplicitDeny';

const list = (value: unknown): unknown[] => (value === undefined ? [] : Array.isArray(value) ? (value as unknown[]) : [value]);

function applies(statement: Statement, action: string, resource: string): boolean {
  const actions = 'Action' in statement ? list(statement.Action) : [];
  const resources = 'Resource' in statement ? list(statement.Resource) : [];
  // Action names are case-insensitive in IAM; resources are not.
  return (
    actions.some((a) => typeof a === 'string' && wildcardMatches(a.toLowerCase(), action.toLowerCase())) &&
    resources.some((r) => typeof r === 'string' && wildcardMatches(r, resource))
  );
}

export function decidePolicy(policy: PolicyDocument, resource: string, action: string = INVOKE_ACTION): PolicyDecision {
  const statements = list(policy.Statement) as Statement[];
  const matching = (effect: Statement['Effect']): boolean => statements.some((s) => s.Effect === effect && applies(s, action, resource));
  if (matching('Deny')) return 'ExplicitDeny';
  return matching('Allow') ? 'Allow' : 'ImplicitDeny';
}

/** Whether `execute-api:Invoke` on `resource` is allowed: the authorizer's view of `decidePolicy`. */
export function evaluatePolicy(policy: PolicyDocument, resource: string): 'Allow' | 'Deny' {
  return decidePolicy(policy, resource) === 'Allow' ? 'Allow' : 'Deny';
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const strings = (value: unknown): string | string[] | undefined =>
  typeof value === 'string' ? value : Array.isArray(value) && value.every((v) => typeof v === 'string') ? (value) : undefined;

/**
 * A policy document as API Gateway accepts it from an authorizer (one statement object or a list;
 * each with an Allow/Deny effect, actions and resources); undefined when it would refuse it.
 */
export function parsePolicyDocument(value: unknown): PolicyDocument | undefined {
  if (!isObject(value)) return undefined;
  const raw = value.Statement;
  const entries = Array.isArray(raw) ? (raw as unknown[]) : isObject(raw) ? [raw] : undefined;
  if (entries === undefined) return undefined;
  const statements: Statement[] = [];
  for (const statement of entries) {
    if (!isObject(statement) || (statement.Effect !== 'Allow' && statement.Effect !== 'Deny')) return undefined;
    const action = strings(statement.Action);
    const resource = strings(statement.Resource);
    if (action === undefined || resource === undefined) return undefined;
    statements.push({ Effect: statement.Effect, Action: action, Resource: resource });
  }
  return { Version: typeof value.Version === 'string' ? value.Version : '2012-10-17', Statement: statements };
}
