/**
 * What an operation requires, as its `x-tollgate` extension states it:
 *   "public"                      no credential (never reaches the authorizer)
 *   "key"                         any valid API key (the free tier), whatever the payment state
 *   "subscription"                a subscription in good standing
 *   "entitlement:<lookup_key>"    a good-standing subscription whose plan has that Stripe entitlement
 */
export type Requirement =
  | { readonly kind: 'public' }
  | { readonly kind: 'key' }
  | { readonly kind: 'subscription' }
  | { readonly kind: 'entitlement'; readonly lookupKey: string };

/** A secured route as the authorizer sees it: enough to build a whole-API policy. */
export interface RouteRule {
  /** Upper-case HTTP method. */
  readonly method: string;
  /** OpenAPI path template, e.g. `/v1/reports/{reportId}`. */
  readonly path: string;
  readonly requires: Requirement;
}

/** Stripe lookup keys: letters, digits, `.`, `_`, `-`; at most 200 characters. */
const LOOKUP_KEY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

export const isLookupKey = (value: unknown): value is string => typeof value === 'string' && LOOKUP_KEY.test(value);

export class RequirementError extends Error {
  override readonly name = 'RequirementError';
}

export function parseRequirement(value: unknown): Requirement {
  if (value === 'public' || value === 'key' || value === 'subscription') return { kind: value };
  if (typeof value === 'string' && value.startsWith('entitlement:')) {
    const lookupKey = value.slice('entitlement:'.length);
    if (LOOKUP_KEY.test(lookupKey)) return { kind: 'entitlement', lookupKey };
    throw new RequirementError(
      `"${value}" names an invalid entitlement lookup key: use letters, digits, ".", "_" or "-" after "entitlement:"`,
    );
  }
  throw new RequirementError(
    `unknown requirement ${JSON.stringify(value)}: use "public", "key", "subscription" or "entitlement:<lookup_key>"`,
  );
}

export function formatRequirement(requirement: Requirement): string {
  return requirement.kind === 'entitlement' ? `entitlement:${requirement.lookupKey}` : requirement.kind;
}
