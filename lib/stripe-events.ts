import { randomBytes } from 'node:crypto';
import Stripe from 'stripe';
import { HANDLED_EVENT_TYPES, STRIPE_API_VERSION, type HandledEventType } from '../lambda/webhook/events';
import type { SubscriptionStatus } from '../lambda/shared/model';

/**
 * Realistic Stripe webhook events for tests and `tollgate events send`: the envelope and object
 * shapes of Stripe's own fixtures (stripe/openapi fixtures3, API 2026-07-29.dahlia; the same shapes
 * as 2026-10-28.endive for every field tollgate reads), with the fields a test depends on overridden.
 */

export { HANDLED_EVENT_TYPES, STRIPE_API_VERSION };
export type { HandledEventType };

type Json = Record<string, unknown>;

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
  /** @default in_1Pgc6tB7WZ01zgkWu9fdqL6I */
  readonly invoice?: string;
  /** The invoice's hosted_invoice_url (the customer's payment URL). @default a stripe-like URL for unpaid invoices */
  readonly invoiceUrl?: string | null;
  /** When the invoice was finalized (first charged). @default created */
  readonly invoiceFinalizedAt?: number;
  /** Active entitlement lookup keys. @default [] */
  readonly entitlements?: readonly string[];
  /** The summary says there are more entitlements than it lists. @default false */
  readonly entitlementsHasMore?: boolean;
  /** Checkout session payment_status. @default paid */
  readonly paymentStatus?: 'paid' | 'unpaid' | 'no_payment_required';
  /** Checkout session mode. @default subscription */
  readonly checkoutMode?: 'subscription' | 'payment' | 'setup';
  /** @default false */
  readonly livemode?: boolean;
}

export const FIXTURE_CUSTOMER = 'cus_QXg1o8vcGmoR32';
export const FIXTURE_SUBSCRIPTION = 'sub_1Pgc6rB7WZ01zgkWNy0Cn5nw';
export const FIXTURE_INVOICE = 'in_1Pgc6tB7WZ01zgkWu9fdqL6I';
export const FIXTURE_PRICE = 'price_1PgafmB7WZ01zgkW6dKueIc5';
const DAY = 24 * 60 * 60;

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** A Stripe-style id: prefix and 24 random alphanumerics. */
export function stripeId(prefix: string): string {
  return `${prefix}_${[...randomBytes(24)].map((b) => ALPHANUMERIC[b % ALPHANUMERIC.length]).join('')}`;
}

function price(o: StripeEventOverrides, created: number): Json {
  return {
    active: true,
    billing_scheme: 'per_unit',
    created: created - DAY,
    currency: 'usd',
    custom_unit_amount: null,
    id: o.priceId ?? FIXTURE_PRICE,
    livemode: o.livemode ?? false,
    lookup_key: o.lookupKey ?? null,
    metadata: {},
    nickname: null,
    object: 'price',
    product: 'prod_QXg1hqf4jFNsqG',
    recurring: { interval: 'month', interval_count: 1, meter: null, usage_type: 'licensed', trial_period_days: null },
    tax_behavior: 'unspecified',
    tiers_mode: null,
    transform_quantity: null,
    type: 'recurring',
    unit_amount: 2000,
    unit_amount_decimal: '2000',
  };
}

