import { OVERAGES, type Overage, type Plan, type Plans } from './customers/usage-view';
import { formatRequirement, isMeterEventName, parseRequirement, type RouteRule } from './requirements';
import { TABLES } from './tables';
import { decodeAgentPayments, encodeAgentPayments, type AgentPayments } from './agents/offers';

/**
 * The environment contract between the stack (which writes these variables) and the functions (which
 * read them once, at init). Only names and non-secret settings: secrets are read from Secrets Manager.
 */

export const ENV = {
  routes: 'TOLLGATE_ROUTES',
  plans: 'TOLLGATE_PLANS',
  gracePeriodHours: 'TOLLGATE_GRACE_PERIOD_HOURS',
  checkoutUrl: 'TOLLGATE_CHECKOUT_URL',
  portalUrl: 'TOLLGATE_PORTAL_URL',
  webhookSecretId: 'STRIPE_WEBHOOK_SECRET_ID',
  stripeApiKeySecretId: 'STRIPE_API_KEY_SECRET_ID',
  corsAllowOrigin: 'TOLLGATE_CORS_ALLOW_ORIGIN',
  restApiId: 'TOLLGATE_REST_API_ID',
  stageName: 'TOLLGATE_STAGE_NAME',
  cacheTtlSeconds: 'TOLLGATE_CACHE_TTL_SECONDS',
  flushIntervalSeconds: 'TOLLGATE_FLUSH_INTERVAL_SECONDS',
  agentPayments: 'TOLLGATE_AGENT_PAYMENTS',
  agentSecretId: 'TOLLGATE_AGENT_SECRET_ID',
  meteringWindowSeconds: 'TOLLGATE_METERING_WINDOW_SECONDS',
} as const;

/** Lambda allows 4 KB of environment in all; the route and plan tables together must leave room for the rest. */
export const MAX_ROUTES_ENV_BYTES = 3000;

export class SettingsError extends Error {
  override readonly name = 'SettingsError';
}

export interface PaymentUrls {
  /** Where to subscribe (no subscription, canceled). */
  readonly checkoutUrl?: string;
  /** Stripe customer portal (payment methods, invoices, upgrades). */
  readonly portalUrl?: string;
}

export interface AuthorizerSettings extends PaymentUrls {
  readonly customersTable: string;
  readonly routes: readonly RouteRule[];
  readonly gracePeriodSeconds: number;
  /** Usage plans by plan key (cdk.json `tollgate:plans`). @default {} */
  readonly plans?: Plans;
  /** Selling to agents (docs/agents.md): a Deny carries offers and challenges. @default - off */
  readonly agents?: AgentPayments;
  /** The Secrets Manager secret that keys the challenges' HMAC (with `agents`). */
  readonly agentSecretId?: string;
}

/** The usage route's function: the customer item and the plans. */
export interface UsageSettings {
  readonly customersTable: string;
  readonly plans: Plans;
  readonly gracePeriodSeconds: number;
  /** `Access-Control-Allow-Origin` of its answers. @default "*" */
  readonly corsAllowOrigin?: string;
}

/** What a writer that may ask for a flush needs (lambda/shared/aws/flush-coordinator.ts). */
export interface FlushSettings {
  /** The event ledger, where each stage's flush outbox lives. */
  readonly eventsTable: string;
  /** The longest TTL the stage's authorizers cache a decision for: an older change needs no flush. */
  readonly cacheTtlSeconds: number;
  /** Least time between two flushes of the stage, whoever asks. */
  readonly flushIntervalSeconds: number;
}

export interface WebhookSettings {
  readonly customersTable: string;
  readonly eventsTable: string;
  readonly flush: FlushSettings;
  readonly webhookSecretId: string;
  readonly stripeApiKeySecretId?: string;
  /** Usage plans (a counted plan's renewal resets the period counter). @default {} */
  readonly plans?: Plans;
  /** Recovery analytics evaluate the authorizer's decision, grace period included (lambda/webhook/recovery.ts). */
  readonly gracePeriodSeconds: number;
}

/** `[method, path, requirement]`, and for a route sold by use `cost`, then 1 for strict (else 0), then the meter. */
type EncodedRoute = [string, string, string] | [string, string, string, number, 0 | 1] | [string, string, string, number, 0 | 1, string];

export function encodeRoutes(routes: readonly RouteRule[], reserved = 0): string {
  const encoded = JSON.stringify(
    routes.map((r): EncodedRoute => {
      const head: [string, string, string] = [r.method, r.path, formatRequirement(r.requires)];
      if (r.usage === undefined) return head;
      const strict = r.usage.strict === true ? 1 : 0;
      return r.usage.meter === undefined ? [...head, r.usage.cost, strict] : [...head, r.usage.cost, strict, r.usage.meter];
    }),
  );
  if (Buffer.byteLength(encoded) + reserved > MAX_ROUTES_ENV_BYTES) {
    throw new SettingsError(
      `the secured routes${reserved > 0 ? ' and plans' : ''} take ${Buffer.byteLength(encoded) + reserved} bytes, more than the ${MAX_ROUTES_ENV_BYTES} a Lambda environment leaves room for: use path parameters ({id}) to merge routes${reserved > 0 ? ', or declare fewer plans' : ''}`,
    );
  }
  return encoded;
}

