import { decodeCustomerItem, ITEM_LIMITS } from '../shared/customers/item';
import { isTerminal, type CustomerRecord, type InvoiceEntry, type SubscriptionEntry, type SubscriptionStatus } from '../shared/customers/record';

/**
 * How a Stripe event changes a customer's record, as plain data, and the ordering rule.
 *
 * The record is written by independent streams. Each stream is ordered by its own watermark and
 * overwrites everything it owns on every applied event, so the final state does not depend on the
 * order Stripe delivers events in:
 *
 * | stream                 | events                                                      | owns                                 | watermark                      |
 * |------------------------|-------------------------------------------------------------|--------------------------------------|--------------------------------|
 * | one per subscription   | customer.subscription.*, checkout.session.completed         | subscriptions.<id>, pastDue.<id>     | subscriptions.<id>.watermark   |
 * | one per subscription   | invoice.paid / payment_failed / payment_action_required / voided / marked_uncollectible | invoices.<subscription id> | invoices.<id>.watermark |
 * | entitlements           | entitlements.active_entitlement_summary.updated             | entitlements                         | entitlementsWatermark          |
 * | customer               | customer.deleted                                            | deleted                              | customerWatermark              |
 *
 * An event of one subscription never touches another's state. `pastDue.<id>` starts the grace period:
 * set when an event shows the subscription entering past_due (Stripe's previous_attributes), kept from
 * the first event that showed it otherwise, removed when it leaves past_due. A terminal subscription
 * (canceled, incomplete_expired) is a tombstone: Stripe never moves it out of that status, so it takes
 * no event that would (a non-terminal status, any invoice event: an invoice voided after the
 * cancellation must not bring invoice state back), drops its invoice state, and is forgotten when no
 * stale event of it can arrive any more (ITEM_LIMITS.forgetAfterSeconds).
 */

export interface SubscriptionChange extends Omit<SubscriptionEntry, 'watermark'> {
  readonly stream: 'subscription';
  readonly subscriptionId: string;
  /** The event shows the subscription entering past_due: its previous status was another. */
  readonly enteredPastDue?: boolean;
  /** A new billing period of a counted plan (usage.ts): a fresh period counter, and a quota block lifted. */
  readonly usageReset?: UsageReset;
}

/** The period counter moved forward to a new period (only forward: the store's condition). */
export interface UsageReset {
  readonly periodEnd: number;
  /** The stored usage block is quota_exceeded: the new period lifts it. */
  readonly liftQuotaBlock: boolean;
}

/** Prepaid credits bought (a paid credits checkout): added to the balance; the ledger makes it once-only. */
export interface CreditsChange {
  readonly stream: 'credits';
  readonly credits: number;
  /** The stored usage block is credits_exhausted: the top-up lifts it. */
  readonly liftCreditsBlock: boolean;
}

/** A Stripe usage alert (billing.alert.triggered): the quota is used up, for users who meter in Stripe. */
export interface UsageAlertChange {
  readonly stream: 'usageAlert';
}

export type InvoiceOutcome = 'paid' | 'payment_failed' | 'payment_action_required' | 'voided' | 'uncollectible';

export interface InvoiceChange {
  readonly stream: 'invoices';
  readonly invoiceId: string;
  readonly subscriptionId: string;
  readonly outcome: InvoiceOutcome;
  /** When the open invoice fell due: its due date, else its first charge (finalization). */
  readonly pastDueSince?: number;
  readonly paymentUrl?: string;
}

export interface EntitlementsChange {
  readonly stream: 'entitlements';
  readonly entitlements: readonly string[];
}

export interface CustomerDeletedChange {
  readonly stream: 'customer';
  readonly deleted: true;
}

export type PaymentChange = SubscriptionChange | InvoiceChange | EntitlementsChange | CustomerDeletedChange | CreditsChange | UsageAlertChange;