export function subscriptionObject(o: StripeEventOverrides = {}, defaultStatus: SubscriptionStatus = 'active'): Json {
  const created = o.subscriptionCreated ?? o.created ?? Math.floor(Date.now() / 1000);
  const id = o.subscription ?? FIXTURE_SUBSCRIPTION;
  const periodEnd = o.currentPeriodEnd ?? created + 30 * DAY;
  const status = o.status ?? defaultStatus;
  const ended = status === 'canceled' || status === 'incomplete_expired' ? (o.created ?? created) : null;
  return {
    application: null,
    application_fee_percent: null,
    automatic_tax: { enabled: false, liability: null, disabled_reason: null },
    billing_cycle_anchor: created,
    billing_cycle_anchor_config: null,
    cancel_at: o.cancelAtPeriodEnd === true ? periodEnd : null,
    canceled_at: ended ?? (o.cancelAtPeriodEnd === true ? (o.created ?? created) : null),
    cancellation_details: { comment: null, feedback: null, reason: null },
    collection_method: 'charge_automatically',
    created,
    currency: 'usd',
    customer: o.customer ?? FIXTURE_CUSTOMER,
    days_until_due: null,
    default_payment_method: null,
    default_source: null,
    default_tax_rates: [],
    description: null,
    discounts: [],
    ended_at: ended,
    id,
    invoice_settings: { account_tax_ids: null, issuer: { type: 'self' } },
    items: {
      data: [
        {
          created,
          discounts: [],
          id: `si_${id.slice(4, 18)}`,
          metadata: {},
          object: 'subscription_item',
          price: price(o, created),
          quantity: 1,
          subscription: id,
          tax_rates: [],
          // Since API 2025-03-31 the billing period lives on the item.
          current_period_end: periodEnd,
          current_period_start: periodEnd - 30 * DAY,
          billing_thresholds: null,
        },
      ],
      has_more: false,
      object: 'list',
      url: `/v1/subscription_items?subscription=${id}`,
    },
    latest_invoice: o.invoice ?? FIXTURE_INVOICE,
    livemode: o.livemode ?? false,
    metadata: {},
    next_pending_invoice_item_invoice: null,
    object: 'subscription',
    on_behalf_of: null,
    pause_collection: null,
    pending_invoice_item_interval: null,
    pending_setup_intent: null,
    pending_update: null,
    schedule: null,
    start_date: created,
    status,
    test_clock: null,
    transfer_data: null,
    trial_end: status === 'trialing' ? periodEnd : null,
    trial_settings: { end_behavior: { missing_payment_method: 'create_invoice' } },
    trial_start: status === 'trialing' ? created : null,
    cancel_at_period_end: o.cancelAtPeriodEnd ?? false,
    billing_mode: { type: 'classic' },
    customer_account: null,
  };
}

export function invoiceObject(o: StripeEventOverrides = {}, status: 'paid' | 'open' = 'open'): Json {
  const created = o.created ?? Math.floor(Date.now() / 1000);
  const finalizedAt = o.invoiceFinalizedAt ?? created;
  const id = o.invoice ?? FIXTURE_INVOICE;
  const subscription = o.subscription ?? FIXTURE_SUBSCRIPTION;
  const hostedUrl =
    o.invoiceUrl !== undefined ? o.invoiceUrl : `https://invoice.stripe.com/i/acct_1Pgc5xB7WZ01zgkW/test_${id.slice(3)}`;
  return {
    account_country: 'US',
    account_name: null,
    amount_due: 2000,
    amount_paid: status === 'paid' ? 2000 : 0,
    amount_remaining: status === 'paid' ? 0 : 2000,
    attempt_count: 1,
    attempted: true,
    auto_advance: status !== 'paid',
    billing_reason: 'subscription_cycle',
    collection_method: 'charge_automatically',
    created: Math.min(created, finalizedAt),
    currency: 'usd',
    customer: o.customer ?? FIXTURE_CUSTOMER,
    customer_email: null,
    default_payment_method: null,
    description: null,
    discounts: [],
    due_date: null,
    effective_at: finalizedAt,
    hosted_invoice_url: hostedUrl,
    id,
    invoice_pdf: hostedUrl === null ? null : `${hostedUrl}/pdf`,
    issuer: { type: 'self' },
    lines: {
      data: [
        {
          amount: 2000,
          currency: 'usd',
          description: '1 × tollgate (at $20.00 / month)',
          id: `il_${id.slice(3, 17)}`,
          invoice: id,
          livemode: o.livemode ?? false,
          metadata: {},
          object: 'line_item',
          period: { end: finalizedAt + 30 * DAY, start: finalizedAt },
          quantity: 1,
          parent: {
            invoice_item_details: null,
            subscription_item_details: {
              invoice_item: null,
              proration: false,
              proration_details: { credited_items: null },
              subscription,
              subscription_item: `si_${subscription.slice(4, 18)}`,
            },
            type: 'subscription_item_details',
          },
        },
      ],
      has_more: false,
      object: 'list',
      url: `/v1/invoices/${id}/lines`,
    },
    livemode: o.livemode ?? false,
    metadata: {},
    next_payment_attempt: status === 'paid' ? null : created + 3 * DAY,
    number: null,
    object: 'invoice',
    period_end: finalizedAt,
    period_start: finalizedAt - 30 * DAY,
    status,
    status_transitions: {
      finalized_at: finalizedAt,
      marked_uncollectible_at: null,
      paid_at: status === 'paid' ? created : null,
      voided_at: null,
    },
    subtotal: 2000,
    total: 2000,
    webhooks_delivered_at: created,
    // Since API 2025-03-31 an invoice names its subscription here.
    parent: {
      quote_details: null,
      subscription_details: { metadata: {}, subscription },
      type: 'subscription_details',
    },
    customer_account: null,
  };
}

