import type { AgentPayments } from '../shared/agents/offers';
import { ENV, loadAgentSettings, optional, required, SettingsError, type Env } from '../shared/settings';
import { TABLES } from '../shared/tables';

/** The purchase function's settings: the tables it writes, what it sells, and the secrets' names. */
export interface PurchaseSettings {
  readonly customersTable: string;
  readonly apiKeysTable: string;
  readonly eventsTable: string;
  readonly agents: AgentPayments;
  readonly agentSecretId: string;
  /** @default - none: the route answers 503 (no way to charge) */
  readonly stripeApiKeySecretId?: string;
  readonly corsAllowOrigin: string;
}

export function loadPurchaseSettings(env: Env): PurchaseSettings {
  const { agents, agentSecretId } = loadAgentSettings(env);
  if (agents === undefined || agentSecretId === undefined) throw new SettingsError(`missing ${ENV.agentPayments}: the purchase function sells only what tollgate:agentPayments configures`);
  return {
    customersTable: required(env, TABLES.customers.envVar),
    apiKeysTable: required(env, TABLES.apiKeys.envVar),
    eventsTable: required(env, TABLES.events.envVar),
    agents,
    agentSecretId,
    stripeApiKeySecretId: optional(env, ENV.stripeApiKeySecretId),
    corsAllowOrigin: optional(env, ENV.corsAllowOrigin) ?? '*',
  };
}
