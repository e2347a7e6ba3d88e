import type { RouteRule } from '../shared/requirements';
import { decodePlans, decodeRoutes, encodePlans, encodeRoutes, ENV, optional, required, SettingsError, type Env } from '../shared/settings';
import type { Plans } from '../shared/customers/usage-view';
import { TABLES } from '../shared/tables';
import { meteringRulesFrom, type MeteringRules } from './rules';
import { DEFAULT_WINDOW, type WindowSettings } from './window';
import { ALERT_RULES_ENV, decodeAlertRules, type AlertRules } from '../shared/alerts/rules';

/**
 * The metering function's environment, written by the stack and read once at init. The route table
 * and the plans travel in the authorizer's own encoding (lambda/shared/settings.ts), so the costs
 * metering counts are the ones the authorizer decides with.
 */

export interface MeteringSettings {
  readonly customersTable: string;
  readonly eventsTable: string;
  readonly rules: MeteringRules;
  /** The usage windows' table (window-store.ts). */
  readonly usageTable: string;
  readonly window: WindowSettings;
  /** Secrets Manager secret holding the Stripe API key; absent: reporting to Stripe is off. */
  readonly stripeApiKeySecretId?: string;
  /** tollgate:alerts (docs/alerts.md); absent: alerts are off. */
  readonly alertRules?: AlertRules;
}

/** Only the routes sold by use: the others cost nothing and would only take room in the environment. */
export function meteringEnvironment(settings: { readonly routes: readonly RouteRule[]; readonly plans: Plans; readonly windowSeconds: number }): Record<string, string> {
  const plans = encodePlans(settings.plans);
  return {
    [ENV.meteringWindowSeconds]: String(settings.windowSeconds),
    [ENV.routes]: encodeRoutes(settings.routes.filter((r) => r.usage !== undefined), Buffer.byteLength(plans)),
    ...(plans === '{}' ? {} : { [ENV.plans]: plans }),
  };
}

export function loadMeteringSettings(env: Env): MeteringSettings {
  const secret = optional(env, ENV.stripeApiKeySecretId);
  const alertRules = decodeAlertRules(optional(env, ALERT_RULES_ENV));
  return {
    customersTable: required(env, TABLES.customers.envVar),
    eventsTable: required(env, TABLES.events.envVar),
    rules: meteringRulesFrom(decodeRoutes(required(env, ENV.routes)), decodePlans(optional(env, ENV.plans))),
    usageTable: required(env, TABLES.usage.envVar),
    window: { ...DEFAULT_WINDOW, seconds: windowSeconds(required(env, ENV.meteringWindowSeconds)) },
    ...(secret === undefined ? {} : { stripeApiKeySecretId: secret }),
    ...(alertRules === undefined ? {} : { alertRules }),
  };
}

function windowSeconds(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > 900) throw new SettingsError(`${ENV.meteringWindowSeconds} must be a whole number of seconds from 0 (no windows) to 900`);
  return value;
}

/** The dead-letter function parks batches in the events table; it reads nothing else. */
export interface DeadLetterSettings {
  readonly eventsTable: string;
}

export function loadDeadLetterSettings(env: Env): DeadLetterSettings {
  return { eventsTable: required(env, TABLES.events.envVar) };
}