/** One event's effect on one customer, with its position in the stream's order. */
export interface CustomerUpdate {
  readonly customerId: string;
  readonly change: PaymentChange;
  readonly watermark: Watermark;
}

/**
 * A position in a stream: `<created, 11 digits>:<rank>:<event id>`, compared as a string (DynamoDB
 * compares strings byte-wise, so the condition expression and this module agree).
 *
 * Stripe's `created` has one-second resolution. Within one second the rank decides (the status
 * further along the lifecycle wins: a subscription created `incomplete` and made `active` in the
 * same second ends `active`); equal ranks fall back to the event id, which is arbitrary but makes
 * the outcome independent of delivery order. Rank 9 marks state re-fetched from Stripe.
 */
export interface Watermark {
  /** Written to the stream's watermark when the update applies. */
  readonly value: string;
  /** The update applies when the stored watermark is absent or sorts below this. */
  readonly applyBelow: string;
}

export const REFETCHED_RANK = 9;

/** Lifecycle precedence for same-second subscription events (higher wins). */
export const STATUS_RANK: Readonly<Record<SubscriptionStatus, number>> = {
  incomplete: 1,
  trialing: 2,
  active: 3,
  paused: 4,
  past_due: 5,
  unpaid: 6,
  incomplete_expired: 7,
  canceled: 8,
};

/** Same-second invoice events: a failure then a 3-D Secure request; settling (paid, void) ends both. */
export const INVOICE_RANK: Readonly<Record<InvoiceOutcome, number>> = {
  payment_failed: 1,
  payment_action_required: 2,
  uncollectible: 3,
  paid: 4,
  voided: 4,
};

const pad = (seconds: number): string => String(Math.max(0, Math.floor(seconds))).padStart(11, '0');

export function watermark(created: number, rank: number, eventId: string): Watermark {
  const value = `${pad(created)}:${rank}:${eventId}`;
  return { value, applyBelow: value };
}

/** For state re-fetched from Stripe: newer than every event of the same second. */
export function refetchedWatermark(created: number, eventId: string): Watermark {
  return { value: `${pad(created)}:${REFETCHED_RANK}:${eventId}`, applyBelow: pad(created + 1) };
}

/**
 * For a subscription assumed from a completed checkout (Stripe not asked): applies only while
 * nothing is known about the subscription, and sorts below every real event of it.
 */
export function assumedWatermark(eventId: string): Watermark {
  return { value: `${pad(0)}:0:${eventId}`, applyBelow: '0' };
}

/** The second a stored watermark was written for (undefined for a malformed value). */
export function watermarkSecond(value: string): number | undefined {
  const match = /^(\d{11}):/.exec(value);
  return match ? Number(match[1]) : undefined;
}

export function rankOf(change: PaymentChange): number {
  switch (change.stream) {
    case 'subscription':
      return STATUS_RANK[change.status];
    case 'invoices':
      return INVOICE_RANK[change.outcome];
    default:
      return 0;
  }
}

/** The stored watermark of the change's stream. */
export function watermarkOf(state: CustomerRecord | undefined, change: PaymentChange): string | undefined {
  switch (change.stream) {
    case 'subscription':
      return state?.subscriptions[change.subscriptionId]?.watermark;
    case 'invoices':
      return state?.invoices[change.subscriptionId]?.watermark;
    case 'entitlements':
      return state?.entitlementsWatermark;
    case 'customer':
      return state?.customerWatermark;
    // Additive or idempotent on their own: the event ledger applies each event once, in any order.
    case 'credits':
    case 'usageAlert':
      return undefined;
  }
}

/** Entries an applied update removes because no stale event of theirs can arrive any more. */
export interface Forgettable {
  readonly subscriptions: readonly string[];
  readonly invoices: readonly string[];
}

const NOTHING: Forgettable = { subscriptions: [], invoices: [] };
const secondOf = (value: string): number => watermarkSecond(value) ?? 0;

