import type Stripe from 'stripe';
import { stripeId } from '../../stripe-events/overrides';

/**
 * What the fake Stripe API's resources share: the objects it has created, by id. Each object is typed
 * with the stripe SDK's own type (the fields the fake fills in), so a shape the SDK would not return
 * does not compile.
 */

export type FakeCustomer = Pick<Stripe.Customer, 'id' | 'object' | 'created' | 'email' | 'metadata' | 'livemode'>;
export type FakePrice = Pick<
  Stripe.Price,
  'id' | 'object' | 'active' | 'billing_scheme' | 'created' | 'currency' | 'lookup_key' | 'product' | 'unit_amount' | 'type' | 'livemode' | 'metadata' | 'nickname'
> & {
  readonly recurring: (Pick<Stripe.Price.Recurring, 'interval' | 'interval_count' | 'usage_type'> & Partial<Pick<Stripe.Price.Recurring, 'meter'>>) | null;
};
export type FakeProduct = Pick<Stripe.Product, 'id' | 'object' | 'active' | 'created' | 'name' | 'metadata' | 'livemode' | 'updated'>;
export type FakeMeter = Pick<
  Stripe.Billing.Meter,
  'id' | 'object' | 'created' | 'customer_mapping' | 'default_aggregation' | 'display_name' | 'event_name' | 'livemode' | 'status' | 'updated' | 'value_settings'
>;
/** `secret` is Stripe's only on the create response: the store keeps it apart. */
export type FakeWebhookEndpoint = Pick<Stripe.WebhookEndpoint, 'id' | 'object' | 'api_version' | 'created' | 'description' | 'enabled_events' | 'livemode' | 'metadata' | 'status' | 'url'>;
/** A v2 event destination as stored: its signing secret is shown once, on create, when asked for. */
export type FakeEventDestination = Omit<Stripe.V2.Core.EventDestination, 'webhook_endpoint'> & { readonly webhook_endpoint: { readonly url: string; readonly signing_secret: string } };
export type FakeCheckoutSession = Pick<
  Stripe.Checkout.Session,
  | 'id'
  | 'object'
  | 'mode'
  | 'status'
  | 'payment_status'
  | 'customer'
  | 'client_reference_id'
  | 'subscription'
  | 'success_url'
  | 'cancel_url'
  | 'url'
  | 'metadata'
  | 'created'
  | 'expires_at'
  | 'livemode'
  | 'customer_creation'
  | 'amount_total'
  | 'currency'
  | 'payment_link'
  | 'setup_intent'
> & {
  /** Not part of Stripe's object: what the fake needs to complete it (the prices bought). */
  readonly priceIds: readonly string[];
  /** Not part of Stripe's object: a setup session's `setup_intent_data.metadata`, for the SetupIntent it creates. */
  readonly setupIntentMetadata?: Readonly<Record<string, string>>;
};
export type FakeBillingPortalSession = Pick<Stripe.BillingPortal.Session, 'id' | 'object' | 'customer' | 'return_url' | 'url' | 'created' | 'livemode'>;

export interface FakeStripeStore {
  readonly customers: Map<string, FakeCustomer>;
  readonly prices: Map<string, FakePrice>;
  readonly checkoutSessions: Map<string, FakeCheckoutSession>;
  readonly billingPortalSessions: Map<string, FakeBillingPortalSession>;
  readonly products: Map<string, FakeProduct>;
  readonly meters: Map<string, FakeMeter>;
  readonly webhookEndpoints: Map<string, FakeWebhookEndpoint>;
  readonly eventDestinations: Map<string, FakeEventDestination>;
  /** Saved cards (setup-mode Checkout, or `savePaymentMethod` in tests). */
  readonly paymentMethods: Map<string, Stripe.PaymentMethod>;
  readonly setupIntents: Map<string, Stripe.SetupIntent>;
  /** PaymentIntents that charged a saved card, succeeded or declined, in creation order. */
  readonly paymentIntents: Map<string, Stripe.PaymentIntent>;
  /** Where the fake sends a browser to pay a checkout session, and to manage billing. */
  readonly pages: { checkout(sessionId: string): string; billingPortal(sessionId: string): string };
}

export const epochNow = (): number => Math.floor(Date.now() / 1000);
export const fakeId = (prefix: string): string => stripeId(prefix);

export function createFakeStripeStore(pages: FakeStripeStore['pages']): FakeStripeStore {
  return {
    customers: new Map(),
    prices: new Map(),
    checkoutSessions: new Map(),
    billingPortalSessions: new Map(),
    products: new Map(),
    meters: new Map(),
    webhookEndpoints: new Map(),
    eventDestinations: new Map(),
    paymentMethods: new Map(),
    setupIntents: new Map(),
    paymentIntents: new Map(),
    pages,
  };
}

/** A recurring (or one-time) price with a lookup key, as `prices.list({ lookup_keys })` finds it. */
export function addPrice(store: FakeStripeStore, price: { lookupKey: string; unitAmount: number; recurring: boolean; nickname?: string }): FakePrice {
  const created: FakePrice = {
    id: fakeId('price'),
    object: 'price',
    active: true,
    billing_scheme: 'per_unit',
    created: epochNow(),
    currency: 'usd',
    lookup_key: price.lookupKey,
    product: fakeId('prod'),
    unit_amount: price.unitAmount,
    type: price.recurring ? 'recurring' : 'one_time',
    recurring: price.recurring ? { interval: 'month', interval_count: 1, usage_type: 'licensed' } : null,
    livemode: false,
    metadata: {},
    nickname: price.nickname ?? null,
  };
  store.prices.set(created.id, created);
  return created;
}

/** A customer, created when a checkout completes without one (as Stripe Checkout does) or by the API. */
export function addCustomer(store: FakeStripeStore, fields: { id?: string; email?: string | null; metadata?: Record<string, string> } = {}): FakeCustomer {
  const customer: FakeCustomer = { id: fields.id ?? fakeId('cus'), object: 'customer', created: epochNow(), email: fields.email ?? null, metadata: fields.metadata ?? {}, livemode: false };
  store.customers.set(customer.id, customer);
  return customer;
}
