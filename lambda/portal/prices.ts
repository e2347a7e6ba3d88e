import type Stripe from 'stripe';
import type { Catalog } from './settings';

/**
 * What the plans page shows each plan and pack costs: read from Stripe by lookup key (or price id), the
 * prices the checkout will charge, and kept for a few minutes per instance (one list call serves many
 * page views; a price changed in Stripe shows within the TTL). A failed read shows the plans without
 * prices rather than no page; it is not kept, so the next view reads again.
 */

export interface DisplayPrice {
  /** `$20.00` */
  readonly amount: string;
  /** `per month`, `every 3 months`, `per unit, billed each month`; undefined: a one-time price. */
  readonly per?: string;
}

/** By the catalog's price reference: a plan's lookup key, a pack's lookup key or price id. */
export type PriceList = ReadonlyMap<string, DisplayPrice>;

export interface PriceBook {
  prices(catalog: Catalog): Promise<PriceList>;
}

export const PRICE_TTL_MS = 5 * 60 * 1000;
/** Stripe's limit on `lookup_keys` per list call. */
const LOOKUP_KEYS_PER_CALL = 10;

type PriceShape = Pick<Stripe.Price, 'id' | 'lookup_key' | 'unit_amount' | 'currency'> & { readonly recurring: Pick<Stripe.Price.Recurring, 'interval' | 'interval_count'> & { readonly usage_type?: string } | null };

/** `$20.00 per month`, in the price's own currency and its minor-unit digits; undefined when it has no unit amount (tiers). */
export function displayPrice(price: PriceShape): DisplayPrice | undefined {
  if (price.unit_amount === null) return undefined;
  let format: Intl.NumberFormat;
  try {
    format = new Intl.NumberFormat('en', { style: 'currency', currency: price.currency.toUpperCase() });
  } catch {
    return undefined;
  }
  const amount = format.format(price.unit_amount / 10 ** (format.resolvedOptions().maximumFractionDigits ?? 2));
  const recurring = price.recurring;
  if (recurring === null) return { amount };
  const every = recurring.interval_count === 1 ? `per ${recurring.interval}` : `every ${recurring.interval_count} ${recurring.interval}s`;
  return { amount, per: recurring.usage_type === 'metered' ? `per unit, billed ${every.replace(/^per /, 'each ')}` : every };
}

function references(catalog: Catalog): { keys: string[]; ids: string[] } {
  const all = [...catalog.plans.map((p) => p.lookupKey), ...catalog.creditPacks.map((p) => p.price)];
  return { keys: [...new Set(all.filter((r) => !r.startsWith('price_')))], ids: [...new Set(all.filter((r) => r.startsWith('price_')))] };
}

async function readPrices(stripe: Stripe, catalog: Catalog): Promise<PriceList> {
  const { keys, ids } = references(catalog);
  const found = new Map<string, DisplayPrice>();
  const add = (reference: string, price: PriceShape): void => {
    const shown = displayPrice(price);
    if (shown !== undefined) found.set(reference, shown);
  };
  for (let i = 0; i < keys.length; i += LOOKUP_KEYS_PER_CALL) {
    const page = await stripe.prices.list({ lookup_keys: keys.slice(i, i + LOOKUP_KEYS_PER_CALL), active: true, limit: 100 });
    for (const price of page.data) if (price.lookup_key !== null) add(price.lookup_key, price);
  }
  for (const id of ids) add(id, await stripe.prices.retrieve(id));
  return found;
}

/** Prices from the portal's Stripe client, kept PRICE_TTL_MS; none when no Stripe API key is configured. */
export function stripePriceBook(stripe: () => Promise<Stripe | undefined>, now: () => Date, onError: (err: unknown) => void): PriceBook {
  let kept: { at: number; prices: Promise<PriceList> } | undefined;
  return {
    prices: (catalog) => {
      const at = now().getTime();
      if (kept === undefined || at - kept.at >= PRICE_TTL_MS) {
        const prices = stripe().then((client) => (client === undefined ? new Map() : readPrices(client, catalog)));
        const entry = { at, prices };
        kept = entry;
        prices.catch(() => {
          if (kept === entry) kept = undefined;
        });
      }
      return kept.prices.catch((err: unknown) => {
        onError(err);
        return new Map();
      });
    },
  };
}