export function checkoutSessionObject(o: StripeEventOverrides = {}): Json {
  const created = o.created ?? Math.floor(Date.now() / 1000);
  const mode = o.checkoutMode ?? 'subscription';
  return {
    allow_promotion_codes: null,
    amount_subtotal: 2000,
    amount_total: 2000,
    billing_address_collection: null,
    cancel_url: 'https://example.com/cancel',
    client_reference_id: null,
    created: created - 60,
    currency: 'usd',
    customer: o.customer ?? FIXTURE_CUSTOMER,
    customer_creation: null,
    customer_details: { email: 'example@example.com', name: null, phone: null, tax_exempt: 'none', tax_ids: [] },
    customer_email: null,
    expires_at: created + DAY,
    id: stripeId('cs_test'),
    invoice: mode === 'subscription' ? (o.invoice ?? FIXTURE_INVOICE) : null,
    livemode: o.livemode ?? false,
    locale: null,
    metadata: {},
    mode,
    object: 'checkout.session',
    payment_intent: null,
    payment_link: null,
    payment_method_collection: 'always',
    payment_method_types: ['card'],
    payment_status: o.paymentStatus ?? 'paid',
    status: 'complete',
    subscription: mode === 'subscription' ? (o.subscription ?? FIXTURE_SUBSCRIPTION) : null,
    success_url: 'https://example.com/success',
    ui_mode: 'hosted',
    url: null,
    customer_account: null,
  };
}

export function entitlementSummaryObject(o: StripeEventOverrides = {}): Json {
  const livemode = o.livemode ?? false;
  return {
    customer: o.customer ?? FIXTURE_CUSTOMER,
    entitlements: {
      data: (o.entitlements ?? []).map((lookupKey) => ({
        // The summary expands each entitlement's feature.
        feature: {
          active: true,
          id: `feat_test_${lookupKey.replace(/[^A-Za-z0-9]/g, '').slice(0, 24)}`,
          livemode,
          lookup_key: lookupKey,
          metadata: {},
          name: lookupKey,
          object: 'entitlements.feature',
        },
        id: stripeId('ent_test'),
        livemode,
        lookup_key: lookupKey,
        object: 'entitlements.active_entitlement',
      })),
      has_more: o.entitlementsHasMore ?? false,
      object: 'list',
      url: '/v1/entitlements/active_entitlements',
    },
    livemode,
    object: 'entitlements.active_entitlement_summary',
  };
}

export function deletedCustomerObject(o: StripeEventOverrides = {}): Json {
  return { deleted: true, id: o.customer ?? FIXTURE_CUSTOMER, object: 'customer' };
}

function dataObject(type: HandledEventType, o: StripeEventOverrides): Json {
  switch (type) {
    case 'checkout.session.completed':
      return checkoutSessionObject(o);
    case 'customer.subscription.created':
    case 'customer.subscription.updated':
    case 'customer.subscription.resumed':
      return subscriptionObject(o, 'active');
    case 'customer.subscription.deleted':
      return subscriptionObject(o, 'canceled');
    case 'customer.subscription.paused':
      return subscriptionObject(o, 'paused');
    case 'invoice.paid':
      return invoiceObject(o, 'paid');
    case 'invoice.payment_failed':
    case 'invoice.payment_action_required':
      return invoiceObject(o, 'open');
    case 'entitlements.active_entitlement_summary.updated':
      return entitlementSummaryObject(o);
    case 'customer.deleted':
      return deletedCustomerObject(o);
  }
}

/** A webhook event in the envelope of Stripe's `event` fixture. */
export function stripeEvent(type: string, object: Json, o: StripeEventOverrides = {}): Json {
  return {
    id: o.eventId ?? stripeId('evt'),
    object: 'event',
    api_version: STRIPE_API_VERSION,
    created: o.created ?? Math.floor(Date.now() / 1000),
    data: { object },
    livemode: o.livemode ?? false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
  };
}

/** A realistic event of a type tollgate handles, with overrides. */
export function buildStripeEvent(type: HandledEventType, overrides: StripeEventOverrides = {}): Json {
  const created = overrides.created ?? Math.floor(Date.now() / 1000);
  const o = { ...overrides, created };
  return stripeEvent(type, dataObject(type, o), o);
}

/** The body as Stripe sends it (pretty-printed JSON). Sign exactly these bytes. */
export function serializeEvent(event: Json): string {
  return JSON.stringify(event, null, 2);
}

/** The `Stripe-Signature` header for a payload, computed by the Stripe SDK. */
export function signPayload(payload: string, secret: string, timestampSeconds?: number): string {
  return Stripe.webhooks.generateTestHeaderString({
    payload,
    secret,
    ...(timestampSeconds === undefined ? {} : { timestamp: timestampSeconds }),
  });
}
