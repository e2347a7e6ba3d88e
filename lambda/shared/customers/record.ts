import type { BudgetRecord } from '../budgets';
import type { AgentPaymentMarker } from '../agents/first-call';
import type { PaymentRecoveryMarker } from '../alerts/recovered';
import type { CreditGrant } from '../credit-grants';
import type { TopUp } from './top-up';
import type { Draft } from '../draft';

/**
 * The customer record: what tollgate keeps per Stripe customer (one DynamoDB item, see item.ts for its
 * attributes). Plain data and the pure rules on it; no SDK imports.
 */

/** Stripe subscription statuses (https://docs.stripe.com/api/subscriptions/object#subscription_object-status). */
export const SUBSCRIPTION_STATUSES = [
  'active',
  'trialing',
  'past_due',
  'unpaid',
  'canceled',
  'incomplete',
  'incomplete_expired',
  'paused',
] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];

export function isSubscriptionStatus(value: unknown): value is SubscriptionStatus {
  return typeof value === 'string' && (SUBSCRIPTION_STATUSES as readonly string[]).includes(value);
}

/** Stripe never moves a subscription out of these: every later event of it is stale. */
export const TERMINAL_STATUSES = ['canceled', 'incomplete_expired'] as const satisfies readonly SubscriptionStatus[];
export const isTerminal = (status: SubscriptionStatus): boolean => (TERMINAL_STATUSES as readonly string[]).includes(status);

/** Usage limits a metered plan can hit; set on the customer by the user's metering. */
export const USAGE_BLOCKS = ['credits_exhausted', 'quota_exceeded'] as const;
export type UsageBlock = (typeof USAGE_BLOCKS)[number];

/** An API key as stored: never the key itself, only its SHA-256. */
export interface ApiKeyRecord {
  /** SHA-256 (hex) of the whole key string. */
  readonly hash: string;
  /** A name for people ("ci", "mobile app"). */
  readonly name?: string;
  /** ISO-8601 times. */
  readonly createdAt: string;
  readonly expiresAt?: string;
  readonly revokedAt?: string;
  /** Set on the old key when it is rotated: the key that replaces it. */
  readonly replacedBy?: string;
}

export type ApiKeyState = 'active' | 'revoked' | 'expired';

/** The one key-validity rule: the authorizer authenticates with it, key management lists and prunes with it. */
export function keyState(record: ApiKeyRecord, now: Date): ApiKeyState {
  if (record.revokedAt !== undefined) return 'revoked';
  if (record.expiresAt !== undefined && Date.parse(record.expiresAt) <= now.getTime()) return 'expired';
  return 'active';
}

/** One subscription as its own events last showed it (customer.subscription.*, checkout). */
export interface SubscriptionEntry {
  readonly status: SubscriptionStatus;
  /** The plan: the price's lookup key, else its id. */
  readonly plan?: string;
  readonly cancelAtPeriodEnd?: boolean;
  /** Epoch seconds: when the current billing period began (shown to callers; decides nothing). */
  readonly currentPeriodStart?: number;
  /** Epoch seconds. */
  readonly currentPeriodEnd?: number;
  /** Position of the last applied event of this subscription (webhook/state.ts). */
  readonly watermark: string;
  /** The Stripe customer who pays for it, when another than this one (a Payment Link's, webhook/checkout-link.ts): its overage is reported to it. */
  readonly payer?: string;
}

/** A linked payer's entitlements (Stripe keeps them per customer: the payer's, not this one's). */
export interface PayerEntitlements {
  readonly entitlements: readonly string[];
  /** Position of the last applied entitlements event of the payer. */
  readonly watermark: string;
}

/**
 * One subscription's usage counter (`periodUsage.<subscription id>`): what metering counted in the
 * period that ends at `periodEnd`, and the period before it, kept for units logged after a renewal.
 */
export interface PeriodUsageEntry {
  /** Units counted in the period that ends at `periodEnd`. */
  readonly used: number;
  /** Epoch seconds. Another period end than the subscription's: used = 0. */
  readonly periodEnd: number;
  /** Epoch seconds: the start of that period, when known. */
  readonly periodStart?: number;
  /** The plan the units were counted under. */
  readonly plan?: string;
  /** The period before (epoch s) and its count. */
  readonly prevEnd?: number;
  readonly prevUsed?: number;
}

/** A subscription's latest invoice event (invoice.* events name their subscription). */
export interface InvoiceEntry {
  readonly invoiceId: string;
  /** Position of the last applied invoice event of this subscription. */
  readonly watermark: string;
  /** Epoch seconds: when the open invoice fell due (its due date, else its first charge). Absent once settled. */
  readonly pastDueSince?: number;
  /** The open invoice needs the customer to act (3-D Secure, bank authentication). */
  readonly paymentActionRequired?: boolean;
  /** Where the customer can pay the open invoice: its hosted_invoice_url. */
  readonly paymentUrl?: string;
}

/**
 * Everything tollgate keeps per Stripe customer. The budget fields (budgets, budgetLeft, budgetLeftByKey:
 * lambda/shared/budgets.ts) are stored on the wallet item, not the customer item: the readers merge them
 * in (wallet.ts withWallet).
 */
