import type Stripe from 'stripe';
import { CREDITS_METADATA } from '../../lambda/shared/credits-metadata';
import { newTopUpAttempt, TOP_UP_METADATA } from '../../lambda/shared/customers/top-up';
import { FIXTURE_CUSTOMER, stripeId, type StripeEventOverrides } from './overrides';

/**
 * A PaymentIntent that charged a saved card off-session (`Stripe.PaymentIntent`), in the state Stripe
 * leaves it after `confirm: true`: succeeded, or back to `requires_payment_method` with the decline in
 * `last_payment_error` (an off-session payment that needs authentication fails the same way, with
 * code `authentication_required`: the customer is not there to authenticate).
 */

export type CardDecline = Pick<Stripe.PaymentIntent.LastPaymentError, 'code' | 'decline_code' | 'message' | 'doc_url' | 'charge' | 'payment_method' | 'type'>;

export interface PaymentIntentFields {
  readonly id?: string;
  readonly amount: number;
  readonly currency: string;
  readonly customer: string;
  readonly paymentMethod: string;
  readonly metadata: Record<string, string>;
  readonly description?: string | null;
  readonly created: number;
  /** The charge of this attempt (a failed one too). */
  readonly charge: string;
  /** undefined: the payment succeeded. */
  readonly decline?: CardDecline;
}

export function paymentIntentObject(f: PaymentIntentFields): Stripe.PaymentIntent {
  const id = f.id ?? stripeId('pi');
  const succeeded = f.decline === undefined;
  return {
    id,
    object: 'payment_intent',
    allowed_payment_method_types: null,
    amount: f.amount,
    amount_capturable: 0,
    amount_details: { tip: {} },
    amount_received: succeeded ? f.amount : 0,
    application: null,
    application_fee_amount: null,
    automatic_payment_methods: null,
    canceled_at: null,
    cancellation_reason: null,
    capture_method: 'automatic',
    client_secret: `${id}_secret_${stripeId('s').slice(2)}`,
    confirmation_method: 'automatic',
    created: f.created,
    currency: f.currency,
    customer: f.customer,
    customer_account: null,
    description: f.description ?? null,
    excluded_payment_method_types: null,
    last_payment_error: f.decline ?? null,
    latest_charge: f.charge,
    livemode: false,
    managed_payments: null,
    metadata: f.metadata,
    next_action: null,
    on_behalf_of: null,
    // A declined attempt detaches the method from the intent (Stripe's requires_payment_method).
    payment_method: succeeded ? f.paymentMethod : null,
    payment_method_configuration_details: null,
    payment_method_options: { card: { installments: null, mandate_options: null, network: null, request_three_d_secure: 'automatic' } },
    payment_method_types: ['card'],
    payment_record: null,
    processing: null,
    receipt_email: null,
    review: null,
    setup_future_usage: null,
    shipping: null,
    source: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: succeeded ? 'succeeded' : 'requires_payment_method',
    transfer_data: null,
    transfer_group: null,
  };
}

/**
 * An auto top-up's PaymentIntent as `tollgate events send` and tests build it from overrides: the pack's
 * units (`credits`, default 100) and the attempt in its metadata, succeeded or declined.
 */
export function topUpPaymentObject(o: StripeEventOverrides, succeeded: boolean): Stripe.PaymentIntent {
  const created = o.created ?? Math.floor(Date.now() / 1000);
  const paymentMethod = stripeId('pm');
  const charge = stripeId('ch');
  return paymentIntentObject({
    amount: 1000,
    currency: 'usd',
    customer: o.customer ?? FIXTURE_CUSTOMER,
    paymentMethod,
    metadata: { [CREDITS_METADATA]: String(o.credits ?? 100), [TOP_UP_METADATA]: o.topUpAttempt ?? newTopUpAttempt() },
    description: 'auto top-up of credits',
    created,
    charge,
    ...(succeeded
      ? {}
      : { decline: { type: 'card_error', code: 'card_declined', decline_code: o.declineCode ?? 'generic_decline', message: 'Your card was declined.', doc_url: 'https://docs.stripe.com/error-codes/card-declined', charge } }),
  });
}
