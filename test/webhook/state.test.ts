import { interpret, parseEnvelope, STRIPE_API_VERSION } from '../../lambda/webhook/events';
import type { CustomerRecord } from '../../lambda/shared/customers/record';
import {
  assumedWatermark,
  project,
  refetchedWatermark,
  verdict as verdictAt,
  watermark,
  watermarkSecond,
} from '../../lambda/webhook/state';
import type { CustomerUpdate, SubscriptionChange } from '../../lambda/shared/customers/changes';
import { buildStripeEvent, FIXTURE_CUSTOMER, type HandledEventType, type StripeEventOverrides } from '../../lib/stripe-events';
import Stripe from 'stripe';

const NOW = new Date('2026-11-01T00:00:00Z');
const T = 1_790_000_000;

const sub = (o: Partial<SubscriptionChange> = {}): SubscriptionChange => ({
  stream: 'subscription',
  subscriptionId: 'sub_A',
  status: 'active',
  cancelAtPeriodEnd: false,
  ...o,
});
const verdict = (state: CustomerRecord | undefined, u: CustomerUpdate) => verdictAt(state, u, NOW);
const update = (change: SubscriptionChange, created: number, eventId = 'evt_1'): CustomerUpdate => ({
  customerId: 'cus_1',
  change,
  watermark: watermark(created, { incomplete: 1, trialing: 2, active: 3, paused: 4, past_due: 5, unpaid: 6, incomplete_expired: 7, canceled: 8 }[change.status], eventId),
});

describe('interpret', () => {
  const cases: Array<[HandledEventType, StripeEventOverrides, Record<string, unknown>]> = [
    ['customer.subscription.created', { status: 'trialing', lookupKey: 'pro', currentPeriodEnd: T + 99 }, { kind: 'change', change: { stream: 'subscription', status: 'trialing', plan: 'pro', currentPeriodEnd: T + 99 } }],
    ['customer.subscription.updated', { status: 'past_due' }, { kind: 'change', change: { status: 'past_due', plan: 'price_1PgafmB7WZ01zgkW6dKueIc5' } }],
    ['customer.subscription.updated', { status: 'past_due', previousStatus: 'active' }, { kind: 'change', change: { status: 'past_due', enteredPastDue: true } }],
    ['customer.subscription.deleted', {}, { kind: 'change', change: { status: 'canceled' } }],
    ['customer.subscription.paused', {}, { kind: 'change', change: { status: 'paused' } }],
    ['customer.subscription.resumed', {}, { kind: 'change', change: { status: 'active' } }],
    ['invoice.paid', {}, { kind: 'change', change: { stream: 'invoices', outcome: 'paid', pastDueSince: undefined } }],
    ['invoice.payment_failed', { invoiceFinalizedAt: T - 50, invoiceUrl: 'https://invoice.stripe.com/i/x' }, { kind: 'change', change: { outcome: 'payment_failed', pastDueSince: T - 50, paymentUrl: 'https://invoice.stripe.com/i/x' } }],
    ['invoice.payment_action_required', { invoiceUrl: 'http://not-https.example' }, { kind: 'change', change: { outcome: 'payment_action_required', paymentUrl: undefined } }],
    ['invoice.payment_failed', { invoiceFinalizedAt: T - 50, invoiceDueDate: T - 20 }, { kind: 'change', change: { outcome: 'payment_failed', pastDueSince: T - 20 } }],
    ['invoice.voided', {}, { kind: 'change', change: { stream: 'invoices', outcome: 'voided', pastDueSince: undefined } }],
    ['invoice.marked_uncollectible', {}, { kind: 'change', change: { stream: 'invoices', outcome: 'uncollectible', pastDueSince: undefined } }],
    ['entitlements.active_entitlement_summary.updated', { entitlements: ['a', 'b'], entitlementsHasMore: true }, { kind: 'change', change: { entitlements: ['a', 'b'] }, entitlementsIncomplete: true }],
    ['customer.deleted', {}, { kind: 'change', customerId: FIXTURE_CUSTOMER, change: { stream: 'customer', deleted: true } }],
    ['checkout.session.completed', { paymentStatus: 'paid' }, { kind: 'checkout', assumed: { status: 'active' } }],
    ['checkout.session.completed', { paymentStatus: 'unpaid' }, { kind: 'checkout', assumed: undefined }],
    ['checkout.session.completed', { checkoutMode: 'payment' }, { kind: 'ignored' }],
  ];
  it.each(cases)('reads %s with %j', (type, overrides, expected) => {
    expect(interpret(parseEnvelope(buildStripeEvent(type, { created: T, ...overrides })))).toMatchObject(expected);
  });

  it('ignores an invoice that belongs to no subscription', () => {
    const event = buildStripeEvent('invoice.paid', { created: T });
    const invoice = (event.data as { object: Record<string, unknown> }).object;
    invoice.parent = null;
    expect(interpret(parseEnvelope(event))).toEqual({ kind: 'ignored', reason: 'invoice of no subscription' });
  });

  it('reads the period end from the subscription for payloads older than API 2025-03-31', () => {
    const event = buildStripeEvent('customer.subscription.updated', { created: T });
    const subscription = (event.data as { object: Record<string, unknown> }).object;
    subscription.items = { object: 'list', data: [], has_more: false };
    subscription.current_period_end = T + 5;
    subscription.current_period_start = T - 5;
    expect(interpret(parseEnvelope(event))).toMatchObject({ change: { currentPeriodStart: T - 5, currentPeriodEnd: T + 5 } });
  });

  it('takes the period of the item that ends last, start and end together, and no start that would follow its end', () => {
    const event = buildStripeEvent('customer.subscription.updated', { created: T });
    const subscription = (event.data as { object: Record<string, unknown> }).object;
    const [item] = (subscription.items as { data: Array<Record<string, unknown>> }).data;
    const items = [
      { ...item, id: 'si_a', current_period_start: T - 100, current_period_end: T + 100 },
      { ...item, id: 'si_b', current_period_start: T - 10, current_period_end: T + 900 },
    ];
    subscription.items = { object: 'list', data: items, has_more: false };
    expect(interpret(parseEnvelope(event))).toMatchObject({ change: { currentPeriodStart: T - 10, currentPeriodEnd: T + 900 } });
    subscription.items = { object: 'list', data: [{ ...item, current_period_start: T + 1000, current_period_end: T + 900 }], has_more: false };
    const change = (interpret(parseEnvelope(event)) as unknown as { change: Record<string, unknown> }).change;
    expect(change).toMatchObject({ currentPeriodEnd: T + 900 });
    expect(change).not.toHaveProperty('currentPeriodStart');
  });

  it('pins the API version the stripe sdk pins', () => {
    expect(STRIPE_API_VERSION).toBe(Stripe.API_VERSION);
  });
});