export interface CustomerRecord extends BudgetRecord {
  readonly customerId: string;
  /** By subscription id: every subscription the customer holds, and terminal ones until they are forgotten. */
  readonly subscriptions: Readonly<Record<string, SubscriptionEntry>>;
  /** By subscription id. */
  readonly invoices: Readonly<Record<string, InvoiceEntry>>;
  /** By subscription id: the first moment its events showed the current `past_due` spell (epoch s). */
  readonly pastDue: Readonly<Record<string, number>>;
  /** Active Stripe entitlement lookup keys (Stripe keeps them per customer, not per subscription). */
  readonly entitlements?: readonly string[];
  readonly entitlementsWatermark?: string;
  /**
   * By payer customer id: the entitlements of customers who pay for a subscription of this one (a
   * Payment Link's). They count while a subscription that payer pays for is in good standing.
   */
  readonly payerEntitlements?: Readonly<Record<string, PayerEntitlements>>;
  readonly usageBlock?: UsageBlock;
  readonly usageUpdatedAt?: string;
  /**
   * Prepaid balance in units: absent, the customer never had credits; 0, used up. Topped up by a paid
   * credits checkout (webhook) or `credits grant`; drawn by metering (log-based) and by strict routes
   * (the authorizer's conditional write, which never takes it below 0;
   * log-based metering may, by the calls that got through before the block). ≤ 0: exhausted.
   */
  readonly credits?: number;
  /**
   * By subscription id: each subscription's own usage counter. Absent on an item of an older tollgate,
   * whose one counter is the flat attributes below (read as the counter of the subscription whose
   * period it counts; the first write of metering moves it into this map).
   */
  readonly periodUsage?: Readonly<Record<string, PeriodUsageEntry>>;
  /** Legacy (before `periodUsage`): units counted in the billing period that ends at `usagePeriodEnd`. */
  readonly periodUsed?: number;
  /** Epoch seconds: the end of the period `periodUsed` counts. Another period end than the subscription's: used = 0. */
  readonly usagePeriodEnd?: number;
  /** The period before `usagePeriodEnd` (epoch s), kept when a renewal moves the counter on: units logged late are counted against it. */
  readonly prevPeriodEnd?: number;
  /** Units counted in the period that ended at `prevPeriodEnd`. */
  readonly prevPeriodUsed?: number;
  /** The newest usage window (epoch s, lambda/metering/window.ts) metering has counted: a window is counted once per customer. */
  readonly meteredWindow?: number;
  /**
   * An agent's payment not yet followed by a counted 2xx (lambda/shared/agents/first-call.ts): the purchase
   * route sets it, metering removes it (once, conditionally) when it counts the customer's first call after it.
   */
  readonly agentPayment?: AgentPaymentMarker;
  /** Auto top-up: the pack, threshold and saved card the customer chose, and its charge's state (top-up.ts). */
  readonly topUp?: TopUp;
  /**
   * A payment that lifted a 402, not yet followed by a counted 2xx (lambda/shared/alerts/recovered.ts): the
   * webhook sets it with the change, metering removes it (once, conditionally) and fires payment_recovered.
   */
  readonly paymentRecovery?: PaymentRecoveryMarker;
  /** customer.deleted was received. */
  readonly deleted?: boolean;
  readonly customerWatermark?: string;
  /** ISO-8601 time of the last change applied from Stripe. */
  readonly updatedAt?: string;
  /** By key id. */
  readonly apiKeys?: Readonly<Record<string, ApiKeyRecord>>;
  /** Bumped by every key write: key creation is conditional on it, so a key cap cannot be raced past. */
  readonly keysVersion?: number;
  /** The credit grants, in draw order: on the wallet item, merged in by the readers (wallet.ts withWallet). */
  readonly grants?: readonly CreditGrant[];
  /** With grants: the wallet's stored balance (`credits` is what it may spend: less what expired grants hold). */
  readonly walletBalance?: number;
}

/** One subscription with what its invoices add, as a decision needs it. */
export interface Subscription {
  readonly id: string;
  readonly status: SubscriptionStatus;
  readonly plan?: string;
  readonly cancelAtPeriodEnd: boolean;
  readonly currentPeriodStart?: number;
  readonly currentPeriodEnd?: number;
  /** Start of the grace period: the earliest known moment of this delinquency (past_due only). */
  readonly pastDueSince?: number;
  readonly paymentActionRequired: boolean;
  readonly paymentUrl?: string;
}

/** The customer's subscriptions, by id. Built field by field (no conditional spreads): every decision reads them. */
export function subscriptionsOf(record: Pick<CustomerRecord, 'subscriptions' | 'invoices' | 'pastDue'>): Subscription[] {
  return Object.keys(record.subscriptions)
    .sort()
    .map((id) => {
      const entry = record.subscriptions[id]!;
      const invoice = record.invoices[id];
      const subscription: Draft<Subscription> = { id, status: entry.status };
      if (entry.plan !== undefined) subscription.plan = entry.plan;
      subscription.cancelAtPeriodEnd = entry.cancelAtPeriodEnd === true;
      if (entry.currentPeriodStart !== undefined) subscription.currentPeriodStart = entry.currentPeriodStart;
      if (entry.currentPeriodEnd !== undefined) subscription.currentPeriodEnd = entry.currentPeriodEnd;
      if (entry.status === 'past_due') {
        const starts = [record.pastDue[id], invoice?.pastDueSince].filter((t): t is number => t !== undefined);
        if (starts.length > 0) subscription.pastDueSince = Math.min(...starts);
      }
      subscription.paymentActionRequired = invoice?.paymentActionRequired === true;
      if (invoice?.paymentUrl !== undefined) subscription.paymentUrl = invoice.paymentUrl;
      return subscription as Subscription;
    });
}
