import type Stripe from 'stripe';
import { stripeId } from './overrides';

/** A saved card as Stripe shows it (`Stripe.PaymentMethod`, type card), attached to a customer. */

export interface CardFields {
  readonly id?: string;
  readonly customer: string | null;
  readonly brand: string;
  readonly last4: string;
  readonly expMonth: number;
  readonly expYear: number;
  readonly created: number;
}

export function cardPaymentMethodObject(f: CardFields): Stripe.PaymentMethod {
  return {
    id: f.id ?? stripeId('pm'),
    object: 'payment_method',
    allow_redisplay: 'unspecified',
    billing_details: { address: { city: null, country: null, line1: null, line2: null, postal_code: null, state: null }, email: null, name: null, phone: null, tax_id: null },
    card: {
      brand: f.brand,
      checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: 'pass' },
      country: 'US',
      display_brand: f.brand,
      exp_month: f.expMonth,
      exp_year: f.expYear,
      fingerprint: `fp${f.last4}${f.brand}`.slice(0, 16),
      funding: 'credit',
      generated_from: null,
      last4: f.last4,
      networks: { available: [f.brand], preferred: null },
      regulated_status: 'unregulated',
      three_d_secure_usage: { supported: true },
      wallet: null,
    },
    created: f.created,
    customer: f.customer,
    customer_account: null,
    livemode: false,
    metadata: {},
    type: 'card',
  };
}
