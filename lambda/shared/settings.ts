import { formatRequirement, parseRequirement, type RouteRule } from './requirements';
import { TABLES } from './tables';

/**
 * The environment contract between the stack (which writes these variables) and the functions (which
 * read them once, at init). Only names and non-secret settings: secrets are read from Secrets Manager.
 */

export const ENV = {
  routes: 'TOLLGATE_ROUTES',
  gracePeriodHours: 'TOLLGATE_GRACE_PERIOD_HOURS',
  checkoutUrl: 'TOLLGATE_CHECKOUT_URL',
  portalUrl: 'TOLLGATE_PORTAL_URL',
  webhookSecretId: 'STRIPE_WEBHOOK_SECRET_ID',
  stripeApiKeySecretId: 'STRIPE_API_KEY_SECRET_ID',
  corsAllowOrigin: 'TOLLGATE_CORS_ALLOW_ORIGIN',
  restApiId: 'TOLLGATE_REST_API_ID',
  stageName: 'TOLLGATE_STAGE_NAME',
} as const;

/** Lambda allows 4 KB of environment in all; the route table must leave room for the rest. */
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
}

export interface WebhookSettings {
  readonly customersTable: string;
  readonly eventsTable: string;
  readonly boundariesTable: string;
  readonly webhookSecretId: string;
  readonly stripeApiKeySecretId?: string;
}

type Env = Readonly<Record<string, string | undefined>>;

export function encodeRoutes(routes: readonly RouteRule[]): string {
  const encoded = JSON.stringify(routes.map((r) => [r.method, r.path, formatRequirement(r.requires)]));
  if (Buffer.byteLength(encoded) > MAX_ROUTES_ENV_BYTES) {
    throw new SettingsError(
      `the secured routes take ${Buffer.byteLength(encoded)} bytes, more than the ${MAX_ROUTES_ENV_BYTES} a Lambda environment leaves room for: use path parameters ({id}) to merge routes`,
    );
  }
  return encoded;
}

export function decodeRoutes(encoded: string): RouteRule[] {
  const parsed: unknown = JSON.parse(encoded);
  if (!Array.isArray(parsed)) throw new SettingsError(`${ENV.routes} must be a JSON array`);
  return parsed.map((entry: unknown) => {
    if (!Array.isArray(entry) || entry.length !== 3 || typeof entry[0] !== 'string' || typeof entry[1] !== 'string') {
      throw new SettingsError(`${ENV.routes} has a malformed entry ${JSON.stringify(entry)}`);
    }
    return { method: entry[0], path: entry[1], requires: parseRequirement(entry[2]) };
  });
}

function required(env: Env, name: string): string {
  const value = env[name];
  if (value === undefined || value === '') throw new SettingsError(`missing ${name}: set it in the stack`);
  return value;
}

const optional = (env: Env, name: string): string | undefined => (env[name] === '' ? undefined : env[name]);

export function authorizerEnvironment(settings: Omit<AuthorizerSettings, 'customersTable' | 'gracePeriodSeconds'> & { gracePeriodHours: number }): Record<string, string> {
  return {
    [ENV.routes]: encodeRoutes(settings.routes),
    [ENV.gracePeriodHours]: String(settings.gracePeriodHours),
    ...(settings.checkoutUrl === undefined ? {} : { [ENV.checkoutUrl]: settings.checkoutUrl }),
    ...(settings.portalUrl === undefined ? {} : { [ENV.portalUrl]: settings.portalUrl }),
  };
}

export interface ClockSettings {
  readonly boundariesTable: string;
  readonly gracePeriodSeconds: number;
  /** The stage whose authorizer cache the clock flushes. */
  readonly restApiId: string;
  readonly stageName: string;
}

function gracePeriodSeconds(env: Env): number {
  const hours = Number(required(env, ENV.gracePeriodHours));
  if (!Number.isFinite(hours) || hours < 0) throw new SettingsError(`${ENV.gracePeriodHours} must be a number of hours ≥ 0`);
  return Math.round(hours * 3600);
}

export function loadClockSettings(env: Env): ClockSettings {
  return {
    boundariesTable: required(env, TABLES.boundaries.envVar),
    gracePeriodSeconds: gracePeriodSeconds(env),
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
  };
}

export function loadWebhookSettings(env: Env): WebhookSettings {
  return {
    customersTable: required(env, TABLES.customers.envVar),
    eventsTable: required(env, TABLES.events.envVar),
    boundariesTable: required(env, TABLES.boundaries.envVar),
    webhookSecretId: required(env, ENV.webhookSecretId),
    stripeApiKeySecretId: optional(env, ENV.stripeApiKeySecretId),
  };
}
