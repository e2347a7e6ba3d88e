import { DAY, FIXTURE_CUSTOMER, FIXTURE_INVOICE, FIXTURE_SUBSCRIPTION, stripeId, type Json, type StripeEventOverrides } from './overrides';

/** `checkout.session.completed`: a completed hosted Checkout Session (a subscription, or a credits purchase). */

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
    id: o.checkoutSession ?? stripeId('cs_test'),
    invoice: mode === 'subscription' ? (o.invoice ?? FIXTURE_INVOICE) : null,
    livemode: o.livemode ?? false,
    locale: null,
    metadata: o.credits === undefined ? {} : { tollgate_credits: String(o.credits) },
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
