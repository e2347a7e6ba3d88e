import type { SubscriptionStatus } from '../../lambda/shared/customers/record';
import { DAY, FIXTURE_CUSTOMER, FIXTURE_INVOICE, FIXTURE_PRICE, FIXTURE_SUBSCRIPTION, type Json, type StripeEventOverrides } from './overrides';

/** `customer.subscription.*`: a subscription with one licensed item, in Stripe's fixture shape. */

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
