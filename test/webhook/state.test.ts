import { interpret, parseEnvelope, STRIPE_API_VERSION } from '../../lambda/webhook/events';
import {
  accessSignature,
  assumedWatermark,
  project,
  refetchedWatermark,
  verdict,
  watermark,
  watermarkSecond,
  type CustomerUpdate,
  type PaymentState,
  type SubscriptionChange,
} from '../../lambda/webhook/state';
import { buildStripeEvent, FIXTURE_CUSTOMER, type HandledEventType, type StripeEventOverrides } from '../../lib/fixtures/stripe-events';
import Stripe from 'stripe';

const NOW = new Date('2026-11-01T00:00:00Z');
const T = 1_790_000_000;

const sub = (o: Partial<SubscriptionChange> = {}): SubscriptionChange => ({
  stream: 'subscription',
  subscriptionId: 'sub_A',
  status: 'active',
  cancelAtPeriodEnd: false,
  subscriptionCreated: T - 1000,
  ...o,
});
const update = (change: SubscriptionChange, created: number, eventId = 'evt_1'): CustomerUpdate => ({
  customerId: 'cus_1',
  change,
  watermark: watermark(created, { incomplete: 1, trialing: 2, active: 3, paused: 4, past_due: 5, unpaid: 6, incomplete_expired: 7, canceled: 8 }[change.status], eventId),
});

describe('interpret', () => {
  const cases: Array<[HandledEventType, StripeEventOverrides, Record<string, unknown>]> = [
    ['customer.subscription.created', { status: 'trialing', lookupKey: 'pro', currentPeriodEnd: T + 99 }, { kind: 'change', change: { stream: 'subscription', status: 'trialing', plan: 'pro', currentPeriodEnd: T + 99 } }],
    ['customer.subscription.updated', { status: 'past_due' }, { kind: 'change', change: { status: 'past_due', plan: 'price_1PgafmB7WZ01zgkW6dKueIc5' } }],
    ['customer.subscription.deleted', {}, { kind: 'change', change: { status: 'canceled' } }],
    ['customer.subscription.paused', {}, { kind: 'change', change: { status: 'paused' } }],
    ['customer.subscription.resumed', {}, { kind: 'change', change: { status: 'active' } }],
    ['invoice.paid', {}, { kind: 'change', change: { stream: 'invoices', outcome: 'paid', pastDueSince: undefined } }],
    ['invoice.payment_failed', { invoiceFinalizedAt: T - 50, invoiceUrl: 'https://invoice.stripe.com/i/x' }, { kind: 'change', change: { outcome: 'payment_failed', pastDueSince: T - 50, paymentUrl: 'https://invoice.stripe.com/i/x' } }],
    ['invoice.payment_action_required', { invoiceUrl: 'http://not-https.example' }, { kind: 'change', change: { outcome: 'payment_action_required', paymentUrl: undefined } }],
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
    expect(interpret(parseEnvelope(event))).toMatchObject({ change: { currentPeriodEnd: T + 5 } });
  });

  it('pins the API version the stripe sdk pins', () => {
    expect(STRIPE_API_VERSION).toBe(Stripe.API_VERSION);
  });
});

describe('verdict', () => {
  const applied = (u: CustomerUpdate, state?: PaymentState): PaymentState => project(state, 'cus_1', u, NOW);

  it.each([
    ['a newer second', T + 1, 'canceled', 'apply'],
    ['an older second', T - 1, 'canceled', 'stale'],
    ['the same second and a later lifecycle status', T, 'past_due', 'apply'],
    ['the same second and an earlier lifecycle status', T, 'incomplete', 'stale'],
  ] as const)('says %s → %s', (_, created, status, expected) => {
    const state = applied(update(sub({ status: 'active' }), T));
    expect(verdict(state, update(sub({ status }), created, 'evt_2'))).toBe(expected);
  });

  it('lets the newest subscription own the customer', () => {
    const newer = applied(update(sub({ subscriptionId: 'sub_B', subscriptionCreated: T }), T));
    expect(verdict(newer, update(sub({ subscriptionId: 'sub_A', subscriptionCreated: T - 1000, status: 'canceled' }), T + 50))).toBe('stale');
    const older = applied(update(sub({ subscriptionId: 'sub_A', subscriptionCreated: T - 1000 }), T));
    expect(verdict(older, update(sub({ subscriptionId: 'sub_B', subscriptionCreated: T }), T - 5))).toBe('apply');
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

describe('accessSignature', () => {
  const base: PaymentState = { customerId: 'cus_1', watermarks: {}, subscriptionStatus: 'active', plan: 'pro', currentPeriodEnd: T, cancelAtPeriodEnd: false };
  it.each([
    ['a renewal moves the period end', { currentPeriodEnd: T + 30 * 86400 }, false],
    ['the status changes', { subscriptionStatus: 'past_due' }, true],
    ['the plan changes', { plan: 'basic' }, true],
    ['the payment url changes', { paymentUrl: 'https://invoice.stripe.com/i/x' }, true],
    ['entitlements are reordered', { entitlements: ['b', 'a'] }, true],
    ['the period end of a cancelling subscription moves', { cancelAtPeriodEnd: true, currentPeriodEnd: T + 5 }, true],
  ] as const)('tells whether access changed when %s', (_, patch, changes) => {
    expect(accessSignature({ ...base, ...patch }) !== accessSignature(base)).toBe(changes);
  });
  it('ignores entitlement order', () => {
    expect(accessSignature({ ...base, entitlements: ['a', 'b'] })).toBe(accessSignature({ ...base, entitlements: ['b', 'a'] }));
  });
});
