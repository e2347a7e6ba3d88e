import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/**
 * Credit grants (#26 item 2): the prepaid balance as grants, each with its units, what is left of them, an
 * optional expiry, a category (`paid` or `promotional`) and a priority. Pure rules, no I/O.
 *
 * Stored on the wallet item (customers/wallet.ts) in one map attribute, `grants`, one entry per grant id:
 *
 *   grants.<grantId>   { units, left, category, priority, grantedAt, expiresAt? }   units and epoch s
 *
 * One map, not an attribute per grant: the authorizer's one read of the wallet projects it by name, so a
 * decision sees every grant's expiry. Once the map exists, `balance` equals the sum of its entries' `left`
 * (expired ones included until a grant write prunes them); a decision spends the balance less what
 * expired grants hold (`spendable`). Units the balance holds beyond the entries (the balance from before
 * grants) are kept in the legacy entry (LEGACY_GRANT_ID), folded in by the first draw that sees them.
 *
 * Draw order: promotional before paid, then by priority (0 first, 100 last; 50 when not given, as
 * Stripe's credit grants), then the soonest expiry (a grant that never expires last), then the oldest.
 * Promotional first, unlike Stripe (which orders by priority first): units given away are spent before
 * units the customer paid for whatever their priorities, so a customer never loses paid units to a
 * promotion's expiry; priority orders grants within a category.
 */

/** The wallet's attribute holding the grants. */
export const GRANTS = 'grants';
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

/** Units of grants that expired with units left: no longer spendable, still in `balance` until a grant write prunes them. */
export const expiredUnits = (grants: readonly CreditGrant[], now: Date): number =>
  grants.filter((g) => g.left > 0 && g.expiresAt !== undefined && g.expiresAt <= seconds(now)).reduce((sum, g) => sum + g.left, 0);

const GRANT_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

/** Validates a grant id (its key in the wallet's `grants` map). */
export function grantAttribute(id: string): string {
  if (!GRANT_ID.test(id)) throw new RangeError(`"${id}" is not a grant id: use up to 128 letters, digits, ".", "_", ":" or "-"`);
  return id;
}

/**
 * The entry that holds units no grant recorded: the balance from before grants (and units a writer added
 * to the balance alone). Ordered as a paid grant, priority 50, no expiry, the oldest: after promotions and
 * paid grants that expire or have a lower priority, before every other paid grant. Its id cannot be a
 * grant's (`@` is not allowed in one).
 */
export const LEGACY_GRANT_ID = '@legacy';

/** Entries a wallet's `grants` map holds at most (a grant write prunes used-up and expired ones first). */
export const MAX_GRANTS = 10;

const finite = (value: AttributeValue | undefined): number | undefined => {
  const n = value?.N === undefined ? NaN : Number(value.N);
  return Number.isFinite(n) ? n : undefined;
};