/**
 * Terminal subscriptions whose last event is older than the horizon, but the newest of them (kept so a
 * customer who left still gets `subscription_canceled`), and invoice entries of no tracked subscription
 * older than it. Never the updated subscription's own entries.
 */
export function forgettable(state: CustomerRecord | undefined, update: CustomerUpdate, now: Date): Forgettable {
  const { change } = update;
  if (state === undefined || (change.stream !== 'subscription' && change.stream !== 'invoices')) return NOTHING;
  const horizon = Math.floor(now.getTime() / 1000) - ITEM_LIMITS.forgetAfterSeconds;
  const terminal = Object.entries(state.subscriptions)
    .filter(([, entry]) => isTerminal(entry.status))
    .sort(([, a], [, b]) => (a.watermark < b.watermark ? 1 : -1));
  const subscriptions = terminal
    .slice(1)
    .filter(([id, entry]) => id !== change.subscriptionId && secondOf(entry.watermark) < horizon)
    .map(([id]) => id);
  const invoices = Object.entries(state.invoices)
    .filter(([id]) => id !== change.subscriptionId && (state.subscriptions[id] === undefined || subscriptions.includes(id)))
    .filter(([, entry]) => secondOf(entry.watermark) < horizon)
    .map(([id]) => id);
  return { subscriptions, invoices };
}

export type ApplyVerdict = 'apply' | 'stale' | 'full';

/**
 * Whether a change applies on top of a state: the rule the store's condition expression states (the
 * store never evaluates it in code before writing; the in-memory store and the tests do). `full`: a new
 * subscription would exceed ITEM_LIMITS.trackedSubscriptions.
 */
export function verdict(state: CustomerRecord | undefined, update: CustomerUpdate, now: Date): ApplyVerdict {
  const { change } = update;
  if (change.stream === 'subscription' || change.stream === 'invoices') {
    const subscription = state?.subscriptions[change.subscriptionId];
    const revives = change.stream === 'invoices' || !isTerminal(change.status);
    if (subscription !== undefined && isTerminal(subscription.status) && revives) return 'stale';
  }
  const current = watermarkOf(state, change);
  if (current !== undefined && !(current < update.watermark.applyBelow)) return 'stale';
  const forget = forgettable(state, update, now);
  const limit = ITEM_LIMITS.trackedSubscriptions;
  if (change.stream === 'subscription' && current === undefined && Object.keys(state?.subscriptions ?? {}).length - forget.subscriptions.length >= limit) {
    return 'full';
  }
  if (change.stream === 'invoices' && current === undefined && Object.keys(state?.invoices ?? {}).length - forget.invoices.length >= limit) {
    return 'full';
  }
  return 'apply';
}

/** The entry an applied subscription change stores. */
export function subscriptionEntry(change: SubscriptionChange, watermarkValue: string): SubscriptionEntry {
  const { stream: _stream, subscriptionId: _id, enteredPastDue: _entered, usageReset: _reset, ...fields } = change;
  return { ...fields, watermark: watermarkValue };
}

/** The entry an applied invoice change stores: what the open invoice asks for, nothing once it is settled. */
export function invoiceEntry(change: InvoiceChange, watermarkValue: string): InvoiceEntry {
  const open = change.outcome === 'payment_failed' || change.outcome === 'payment_action_required';
  return {
    invoiceId: change.invoiceId,
    watermark: watermarkValue,
    ...(open && change.pastDueSince !== undefined ? { pastDueSince: change.pastDueSince } : {}),
    ...(change.outcome === 'payment_action_required' ? { paymentActionRequired: true } : {}),
    ...(open && change.paymentUrl !== undefined ? { paymentUrl: change.paymentUrl } : {}),
  };
}