/** `{"<plan key>": [name, quota or null, overage, meter?]}`. */
export function encodePlans(plans: Plans): string {
  return JSON.stringify(
    Object.fromEntries(
      Object.entries(plans).map(([key, p]) => [key, p.meter === undefined ? [p.name, p.quota ?? null, p.overage] : [p.name, p.quota ?? null, p.overage, p.meter]]),
    ),
  );
}

export function decodePlans(encoded: string | undefined): Plans {
  if (encoded === undefined || encoded === '') return {};
  const parsed: unknown = JSON.parse(encoded);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new SettingsError(`${ENV.plans} must be a JSON object`);
  const plans: Record<string, Plan> = {};
  for (const [key, entry] of Object.entries(parsed)) {
    const [name, quota, overage, meter] = Array.isArray(entry) ? (entry as unknown[]) : [];
    const valid =
      typeof name === 'string' &&
      (quota === null || (typeof quota === 'number' && Number.isSafeInteger(quota) && quota >= 0)) &&
      (OVERAGES as readonly unknown[]).includes(overage) &&
      (meter === undefined || isMeterEventName(meter));
    if (!valid) throw new SettingsError(`${ENV.plans} has a malformed plan ${JSON.stringify(key)}`);
    plans[key] = { name, ...(quota === null ? {} : { quota: quota }), overage: overage as Overage, ...(meter === undefined ? {} : { meter: meter }) };
  }
  return plans;
}

export function decodeRoutes(encoded: string): RouteRule[] {
  const parsed: unknown = JSON.parse(encoded);
  if (!Array.isArray(parsed)) throw new SettingsError(`${ENV.routes} must be a JSON array`);
  return parsed.map((entry: unknown) => {
    if (!Array.isArray(entry) || entry.length < 3 || entry.length > 6 || typeof entry[0] !== 'string' || typeof entry[1] !== 'string') {
      throw new SettingsError(`${ENV.routes} has a malformed entry ${JSON.stringify(entry)}`);
    }
    const route = { method: entry[0], path: entry[1], requires: parseRequirement(entry[2]) };
    if (entry.length === 3) return route;
    const [, , , cost, strict, meter] = entry as unknown[];
    if (typeof cost !== 'number' || !Number.isSafeInteger(cost) || cost < 1 || (strict !== 0 && strict !== 1) || (meter !== undefined && !isMeterEventName(meter))) {
      throw new SettingsError(`${ENV.routes} has a malformed entry ${JSON.stringify(entry)}`);
    }
    return { ...route, usage: { cost, ...(strict === 1 ? { strict: true as const } : {}), ...(meter === undefined ? {} : { meter: meter }) } };
  });
}

/** A function's environment as Lambda gives it (process.env), or as the local run derives it. */
export type Env = Readonly<Record<string, string | undefined>>;

/** The one reader of a variable the stack always sets: every function's settings read through it. */
export function required(env: Env, name: string): string {
  const value = env[name];
  if (value === undefined || value === '') throw new SettingsError(`missing ${name}: set it in the stack`);
  return value;
}

/** A variable the stack may leave out (or set empty): undefined then. */
export const optional = (env: Env, name: string): string | undefined => (env[name] === '' ? undefined : env[name]);

export function authorizerEnvironment(
  settings: Omit<AuthorizerSettings, 'customersTable' | 'gracePeriodSeconds' | 'plans'> & { gracePeriodHours: number; plans?: Plans },
): Record<string, string> {
  const plans = encodePlans(settings.plans ?? {});
  return {
    [ENV.routes]: encodeRoutes(settings.routes, Buffer.byteLength(plans)),
    ...(plans === '{}' ? {} : { [ENV.plans]: plans }),
    [ENV.gracePeriodHours]: String(settings.gracePeriodHours),
    ...(settings.checkoutUrl === undefined ? {} : { [ENV.checkoutUrl]: settings.checkoutUrl }),
    ...(settings.portalUrl === undefined ? {} : { [ENV.portalUrl]: settings.portalUrl }),
    ...agentEnvironment(settings),
  };
}

/** Selling to agents, for the functions that offer or sell (the authorizer, the purchase function): names and offers, never the secret. */
export function agentEnvironment(settings: { agents?: AgentPayments; agentSecretId?: string }): Record<string, string> {
  if (settings.agents === undefined || settings.agentSecretId === undefined) return {};
  return { [ENV.agentPayments]: encodeAgentPayments(settings.agents), [ENV.agentSecretId]: settings.agentSecretId };
}

export function loadAgentSettings(env: Env): { agents?: AgentPayments; agentSecretId?: string } {
  const encoded = optional(env, ENV.agentPayments);
  if (encoded === undefined) return {};
  return { agents: decodeAgentPayments(encoded), agentSecretId: required(env, ENV.agentSecretId) };
}

