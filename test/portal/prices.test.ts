import type Stripe from 'stripe';
import { displayPrice, PRICE_TTL_MS, stripePriceBook } from '../../lambda/portal/prices';
import type { Catalog } from '../../lambda/portal/settings';

/** The plans page's prices: how a Stripe price reads, how many calls a catalog costs, and how long one read is kept. */

type Shape = Parameters<typeof displayPrice>[0];
const price = (fields: Partial<Shape>): Shape => ({ id: 'price_x', lookup_key: null, unit_amount: 2000, currency: 'usd', recurring: null, ...fields });

describe('displayPrice', () => {
  it.each<[Partial<Shape>, ReturnType<typeof displayPrice>]>([
    [{ recurring: { interval: 'month', interval_count: 1 } }, { amount: '$20.00', per: 'per month' }],
    [{ recurring: { interval: 'month', interval_count: 3 } }, { amount: '$20.00', per: 'every 3 months' }],
    [{ unit_amount: 5, recurring: { interval: 'month', interval_count: 1, usage_type: 'metered' } }, { amount: '$0.05', per: 'per unit, billed each month' }],
    [{ unit_amount: 12000, currency: 'eur', recurring: { interval: 'year', interval_count: 1 } }, { amount: '€120.00', per: 'per year' }],
    // Zero-decimal currencies have no minor unit: 500 yen is ¥500.
    [{ unit_amount: 500, currency: 'jpy' }, { amount: '¥500' }],
    [{ unit_amount: null }, undefined],
    [{ currency: 'not a currency' }, undefined],
  ])('%j reads %j', (fields, expected) => {
    expect(displayPrice(price(fields))).toEqual(expected);
  });
});

describe('stripePriceBook', () => {
  const catalog: Catalog = {
    plans: Array.from({ length: 11 }, (_, i) => ({ lookupKey: `plan_${i}`, name: `Plan ${i}` })),
    creditPacks: [
      { id: 'small', name: 'Small', credits: 10, price: 'price_pack' },
      { id: 'again', name: 'Again', credits: 20, price: 'plan_0' },
    ],
  };

  function fakeStripe(fail: () => boolean): { client: Stripe; lists: string[][]; retrieves: string[] } {
    const lists: string[][] = [];
    const retrieves: string[] = [];
    const prices = {
      list: (params: { lookup_keys: string[] }) => {
        lists.push(params.lookup_keys);
        if (fail()) return Promise.reject(new Error('stripe is down'));
        return Promise.resolve({ data: params.lookup_keys.map((key) => price({ lookup_key: key, recurring: { interval: 'month', interval_count: 1 } })) });
      },
      retrieve: (id: string) => {
        retrieves.push(id);
        return Promise.resolve(price({ id, unit_amount: 900 }));
      },
    };
    return { client: { prices } as unknown as Stripe, lists, retrieves };
  }

  it('reads every lookup key in calls of ten, a price id by itself, once per TTL; a failure shows none and is not kept', async () => {
    let now = new Date('2026-12-01T00:00:00Z');
    let failing = false;
    const fake = fakeStripe(() => failing);
    const errors: unknown[] = [];
    const book = stripePriceBook(() => Promise.resolve(fake.client), () => now, (err) => errors.push(err));

    const first = await book.prices(catalog);
    expect(fake.lists).toEqual([Array.from({ length: 10 }, (_, i) => `plan_${i}`), ['plan_10']]);
    expect(fake.retrieves).toEqual(['price_pack']);
    expect(first.get('plan_10')).toEqual({ amount: '$20.00', per: 'per month' });
    expect(first.get('price_pack')).toEqual({ amount: '$9.00' });
    expect(first.size).toBe(12);

    now = new Date(now.getTime() + PRICE_TTL_MS - 1);
    expect(await book.prices(catalog)).toBe(first);
    expect(fake.lists).toHaveLength(2);

    now = new Date(now.getTime() + 1);
    failing = true;
    expect((await book.prices(catalog)).size).toBe(0);
    expect(errors).toEqual([new Error('stripe is down')]);
    failing = false;
    expect((await book.prices(catalog)).size).toBe(12);
    expect(fake.lists).toHaveLength(5);
  });

  it('shows no prices without a Stripe API key, and asks for none', async () => {
    const errors: unknown[] = [];
    const book = stripePriceBook(() => Promise.resolve(undefined), () => new Date(), (err) => errors.push(err));
    expect((await book.prices(catalog)).size).toBe(0);
    expect(errors).toEqual([]);
  });
});
