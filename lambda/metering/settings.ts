import type { RouteRule } from '../shared/requirements';
import { decodePlans, decodeRoutes, encodePlans, encodeRoutes, ENV, SettingsError } from '../shared/settings';
import type { Plans } from '../shared/customers/usage-view';
import { TABLES } from '../shared/tables';
import { meteringRulesFrom, type MeteringRules } from './rules';

/**
 * The metering function's environment, written by the stack and read once at init. The route table
 * and the plans travel in the authorizer's own encoding (lambda/shared/settings.ts), so the costs
 * metering counts are the ones the authorizer decides with.
 */

export interface MeteringSettings {
  readonly customersTable: string;
  readonly eventsTable: string;
  readonly restApiId: string;
  readonly stageName: string;
  readonly rules: MeteringRules;
  /** Secrets Manager secret holding the Stripe API key; absent: reporting to Stripe is off. */
  readonly stripeApiKeySecretId?: string;
}

type Env = Readonly<Record<string, string | undefined>>;

function required(env: Env, name: string): string {
  const value = env[name];
  if (value === undefined || value === '') throw new SettingsError(`missing ${name}: set it in the stack`);
  return value;
}

/** Only the routes sold by use: the others cost nothing and would only take room in the environment. */
export function meteringEnvironment(settings: { readonly routes: readonly RouteRule[]; readonly plans: Plans }): Record<string, string> {
  const plans = encodePlans(settings.plans);
  return {
    [ENV.routes]: encodeRoutes(settings.routes.filter((r) => r.usage !== undefined), Buffer.byteLength(plans)),
    ...(plans === '{}' ? {} : { [ENV.plans]: plans }),
  };
}

export function loadMeteringSettings(env: Env): MeteringSettings {
  const secret = env[ENV.stripeApiKeySecretId];
  const plans = env[ENV.plans];
  return {
    customersTable: required(env, TABLES.customers.envVar),
    eventsTable: required(env, TABLES.events.envVar),
    restApiId: required(env, ENV.restApiId),
    stageName: required(env, ENV.stageName),
    rules: meteringRulesFrom(decodeRoutes(required(env, ENV.routes)), decodePlans(plans === '' ? undefined : plans)),
    ...(secret === undefined || secret === '' ? {} : { stripeApiKeySecretId: secret }),
  };
}
