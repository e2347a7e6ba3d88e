/**
 * The payment state tollgate keeps per Stripe customer, shared by the authorizer (reads it),
 * the webhook (writes it) and the tooling (CLI, local run). Plain data: no SDK imports here.
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

/** Why a request is answered 402. Stable and machine-readable: clients switch on these. */
export const PAYMENT_REASONS = [
  'no_subscription',
  'subscription_canceled',
  'payment_failed',
  'payment_action_required',
  'trial_ended',
  'upgrade_required',
  'credits_exhausted',
  'quota_exceeded',
] as const;
export type PaymentReason = (typeof PAYMENT_REASONS)[number];

/** Usage limits a metered plan can hit; set on the customer by the user's metering. */
export type UsageBlock = 'credits_exhausted' | 'quota_exceeded';

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

/**
 * One item per Stripe customer in the customers table. The customer's API keys live in the same
 * item (map `apiKeys`, keyed by key id) so that an authorizer decision is one GetItem.
 */
export interface CustomerRecord {
  readonly customerId: string;
  readonly subscriptionId?: string;
  /** Absent: the customer has no subscription (yet). */
  readonly subscriptionStatus?: SubscriptionStatus;
  /** The plan: the price's lookup key, else its id. */
  readonly plan?: string;
  readonly cancelAtPeriodEnd?: boolean;
  /** Epoch seconds. */
  readonly currentPeriodEnd?: number;
  /** Epoch seconds of the failed payment that started the current delinquency (grace period start). */
  readonly pastDueSince?: number;
  /** An open invoice needs the customer to act (3-D Secure, bank authentication). */
  readonly paymentActionRequired?: boolean;
  /** Where the customer can pay: the failing invoice's hosted_invoice_url. */
  readonly paymentUrl?: string;
  /** Active Stripe entitlement lookup keys. */
  readonly entitlements?: readonly string[];
  readonly usageBlock?: UsageBlock;
  /** customer.deleted was received. */
  readonly deleted?: boolean;
  readonly apiKeys?: Readonly<Record<string, ApiKeyRecord>>;
  /** ISO-8601 time of the last change applied from Stripe. */
  readonly updatedAt?: string;
}
