import type { Catalog, CatalogCreditPack, CatalogPlan } from '../../lambda/portal/settings';
import type { TollgateConfig } from './tollgate-config';

/**
 * What the portal sells: the plans (Stripe price lookup keys with display names) and credit packs of
 * the configuration (`tollgate:plans`, `tollgate:creditPacks`, read by lib/config/tollgate-config.ts
 * when the usage configuration is present), else the sample's two plans.
 */

export const SAMPLE_CATALOG: Catalog = {
  plans: [
    { lookupKey: 'pro', name: 'Pro' },
    { lookupKey: 'sample_metered', name: 'Metered', quota: 20 },
  ],
  creditPacks: [],
};

interface ConfiguredPlan {
  readonly name?: unknown;
  readonly quota?: unknown;
  readonly overage?: unknown;
  readonly meter?: unknown;
}

/** The catalog from configuration; the sample's when none is configured. */
export function portalCatalog(config: TollgateConfig): Catalog {
  const { plans, creditPacks } = config as TollgateConfig & { plans?: Readonly<Record<string, ConfiguredPlan>>; creditPacks?: ReadonlyArray<Record<string, unknown>> };
  if (plans === undefined || Object.keys(plans).length === 0) return SAMPLE_CATALOG;
  return {
    plans: Object.entries(plans).map(([lookupKey, plan]): CatalogPlan => ({
      lookupKey,
      name: typeof plan.name === 'string' ? plan.name : lookupKey,
      ...(typeof plan.quota === 'number' ? { quota: plan.quota } : {}),
      ...(plan.overage === undefined || plan.overage === null || plan.overage === false ? {} : { overage: true }),
      ...(typeof plan.meter === 'string' ? { meter: plan.meter } : {}),
    })),
    creditPacks: (creditPacks ?? []).flatMap((pack): CatalogCreditPack[] =>
      typeof pack.id === 'string' && typeof pack.name === 'string' && typeof pack.credits === 'number' && typeof pack.price === 'string'
        ? [{ id: pack.id, name: pack.name, credits: pack.credits, price: pack.price }]
        : [],
    ),
  };
}
