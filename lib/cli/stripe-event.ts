import { randomBytes } from 'node:crypto';
import Stripe from 'stripe';
import { isSubscriptionStatus, type SubscriptionStatus } from '../../lambda/shared/model';

/**
 * Realistic Stripe events (shapes of API 2026-07-29.dahlia: the period on subscription items, an
 * invoice's subscription under parent.subscription_details) for `tollgate events send` and the demo
 * seed, signed with the Stripe SDK as Stripe signs them.
 */

export const SENDABLE_EVENT_TYPES = [
  'customer.subscription.created',
  'customer.subscription.updated',
  'customer.subscription.deleted',
  'customer.subscription.paused',
  'customer.subscription.resumed',
  'invoice.paid',
  'invoice.payment_failed',
  'invoice.payment_action_required',
  'entitlements.active_entitlement_summary.updated',
  'customer.deleted',
] as const;
export type SendableEventType = (typeof SENDABLE_EVENT_TYPES)[number];

export const isSendableEventType = (value: string): value is SendableEventType => (SENDABLE_EVENT_TYPES as readonly string[]).includes(value);

export const EVENT_API_VERSION = '2026-07-29.dahlia';

export interface EventSpec {
  readonly type: SendableEventType;
  readonly customerId: string;
  /** Subscription events. @default active (canceled for .deleted, paused for .paused) */
  readonly status?: SubscriptionStatus;
  /** @default sub_<customer id without cus_> */
  readonly subscriptionId?: string;
  /** The price's lookup key. @default "pro" */
  readonly plan?: string;
  /** Entitlement summary: the active feature lookup keys. @default [] */
  readonly entitlements?: readonly string[];
  /** Invoice events: the hosted invoice page. */
  readonly paymentUrl?: string;
  /** Epoch seconds. @default now */
  readonly created?: number;
  /** @default a random evt_local_… */
  readonly id?: string;
}

export class EventSpecError extends Error {
  override readonly name = 'EventSpecError';
}

const DAY = 24 * 60 * 60;
const suffix = (customerId: string): string => customerId.replace(/^cus_/, '');

function defaultStatus(type: SendableEventType): SubscriptionStatus {
  if (type === 'customer.subscription.deleted') return 'canceled';
  if (type === 'customer.subscription.paused') return 'paused';
  return 'active';
}

export function buildStripeEvent(spec: EventSpec, now: Date = new Date()): Record<string, unknown> {
  const created = spec.created ?? Math.floor(now.getTime() / 1000);
  const subscriptionId = spec.subscriptionId ?? `sub_${suffix(spec.customerId)}`;
  if (spec.status !== undefined && !isSubscriptionStatus(spec.status)) {
    throw new EventSpecError(`unknown subscription status "${String(spec.status)}": use one of active, trialing, past_due, unpaid, canceled, incomplete, incomplete_expired, paused`);
  }
  if (spec.status !== undefined && !spec.type.startsWith('customer.subscription.')) {
    throw new EventSpecError(`--status applies to customer.subscription.* events, not ${spec.type}`);
  }
  const plan = spec.plan ?? 'pro';
  let object: Record<string, unknown>;
  if (spec.type.startsWith('customer.subscription.')) {
    const status = spec.status ?? defaultStatus(spec.type);
    const periodStart = created - (created % DAY);
    object = {
      id: subscriptionId,
      object: 'subscription',
      customer: spec.customerId,
      status,
      created: periodStart - 30 * DAY,
      start_date: periodStart - 30 * DAY,
      cancel_at_period_end: false,
      canceled_at: status === 'canceled' ? created : null,
      ended_at: status === 'canceled' ? created : null,
      collection_method: 'charge_automatically',
      currency: 'usd',
      livemode: false,
      metadata: {},
      items: {
        object: 'list',
        data: [
          {
            id: `si_${suffix(spec.customerId)}`,
            object: 'subscription_item',
            subscription: subscriptionId,
            current_period_start: periodStart,
            current_period_end: periodStart + 30 * DAY,
            quantity: 1,
            price: { id: `price_${plan.replace(/[^A-Za-z0-9]/g, '')}`, object: 'price', lookup_key: plan, currency: 'usd', unit_amount: 2900, type: 'recurring', recurring: { interval: 'month', interval_count: 1 } },
          },
        ],
        has_more: false,
        url: `/v1/subscription_items?subscription=${subscriptionId}`,
      },
    };
  } else if (spec.type.startsWith('invoice.')) {
    const paid = spec.type === 'invoice.paid';
    const invoiceId = `in_${randomBytes(8).toString('hex')}`;
    object = {
      id: invoiceId,
      object: 'invoice',
      customer: spec.customerId,
      status: paid ? 'paid' : 'open',
      created,
      currency: 'usd',
      amount_due: 2900,
      amount_paid: paid ? 2900 : 0,
      attempt_count: 1,
      billing_reason: 'subscription_cycle',
      hosted_invoice_url: spec.paymentUrl ?? `https://invoice.stripe.com/i/acct_local/test_${invoiceId}`,
      livemode: false,
      parent: { type: 'subscription_details', quote_details: null, subscription_details: { metadata: {}, subscription: subscriptionId } },
      status_transitions: { finalized_at: created, paid_at: paid ? created : null, marked_uncollectible_at: null, voided_at: null },
    };
  } else if (spec.type === 'entitlements.active_entitlement_summary.updated') {
    const keys = spec.entitlements ?? [];
    object = {
      object: 'entitlements.active_entitlement_summary',
      customer: spec.customerId,
      livemode: false,
      entitlements: {
        object: 'list',
        data: keys.map((lookupKey, i) => ({
          id: `ent_${suffix(spec.customerId)}_${i}`,
          object: 'entitlements.active_entitlement',
          feature: `feat_${lookupKey.replace(/[^A-Za-z0-9]/g, '')}`,
          livemode: false,
          lookup_key: lookupKey,
        })),
        has_more: false,
        url: '/v1/customer/entitlements',
      },
    };
  } else {
    object = { id: spec.customerId, object: 'customer', deleted: true };
  }
  return {
    id: spec.id ?? `evt_local_${randomBytes(12).toString('hex')}`,
    object: 'event',
    api_version: EVENT_API_VERSION,
    created,
    data: { object },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type: spec.type,
  };
}

/** The `Stripe-Signature` header Stripe would send for these exact bytes. */
export function signStripePayload(payload: string, secret: string, timestamp: number = Math.floor(Date.now() / 1000)): string {
  return Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp });
}
