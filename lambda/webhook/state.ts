import type { CustomerRecord, SubscriptionStatus } from '../shared/model';

/**
 * How a Stripe event changes a customer's payment state, as plain data, and the ordering rule.
 *
 * The customer item is written by four independent streams. Each stream owns its attributes
 * outright and overwrites all of them on every applied event, and each stream is ordered by its own
 * watermark, so the final state does not depend on the order Stripe delivers events in:
 *
 * | stream        | events                                               | attributes it owns                                        | watermark          |
 * |---------------|------------------------------------------------------|-----------------------------------------------------------|--------------------|
 * | subscription  | customer.subscription.*, checkout.session.completed  | subscriptionId/Status, plan, cancelAtPeriodEnd, currentPeriodEnd, subscriptionOrder | `wm_<subId>` |
 * | invoices      | invoice.paid / payment_failed / payment_action_required | pastDueSince, paymentActionRequired, paymentUrl        | `wm_invoices`      |
 * | entitlements  | entitlements.active_entitlement_summary.updated      | entitlements                                              | `wm_entitlements`  |
 * | customer      | customer.deleted                                     | deleted                                                   | `wm_customer`      |
 *
 * A customer has one tracked subscription: the newest by Stripe's `created` (then id). Events of an
 * older subscription never overwrite a newer one's state.
 */

export interface SubscriptionChange {
  readonly stream: 'subscription';
  readonly subscriptionId: string;
  readonly status: SubscriptionStatus;
  readonly plan?: string;
  readonly cancelAtPeriodEnd: boolean;
  readonly currentPeriodEnd?: number;
  /** The subscription's own `created` (epoch s): the newest subscription is the customer's. */
  readonly subscriptionCreated: number;
}

export type InvoiceOutcome = 'paid' | 'payment_failed' | 'payment_action_required';

export interface InvoiceChange {
  readonly stream: 'invoices';
  readonly invoiceId: string;
  readonly subscriptionId: string;
  readonly outcome: InvoiceOutcome;
  /** Start of the delinquency: when the invoice was first charged (its finalization). */
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

export type PaymentChange = SubscriptionChange | InvoiceChange | EntitlementsChange | CustomerDeletedChange;

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
  /** Written to the stream's watermark attribute when the update applies. */
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

/** Same-second invoice events: a failure then a 3-D Secure request, and payment settles both. */
export const INVOICE_RANK: Readonly<Record<InvoiceOutcome, number>> = {
  payment_failed: 1,
  payment_action_required: 2,
  paid: 3,
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

/** The attribute holding a stream's watermark on the customer item. */
export function watermarkAttribute(change: PaymentChange): string {
  switch (change.stream) {
    case 'subscription':
      return `wm_${change.subscriptionId}`;
    case 'invoices':
      return 'wm_invoices';
    case 'entitlements':
      return 'wm_entitlements';
    case 'customer':
      return 'wm_customer';
  }
}

/** Orders subscriptions: the newest by created, then id, is the customer's subscription. */
export function subscriptionOrder(change: SubscriptionChange): string {
  return `${pad(change.subscriptionCreated)}:${change.subscriptionId}`;
}

/** The payment state as the webhook sees it: the record plus the ordering attributes. */
export interface PaymentState extends Omit<CustomerRecord, 'apiKeys'> {
  readonly watermarks: Readonly<Record<string, string>>;
  readonly subscriptionOrder?: string;
}

export type AttributeValue = string | number | boolean | readonly string[];

/** The attributes an applied change writes (SET) and removes (REMOVE). */
export interface AttributeWrites {
  readonly set: Readonly<Record<string, AttributeValue>>;
  readonly remove: readonly string[];
}

function split(values: Record<string, AttributeValue | undefined>): AttributeWrites {
  const set: Record<string, AttributeValue> = {};
  const remove: string[] = [];
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined) remove.push(name);
    else set[name] = value;
  }
  return { set, remove };
}

/** What applying a change writes: every attribute its stream owns, set or removed. */
export function attributeWrites(update: CustomerUpdate, now: Date): AttributeWrites {
  const { change } = update;
  const common = { [watermarkAttribute(change)]: update.watermark.value, updatedAt: now.toISOString() };
  switch (change.stream) {
    case 'subscription':
      return split({
        ...common,
        subscriptionId: change.subscriptionId,
        subscriptionStatus: change.status,
        plan: change.plan,
        cancelAtPeriodEnd: change.cancelAtPeriodEnd,
        currentPeriodEnd: change.currentPeriodEnd,
        subscriptionOrder: subscriptionOrder(change),
      });
    case 'invoices':
      return split({
        ...common,
        pastDueSince: change.outcome === 'paid' ? undefined : change.pastDueSince,
        paymentActionRequired: change.outcome === 'payment_action_required' ? true : undefined,
        paymentUrl: change.outcome === 'paid' ? undefined : change.paymentUrl,
      });
    case 'entitlements':
      return split({ ...common, entitlements: [...new Set(change.entitlements)].sort() });
    case 'customer':
      return split({ ...common, deleted: true });
  }
}

export type ApplyVerdict = 'apply' | 'stale';

/**
 * Whether a change applies on top of a state: the same rule the store's condition expression
 * states (the store never evaluates it in code; the in-memory store and the tests do).
 */
export function verdict(state: PaymentState | undefined, update: CustomerUpdate): ApplyVerdict {
  const current = state?.watermarks[watermarkAttribute(update.change)];
  if (current !== undefined && !(current < update.watermark.applyBelow)) return 'stale';
  const { change } = update;
  if (change.stream === 'subscription' && state?.subscriptionId !== undefined && state.subscriptionId !== change.subscriptionId) {
    if (state.subscriptionOrder !== undefined && !(state.subscriptionOrder < subscriptionOrder(change))) return 'stale';
  }
  return 'apply';
}

/** The state after a change (or the same state when it is stale). */
export function project(state: PaymentState | undefined, customerId: string, update: CustomerUpdate, now: Date): PaymentState {
  const base: PaymentState = state ?? { customerId, watermarks: {} };
  if (verdict(state, update) === 'stale') return base;
  const writes = attributeWrites(update, now);
  const next: Record<string, unknown> = { ...base, watermarks: { ...base.watermarks } };
  const watermarks = next.watermarks as Record<string, string>;
  for (const name of writes.remove) delete next[name];
  for (const [name, value] of Object.entries(writes.set)) {
    if (name.startsWith('wm_')) watermarks[name] = value as string;
    else next[name] = value;
  }
  return next as unknown as PaymentState;
}

/**
 * What the authorizer's decision (and its cached 402 body) depends on. A change that leaves this
 * unchanged (a renewal: new period end, same status and plan) needs no cache flush.
 */
export function accessSignature(state: Partial<PaymentState> | undefined): string {
  return JSON.stringify([
    state?.subscriptionStatus ?? null,
    state?.plan ?? null,
    state?.entitlements ? [...state.entitlements].sort() : null,
    state?.pastDueSince ?? null,
    state?.paymentActionRequired ?? null,
    state?.paymentUrl ?? null,
    state?.deleted ?? null,
    state?.usageBlock ?? null,
    // The period end matters only to a subscription set to cancel (access runs until then): a plain
    // renewal moves it and must not flush.
    state?.cancelAtPeriodEnd === true ? (state.currentPeriodEnd ?? null) : null,
  ]);
}
