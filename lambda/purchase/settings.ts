import type { AgentPayments } from '../shared/agents/offers';
import type { RouteRule } from '../shared/requirements';
import { agentEnvironment, decodeRoutes, encodeRoutes, ENV, loadAgentSettings, optional, required, SettingsError, type Env } from '../shared/settings';
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
  /** The secured routes, for llms.txt. */
  readonly routes: readonly RouteRule[];
  /** The API's title (the document's info.title), for llms.txt. */
  readonly apiTitle: string;
}

export const API_TITLE_ENV = 'TOLLGATE_API_TITLE';

/** The purchase function's environment, as the stack writes it (tables and the Stripe key's secret are bound beside it). */
export function purchaseEnvironment(settings: { agents: AgentPayments; agentSecretId: string; routes: readonly RouteRule[]; apiTitle: string; corsAllowOrigin: string }): Record<string, string> {
  return {
    ...agentEnvironment(settings),
    [ENV.routes]: encodeRoutes(settings.routes),
    // A title is display text: at most a line of it.
    [API_TITLE_ENV]: settings.apiTitle.slice(0, 200),
    [ENV.corsAllowOrigin]: settings.corsAllowOrigin,
  };
}

/** The document's `info.title`, else "API". */
export function apiTitleOf(document: unknown): string {
  const info = (document as { info?: { title?: unknown } } | undefined)?.info;
  return typeof info?.title === 'string' && info.title.trim() !== '' ? info.title.trim() : 'API';
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
    routes: decodeRoutes(required(env, ENV.routes)),
    apiTitle: optional(env, API_TITLE_ENV) ?? 'API',
  };
}
