import Stripe from 'stripe';
import { STRIPE_API_VERSION, type HandledEventType } from '../../lambda/webhook/events';
import { alertTriggeredObject } from './billing-alert';
import { checkoutSessionObject } from './checkout';
import { deletedCustomerObject } from './customer';
import { entitlementSummaryObject } from './entitlements';
import { invoiceObject } from './invoice';
import { topUpPaymentObject } from './payment-intent';
import { FIXTURE_CUSTOMER, stripeId, type Json, type StripeEventOverrides } from './overrides';
import { setupIntentObject } from './setup-intent';
import { TOP_UP_CARD_METADATA } from '../../lambda/shared/customers/top-up';
import { subscriptionObject } from './subscription';

/**
 * Realistic Stripe webhook events for tests, the bench, the local test checkout and `tollgate events
 * send`: the envelope and object shapes of Stripe's own fixtures (stripe/openapi fixtures3, API
 * 2026-07-29.dahlia; the same shapes as 2026-10-28.endive for every field tollgate reads), with the
 * fields a caller depends on overridden; serialised and signed as Stripe does.
 */

function dataObject(type: HandledEventType, o: StripeEventOverrides): Json {
  switch (type) {
    case 'checkout.session.completed':
    case 'checkout.session.async_payment_succeeded':
    case 'checkout.session.async_payment_failed':
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
    case 'invoice.voided':
      return invoiceObject(o, 'void');
    case 'invoice.marked_uncollectible':
      return invoiceObject(o, 'uncollectible');
    case 'entitlements.active_entitlement_summary.updated':
      return entitlementSummaryObject(o);
    case 'customer.deleted':
      return deletedCustomerObject(o);
    case 'billing.alert.triggered':
      return alertTriggeredObject(o);
    case 'payment_intent.succeeded':
    case 'payment_intent.payment_failed':
      return topUpPaymentObject(o, type === 'payment_intent.succeeded') as unknown as Json;
    case 'setup_intent.succeeded': {
      // The account page's setup checkout for the customer's auto top-up.
      const customer = o.customer ?? FIXTURE_CUSTOMER;
      return setupIntentObject({ customer, paymentMethod: o.paymentMethod ?? stripeId('pm'), metadata: { [TOP_UP_CARD_METADATA]: customer }, created: o.created ?? Math.floor(Date.now() / 1000) }) as unknown as Json;
    }
  }
}

/** A webhook event in the envelope of Stripe's `event` fixture. */
export function stripeEvent(type: string, object: Json, o: StripeEventOverrides = {}): Json {
  const previous = type === 'customer.subscription.updated' && o.previousStatus !== undefined ? { previous_attributes: { status: o.previousStatus } } : {};
  return {
    id: o.eventId ?? stripeId('evt'),
    object: 'event',
    api_version: STRIPE_API_VERSION,
    created: o.created ?? Math.floor(Date.now() / 1000),
    data: { object, ...previous },
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

/** The API request that caused an event (its idempotency key too), as Stripe records it on the event. */
export interface EventRequest {
  readonly id: string | null;
  readonly idempotencyKey?: string;
}

function envelope<T extends string, O>(type: T, object: O, created: number, request: EventRequest | undefined) {
  return {
    id: stripeId('evt'),
    object: 'event' as const,
    api_version: STRIPE_API_VERSION,
    created,
    data: { object },
    livemode: false,
    pending_webhooks: 1,
    request: { id: request?.id ?? null, idempotency_key: request?.idempotencyKey ?? null },
    type,
  };
}

/** `payment_intent.succeeded` / `payment_intent.payment_failed`: the PaymentIntent as the API answered it. */
export function paymentIntentEvent(
  type: 'payment_intent.succeeded' | 'payment_intent.payment_failed',
  intent: Stripe.PaymentIntent,
  request?: EventRequest,
): Stripe.PaymentIntentSucceededEvent | Stripe.PaymentIntentPaymentFailedEvent {
  const created = Math.floor(Date.now() / 1000);
  return type === 'payment_intent.succeeded'
    ? (envelope(type, intent, created, request) satisfies Stripe.PaymentIntentSucceededEvent)
    : (envelope(type, intent, created, request) satisfies Stripe.PaymentIntentPaymentFailedEvent);
}

/** `setup_intent.succeeded`: a card saved for later payments. */
export function setupIntentSucceededEvent(intent: Stripe.SetupIntent, request?: EventRequest): Stripe.SetupIntentSucceededEvent {
  return envelope('setup_intent.succeeded', intent, Math.floor(Date.now() / 1000), request);
}

/** The body as Stripe sends it (pretty-printed JSON). Sign exactly these bytes. */
export function serializeEvent(event: object): string {
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
