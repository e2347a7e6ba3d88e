import fc from 'fast-check';
import { allocateDraw, compareGrants, drawOrder, expiredUnits, type CreditGrant } from '../../lambda/shared/credit-grants';

const NOW = new Date('2026-08-01T12:00:00Z');
const T = NOW.getTime() / 1000;

const grant = (id: string, extra: Partial<CreditGrant> = {}): CreditGrant => ({ id, units: 10, left: 10, category: 'paid', priority: 50, grantedAt: T - 100, ...extra });

describe('credit grants: the draw order', () => {
  it('draws promotional before paid, then by priority, then the soonest expiry, then the oldest; expired and empty grants not at all', () => {
    const grants = [
      grant('paid-never'),
      grant('paid-soon', { expiresAt: T + 60 }),
      grant('paid-urgent', { priority: 0, expiresAt: T + 3600 }),
      grant('promo-low', { category: 'promotional', priority: 99 }),
      grant('promo', { category: 'promotional' }),
      grant('promo-expired', { category: 'promotional', expiresAt: T }),
      grant('paid-empty', { left: 0 }),
      grant('paid-older', { grantedAt: T - 200 }),
    ];
    expect(drawOrder(grants, NOW).map((g) => g.id)).toEqual(['promo', 'promo-low', 'paid-urgent', 'paid-soon', 'paid-older', 'paid-never']);
    expect(expiredUnits(grants, NOW)).toBe(10);
  });

  it('allocates a draw grant by grant, each down to zero, and what no grant covers to the ungranted units', () => {
    const grants = [grant('paid', { left: 7 }), grant('promo', { category: 'promotional', left: 3 })];
    const draw = allocateDraw(grants, 12, NOW);
    expect([...draw.fromGrants]).toEqual([
      ['promo', 3],
      ['paid', 7],
    ]);
    expect(draw.ungranted).toBe(2);
    expect([...allocateDraw(grants, 2, NOW).fromGrants]).toEqual([['promo', 2]]);
  });

  it('never takes more than a grant has, never from an expired one, and accounts for every unit, in draw order (property)', () => {
    const arbGrant = fc.record({
      id: fc.string({ minLength: 1, maxLength: 4 }),
      units: fc.integer({ min: 1, max: 50 }),
      left: fc.integer({ min: 0, max: 50 }),
      category: fc.constantFrom('paid' as const, 'promotional' as const),
      priority: fc.integer({ min: 0, max: 100 }),
      grantedAt: fc.integer({ min: T - 1000, max: T }),
      expiresAt: fc.option(fc.integer({ min: T - 100, max: T + 100 }), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.uniqueArray(arbGrant, { selector: (g) => g.id, maxLength: 8 }), fc.integer({ min: 0, max: 300 }), (grants, units) => {
        const { fromGrants, ungranted } = allocateDraw(grants, units, NOW);
        const order = drawOrder(grants, NOW);
        expect([...fromGrants.values()].reduce((a, b) => a + b, 0) + ungranted).toBe(units);
        expect(ungranted).toBeGreaterThanOrEqual(0);
        for (const [id, taken] of fromGrants) {
          const g = grants.find((x) => x.id === id)!;
          expect(taken).toBeGreaterThan(0);
          expect(taken).toBeLessThanOrEqual(g.left);
          expect(g.expiresAt === undefined || g.expiresAt > T).toBe(true);
        }
        // Drawn grants are a prefix of the order, all emptied but the last.
        const drawn = [...fromGrants.keys()];
        expect(drawn).toEqual(order.slice(0, drawn.length).map((g) => g.id));
        drawn.slice(0, -1).forEach((id) => expect(fromGrants.get(id)).toBe(grants.find((x) => x.id === id)!.left));
        if (ungranted > 0) expect(drawn.length).toBe(order.length);
        for (let i = 1; i < order.length; i += 1) expect(compareGrants(order[i - 1]!, order[i]!)).toBeLessThanOrEqual(0);
      }),
    );
  });
});
