import { DAY, FIXTURE_CUSTOMER, FIXTURE_INVOICE, FIXTURE_SUBSCRIPTION, type Json, type StripeEventOverrides } from './overrides';

/** `invoice.*`: a subscription invoice with one line, in Stripe's fixture shape. */

export type InvoiceStatus = 'paid' | 'open' | 'void' | 'uncollectible';

export function invoiceObject(o: StripeEventOverrides = {}, status: InvoiceStatus = 'open'): Json {
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
    auto_advance: status === 'open',
    billing_reason: 'subscription_cycle',
    collection_method: o.invoiceDueDate === undefined ? 'charge_automatically' : 'send_invoice',
    created: Math.min(created, finalizedAt),
    currency: 'usd',
    customer: o.customer ?? FIXTURE_CUSTOMER,
    customer_email: null,
    default_payment_method: null,
    description: null,
    discounts: [],
    due_date: o.invoiceDueDate ?? null,
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
    next_payment_attempt: status === 'open' ? created + 3 * DAY : null,
    number: null,
    object: 'invoice',
    period_end: finalizedAt,
    period_start: finalizedAt - 30 * DAY,
    status,
    status_transitions: {
      finalized_at: finalizedAt,
      marked_uncollectible_at: status === 'uncollectible' ? created : null,
      paid_at: status === 'paid' ? created : null,
      voided_at: status === 'void' ? created : null,
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
