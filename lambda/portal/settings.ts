import type { Plans } from '../shared/customers/usage-view';
import { decodeBrand, type PortalBrand } from './brand';
import { decodePlans, decodeRoutes, ENV, flushEnvironment, gracePeriodSeconds, loadFlushSettings, optional, required, SettingsError, type Env, type FlushSettings, type PaymentUrls } from '../shared/settings';
import type { RouteRule } from '../shared/requirements';
import { TABLES } from '../shared/tables';

/**
 * The portal function's environment contract: the stack writes it (portalEnvironment), the function
 * reads it once at init. Names of secrets only, never their values.
 */

export const PORTAL_ENV = {
  catalog: 'TOLLGATE_PORTAL_CATALOG',
  sessionSecretId: 'TOLLGATE_SESSION_SECRET_ID',
} as const;

/** A plan callers can subscribe to: a Stripe price lookup key and how the portal names it. */
export interface CatalogPlan {
  readonly lookupKey: string;
  readonly name: string;
  /** Units included per period (metered plans). */
  readonly quota?: number;
  /** Whether usage beyond the quota is billed. */
  readonly overage?: boolean;
  readonly meter?: string;
}

/** A one-time purchase of prepaid credits (Checkout `mode: payment`, `metadata.tollgate_credits`). */
export interface CatalogCreditPack {
  readonly id: string;
  readonly name: string;
  readonly credits: number;
  /** The Stripe price: a lookup key or a price id. */
  readonly price: string;
  /** How long the units count after the purchase (`90d`): the grant's expiry, stated at Checkout. */
  readonly expiresIn?: string;
}

export interface Catalog {
  readonly plans: readonly CatalogPlan[];
  readonly creditPacks: readonly CatalogCreditPack[];
  /** How the portal presents the product. @default - tollgate's plain pages */
  readonly brand?: PortalBrand;
}

export interface PortalSettings extends PaymentUrls {
  readonly tables: { readonly customers: string; readonly apiKeys: string; readonly events: string };
  readonly routes: readonly RouteRule[];
  readonly gracePeriodSeconds: number;
  readonly catalog: Catalog;
  /** Usage plans by plan key, as the authorizer and the usage route read them (account usage). */
  readonly plans: Plans;
  readonly stripeApiKeySecretId?: string;
  readonly sessionSecretId: string;
  /** A key rotation flushes the old key's cached decisions, at most once an hour per customer. */
  readonly flush: FlushSettings;
}

export function decodeCatalog(encoded: string): Catalog {
  const parsed = JSON.parse(encoded) as Partial<Catalog>;
  if (!Array.isArray(parsed.plans) || !Array.isArray(parsed.creditPacks)) throw new SettingsError(`${PORTAL_ENV.catalog} must be {"plans": [...], "creditPacks": [...]}`);
  const brand = decodeBrand(parsed.brand);
  return { plans: parsed.plans, creditPacks: parsed.creditPacks, ...(brand === undefined ? {} : { brand }) };
}

export function portalEnvironment(
  catalog: Catalog,
  sessionSecretId: string,
  flush: { authorizerCacheTtlSeconds: number; cacheFlushIntervalSeconds: number },
): Record<string, string> {
  return { [PORTAL_ENV.catalog]: JSON.stringify(catalog), [PORTAL_ENV.sessionSecretId]: sessionSecretId, ...flushEnvironment(flush) };
}

export function loadPortalSettings(env: Env): PortalSettings {
  return {
    tables: {
      customers: required(env, TABLES.customers.envVar),
      apiKeys: required(env, TABLES.apiKeys.envVar),
      events: required(env, TABLES.events.envVar),
    },
    routes: decodeRoutes(required(env, ENV.routes)),
    gracePeriodSeconds: gracePeriodSeconds(env),
    checkoutUrl: optional(env, ENV.checkoutUrl),
    portalUrl: optional(env, ENV.portalUrl),
    catalog: decodeCatalog(required(env, PORTAL_ENV.catalog)),
    plans: decodePlans(optional(env, ENV.plans)),
    stripeApiKeySecretId: optional(env, ENV.stripeApiKeySecretId),
    sessionSecretId: required(env, PORTAL_ENV.sessionSecretId),
    flush: loadFlushSettings(env),
  };
}