describe('verdict', () => {
  const applied = (u: CustomerUpdate, state?: CustomerRecord): CustomerRecord => project(state, 'cus_1', u, NOW);

  it.each([
    ['a newer second', T + 1, 'canceled', 'apply'],
    ['an older second', T - 1, 'canceled', 'stale'],
    ['the same second and a later lifecycle status', T, 'past_due', 'apply'],
    ['the same second and an earlier lifecycle status', T, 'incomplete', 'stale'],
  ] as const)('says %s → %s', (_, created, status, expected) => {
    const state = applied(update(sub({ status: 'active' }), T));
    expect(verdict(state, update(sub({ status }), created, 'evt_2'))).toBe(expected);
  });

  it('keeps each subscription apart: an event of one never hides or changes another', () => {
    const both = applied(update(sub({ subscriptionId: 'sub_B', status: 'active' }), T), applied(update(sub({ subscriptionId: 'sub_A', status: 'active' }), T + 50)));
    // An older event of B is not stale because A has a newer one.
    expect(verdict(both, update(sub({ subscriptionId: 'sub_B', status: 'incomplete_expired' }), T + 10))).toBe('apply');
    const after = applied(update(sub({ subscriptionId: 'sub_B', status: 'incomplete_expired' }), T + 10), both);
    expect(after.subscriptions.sub_A?.status).toBe('active');
    expect(after.subscriptions.sub_B?.status).toBe('incomplete_expired');
  });

  it('applies an assumed checkout subscription only while nothing is known of it', () => {
    const assumed: CustomerUpdate = { customerId: 'cus_1', change: sub(), watermark: assumedWatermark('evt_c') };
    expect(verdict(undefined, assumed)).toBe('apply');
    const known = applied(update(sub({ status: 'incomplete' }), T - 100));
    expect(verdict(known, assumed)).toBe('stale');
    // …and every real event of the subscription overrides it.
    expect(verdict(applied(assumed), update(sub({ status: 'incomplete' }), 0))).toBe('apply');
  });

  it('orders re-fetched state above every event of its second and below the next second', () => {
    const refetched = refetchedWatermark(T, 'evt_r');
    expect(watermarkSecond(refetched.value)).toBe(T);
    const state = applied({ customerId: 'cus_1', change: sub(), watermark: refetched });
    expect(verdict(state, update(sub({ status: 'canceled' }), T, 'evt_zzz'))).toBe('stale');
    expect(verdict(state, update(sub({ status: 'incomplete' }), T + 1))).toBe('apply');
    expect(verdict(state, { customerId: 'cus_1', change: sub(), watermark: refetchedWatermark(T, 'evt_a') })).toBe('apply');
  });
});

