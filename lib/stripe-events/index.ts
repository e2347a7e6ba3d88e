/**
 * Stripe webhook events as Stripe sends them, one module per Stripe object, for the CLI's `events`
 * command, the demo seed, the local test checkout, the bench and the tests.
 */
export { HANDLED_EVENT_TYPES, isHandledEventType, STRIPE_API_VERSION, type HandledEventType } from '../../lambda/webhook/events';
export { alertTriggeredObject } from './billing-alert';
export { checkoutSessionObject } from './checkout';
export { deletedCustomerObject } from './customer';
export { entitlementSummaryObject } from './entitlements';
export { buildStripeEvent, paymentIntentEvent, serializeEvent, setupIntentSucceededEvent, signPayload, stripeEvent, type EventRequest } from './event';
export { invoiceObject, type InvoiceStatus } from './invoice';
export { paymentIntentObject, type CardDecline, type PaymentIntentFields } from './payment-intent';
export { cardPaymentMethodObject, type CardFields } from './payment-method';
export { setupIntentObject, type SetupIntentFields } from './setup-intent';
export { FIXTURE_CUSTOMER, FIXTURE_INVOICE, FIXTURE_PRICE, FIXTURE_SUBSCRIPTION, stripeId, type StripeEventOverrides } from './overrides';
export { EventSpecError, specOverrides, type EventSpec } from './spec';
export { subscriptionObject } from './subscription';