export interface ClockSettings {
  readonly flush: FlushSettings;
  /** Whose wallets the clock sweeps for reservations nobody settled (lambda/shared/customers/pending-sweep.ts). */
  readonly customersTable: string;
  /** The stage whose flush outbox the clock sweeps. */
  readonly restApiId: string;
  readonly stageName: string;
}

/** The flush settings' variables (the event ledger's is bound with its grant). */
export function flushEnvironment(settings: { authorizerCacheTtlSeconds: number; cacheFlushIntervalSeconds: number }): Record<string, string> {
  return { [ENV.cacheTtlSeconds]: String(settings.authorizerCacheTtlSeconds), [ENV.flushIntervalSeconds]: String(settings.cacheFlushIntervalSeconds) };
}

export function loadFlushSettings(env: Env): FlushSettings {
  const seconds = (name: string, min: number): number => {
    const value = Number(required(env, name));
    if (!Number.isFinite(value) || value < min) throw new SettingsError(`${name} must be a number of seconds ≥ ${min}`);
    return value;
  };
  return {
    eventsTable: required(env, TABLES.events.envVar),
    cacheTtlSeconds: seconds(ENV.cacheTtlSeconds, 0),
    flushIntervalSeconds: seconds(ENV.flushIntervalSeconds, 1),
  };
}

/** The grace period every function that decides standing applies, from the stack's hours. */
export function gracePeriodSeconds(env: Env): number {
  const hours = Number(required(env, ENV.gracePeriodHours));
  if (!Number.isFinite(hours) || hours < 0) throw new SettingsError(`${ENV.gracePeriodHours} must be a number of hours ≥ 0`);
  return Math.round(hours * 3600);
}

export function clockEnvironment(settings: { authorizerCacheTtlSeconds: number; cacheFlushIntervalSeconds: number; restApiId: string; stageName: string }): Record<string, string> {
  return { ...flushEnvironment(settings), [ENV.restApiId]: settings.restApiId, [ENV.stageName]: settings.stageName };
}

export function loadClockSettings(env: Env): ClockSettings {
  return {
    flush: loadFlushSettings(env),
    customersTable: required(env, TABLES.customers.envVar),
    restApiId: required(env, ENV.restApiId),
    stageName: required(env, ENV.stageName),
  };
}

export function loadAuthorizerSettings(env: Env): AuthorizerSettings {
  return {
    customersTable: required(env, TABLES.customers.envVar),
    routes: decodeRoutes(required(env, ENV.routes)),
    gracePeriodSeconds: gracePeriodSeconds(env),
    checkoutUrl: optional(env, ENV.checkoutUrl),
    portalUrl: optional(env, ENV.portalUrl),
    plans: decodePlans(optional(env, ENV.plans)),
    ...loadAgentSettings(env),
  };
}

export function usageEnvironment(settings: { plans?: Plans; gracePeriodHours: number; corsAllowOrigin?: string }): Record<string, string> {
  return {
    [ENV.gracePeriodHours]: String(settings.gracePeriodHours),
    ...plansEnvironment(settings.plans),
    ...(settings.corsAllowOrigin === undefined ? {} : { [ENV.corsAllowOrigin]: settings.corsAllowOrigin }),
  };
}

export function loadUsageSettings(env: Env): UsageSettings {
  return {
    customersTable: required(env, TABLES.customers.envVar),
    plans: decodePlans(optional(env, ENV.plans)),
    gracePeriodSeconds: gracePeriodSeconds(env),
    corsAllowOrigin: optional(env, ENV.corsAllowOrigin) ?? '*',
  };
}

/** Secret names, not values: the function reads the values from Secrets Manager. */
export function webhookEnvironment(settings: {
  stripeWebhookSecretName: string;
  stripeApiKeySecretName?: string;
  gracePeriodHours: number;
  plans?: Plans;
  authorizerCacheTtlSeconds: number;
  cacheFlushIntervalSeconds: number;
}): Record<string, string> {
  return {
    ...flushEnvironment(settings),
    [ENV.webhookSecretId]: settings.stripeWebhookSecretName,
    [ENV.gracePeriodHours]: String(settings.gracePeriodHours),
    ...(settings.stripeApiKeySecretName === undefined ? {} : { [ENV.stripeApiKeySecretId]: settings.stripeApiKeySecretName }),
    ...plansEnvironment(settings.plans),
  };
}

export function loadWebhookSettings(env: Env): WebhookSettings {
  return {
    customersTable: required(env, TABLES.customers.envVar),
    eventsTable: required(env, TABLES.events.envVar),
    flush: loadFlushSettings(env),
    webhookSecretId: required(env, ENV.webhookSecretId),
    stripeApiKeySecretId: optional(env, ENV.stripeApiKeySecretId),
    plans: decodePlans(optional(env, ENV.plans)),
    gracePeriodSeconds: gracePeriodSeconds(env),
  };
}

/** The plans alone, for functions that need no other usage setting (the webhook). */
export function plansEnvironment(plans: Plans | undefined): Record<string, string> {
  const encoded = encodePlans(plans ?? {});
  return encoded === '{}' ? {} : { [ENV.plans]: encoded };
}
