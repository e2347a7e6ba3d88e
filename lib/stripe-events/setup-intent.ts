import type Stripe from 'stripe';
import { stripeId } from './overrides';

/** A SetupIntent that saved a card for off-session use (`Stripe.SetupIntent`), as a setup-mode Checkout leaves it. */

export interface SetupIntentFields {
  readonly id?: string;
  readonly customer: string;
  readonly paymentMethod: string;
  readonly metadata: Record<string, string>;
  readonly created: number;
}

export function setupIntentObject(f: SetupIntentFields): Stripe.SetupIntent {
  const id = f.id ?? stripeId('seti');
  return {
    id,
    object: 'setup_intent',
    allowed_payment_method_types: null,
    application: null,
    automatic_payment_methods: null,
    cancellation_reason: null,
    client_secret: `${id}_secret_${stripeId('s').slice(2)}`,
    created: f.created,
    customer: f.customer,
    description: null,
    excluded_payment_method_types: null,
    flow_directions: null,
    last_setup_error: null,
    latest_attempt: stripeId('setatt'),
    livemode: false,
    mandate: null,
    metadata: f.metadata,
    next_action: null,
    on_behalf_of: null,
    payment_method: f.paymentMethod,
    payment_method_configuration_details: null,
    payment_method_options: { card: { mandate_options: null, network: null, request_three_d_secure: 'automatic' } },
    payment_method_types: ['card'],
    single_use_mandate: null,
    status: 'succeeded',
    usage: 'off_session',
  };
}
