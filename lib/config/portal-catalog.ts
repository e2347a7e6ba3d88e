import type { Catalog } from '../../lambda/portal/settings';
import type { TollgateConfig } from './tollgate-config';

/**
 * What the portal sells and how it presents it: the configured plans (`tollgate:plans`, keyed by Stripe
 * price lookup key, with display names) and credit packs (`tollgate:creditPacks`), else the sample's two
 * plans; the product's name, logo and colours (`tollgate:portalName`, `portalLogoUrl`, `portalColors`).
 */

export const SAMPLE_CATALOG: Catalog = {
  plans: [
    { lookupKey: 'pro', name: 'Pro' },
    { lookupKey: 'sample_metered', name: 'Metered', quota: 20 },
  ],
  creditPacks: [],
};

/** The catalog from configuration; the sample's when no plan is configured. */
export function portalCatalog(config: Pick<TollgateConfig, 'plans' | 'creditPacks' | 'portalBrand'>): Catalog {
  const brand = config.portalBrand === undefined ? {} : { brand: config.portalBrand };
  if (Object.keys(config.plans).length === 0) return { ...SAMPLE_CATALOG, ...brand };
  return {
    ...brand,
    plans: Object.entries(config.plans).map(([lookupKey, plan]) => ({
      lookupKey,
      name: plan.name,
      ...(plan.quota === undefined ? {} : { quota: plan.quota }),
      ...(plan.overage === 'bill' ? { overage: true } : {}),
      ...(plan.meter === undefined ? {} : { meter: plan.meter }),
    })),
    creditPacks: config.creditPacks.map(({ id, name, credits, price, expiresIn }) => ({ id, name, credits, price, ...(expiresIn === undefined ? {} : { expiresIn }) })),
  };
}
