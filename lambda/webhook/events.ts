import { ITEM_LIMITS } from '../shared/customers/item';
import { isSubscriptionStatus } from '../shared/customers/record';
import { isLookupKey } from '../shared/requirements';
import { grantDurationSeconds } from '../shared/credit-grants';
import { CREDITS_EXPIRES_IN_METADATA, CREDITS_METADATA } from '../shared/credits-metadata';
import { cardLabel, isTopUpAttempt, storableFailure, TOP_UP_CARD_METADATA, TOP_UP_METADATA, type SavedCard } from '../shared/customers/top-up';
import type { CreditsChange, EntitlementsChange, InvoiceChange, InvoiceOutcome, PaymentChange, SubscriptionChange, UsageAlertChange } from '../shared/customers/changes';

/**
 * Reads verified Stripe events into payment changes. The body is signed, but its shape is still
 * validated before use: a wrong API version or a test payload must not write garbage.
 */

/** The API version the README tells users to set on the endpoint (stripe@23.1.0 pins it). */
export const STRIPE_API_VERSION = '2026-10-28.endive';

/** The event types that decide access; every other type is acknowledged and ignored. */
export const HANDLED_EVENT_TYPES = [
  'checkout.session.completed',
  'checkout.session.async_payment_succeeded',
  'checkout.session.async_payment_failed',
  'customer.subscription.created',
  'customer.subscription.updated',
  'customer.subscription.deleted',
  'customer.subscription.paused',
  'customer.subscription.resumed',
  'invoice.paid',
  'invoice.payment_failed',
  'invoice.payment_action_required',
  'invoice.voided',
  'invoice.marked_uncollectible',
  'entitlements.active_entitlement_summary.updated',
  'customer.deleted',
  'billing.alert.triggered',
  'payment_intent.succeeded',
  'payment_intent.payment_failed',
  'setup_intent.succeeded',
] as const;
export type HandledEventType = (typeof HANDLED_EVENT_TYPES)[number];

export function isHandledEventType(type: string): type is HandledEventType {
  return (HANDLED_EVENT_TYPES as readonly string[]).includes(type);
}

export class EventShapeError extends Error {
  override readonly name = 'EventShapeError';
}

export interface StripeEventEnvelope {
  readonly id: string;
  readonly type: string;
  readonly created: number;
  readonly apiVersion?: string;
  readonly livemode: boolean;
  readonly object: Readonly<Record<string, unknown>>;
  /** `data.previous_attributes` of an update event: the fields that changed, with their old values. */
  readonly previousAttributes?: Readonly<Record<string, unknown>>;
}

type Json = Readonly<Record<string, unknown>>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const EVENT_ID = /^evt_[A-Za-z0-9_]{1,255}$/;
const CUSTOMER_ID = /^cus_[A-Za-z0-9_]{1,255}$/;
/** Invoice and subscription ids are stored on the customer item (map keys, values): Stripe's alphabet, bounded (ITEM_LIMITS). */
const INVOICE_ID = /^in_[A-Za-z0-9_]{1,61}$/;
const SUBSCRIPTION_ID = /^sub_[A-Za-z0-9_]{1,60}$/;
const CHECKOUT_SESSION_ID = /^cs_[A-Za-z0-9_]{1,255}$/;
const PAYMENT_INTENT_ID = /^pi_[A-Za-z0-9_]{1,255}$/;
const PAYMENT_METHOD_ID = /^pm_[A-Za-z0-9_]{1,255}$/;

