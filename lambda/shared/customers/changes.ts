import type { CustomerAttribute } from './item';
import type { SubscriptionEntry } from './record';
import type { PaymentRecoveryMarker } from '../alerts/recovered';

/**
 * The changes a customer's record takes, as plain data: the webhook derives them from Stripe events
 * (webhook/events.ts), orders them and says what each writes (webhook/state.ts); payment-state.ts
 * states them for DynamoDB.
 */

export interface SubscriptionChange extends Omit<SubscriptionEntry, 'watermark'> {
  readonly stream: 'subscription';
  readonly subscriptionId: string;
  /** The event shows the subscription entering past_due: its previous status was another. */
  readonly enteredPastDue?: boolean;
  /** A new billing period of a counted plan (webhook/usage.ts): a fresh period counter. */
  readonly usageReset?: UsageReset;
  /** A new billing period of any plan while the stored usage block is quota_exceeded (webhook/usage.ts): lifted. */
  readonly liftQuotaBlock?: true;
}

/**
 * The period counter moved forward to a new period (only forward: the condition of payment-state.ts):
 * the subscription's own (`entry`, `periodUsage.<id>`), or an older tollgate's one flat counter.
 */
export interface UsageReset {
  readonly periodEnd: number;
  readonly counter: 'entry' | 'flat';
}

/** Prepaid credits bought (a paid credits checkout): added to the balance; the ledger makes it once-only. */
export interface CreditsChange {
  readonly stream: 'credits';
  readonly credits: number;
  /** The stored usage block is credits_exhausted: the top-up lifts it. */
  readonly liftCreditsBlock: boolean;
  /**
   * What bought them, credited once whichever of its events says paid: a Checkout Session (completed, or
   * async payment succeeded), or an auto top-up's PaymentIntent.
   */
  readonly purchaseId?: string;
  /** An auto top-up's attempt (customers/top-up.ts): the grant settles it as paid. */
  readonly topUpAttempt?: string;
  /** The pack's lifetime (`metadata.tollgate_expires_in`): its grant expires this many seconds after it is recorded. */
  readonly expiresInSeconds?: number;
}

/** A Stripe usage alert (billing.alert.triggered): the quota is used up, for users who meter in Stripe. */
export interface UsageAlertChange {
  readonly stream: 'usageAlert';
  /** When the threshold was crossed (the alert's `created`, epoch s): the period it is about. */
  readonly triggeredAt: number;
  /**
   * The subscriptions the webhook's read saw (webhook/usage.ts): the alert applies only while none of
   * them started a period after it, the condition that ties the block to its period.
   */
  readonly knownSubscriptions?: readonly string[];
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
  /**
   * The customer whose entitlements these are, when another than the one they are applied to: a payer
   * linked through a Payment Link (webhook/checkout-link.ts), kept in `payerEntitlements.<payer>`.
   */
  readonly payer?: string;
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
  /** The change is a payment that lifted a 402 (../alerts/recovered.ts): written with it, for metering's payment_recovered. */
  readonly recovery?: PaymentRecoveryMarker;
}

/**
 * A position in a stream: `<created, 11 digits>:<rank>:<event id>`, compared as a string (DynamoDB
 * compares strings byte-wise, so the condition expression and webhook/state.ts agree).
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

/** Entries an applied update removes because no stale event of theirs can arrive any more. */
export interface Forgettable {
  readonly subscriptions: readonly string[];
  readonly invoices: readonly string[];
}

/** A path into the item: an attribute of the table, then map keys and entry fields. */
export type ItemPath = readonly [CustomerAttribute, ...string[]];

/**
 * What an applied update writes, as item paths: payment-state.ts states it as one UpdateItem
 * (`paymentStateUpdate`) and in memory (`applyWrites`).
 */
export interface Writes {
  readonly set: ReadonlyArray<readonly [path: ItemPath, value: unknown]>;
  /** Set only when nothing is stored there yet. */
  readonly setIfAbsent: ReadonlyArray<readonly [path: ItemPath, value: unknown]>;
  readonly remove: readonly ItemPath[];
  /** Numbers added atomically (DynamoDB ADD). */
  readonly add?: ReadonlyArray<readonly [path: ItemPath, value: number]>;
  /** Copies of stored values, as they were before this update (`fallback` when absent). */
  readonly copy?: ReadonlyArray<readonly [path: ItemPath, from: ItemPath, fallback: number]>;
}