/** What an applied update writes, as item paths: the store states it as one UpdateItem, `project` in memory. */
export interface Writes {
  readonly set: ReadonlyArray<readonly [path: readonly string[], value: unknown]>;
  /** Set only when nothing is stored there yet. */
  readonly setIfAbsent: ReadonlyArray<readonly [path: readonly string[], value: unknown]>;
  readonly remove: ReadonlyArray<readonly string[]>;
  /** Numbers added atomically (DynamoDB ADD). */
  readonly add?: ReadonlyArray<readonly [path: readonly string[], value: number]>;
}

export function writesFor(update: CustomerUpdate, forget: Forgettable, now: Date): Writes {
  const { change } = update;
  const set: Array<readonly [readonly string[], unknown]> = [[['updatedAt'], now.toISOString()]];
  const setIfAbsent: Array<readonly [readonly string[], unknown]> = [];
  const add: Array<readonly [readonly string[], number]> = [];
  const remove: Array<readonly string[]> = [
    ...forget.subscriptions.map((id) => ['subscriptions', id]),
    ...forget.invoices.map((id) => ['invoices', id]),
  ];
  switch (change.stream) {
    case 'subscription': {
      const id = change.subscriptionId;
      set.push([['subscriptions', id], subscriptionEntry(change, update.watermark.value)]);
      const since = watermarkSecond(update.watermark.value) ?? 0;
      if (change.status !== 'past_due') remove.push(['pastDue', id]);
      else if (change.enteredPastDue === true) set.push([['pastDue', id], since]);
      else setIfAbsent.push([['pastDue', id], since]);
      if (isTerminal(change.status) && !forget.invoices.includes(id)) remove.push(['invoices', id]);
      if (change.usageReset !== undefined) {
        set.push([['usagePeriodEnd'], change.usageReset.periodEnd], [['periodUsed'], 0]);
        if (change.usageReset.liftQuotaBlock) remove.push(['usageBlock']);
      }
      break;
    }
    case 'credits':
      add.push([['credits'], change.credits]);
      if (change.liftCreditsBlock) remove.push(['usageBlock']);
      break;
    case 'usageAlert':
      set.push([['usageBlock'], 'quota_exceeded'], [['usageUpdatedAt'], now.toISOString()]);
      break;
    case 'invoices':
      set.push([['invoices', change.subscriptionId], invoiceEntry(change, update.watermark.value)]);
      break;
    case 'entitlements':
      set.push([['entitlements'], [...new Set(change.entitlements)].sort()], [['entitlementsWatermark'], update.watermark.value]);
      break;
    case 'customer':
      set.push([['deleted'], true], [['customerWatermark'], update.watermark.value]);
      break;
  }
  return { set, setIfAbsent, remove, add };
}

/** The state after a change (or the same state when it does not apply), as the store's update leaves it. */
export function project(state: CustomerRecord | undefined, customerId: string, update: CustomerUpdate, now: Date): CustomerRecord {
  const base: CustomerRecord = state ?? { customerId, subscriptions: {}, invoices: {}, pastDue: {} };
  if (verdict(state, update, now) !== 'apply') return base;
  const { apiKeys: _keys, ...rest } = base;
  const item: Record<string, unknown> = { ...rest, subscriptions: { ...base.subscriptions }, invoices: { ...base.invoices }, pastDue: { ...base.pastDue } };
  const writes = writesFor(update, forgettable(state, update, now), now);
  const parentOf = (path: readonly string[]): Record<string, unknown> => (path.length === 1 ? item : (item[path[0]!] as Record<string, unknown>));
  for (const path of writes.remove) delete parentOf(path)[path.at(-1)!];
  for (const [path, value] of writes.set) parentOf(path)[path.at(-1)!] = value;
  for (const [path, value] of writes.setIfAbsent) parentOf(path)[path.at(-1)!] ??= value;
  for (const [path, value] of writes.add ?? []) parentOf(path)[path.at(-1)!] = ((parentOf(path)[path.at(-1)!] as number | undefined) ?? 0) + value;
  return { ...decodeCustomerItem(item), ...(base.apiKeys === undefined ? {} : { apiKeys: base.apiKeys }) };
}
