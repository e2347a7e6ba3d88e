import { CorruptRecordError } from './item';
import { isSubscriptionStatus, isTerminal, type InvoiceEntry, type SubscriptionEntry } from './record';

/**
 * The customer item as release 0.1 wrote it, and its mapping to the current layout (item.ts). 0.1 kept
 * one subscription per customer in flat attributes, one invoice state per customer, and a watermark
 * attribute per stream: `wm_<subscriptionId>`, `wm_invoices`, `wm_entitlements`, `wm_customer`.
 * `entitlements`, `usageBlock`, `deleted`, `updatedAt` and the key attributes kept their names.
 */

/** The 0.1 attributes with a fixed name; `wm_<subscriptionId>` are the others. */
export const LEGACY_ATTRIBUTES = [
  'subscriptionId',
  'subscriptionStatus',
  'plan',
  'cancelAtPeriodEnd',
  'currentPeriodEnd',
  'pastDueSince',
  'paymentActionRequired',
  'paymentUrl',
  'subscriptionOrder',
  'wm_invoices',
  'wm_entitlements',
  'wm_customer',
] as const;

const LEGACY_NAMES: ReadonlySet<string> = new Set(LEGACY_ATTRIBUTES);
export const isLegacyAttribute = (name: string): boolean => LEGACY_NAMES.has(name) || name.startsWith('wm_');

/** 0.1 did not store the invoice id; the next invoice event of the subscription replaces the entry. */
export const LEGACY_INVOICE_ID = 'unknown (0.1)';

/** Sorts below every real event: any event of the stream supersedes it. */
export const LEGACY_WATERMARK = '00000000000:0:legacy';

/** An item path and the value the upgrade stores there unless something is stored there already. */
export type LegacyWrite = readonly [path: readonly [string] | readonly [string, string], value: unknown];

export interface LegacyUpgrade {
  /** In the current layout; each applies only where the item holds nothing yet (a newer write wins). */
  readonly writes: readonly LegacyWrite[];
  /** Every 0.1 attribute the item holds, sorted: the upgrade removes them all. */
  readonly remove: readonly string[];
}

type Item = Readonly<Record<string, unknown>>;

const isMap = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Set);
const has = (item: Item, map: string, id: string): boolean => isMap(item[map]) && (item[map])[id] !== undefined;
const secondOf = (watermark: unknown): number | undefined => {
  const match = typeof watermark === 'string' ? /^(\d{11}):/.exec(watermark) : null;
  return match ? Number(match[1]) : undefined;
};

function read(item: Item, customerId: string) {
  const value = (name: string, type: 'string' | 'number' | 'boolean'): unknown => {
    const v = item[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== type || (type === 'number' && !Number.isFinite(v))) {
      throw new CorruptRecordError(`customer ${customerId}: 0.1 attribute ${name} is not a ${type}: fix or remove it in the customers table`);
    }
    return v;
  };
  const status = value('subscriptionStatus', 'string');
  if (status !== undefined && !isSubscriptionStatus(status)) {
    throw new CorruptRecordError(`customer ${customerId}: 0.1 attribute subscriptionStatus is not a Stripe subscription status: fix or remove it in the customers table`);
  }
  const id = value('subscriptionId', 'string') as string | undefined;
  return {
    id: id === '' ? undefined : id,
    status,
    plan: value('plan', 'string') as string | undefined,
    cancelAtPeriodEnd: value('cancelAtPeriodEnd', 'boolean') as boolean | undefined,
    currentPeriodEnd: value('currentPeriodEnd', 'number') as number | undefined,
    pastDueSince: value('pastDueSince', 'number') as number | undefined,
    paymentActionRequired: value('paymentActionRequired', 'boolean') as boolean | undefined,
    paymentUrl: value('paymentUrl', 'string') as string | undefined,
    subscriptionWatermark: id === undefined ? undefined : (value(`wm_${id}`, 'string') as string | undefined),
    invoicesWatermark: value('wm_invoices', 'string') as string | undefined,
    entitlementsWatermark: value('wm_entitlements', 'string') as string | undefined,
    customerWatermark: value('wm_customer', 'string') as string | undefined,
  };
}

