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

/** What a route sells by use, from `x-tollgate`: `cost` units per successful call. */
export interface Usage {
  /** Units per successful (2xx) call: a whole number ≥ 1. */
  readonly cost: number;
  /** Reserve the cost from the prepaid balance at decision time (never cached, zero overshoot). */
  readonly strict?: true;
  /** Stripe Billing Meter `event_name` this route reports to, where it differs from the plan's. */
  readonly meter?: string;
}

/** A secured route as the authorizer sees it: enough to build a whole-API policy. */
export interface RouteRule {
  /** Upper-case HTTP method. */
  readonly method: string;
  /** OpenAPI path template, e.g. `/v1/reports/{reportId}`. */
  readonly path: string;
  readonly requires: Requirement;
  /** Sold by use. @default - none: decided on standing alone */
  readonly usage?: Usage;
}

/**
 * An API Gateway caches one policy (with one context) per authorizer and identity, so routes whose
 * denials have different reasons, or which must not be cached, get their own authorizer (the same
 * Lambda): `standing` (no cost; cached), `metered` (cost; cached), `strict` (strict cost; TTL 0).
 */
export const AUTHORIZER_GROUPS = ['standing', 'metered', 'strict'] as const;
export type AuthorizerGroup = (typeof AUTHORIZER_GROUPS)[number];

export function groupOf(route: Pick<RouteRule, 'usage'>): AuthorizerGroup {
  if (route.usage === undefined) return 'standing';
  return route.usage.strict === true ? 'strict' : 'metered';
}

/**
 * An operation sold as an MCP tool too (lambda/mcp): `"mcp": true` names the tool after the
 * operationId and describes it with the summary; `"mcp": { "name": "…", "description": "…" }` says so.
 */
export interface McpExposure {
  /** The tool's name. @default - the operation's operationId */
  readonly name?: string;
  /** The tool's description. @default - the operation's summary, else its description */
  readonly description?: string;
}

/** What an operation's `x-tollgate` declares. */
export interface TollgateDeclaration {
  readonly requires: Requirement;
  readonly usage?: Usage;
  /** Listed as an MCP tool. @default - not listed */
  readonly mcp?: McpExposure;
}

/**
 * MCP tool names: letters, digits, `_` and `-`, at most 64 characters: the common subset of what the
 * MCP specification allows (it adds `.`, up to 128) and what agent runtimes accept for a tool name.
 */
const TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;
export const isToolName = (value: unknown): value is string => typeof value === 'string' && TOOL_NAME.test(value);
const MAX_TOOL_DESCRIPTION = 2000;

function parseMcp(value: unknown): McpExposure | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return {};
  const hint = 'use true, or { "name": "<tool name>", "description": "<what the tool does>" }';
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new RequirementError(`"mcp" is ${JSON.stringify(value)}: ${hint}`);
  const { name, description, ...rest } = value as Record<string, unknown>;
  const unknownField = Object.keys(rest)[0];
  if (unknownField !== undefined) throw new RequirementError(`unknown "mcp" field ${JSON.stringify(unknownField)}: ${hint}`);
  if (name !== undefined && !isToolName(name)) {
    throw new RequirementError(`"mcp" name ${JSON.stringify(name)} is not a tool name: use letters, digits, "_" or "-", at most 64 characters`);
  }
  if (description !== undefined && (typeof description !== 'string' || description.trim() === '' || description.length > MAX_TOOL_DESCRIPTION)) {
    throw new RequirementError(`"mcp" description must be a non-empty string of at most ${MAX_TOOL_DESCRIPTION} characters`);
  }
  return { ...(name === undefined ? {} : { name }), ...(description === undefined ? {} : { description }) };
}

/** Stripe meter event names: letters, digits, `_`, `-`, `.`; at most 100 characters. */
const METER_EVENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
export const isMeterEventName = (value: unknown): value is string => typeof value === 'string' && METER_EVENT_NAME.test(value);
/** `scopes` is read by lib/openapi/scopes.ts (OAuth scopes for access tokens). */
const DECLARATION_FIELDS = new Set(['requires', 'cost', 'strict', 'meter', 'scopes', 'mcp']);

/** Parses an operation's `x-tollgate` object; throws RequirementError saying what to change. */
export function parseDeclaration(extension: Readonly<Record<string, unknown>>): TollgateDeclaration {
  const requires = parseRequirement(extension.requires);
  const unknown = Object.keys(extension).filter((k) => !DECLARATION_FIELDS.has(k));
  if (unknown.length > 0) {
    throw new RequirementError(`unknown x-tollgate field ${JSON.stringify(unknown[0])}: use "requires", "cost", "strict", "meter", "scopes" and "mcp" only`);
  }
  const { cost, strict, meter } = extension;
  const mcp = parseMcp(extension.mcp);
  const exposure = mcp === undefined ? {} : { mcp };
  if (cost === undefined) {
    if (strict !== undefined) throw new RequirementError('"strict" needs a "cost": add "cost": <units per call>, or remove "strict"');
    if (meter !== undefined) throw new RequirementError('"meter" needs a "cost": add "cost": <units per call>, or remove "meter"');
    return { requires, ...exposure };
  }
  if (requires.kind === 'public' || requires.kind === 'key') {
    throw new RequirementError(
      `a "${requires.kind}" route cannot have a cost: tollgate bills only routes that require "subscription" or "entitlement:<lookup_key>"; change "requires" or remove "cost"`,
    );
  }
  if (typeof cost !== 'number' || !Number.isSafeInteger(cost) || cost < 1) {
    throw new RequirementError(`"cost" is ${JSON.stringify(cost)}: use a whole number of units ≥ 1 per successful call`);
  }
  if (strict !== undefined && strict !== true) throw new RequirementError(`"strict" is ${JSON.stringify(strict)}: use true, or remove it`);
  if (meter !== undefined && !isMeterEventName(meter)) {
    throw new RequirementError(`"meter" is ${JSON.stringify(meter)}: use the Stripe meter's event_name (letters, digits, "_", "-", "."; at most 100 characters)`);
  }
  return { requires, usage: { cost, ...(strict === true ? { strict } : {}), ...(meter === undefined ? {} : { meter }) }, ...exposure };
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
