import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/**
 * Credit grants (#26 item 2): the prepaid balance as grants, each with its units, what is left of them, an
 * optional expiry, a category (`paid` or `promotional`) and a priority. Pure rules, no I/O.
 *
 * Stored on the wallet item (customers/wallet.ts) as one attribute per grant, `g_<grantId>`:
 *
 *   { units, left, category, priority, grantedAt, expiresAt? }     numbers in units and epoch s
 *
 * `balance` stays the total a decision compares a cost with (what the grants have left plus units no
 * grant records: credits from before grants, and packs); the entries say which grant a draw comes from.
 *
 * Draw order: promotional before paid, then by priority (0 first, 100 last; 50 when not given, as
 * Stripe's credit grants), then the soonest expiry (a grant that never expires last), then the oldest.
 * Promotional first, unlike Stripe (which orders by priority first): units given away are spent before
 * units the customer paid for whatever their priorities, so a customer never loses paid units to a
 * promotion's expiry; priority orders grants within a category.
 */

export const GRANT_PREFIX = 'g_';
export const GRANT_CATEGORIES = ['paid', 'promotional'] as const;
export type GrantCategory = (typeof GRANT_CATEGORIES)[number];
export const DEFAULT_GRANT_PRIORITY = 50;
export const MAX_GRANT_PRIORITY = 100;

export interface CreditGrant {
  readonly id: string;
  /** Units granted. */
  readonly units: number;
  /** Units not drawn yet. */
  readonly left: number;
  readonly category: GrantCategory;
  readonly priority: number;
  /** Epoch s. */
  readonly grantedAt: number;
  /** Epoch s; absent: never expires. */
  readonly expiresAt?: number;
}

const seconds = (now: Date): number => Math.floor(now.getTime() / 1000);

/** A grant still drawn from: units left and not expired. */
export const isLive = (grant: CreditGrant, now: Date): boolean => grant.left > 0 && (grant.expiresAt === undefined || grant.expiresAt > seconds(now));

const categoryRank = (c: GrantCategory): number => (c === 'promotional' ? 0 : 1);

/** The order calls draw on grants (see above); every grant, live or not, in that order. */
export function compareGrants(a: CreditGrant, b: CreditGrant): number {
  return (
    categoryRank(a.category) - categoryRank(b.category) ||
    a.priority - b.priority ||
    (a.expiresAt ?? Number.POSITIVE_INFINITY) - (b.expiresAt ?? Number.POSITIVE_INFINITY) ||
    a.grantedAt - b.grantedAt ||
    (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
}

/** The live grants in draw order. */
export const drawOrder = (grants: readonly CreditGrant[], now: Date): CreditGrant[] => grants.filter((g) => isLive(g, now)).sort(compareGrants);

export interface GrantDraw {
  /** Units taken from each grant, by id, in draw order. */
  readonly fromGrants: ReadonlyMap<string, number>;
  /** Units no live grant covered: drawn from the units no grant records. */
  readonly ungranted: number;
}

/** Which grants `units` come from: each live grant in draw order, down to zero, then the rest. */
export function allocateDraw(grants: readonly CreditGrant[], units: number, now: Date): GrantDraw {
  const fromGrants = new Map<string, number>();
  let rest = units;
  for (const grant of drawOrder(grants, now)) {
    if (rest <= 0) break;
    const take = Math.min(rest, grant.left);
    fromGrants.set(grant.id, take);
    rest -= take;
  }
  return { fromGrants, ungranted: rest };
}

/** Units of grants that expired with units left: no longer spendable, still in `balance` until swept. */
export const expiredUnits = (grants: readonly CreditGrant[], now: Date): number =>
  grants.filter((g) => g.left > 0 && g.expiresAt !== undefined && g.expiresAt <= seconds(now)).reduce((sum, g) => sum + g.left, 0);

const GRANT_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

export function grantAttribute(id: string): string {
  if (!GRANT_ID.test(id)) throw new RangeError(`"${id}" is not a grant id: use up to 128 letters, digits, ".", "_", ":" or "-"`);
  return GRANT_PREFIX + id;
}

const finite = (value: AttributeValue | undefined): number | undefined => {
  const n = value?.N === undefined ? NaN : Number(value.N);
  return Number.isFinite(n) ? n : undefined;
};

/** The grants of a wallet item as DynamoDB returns it; an entry of another shape is left out. */
export function decodeGrants(item: Record<string, AttributeValue>): CreditGrant[] {
  const grants: CreditGrant[] = [];
  for (const [name, value] of Object.entries(item)) {
    if (!name.startsWith(GRANT_PREFIX) || value.M === undefined) continue;
    const m = value.M;
    const units = finite(m.units);
    const left = finite(m.left);
    const priority = finite(m.priority);
    const grantedAt = finite(m.grantedAt);
    const expiresAt = finite(m.expiresAt);
    const category = m.category?.S;
    if (units === undefined || left === undefined || priority === undefined || grantedAt === undefined) continue;
    if (category !== 'paid' && category !== 'promotional') continue;
    grants.push({ id: name.slice(GRANT_PREFIX.length), units, left, category, priority, grantedAt, ...(expiresAt === undefined ? {} : { expiresAt }) });
  }
  return grants.sort(compareGrants);
}

/** A grant's entry as the document client writes it. */
export const grantEntry = (grant: CreditGrant): Record<string, unknown> => ({
  units: grant.units,
  left: grant.left,
  category: grant.category,
  priority: grant.priority,
  grantedAt: grant.grantedAt,
  ...(grant.expiresAt === undefined ? {} : { expiresAt: grant.expiresAt }),
});

/** A grant as the usage route and `usage show` list it. */
export const grantView = (grant: CreditGrant, now: Date) => ({
  id: grant.id,
  category: grant.category,
  priority: grant.priority,
  units: grant.units,
  left: isLive(grant, now) ? grant.left : 0,
  expiresAt: grant.expiresAt === undefined ? null : new Date(grant.expiresAt * 1000).toISOString(),
  expired: grant.expiresAt !== undefined && grant.expiresAt <= seconds(now),
});