describe('per-subscription state', () => {
  const at = (u: CustomerUpdate, state?: CustomerRecord, now = NOW): CustomerRecord => project(state, 'cus_1', u, now);
  const invoice = (outcome: 'paid' | 'payment_failed' | 'voided' | 'uncollectible', created: number, o: { subscriptionId?: string; pastDueSince?: number } = {}): CustomerUpdate => ({
    customerId: 'cus_1',
    change: { stream: 'invoices', invoiceId: 'in_1', subscriptionId: o.subscriptionId ?? 'sub_A', outcome, pastDueSince: o.pastDueSince ?? created - 100, paymentUrl: 'https://invoice.stripe.com/i/x' },
    watermark: watermark(created, 1, `evt_${outcome}_${created}`),
  });

  it('starts the grace period when an event shows the subscription past_due, with or without an invoice', () => {
    const pastDue = at(update(sub({ status: 'past_due' }), T));
    expect(pastDue.pastDue).toEqual({ sub_A: T });
    // Still past_due later: the first moment is kept.
    expect(at(update(sub({ status: 'past_due' }), T + 60, 'evt_2'), pastDue).pastDue).toEqual({ sub_A: T });
    // An event that says the subscription just entered past_due restarts it.
    expect(at(update(sub({ status: 'past_due', enteredPastDue: true }), T + 90, 'evt_3'), pastDue).pastDue).toEqual({ sub_A: T + 90 });
    expect(at(update(sub({ status: 'active' }), T + 120, 'evt_4'), pastDue).pastDue).toEqual({});
  });

  it('keeps the grace start when an invoice of the subscription is paid, voided or written off', () => {
    const pastDue = at(update(sub({ status: 'past_due' }), T), at(invoice('payment_failed', T - 5)));
    expect(pastDue.invoices.sub_A).toMatchObject({ pastDueSince: T - 105, paymentUrl: 'https://invoice.stripe.com/i/x' });
    for (const outcome of ['paid', 'voided', 'uncollectible'] as const) {
      const settled = at(invoice(outcome, T + 10), pastDue);
      expect(settled.invoices.sub_A).toEqual({ invoiceId: 'in_1', watermark: expect.any(String) });
      expect(settled.pastDue).toEqual({ sub_A: T });
    }
  });

  it('makes a terminal subscription a tombstone: no later event of it or of its invoices applies, and its invoice state goes', () => {
    const withInvoice = at(invoice('payment_failed', T - 5), at(update(sub({ status: 'past_due' }), T - 10)));
    const canceled = at(update(sub({ status: 'canceled' }), T), withInvoice);
    expect(canceled.invoices).toEqual({});
    expect(canceled.pastDue).toEqual({});
    expect(verdict(canceled, update(sub({ status: 'active' }), T + 100, 'evt_late'))).toBe('stale');
    expect(verdict(canceled, invoice('payment_failed', T + 100))).toBe('stale');
    expect(verdict(canceled, invoice('payment_failed', T + 100, { subscriptionId: 'sub_B' }))).toBe('apply');
  });

  it('forgets terminal subscriptions and orphan invoice state once no stale event can arrive, but keeps the newest terminal one', () => {
    const month = 31 * 86400;
    let state = at(update(sub({ subscriptionId: 'sub_Old1', status: 'canceled' }), T - 2 * month));
    state = at(update(sub({ subscriptionId: 'sub_Old2', status: 'incomplete_expired' }), T - month - 10), state);
    state = at(invoice('payment_failed', T - month - 5, { subscriptionId: 'sub_Gone' }), state);
    state = at(update(sub({ subscriptionId: 'sub_New', status: 'active' }), T), state);
    expect(Object.keys(state.subscriptions).sort()).toEqual(['sub_New', 'sub_Old2']);
    expect(state.invoices).toEqual({});
  });

  it('refuses a new subscription when the item tracks the most it may, and counts what the update forgets', () => {
    let state: CustomerRecord | undefined;
    for (let i = 0; i < 100; i++) state = at(update(sub({ subscriptionId: `sub_${i}`, status: 'active' }), T), state);
    expect(verdict(state, update(sub({ subscriptionId: 'sub_101' }), T + 1))).toBe('full');
    expect(verdict(state, update(sub({ subscriptionId: 'sub_5', status: 'past_due' }), T + 1))).toBe('apply');
  });
});