function epochSeconds(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/** The envelope of an `event` object; throws EventShapeError for anything else. */
export function parseEnvelope(parsed: unknown): StripeEventEnvelope {
  if (!isObject(parsed) || parsed.object !== 'event') throw new EventShapeError('the body is not a stripe event (expected "object": "event")');
  const { id, type, created, data } = parsed;
  if (typeof id !== 'string' || !EVENT_ID.test(id)) throw new EventShapeError('the event has no valid id (expected evt_…)');
  if (typeof type !== 'string' || type.length === 0 || type.length > 200) throw new EventShapeError('the event has no valid type');
  const createdAt = epochSeconds(created);
  if (createdAt === undefined) throw new EventShapeError('the event has no valid created timestamp');
  if (!isObject(data) || !isObject(data.object)) throw new EventShapeError('the event has no data.object');
  return {
    id,
    type,
    created: createdAt,
    apiVersion: typeof parsed.api_version === 'string' ? parsed.api_version : undefined,
    livemode: parsed.livemode === true,
    object: data.object,
    ...(isObject(data.previous_attributes) ? { previousAttributes: data.previous_attributes } : {}),
  };
}

/** A Stripe reference: an id string, or the expanded object's id. */
function reference(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (isObject(value) && typeof value.id === 'string') return value.id;
  return undefined;
}

function customerOf(object: Json, what: string): string {
  const customer = reference(object.customer);
  if (customer === undefined || !CUSTOMER_ID.test(customer)) throw new EventShapeError(`the ${what} has no customer id (expected cus_…)`);
  return customer;
}

/** The first candidate short enough to store (ITEM_LIMITS.planLength). */
const storable = (...candidates: unknown[]): string | undefined =>
  candidates.find((c): c is string => typeof c === 'string' && c !== '' && c.length <= ITEM_LIMITS.planLength);

/** Reads a subscription object (from an event or from the API), with the event's previous attributes if any. */
export function readSubscription(object: Json, previous?: Json): { customerId: string; change: SubscriptionChange } {
  if (object.object !== 'subscription') throw new EventShapeError('data.object is not a subscription');
  const id = object.id;
  if (typeof id !== 'string' || !SUBSCRIPTION_ID.test(id)) throw new EventShapeError('the subscription has no valid id (expected sub_…)');
  if (!isSubscriptionStatus(object.status)) throw new EventShapeError(`the subscription has an unknown status ${JSON.stringify(object.status)}`);
  const items = isObject(object.items) && Array.isArray(object.items.data) ? object.items.data.filter(isObject) : [];
  const first = items[0];
  const price = first !== undefined && isObject(first.price) ? first.price : undefined;
  const plan = storable(price?.lookup_key, price?.id);
  // Since API 2025-03-31 the billing period lives on the items; older payloads had it on the subscription.
  // The period that ends last is the one access runs to; its start is shown to callers.
  const periods = items
    .map((item) => ({ start: epochSeconds(item.current_period_start), end: epochSeconds(item.current_period_end) }))
    .filter((p): p is { start: number | undefined; end: number } => p.end !== undefined)
    .sort((a, b) => b.end - a.end);
  const currentPeriodEnd = periods[0]?.end ?? epochSeconds(object.current_period_end);
  const currentPeriodStart = periods.length > 0 ? periods[0]!.start : epochSeconds(object.current_period_start);
  return {
    customerId: customerOf(object, 'subscription'),
    change: {
      stream: 'subscription',
      subscriptionId: id,
      status: object.status,
      plan,
      cancelAtPeriodEnd: object.cancel_at_period_end === true,
      ...(currentPeriodStart === undefined || currentPeriodEnd === undefined || currentPeriodStart > currentPeriodEnd ? {} : { currentPeriodStart }),
      currentPeriodEnd,
      ...(object.status === 'past_due' && typeof previous?.status === 'string' && previous.status !== 'past_due' ? { enteredPastDue: true } : {}),
    },
  };
}

const INVOICE_OUTCOMES: Readonly<Record<string, InvoiceOutcome>> = {
  'invoice.paid': 'paid',
  'invoice.payment_failed': 'payment_failed',
  'invoice.payment_action_required': 'payment_action_required',
  'invoice.voided': 'voided',
  'invoice.marked_uncollectible': 'uncollectible',
};

/** Reads an invoice event; undefined for invoices that belong to no subscription (one-off invoices). */
export function readInvoice(object: Json, outcome: InvoiceOutcome, eventCreated: number): { customerId: string; change: InvoiceChange } | undefined {
  if (object.object !== 'invoice') throw new EventShapeError('data.object is not an invoice');
  const id = object.id;
  if (typeof id !== 'string' || !INVOICE_ID.test(id)) throw new EventShapeError('the invoice has no valid id (expected in_…, at most 64 characters)');
  // Since API 2025-03-31 an invoice names its subscription under parent.subscription_details.
  const parent = isObject(object.parent) ? object.parent : undefined;
  const details = parent !== undefined && isObject(parent.subscription_details) ? parent.subscription_details : undefined;
  const subscriptionId = reference(details?.subscription) ?? reference(object.subscription);
  if (subscriptionId === undefined) return undefined;
  if (!SUBSCRIPTION_ID.test(subscriptionId)) throw new EventShapeError('the invoice names no valid subscription id (expected sub_…, at most 64 characters)');
  const transitions = isObject(object.status_transitions) ? object.status_transitions : undefined;
  const open = outcome === 'payment_failed' || outcome === 'payment_action_required';
  const url = object.hosted_invoice_url;
  return {
    customerId: customerOf(object, 'invoice'),
    change: {
      stream: 'invoices',
      invoiceId: id,
      subscriptionId,
      outcome,
      // Overdue from its due date (send_invoice), else from its first charge at finalization: the same
      // instant whichever attempt's event arrives.
      pastDueSince: open ? (epochSeconds(object.due_date) ?? epochSeconds(transitions?.finalized_at) ?? epochSeconds(object.created) ?? eventCreated) : undefined,
      // Too long to store: the 402 links the billing portal instead.
      paymentUrl: typeof url === 'string' && /^https:\/\//.test(url) && url.length <= ITEM_LIMITS.paymentUrlLength ? url : undefined,
    },
  };
}

/** The lookup keys of an active entitlement summary, and whether Stripe left some out. */
export function readEntitlementSummary(object: Json): { customerId: string; change: EntitlementsChange; hasMore: boolean } {
  if (object.object !== 'entitlements.active_entitlement_summary') throw new EventShapeError('data.object is not an active entitlement summary');
  const list = isObject(object.entitlements) ? object.entitlements : undefined;
  const data = list !== undefined && Array.isArray(list.data) ? list.data : [];
  const keys = data
    .filter(isObject)
    .map((entitlement) => entitlement.lookup_key)
    // A key no route could require (x-tollgate accepts lookup keys only) is not worth storing.
    .filter(isLookupKey);
  return {
    customerId: customerOf(object, 'entitlement summary'),
    change: { stream: 'entitlements', entitlements: keys },
    hasMore: list?.has_more === true,
  };
}

/**
 * What an event means for payment state:
 * - `change`: apply it to the customer;
 * - `fetch-subscription`: a completed subscription checkout; the subscription's state is the change
 *   (read from Stripe when a key is configured, else assumed from the payment status);
 * - `ignored`: acknowledged, counted, nothing written.
 */
export type Interpretation =
  | { readonly kind: 'change'; readonly customerId: string; readonly change: PaymentChange; readonly entitlementsIncomplete?: boolean }
  | {
      readonly kind: 'checkout';
      readonly customerId: string;
      readonly subscriptionId: string;
      /** The subscription as a completed checkout implies it, when Stripe cannot be asked. */
      readonly assumed?: SubscriptionChange;
    }
  /** An auto top-up's charge failed (payment_intent.payment_failed): its attempt is settled as failed. */
  | { readonly kind: 'topUpFailed'; readonly customerId: string; readonly attempt: string; readonly failure: string }
  /** A card saved for auto top-up (setup_intent.succeeded of the account page's setup checkout). */
  | { readonly kind: 'topUpCard'; readonly customerId: string; readonly card: SavedCard }
  | { readonly kind: 'ignored'; readonly reason: string };

export function interpret(event: StripeEventEnvelope): Interpretation {
  const { type, object } = event;
  if (!isHandledEventType(type)) return { kind: 'ignored', reason: 'unhandled event type' };
  switch (type) {
    case 'customer.subscription.created':
    case 'customer.subscription.updated':
    case 'customer.subscription.deleted':
    case 'customer.subscription.paused':
    case 'customer.subscription.resumed': {
      const { customerId, change } = readSubscription(object, event.previousAttributes);
      return { kind: 'change', customerId, change };
    }
    case 'invoice.paid':
    case 'invoice.payment_failed':
    case 'invoice.payment_action_required':
    case 'invoice.voided':
    case 'invoice.marked_uncollectible': {
      const read = readInvoice(object, INVOICE_OUTCOMES[type]!, event.created);
      return read === undefined ? { kind: 'ignored', reason: 'invoice of no subscription' } : { kind: 'change', ...read };
    }
    case 'entitlements.active_entitlement_summary.updated': {
      const { customerId, change, hasMore } = readEntitlementSummary(object);
      return { kind: 'change', customerId, change, entitlementsIncomplete: hasMore };
    }
    case 'customer.deleted': {
      const id = object.id;
      if (object.object !== 'customer' || typeof id !== 'string' || !CUSTOMER_ID.test(id)) {
        throw new EventShapeError('data.object is not a customer (expected cus_…)');
      }
      return { kind: 'change', customerId: id, change: { stream: 'customer', deleted: true } };
    }
    // async_payment_succeeded: a delayed payment method (SEPA, ACH, Bacs…) settled, the same session now paid.
    case 'checkout.session.completed':
    case 'checkout.session.async_payment_succeeded':
      return readCheckout(event);
    case 'checkout.session.async_payment_failed':
      return { kind: 'ignored', reason: 'checkout payment failed' };
    case 'billing.alert.triggered':
      return readBillingAlert(object, event.created);
    case 'payment_intent.succeeded':
    case 'payment_intent.payment_failed':
      return readTopUpPayment(object, type === 'payment_intent.succeeded');
    case 'setup_intent.succeeded':
      return readTopUpCard(object);
  }
}

/** More units than one purchase plausibly buys: a typo or a forged session, not a top-up. */
const MAX_CREDITS_PER_PURCHASE = 1_000_000_000;

/** The units a purchase's metadata names; undefined when it names none. */
function creditsOf(metadata: Json, what: string): number | undefined {
  const units = metadata[CREDITS_METADATA];
  if (units === undefined || units === null || units === '') return undefined;
  const credits = typeof units === 'string' && /^[1-9][0-9]{0,9}$/.test(units) ? Number(units) : NaN;
  if (!(credits <= MAX_CREDITS_PER_PURCHASE)) {
    throw new EventShapeError(`the ${what}'s metadata.${CREDITS_METADATA} is ${JSON.stringify(units).slice(0, 40)}: expected a whole number of units from 1 to ${MAX_CREDITS_PER_PURCHASE}`);
  }
  return credits;
}

/** The grant's lifetime a purchase's metadata names (`90d`), in seconds; undefined: it never expires. */
function lifetimeOf(metadata: Json, what: string): number | undefined {
  const lifetime = metadata[CREDITS_EXPIRES_IN_METADATA];
  const seconds = typeof lifetime === 'string' ? grantDurationSeconds(lifetime) : undefined;
  if (lifetime !== undefined && lifetime !== null && lifetime !== '' && seconds === undefined) {
    throw new EventShapeError(`the ${what}'s metadata.${CREDITS_EXPIRES_IN_METADATA} is ${JSON.stringify(lifetime).slice(0, 40)}: expected a lifetime such as 90d, 12h or 90m`);
  }
  return seconds;
}

/**
 * A paid one-time checkout carrying `metadata.tollgate_credits`: that many units onto the customer's
 * balance (ADD), once per Checkout Session (the change names it: the store records it with the
 * credit). `unpaid` (an asynchronous payment still settling) adds nothing yet: its
 * `checkout.session.async_payment_succeeded` does.
 */
export function readCreditsCheckout(object: Json): Interpretation {
  const metadata = isObject(object.metadata) ? object.metadata : {};
  const units = metadata[CREDITS_METADATA];
  if (units === undefined || units === null || units === '') return { kind: 'ignored', reason: 'payment checkout without tollgate_credits' };
  if (object.payment_status !== 'paid') return { kind: 'ignored', reason: 'checkout payment not settled' };
  const credits = creditsOf(metadata, 'checkout')!;
  // A checkout for a guest names no customer: tollgate's own checkout passes the customer id as the reference.
  const clientReference = typeof object.client_reference_id === 'string' && CUSTOMER_ID.test(object.client_reference_id) ? object.client_reference_id : undefined;
  const customerId = reference(object.customer) === undefined && clientReference !== undefined ? clientReference : customerOf(object, 'credits checkout');
  const sessionId = typeof object.id === 'string' && CHECKOUT_SESSION_ID.test(object.id) ? object.id : undefined;
  if (sessionId === undefined) throw new EventShapeError('the credits checkout has no valid id (expected cs_…)');
  const expiresInSeconds = lifetimeOf(metadata, 'checkout');
  const change: CreditsChange = { stream: 'credits', credits, liftCreditsBlock: false, purchaseId: sessionId, ...(expiresInSeconds === undefined ? {} : { expiresInSeconds }) };
  return { kind: 'change', customerId, change };
}

/**
 * An auto top-up's PaymentIntent (lambda/shared/auto-top-up.ts; other PaymentIntents, such as the
 * agents' purchases, are not tollgate's to read here): succeeded, its pack's units are credited once
 * per PaymentIntent and the attempt is settled as paid; failed, the attempt is settled as failed.
 */
export function readTopUpPayment(object: Json, succeeded: boolean): Interpretation {
  if (object.object !== 'payment_intent') throw new EventShapeError('data.object is not a payment intent');
  const metadata = isObject(object.metadata) ? object.metadata : {};
  const attempt = metadata[TOP_UP_METADATA];
  if (attempt === undefined) return { kind: 'ignored', reason: 'payment intent not an auto top-up' };
  if (!isTopUpAttempt(attempt)) throw new EventShapeError(`the payment intent's metadata.${TOP_UP_METADATA} is not a top-up attempt (expected tu_…)`);
  const customerId = customerOf(object, 'auto top-up payment');
  if (!succeeded) {
    const error = isObject(object.last_payment_error) ? object.last_payment_error : {};
    return { kind: 'topUpFailed', customerId, attempt, failure: storableFailure(error.decline_code ?? error.code) };
  }
  const id = typeof object.id === 'string' && PAYMENT_INTENT_ID.test(object.id) ? object.id : undefined;
  if (id === undefined) throw new EventShapeError('the auto top-up payment has no valid id (expected pi_…)');
  const credits = creditsOf(metadata, 'payment intent');
  if (credits === undefined) throw new EventShapeError(`the auto top-up payment has no metadata.${CREDITS_METADATA}`);
  const expiresInSeconds = lifetimeOf(metadata, 'payment intent');
  const change: CreditsChange = { stream: 'credits', credits, liftCreditsBlock: false, purchaseId: id, topUpAttempt: attempt, ...(expiresInSeconds === undefined ? {} : { expiresInSeconds }) };
  return { kind: 'change', customerId, change };
}

/**
 * A card the account page's setup checkout saved (lambda/portal/top-up.ts; other SetupIntents are not
 * tollgate's): recorded from the event too, so a customer who closes the tab before Checkout sends them
 * back still has it saved. Its SetupIntent's creation time orders it against the portal's own record.
 */
export function readTopUpCard(object: Json): Interpretation {
  if (object.object !== 'setup_intent') throw new EventShapeError('data.object is not a setup intent');
  const metadata = isObject(object.metadata) ? object.metadata : {};
  const owner = metadata[TOP_UP_CARD_METADATA];
  if (owner === undefined) return { kind: 'ignored', reason: 'setup intent not for an auto top-up' };
  const customerId = customerOf(object, 'auto top-up card');
  if (owner !== customerId) throw new EventShapeError(`the setup intent's metadata.${TOP_UP_CARD_METADATA} names another customer than its own`);
  const pm = object.payment_method;
  const method = reference(pm);
  if (method === undefined || !PAYMENT_METHOD_ID.test(method)) throw new EventShapeError('the auto top-up card has no payment method (expected pm_…)');
  const setAt = epochSeconds(object.created);
  if (setAt === undefined) throw new EventShapeError('the setup intent has no valid created timestamp');
  const card = isObject(pm) && typeof pm.type === 'string' ? { label: cardLabel(pm as Parameters<typeof cardLabel>[0]) } : {};
  return { kind: 'topUpCard', customerId, card: { method, setAt, ...card } };
}

/** `billing.alert.triggered`: a usage threshold set on a Stripe meter was crossed (stripe 23.x: usage_threshold alerts). */
export function readBillingAlert(object: Json, eventCreated: number): Interpretation {
  if (object.object !== 'billing.alert_triggered') throw new EventShapeError('data.object is not a billing.alert_triggered');
  const change: UsageAlertChange = { stream: 'usageAlert', triggeredAt: epochSeconds(object.created) ?? eventCreated };
  return { kind: 'change', customerId: customerOf(object, 'billing alert'), change };
}

function readCheckout(event: StripeEventEnvelope): Interpretation {
  const { object } = event;
  if (object.object !== 'checkout.session') throw new EventShapeError('data.object is not a checkout session');
  if (object.mode === 'payment') return readCreditsCheckout(object);
  if (object.mode !== 'subscription') return { kind: 'ignored', reason: 'checkout not in subscription mode' };
  const subscriptionId = reference(object.subscription);
  if (subscriptionId === undefined || !SUBSCRIPTION_ID.test(subscriptionId)) {
    throw new EventShapeError('the subscription checkout has no subscription id (expected sub_…)');
  }
  const customerId = customerOf(object, 'checkout session');
  // "unpaid" means an asynchronous payment method is still settling: the subscription events will say more.
  const status = object.payment_status === 'paid' ? 'active' : object.payment_status === 'no_payment_required' ? 'trialing' : undefined;
  return {
    kind: 'checkout',
    customerId,
    subscriptionId,
    assumed:
      status === undefined
        ? undefined
        : {
            stream: 'subscription',
            subscriptionId,
            status,
            cancelAtPeriodEnd: false,
          },
  };
}