/** The grants of a wallet item as DynamoDB returns it, in draw order; undefined when it has no `grants` map. An entry of another shape is left out. */
export function decodeGrants(item: Record<string, AttributeValue>): CreditGrant[] | undefined {
  const map = item[GRANTS]?.M;
  if (map === undefined) return undefined;
  const grants: CreditGrant[] = [];
  for (const [id, value] of Object.entries(map)) {
    const m = value.M;
    if (m === undefined) continue;
    const units = finite(m.units);
    const left = finite(m.left);
    const priority = finite(m.priority);
    const grantedAt = finite(m.grantedAt);
    const expiresAt = finite(m.expiresAt);
    const category = m.category?.S;
    if (units === undefined || left === undefined || priority === undefined || grantedAt === undefined) continue;
    if (category !== 'paid' && category !== 'promotional') continue;
    grants.push({ id, units, left, category, priority, grantedAt, ...(expiresAt === undefined ? {} : { expiresAt }) });
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

const UNIT_SECONDS = { d: 86_400, h: 3_600, m: 60 } as const;

/** A grant's lifetime as configuration and the CLI give it (`90d`, `12h`, `90m`) in seconds; undefined: not one. */
export function grantDurationSeconds(text: string): number | undefined {
  const match = /^(\d{1,6})([dhm])$/.exec(text);
  if (match === null || Number(match[1]) === 0) return undefined;
  return Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS];
}

/** How a lifetime reads to a buyer: `90d` → "90 days". */
export function durationWords(text: string): string {
  const match = /^(\d+)([dhm])$/.exec(text);
  if (match === null) return text;
  const n = Number(match[1]);
  const unit = { d: 'day', h: 'hour', m: 'minute' }[match[2] as 'd' | 'h' | 'm'];
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

/** A new grant, its options checked (a refusal says what to give instead). */
export function newGrant(g: { readonly id: string; readonly units: number; readonly now: Date; readonly category?: GrantCategory; readonly priority?: number; readonly expiresAt?: number }): CreditGrant {
  grantAttribute(g.id);
  if (!Number.isInteger(g.units) || g.units <= 0) throw new RangeError(`${g.units} is not a whole number of units > 0`);
  const priority = g.priority ?? DEFAULT_GRANT_PRIORITY;
  if (!Number.isInteger(priority) || priority < 0 || priority > MAX_GRANT_PRIORITY) throw new RangeError(`a priority is a whole number from 0 to ${MAX_GRANT_PRIORITY}`);
  const grantedAt = seconds(g.now);
  if (g.expiresAt !== undefined && !(Number.isInteger(g.expiresAt) && g.expiresAt > grantedAt)) throw new RangeError('an expiry must be in the future: give a later time or none');
  return { id: g.id, units: g.units, left: g.units, category: g.category ?? 'paid', priority, grantedAt, ...(g.expiresAt === undefined ? {} : { expiresAt: g.expiresAt }) };
}

/** A grant as the usage route, `usage show`, the account page and `tollgate report` list it. */
export interface GrantView {
  readonly id: string;
  readonly category: GrantCategory;
  readonly priority: number;
  readonly units: number;
  /** 0 once expired. */
  readonly left: number;
  /** ISO time; null: never expires. */
  readonly expiresAt: string | null;
  readonly expired: boolean;
}

export const grantView = (grant: CreditGrant, now: Date): GrantView => ({
  id: grant.id,
  category: grant.category,
  priority: grant.priority,
  units: grant.units,
  left: isLive(grant, now) ? grant.left : 0,
  expiresAt: grant.expiresAt === undefined ? null : new Date(grant.expiresAt * 1000).toISOString(),
  expired: grant.expiresAt !== undefined && grant.expiresAt <= seconds(now),
});

// ---------------------------------------------------------------------------------------------------
// Draws: which entries a draw takes from, and what the one write that takes them must rely on.

/** What a draw is planned from: the wallet as read. */
export interface WalletFunds {
  /** The stored balance (absent: never written). */
  readonly balance?: number;
  /** The `grants` map, in any order (absent: no grant was ever written; the balance is all ungranted units). */
  readonly grants?: readonly CreditGrant[];
}

/** Units a decision may spend: the balance less what expired grants still hold. */
export const spendable = (funds: WalletFunds, now: Date): number | undefined =>
  funds.balance === undefined ? undefined : funds.balance - (funds.grants === undefined ? 0 : expiredUnits(funds.grants, now));

/** How one entry of the map moves and what the write requires of it. */
export interface EntryChange {
  readonly id: string;
  /** Added to its `left` (negative: drawn). */
  readonly delta: number;
  /** Added to its `units` (units folded into the legacy entry). */
  readonly unitsDelta?: number;
  /** `equals`: its `left` must be exactly `left`; `atLeast`: at least `left`. */
  readonly require?: { readonly kind: 'equals' | 'atLeast'; readonly left: number };
  /** The entry does not exist yet: written whole (the legacy entry, created by the fold). */
  readonly create?: CreditGrant;
}

export interface DrawPlan {
  readonly units: number;
  /** Added to the stored balance (refunds less the draw). */
  readonly balanceDelta: number;
  /** undefined: the wallet has no `grants` map and the write requires that it still has none. */
  readonly map?: {
    /** The map must still hold this many entries (none added or pruned since the read). */
    readonly size: number;
    readonly changes: readonly EntryChange[];
    /** Units taken from each entry (the pending entry of a reservation records them: refunds go back there). */
    readonly draws: ReadonlyMap<string, number>;
    /** Ungranted units were folded into the legacy entry: the balance must be exactly this. */
    readonly balanceEquals?: number;
  };
}

const legacyGrant = (units: number, left: number): CreditGrant => ({ id: LEGACY_GRANT_ID, units, left, category: 'paid', priority: DEFAULT_GRANT_PRIORITY, grantedAt: 0 });

/**
 * Plans a draw of `units` (and gives back `refund` ungranted units) at `now`: each live entry in draw
 * order down to zero, the last one partly; undefined when the spendable units do not cover it.
 *
 * What the one write requires, so that the draw is in order and exact against concurrent writers
 * without reading again: the map's size (no grant added or pruned), every entry drained or passed over
 * empty exactly as read (a unit given back to one meanwhile would have been drawn first), the last
 * entry at least what it gives. Units the balance holds beyond the entries (a writer that adds to the
 * balance alone, a refund of a reservation made before the map) are folded into the legacy entry by the
 * same write, which then requires the balance and every entry exactly as read.
 */
export function planDraw(funds: WalletFunds, units: number, now: Date, refund = 0): DrawPlan | undefined {
  const balance = funds.balance ?? 0;
  const balanceDelta = refund - units;
  if (funds.grants === undefined) return balance + refund >= units ? { units, balanceDelta } : undefined;
  const stored = funds.grants;
  const sum = stored.reduce((a, g) => a + g.left, 0);
  const ungranted = Math.max(0, balance - sum);
  const fold = ungranted + refund;
  const storedLegacy = stored.find((g) => g.id === LEGACY_GRANT_ID);
  const entries = stored.filter((g) => g.id !== LEGACY_GRANT_ID);
  const legacy = storedLegacy === undefined ? (fold > 0 ? legacyGrant(fold, fold) : undefined) : { ...storedLegacy, left: storedLegacy.left + fold };
  if (legacy !== undefined) entries.push(legacy);
  entries.sort(compareGrants);

  const changes = new Map<string, EntryChange>();
  const draws = new Map<string, number>();
  let rest = units;
  for (const entry of entries) {
    if (rest <= 0) break;
    if (!isLive({ ...entry, left: 1 }, now)) continue;
    const take = Math.min(rest, entry.left);
    rest -= take;
    const read = entry.id === LEGACY_GRANT_ID ? (storedLegacy?.left ?? 0) : entry.left;
    if (take > 0) draws.set(entry.id, take);
    // Drained, or passed over empty with units still to draw: exactly as read. The last: at least what it gives.
    const require = rest > 0 || take === entry.left ? { kind: 'equals' as const, left: read } : { kind: 'atLeast' as const, left: take - (entry.id === LEGACY_GRANT_ID ? fold : 0) };
    changes.set(entry.id, { id: entry.id, delta: -take, ...(require.kind === 'atLeast' && require.left <= 0 ? {} : { require }) });
  }
  if (rest > 0) return undefined;
  if (legacy !== undefined && fold > 0) {
    const taken = draws.get(LEGACY_GRANT_ID) ?? 0;
    const change = changes.get(LEGACY_GRANT_ID);
    changes.set(
      LEGACY_GRANT_ID,
      storedLegacy === undefined
        ? { id: LEGACY_GRANT_ID, delta: fold - taken, create: legacyGrant(fold, fold - taken) }
        : { id: LEGACY_GRANT_ID, delta: fold - taken, unitsDelta: fold, ...(change?.require === undefined ? {} : { require: change.require }) },
    );
  }
  // Ungranted units are the balance less every entry: folding them relies on all of it exactly as read.
  if (ungranted > 0) {
    for (const g of stored) {
      const change = changes.get(g.id);
      changes.set(g.id, { ...(change ?? { id: g.id, delta: 0 }), require: { kind: 'equals', left: g.left } });
    }
  }
  return {
    units,
    balanceDelta,
    map: { size: stored.length, changes: [...changes.values()], draws, ...(ungranted > 0 ? { balanceEquals: balance } : {}) },
  };
}

/** A plan's clauses for an update of the wallet: SET items, conditions, names and values (`value` marshals a value for the client in use). */
export interface DrawClauses<V> {
  readonly set: string[];
  readonly conditions: string[];
  readonly names: Record<string, string>;
  readonly values: Record<string, V>;
}

/** The clauses a plan adds to a wallet write whose balance placeholder is `#b` (the balance's own SET is the caller's). */
export function drawClauses<V>(plan: DrawPlan, value: (v: number | Record<string, unknown>) => V): DrawClauses<V> {
  const names: Record<string, string> = { '#g': GRANTS };
  const values: Record<string, V> = {};
  if (plan.map === undefined) return { set: [], conditions: ['attribute_not_exists(#g)'], names, values };
  const set: string[] = [];
  const conditions = ['size(#g) = :gsize'];
  values[':gsize'] = value(plan.map.size);
  if (plan.map.balanceEquals !== undefined) {
    values[':gbal'] = value(plan.map.balanceEquals);
    conditions.push('#b = :gbal');
  }
  plan.map.changes.forEach((change, i) => {
    const path = `#g.#gi${i}`;
    names[`#gi${i}`] = change.id;
    if (change.create !== undefined) {
      values[`:ge${i}`] = value(grantEntry(change.create));
      set.push(`${path} = :ge${i}`);
      conditions.push(`attribute_not_exists(${path})`);
      return;
    }
    if (change.delta !== 0 || change.require !== undefined) names['#left'] = 'left';
    if (change.delta !== 0) {
      values[`:gd${i}`] = value(change.delta);
      set.push(`${path}.#left = ${path}.#left + :gd${i}`);
    }
    if (change.unitsDelta !== undefined && change.unitsDelta !== 0) {
      values[`:gu${i}`] = value(change.unitsDelta);
      names['#units'] = 'units';
      set.push(`${path}.#units = ${path}.#units + :gu${i}`);
    }
    if (change.require !== undefined) {
      values[`:gl${i}`] = value(change.require.left);
      conditions.push(`${path}.#left ${change.require.kind === 'equals' ? '=' : '>='} :gl${i}`);
    }
  });
  return { set, conditions, names, values };
}
