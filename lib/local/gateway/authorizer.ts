import { decidePolicy, parsePolicyDocument } from '../../../lambda/shared/iam-policy';
import type { AuthorizerCache } from './authorizer-cache';
import type { Authorizer } from './document';
import { identityValues } from './identity';
import type { Invoke } from './invoke';
import type { ContextVariables, MethodRequest } from './request';
import { isObject, type Authorization, type AuthorizerResult } from './types';

/**
 * The REQUEST authorizer step: identity source, result cache, the Lambda call, then the returned
 * policy evaluated for this method ARN.
 */

export type AuthorizerOutcome =
  | { readonly kind: 'allow'; readonly authorization: Authorization }
  | { readonly kind: 'deny'; readonly authorization: Authorization; readonly explicit: boolean }
  | { readonly kind: 'refuse'; readonly type: 'UNAUTHORIZED' | 'AUTHORIZER_FAILURE' | 'AUTHORIZER_CONFIGURATION_ERROR' };

export interface AuthorizerStep {
  readonly outcome: AuthorizerOutcome;
  readonly source: 'cache' | 'invoked' | 'skipped';
}

/** Validates an authorizer's output as API Gateway does; undefined when it would refuse it. */
export function parseAuthorizerResult(output: unknown): AuthorizerResult | undefined {
  if (!isObject(output) || typeof output.principalId !== 'string') return undefined;
  const policy = parsePolicyDocument(output.policyDocument);
  if (policy === undefined) return undefined;
  const context: Record<string, string | number | boolean> = {};
  if (output.context !== undefined && output.context !== null) {
    if (!isObject(output.context)) return undefined;
    for (const [key, value] of Object.entries(output.context)) {
      // API Gateway rejects nested objects and arrays in the context.
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') return undefined;
      context[key] = value;
    }
  }
  return { principalId: output.principalId, policy, context };
}

export interface AuthorizeInput {
  readonly authorizer: Authorizer;
  readonly request: MethodRequest;
  readonly methodArn: string;
  /** The REQUEST event, built only when the authorizer is called. */
  readonly event: () => unknown;
  /** $context variables, for `context.*` identity sources. @default - none */
  readonly context?: ContextVariables;
}

export async function authorize(deps: { cache: AuthorizerCache; invoke: Invoke }, input: AuthorizeInput): Promise<AuthorizerStep> {
  const { authorizer, request } = input;
  const identity = identityValues(authorizer, request, input.context);
  if (identity === undefined) return { outcome: { kind: 'refuse', type: 'UNAUTHORIZED' }, source: 'skipped' };

  let result = deps.cache.get(authorizer, identity);
  const source = result === undefined ? 'invoked' : 'cache';
  if (result === undefined) {
    let output: unknown;
    try {
      output = await deps.invoke(authorizer.functionName, input.event(), request.requestId);
    } catch (err) {
      // Only the exact message "Unauthorized" maps to 401; any other error is an authorizer failure.
      const type = err instanceof Error && err.message === 'Unauthorized' ? 'UNAUTHORIZED' : 'AUTHORIZER_FAILURE';
      return { outcome: { kind: 'refuse', type }, source };
    }
    result = parseAuthorizerResult(output);
    if (result === undefined) return { outcome: { kind: 'refuse', type: 'AUTHORIZER_CONFIGURATION_ERROR' }, source };
    deps.cache.set(authorizer, identity, result);
  }

  const authorization: Authorization = { principalId: result.principalId, context: { ...result.context, principalId: result.principalId } };
  const decision = decidePolicy(result.policy, input.methodArn);
  if (decision === 'Allow') return { outcome: { kind: 'allow', authorization }, source };
  return { outcome: { kind: 'deny', authorization, explicit: decision === 'ExplicitDeny' }, source };
}