const defined = <T extends object>(value: T): T => Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;

/**
 * What upgrading a 0.1 item writes; undefined when the item holds no 0.1 attribute. Pure: the upgrade
 * command stores it, and the decoder reads a not yet upgraded item through it, so both see the same.
 */
export function legacyUpgrade(item: Item): LegacyUpgrade | undefined {
  const remove = Object.keys(item).filter(isLegacyAttribute).sort();
  if (remove.length === 0) return undefined;
  const customerId = typeof item.customerId === 'string' ? item.customerId : '';
  const old = read(item, customerId);
  const writes: LegacyWrite[] = [];
  const { id, status } = old;
  if (id !== undefined && status !== undefined) {
    if (!has(item, 'subscriptions', id)) {
      const entry: SubscriptionEntry = defined({
        status,
        plan: old.plan,
        cancelAtPeriodEnd: old.cancelAtPeriodEnd,
        currentPeriodEnd: old.currentPeriodEnd,
        watermark: old.subscriptionWatermark ?? LEGACY_WATERMARK,
      });
      writes.push([['subscriptions', id], entry]);
    }
    // A newer write of the current layout decides what the subscription is now.
    const current = has(item, 'subscriptions', id) ? (item.subscriptions as Record<string, { status?: unknown }>)[id]?.status : status;
    const invoiceState = [old.pastDueSince, old.paymentActionRequired, old.paymentUrl, old.invoicesWatermark].some((v) => v !== undefined);
    // A terminal subscription is a tombstone without invoice state (webhook/state.ts).
    if (invoiceState && isSubscriptionStatus(current) && !isTerminal(current) && !has(item, 'invoices', id)) {
      const invoice: InvoiceEntry = defined({
        invoiceId: LEGACY_INVOICE_ID,
        watermark: old.invoicesWatermark ?? LEGACY_WATERMARK,
        pastDueSince: old.pastDueSince,
        paymentActionRequired: old.paymentActionRequired,
        paymentUrl: old.paymentUrl,
      });
      writes.push([['invoices', id], invoice]);
    }
    if (current === 'past_due' && !has(item, 'pastDue', id)) {
      // 0.1 granted a past_due subscription without invoice state grace without end; the current layout
      // starts it at the earliest known moment: here its last event (else the last write of the item).
      const updatedAt = typeof item.updatedAt === 'string' ? Math.floor(Date.parse(item.updatedAt) / 1000) : Number.NaN;
      const since = old.pastDueSince ?? secondOf(old.subscriptionWatermark) ?? (Number.isFinite(updatedAt) ? updatedAt : 0);
      writes.push([['pastDue', id], since]);
    }
  }
  if (old.entitlementsWatermark !== undefined && item.entitlementsWatermark === undefined) writes.push([['entitlementsWatermark'], old.entitlementsWatermark]);
  if (old.customerWatermark !== undefined && item.customerWatermark === undefined) writes.push([['customerWatermark'], old.customerWatermark]);
  return { writes, remove };
}

/** The item as the upgrade leaves it (the same item when it holds no 0.1 attribute). */
export function withoutLegacy(item: Item): Record<string, unknown> {
  const upgrade = legacyUpgrade(item);
  if (upgrade === undefined) return item;
  const next: Record<string, unknown> = Object.fromEntries(Object.entries(item).filter(([name]) => !isLegacyAttribute(name)));
  for (const [path, value] of upgrade.writes) {
    const parent = next[path[0]];
    if (path.length === 1) next[path[0]] = value;
    else next[path[0]] = { ...(isMap(parent) ? parent : {}), [path[1]]: value };
  }
  return next;
}
