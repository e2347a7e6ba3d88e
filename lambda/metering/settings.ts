import { ENV, SettingsError } from '../shared/settings';
import { TABLES } from '../shared/tables';
import { parseMeteringRules, type MeteringRules } from './rules';

/** The metering function's environment (written by the stack, read once at init). */
export const METERING_RULES_ENV = 'TOLLGATE_METERING_RULES';

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

export function encodeMeteringRules(rules: MeteringRules): string {
  return JSON.stringify(parseMeteringRules(rules));
}

export function loadMeteringSettings(env: Env): MeteringSettings {
  let rules: MeteringRules;
  try {
    rules = parseMeteringRules(JSON.parse(required(env, METERING_RULES_ENV)));
  } catch (err) {
    if (err instanceof SettingsError) throw err;
    throw new SettingsError(`${METERING_RULES_ENV} is not valid: ${err instanceof Error ? err.message : String(err)}`);
  }
  const secret = env[ENV.stripeApiKeySecretId];
  return {
    customersTable: required(env, TABLES.customers.envVar),
    eventsTable: required(env, TABLES.events.envVar),
    restApiId: required(env, ENV.restApiId),
    stageName: required(env, ENV.stageName),
    rules,
    ...(secret === undefined || secret === '' ? {} : { stripeApiKeySecretId: secret }),
  };
}
