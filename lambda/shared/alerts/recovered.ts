import type { PaymentChange } from '../customers/changes';
import type { PaymentReason } from '../problems';

/**
 * payment_recovered (docs/alerts.md): 402 → paid → first 2xx, for every payment the webhook sees.
 *
 *   402 → paid        the webhook, which evaluates the authorizer's decision on the state before and after
 *                     each event (webhook/recovery.ts liftedDenial), finds the payment that lifted a
 *                     refusal and writes a marker on the customer item (`paymentRecovery`) in the same
 *                     UpdateItem as the change itself: no request of its own
 *   paid → first 2xx  metering reads the item for every customer it counts; at the customer's first counted
 *                     2xx after the payment it removes the marker and puts the alert's item in one
 *                     transaction (lambda/metering/recovered.ts): the one that removes it fires it, once
 *
 * Only a payment that lifts a refusal counts (recoveryOf): a renewal in good standing lifts nothing, a
 * first subscription is a sale, not a recovery, and a new period that ends a quota block was not paid for.
 */

/** How the refusal was paid off: the change that lifted it. */
export type RecoveryVia = 'invoice' | 'subscription' | 'credits';

/** `paymentRecovery` on the customer item. Times in epoch ms. */
export interface PaymentRecoveryMarker {
  /** The Stripe event that restored access: the alert's key (one recovery, one alert). */
  readonly eventId: string;
  /** Its type (`invoice.paid`, `customer.subscription.updated`, `checkout.session.completed`, …). */
  readonly eventType: string;
  readonly via: RecoveryVia;
  /** The 402 the customer was answered before it. */
  readonly reason: PaymentReason;
  /** The event's `created`: when Stripe recorded the payment. */
  readonly paidAt: number;
  /** When the webhook applied it: calls from then on are no longer refused. */
  readonly restoredAt: number;
}

/**
 * Refusals a payment can end. Not `no_subscription` (a first purchase is a sale), `upgrade_required` (a
 * plan change) or `budget_exceeded` (the customer's own cap, raised in the portal, not paid off).
 */
const RECOVERABLE: ReadonlySet<PaymentReason> = new Set<PaymentReason>(['payment_failed', 'payment_action_required', 'subscription_canceled', 'trial_ended', 'credits_exhausted', 'quota_exceeded']);

/** The payment a change is, if it is one: an invoice paid, a subscription (re)activated, credits bought. */
function viaOf(change: PaymentChange): RecoveryVia | undefined {
  switch (change.stream) {
    case 'invoices':
      return change.outcome === 'paid' ? 'invoice' : undefined;
    case 'subscription':
      return change.status === 'active' || change.status === 'trialing' ? 'subscription' : undefined;
    case 'credits':
      return 'credits';
    default:
      return undefined;
  }
}

/**
 * The marker a change writes, or undefined: `lifted` is the 402 reason the change ends (liftedDenial of the
 * state before and after it). A quota block counts only when credits paid it off: a renewal that starts a
 * new period lifts it without a payment.
 */
export function recoveryOf(change: PaymentChange, lifted: PaymentReason | undefined, event: { readonly id: string; readonly type: string; readonly created: number }, appliedAt: Date): PaymentRecoveryMarker | undefined {
  if (lifted === undefined || !RECOVERABLE.has(lifted)) return undefined;
  const via = viaOf(change);
  if (via === undefined || (lifted === 'quota_exceeded' && via !== 'credits')) return undefined;
  return { eventId: event.id, eventType: event.type, via, reason: lifted, paidAt: event.created * 1000, restoredAt: appliedAt.getTime() };
}

export const isRecoveryVia = (v: unknown): v is RecoveryVia => v === 'invoice' || v === 'subscription' || v === 'credits';
