import type {
  CustomerUpdate,
  Forgettable,
  InvoiceChange,
  InvoiceOutcome,
  ItemPath,
  PaymentChange,
  SubscriptionChange,
  Watermark,
  Writes,
} from '../shared/customers/changes';
import { ITEM_LIMITS } from '../shared/customers/item';
import { applyWrites } from '../shared/customers/payment-state';
import { isTerminal, type CustomerRecord, type InvoiceEntry, type SubscriptionEntry, type SubscriptionStatus } from '../shared/customers/record';

/**
 * How a Stripe event changes a customer's record (the changes, as plain data: shared/customers/changes.ts),
 * and the ordering rule.
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
      return change.payer === undefined ? state?.entitlementsWatermark : state?.payerEntitlements?.[change.payer]?.watermark;
    case 'customer':
      return state?.customerWatermark;
    // Additive or idempotent on their own: the event ledger applies each event once, in any order.
    case 'credits':
    case 'usageAlert':
      return undefined;
  }
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

/** A usage alert older than the current period of a subscription: about a period that has ended (its block was lifted by the renewal). */
export const alertPredatesPeriod = (state: CustomerRecord | undefined, triggeredAt: number): boolean =>
  Object.values(state?.subscriptions ?? {}).some((s) => s.currentPeriodStart !== undefined && s.currentPeriodStart > triggeredAt);

/**
 * Whether a change applies on top of a state: the rule the update's condition expression states
 * (shared/customers/payment-state.ts). The store never evaluates it in code before writing; the
 * in-memory store and the tests do. `full`: a new subscription would exceed
 * ITEM_LIMITS.trackedSubscriptions.
 */
export function verdict(state: CustomerRecord | undefined, update: CustomerUpdate, now: Date): ApplyVerdict {
  const { change } = update;
  if (change.stream === 'subscription' || change.stream === 'invoices') {
    const subscription = state?.subscriptions[change.subscriptionId];
    const revives = change.stream === 'invoices' || !isTerminal(change.status);
    if (subscription !== undefined && isTerminal(subscription.status) && revives) return 'stale';
  }
  if (change.stream === 'usageAlert' && alertPredatesPeriod(state, change.triggeredAt)) return 'stale';
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
  const { stream: _stream, subscriptionId: _id, enteredPastDue: _entered, usageReset: _reset, liftQuotaBlock: _lift, ...fields } = change;
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

/** What an applied update writes: the store states it as one UpdateItem, `project` in memory. */
export function writesFor(update: CustomerUpdate, forget: Forgettable, now: Date): Writes {
  const { change } = update;
  const set: Array<readonly [ItemPath, unknown]> = [[['updatedAt'], now.toISOString()]];
  const setIfAbsent: Array<readonly [ItemPath, unknown]> = [];
  const copy: Array<readonly [ItemPath, ItemPath, number]> = [];
  const add: Array<readonly [ItemPath, number]> = [];
  const remove: ItemPath[] = [
    ...forget.subscriptions.map((id): ItemPath => ['subscriptions', id]),
    ...forget.invoices.map((id): ItemPath => ['invoices', id]),
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
      if (change.usageReset?.counter === 'entry') {
        const entry = ['periodUsage', id] as const;
        set.push([[...entry, 'periodEnd'], change.usageReset.periodEnd], [[...entry, 'used'], 0]);
        if (change.plan !== undefined) set.push([[...entry, 'plan'], change.plan]);
        // The closing period's count stays: units of it logged after the renewal are counted against it.
        copy.push([[...entry, 'prevEnd'], [...entry, 'periodEnd'], 0], [[...entry, 'prevUsed'], [...entry, 'used'], 0]);
      } else if (change.usageReset !== undefined) {
        set.push([['usagePeriodEnd'], change.usageReset.periodEnd], [['periodUsed'], 0]);
        copy.push([['prevPeriodEnd'], ['usagePeriodEnd'], 0], [['prevPeriodUsed'], ['periodUsed'], 0]);
      }
      if (change.liftQuotaBlock === true) remove.push(['usageBlock']);
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
      if (change.payer !== undefined) set.push([['payerEntitlements', change.payer], { entitlements: [...new Set(change.entitlements)].sort(), watermark: update.watermark.value }]);
      else set.push([['entitlements'], [...new Set(change.entitlements)].sort()], [['entitlementsWatermark'], update.watermark.value]);
      break;
    case 'customer':
      set.push([['deleted'], true], [['customerWatermark'], update.watermark.value]);
      break;
  }
  if (update.recovery !== undefined) set.push([['paymentRecovery'], update.recovery]);
  return { set, setIfAbsent, remove, add, ...(copy.length === 0 ? {} : { copy }) };
}

/** The state after a change (or the same state when it does not apply), as the store's update leaves it. */
export function project(state: CustomerRecord | undefined, customerId: string, update: CustomerUpdate, now: Date): CustomerRecord {
  const base: CustomerRecord = state ?? { customerId, subscriptions: {}, invoices: {}, pastDue: {} };
  if (verdict(state, update, now) !== 'apply') return base;
  return applyWrites(base, writesFor(update, forgettable(state, update, now), now));
}
