import { randomBytes } from 'node:crypto';
import type { SubscriptionStatus } from '../../lambda/shared/customers/record';

/**
 * What a test or a command says about the event it wants; every other field keeps the value of
 * Stripe's own fixtures (the ids below are theirs).
 */

export interface StripeEventOverrides {
  /** @default a fresh evt_… */
  readonly eventId?: string;
  /** Event `created`, epoch seconds. @default now */
  readonly created?: number;
  /** @default cus_QXg1o8vcGmoR32 (the fixtures' customer) */
  readonly customer?: string;
  /** @default sub_1Pgc6rB7WZ01zgkWNy0Cn5nw */
  readonly subscription?: string;
  /** Subscription `created`. @default the event's created */
  readonly subscriptionCreated?: number;
  /** Subscription status. @default per event type: active, or canceled for .deleted, paused for .paused */
  readonly status?: SubscriptionStatus;
  /** The price id. @default price_1PgafmB7WZ01zgkW6dKueIc5 */
  readonly priceId?: string;
  /** The price's lookup key (tollgate's plan name). @default none */
  readonly lookupKey?: string | null;
  /** Epoch seconds. @default created + 30 days */
  readonly currentPeriodEnd?: number;
  /** @default false */
  readonly cancelAtPeriodEnd?: boolean;
  /** Subscription update events: the status before this change (Stripe's `data.previous_attributes`). @default none */
  readonly previousStatus?: SubscriptionStatus;
  /** @default in_1Pgc6tB7WZ01zgkWu9fdqL6I */
  readonly invoice?: string;
  /** The invoice's hosted_invoice_url (the customer's payment URL). @default a stripe-like URL for unpaid invoices */
  readonly invoiceUrl?: string | null;
  /** When the invoice was finalized (first charged). @default created */
  readonly invoiceFinalizedAt?: number;
  /** The invoice's due date (send_invoice collection). @default none (charge_automatically) */
  readonly invoiceDueDate?: number;
  /** Active entitlement lookup keys. @default [] */
  readonly entitlements?: readonly string[];
  /** The summary says there are more entitlements than it lists. @default false */
  readonly entitlementsHasMore?: boolean;
  /** Checkout session id. @default a fresh cs_test_… */
  readonly checkoutSession?: string;
  /** Checkout session payment_status. @default paid */
  readonly paymentStatus?: 'paid' | 'unpaid' | 'no_payment_required';
  /** Checkout session mode. @default subscription */
  readonly checkoutMode?: 'subscription' | 'payment' | 'setup';
  /** @default false */
  readonly livemode?: boolean;
  /** A payment-mode checkout's `metadata.tollgate_credits` (units bought). @default none */
  readonly credits?: number;
  /** billing.alert.triggered: the meter's event name and the usage value that crossed the threshold. @default api_calls, 1000 */
  readonly meter?: string;
  readonly alertValue?: number;
  /** payment_intent.*: the auto top-up attempt its metadata names (tollgate_top_up). @default a fresh tu_… */
  readonly topUpAttempt?: string;
  /** payment_intent.payment_failed: Stripe's decline code. @default generic_decline */
  readonly declineCode?: string;
  /** setup_intent.succeeded: the card it saved. @default a fresh pm_… */
  readonly paymentMethod?: string;
}

export const FIXTURE_CUSTOMER = 'cus_QXg1o8vcGmoR32';
export const FIXTURE_SUBSCRIPTION = 'sub_1Pgc6rB7WZ01zgkWNy0Cn5nw';
export const FIXTURE_INVOICE = 'in_1Pgc6tB7WZ01zgkWu9fdqL6I';
export const FIXTURE_PRICE = 'price_1PgafmB7WZ01zgkW6dKueIc5';
export const DAY = 24 * 60 * 60;

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** A Stripe-style id: prefix and 24 random alphanumerics. */
export function stripeId(prefix: string): string {
  return `${prefix}_${[...randomBytes(24)].map((b) => ALPHANUMERIC[b % ALPHANUMERIC.length]).join('')}`;
}

export type Json = Record<string, unknown>;
