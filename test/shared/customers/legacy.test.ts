import { decide, type DecisionSettings } from '../../../lambda/authorizer/decide';
import { CorruptRecordError, decisionProjection, decodeCustomerItem, PAYMENT_STATE_PROJECTION, type Projection } from '../../../lambda/shared/customers/item';
import { LEGACY_INVOICE_ID, legacyUpgrade, withoutLegacy } from '../../../lambda/shared/customers/legacy';
import type { RouteRule } from '../../../lambda/shared/requirements';

const T = 1_785_000_000;
const DAY = 86_400;
const NOW = new Date(T * 1000);
const SETTINGS: DecisionSettings = { gracePeriodSeconds: 3 * DAY, portalUrl: 'https://billing.example/portal', checkoutUrl: 'https://buy.example/checkout' };
const PORTAL = SETTINGS.portalUrl!;
const CHECKOUT = SETTINGS.checkoutUrl!;
const INVOICE = 'https://invoice.stripe.com/i/x';
const ROUTES: RouteRule[] = [
  { method: 'GET', path: '/v1/quotes', requires: { kind: 'subscription' } },
  { method: 'GET', path: '/v1/reports', requires: { kind: 'entitlement', lookupKey: 'premium-reports' } },
];
const KEY = { hash: 'ab'.repeat(32), createdAt: '2026-08-01T00:00:00.000Z' };
const wm = (second: number, rank = 3): string => `${String(second).padStart(11, '0')}:${rank}:evt_${second}`;

/** A customer item as 0.1 wrote it: one subscription `sub_1`, its last event a day ago. */
function legacyItem(subscription: Record<string, unknown>, invoice: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    customerId: 'cus_Legacy',
    subscriptionId: 'sub_1',
    plan: 'pro',
    cancelAtPeriodEnd: false,
    currentPeriodEnd: T + 20 * DAY,
    subscriptionOrder: '01784000000:sub_1',
    wm_sub_1: wm(T - DAY),
    // The subscription it replaced: its watermark stayed behind.
    wm_sub_0: wm(T - 90 * DAY, 8),
    entitlements: ['premium-reports'],
    wm_entitlements: wm(T - 2 * DAY, 0),
    updatedAt: new Date((T - DAY + 1) * 1000).toISOString(),
    key_abcdEFGH: KEY,
    ...subscription,
    ...(Object.keys(invoice).length === 0 ? {} : { wm_invoices: wm(T - 2 * DAY, 1), ...invoice }),
  };
}

const failed = { pastDueSince: T - 2 * DAY, paymentUrl: INVOICE };
const needsAction = { ...failed, paymentActionRequired: true };
const overdue = { pastDueSince: T - 5 * DAY, paymentUrl: INVOICE };

interface OldDecision {
  readonly allowed: boolean;
  readonly reason?: string;
  readonly paymentWarning?: string;
  readonly paymentUrl: string;
}

/** What 0.1's authorizer answered for each item (its standing table, cell by cell). */
const CASES: ReadonlyArray<readonly [string, Record<string, unknown>, OldDecision]> = [
  ['active', legacyItem({ subscriptionStatus: 'active' }), { allowed: true, paymentUrl: PORTAL }],
  ['active with an invoice needing action', legacyItem({ subscriptionStatus: 'active' }, needsAction), { allowed: true, paymentWarning: 'payment_action_required', paymentUrl: INVOICE }],
  ['active after a paid invoice', legacyItem({ subscriptionStatus: 'active' }, { wm_invoices: wm(T - DAY, 3) }), { allowed: true, paymentUrl: PORTAL }],
  ['trialing', legacyItem({ subscriptionStatus: 'trialing' }), { allowed: true, paymentUrl: PORTAL }],
  ['past_due within grace', legacyItem({ subscriptionStatus: 'past_due' }, failed), { allowed: true, paymentWarning: 'payment_past_due', paymentUrl: INVOICE }],
  ['past_due after grace', legacyItem({ subscriptionStatus: 'past_due' }, overdue), { allowed: false, reason: 'payment_failed', paymentUrl: INVOICE }],
  ['past_due after grace, needing action', legacyItem({ subscriptionStatus: 'past_due' }, { ...overdue, paymentActionRequired: true }), { allowed: false, reason: 'payment_action_required', paymentUrl: INVOICE }],
  ['past_due without invoice state', legacyItem({ subscriptionStatus: 'past_due' }), { allowed: true, paymentWarning: 'payment_past_due', paymentUrl: PORTAL }],
  ['unpaid', legacyItem({ subscriptionStatus: 'unpaid' }, overdue), { allowed: false, reason: 'payment_failed', paymentUrl: INVOICE }],
  ['unpaid without invoice state', legacyItem({ subscriptionStatus: 'unpaid' }), { allowed: false, reason: 'payment_failed', paymentUrl: PORTAL }],
  ['canceled', legacyItem({ subscriptionStatus: 'canceled' }), { allowed: false, reason: 'subscription_canceled', paymentUrl: CHECKOUT }],
  ['canceled with invoice state', legacyItem({ subscriptionStatus: 'canceled' }, overdue), { allowed: false, reason: 'subscription_canceled', paymentUrl: CHECKOUT }],
  ['canceled at period end, period running', legacyItem({ subscriptionStatus: 'canceled', cancelAtPeriodEnd: true }), { allowed: true, paymentWarning: 'subscription_ending', paymentUrl: CHECKOUT }],
  ['canceled at period end, period over', legacyItem({ subscriptionStatus: 'canceled', cancelAtPeriodEnd: true, currentPeriodEnd: T - DAY }), { allowed: false, reason: 'subscription_canceled', paymentUrl: CHECKOUT }],
  ['incomplete_expired', legacyItem({ subscriptionStatus: 'incomplete_expired' }), { allowed: false, reason: 'subscription_canceled', paymentUrl: CHECKOUT }],
  ['incomplete', legacyItem({ subscriptionStatus: 'incomplete' }), { allowed: false, reason: 'payment_action_required', paymentUrl: PORTAL }],
  ['incomplete with an invoice needing action', legacyItem({ subscriptionStatus: 'incomplete' }, needsAction), { allowed: false, reason: 'payment_action_required', paymentUrl: INVOICE }],
  ['paused', legacyItem({ subscriptionStatus: 'paused' }), { allowed: false, reason: 'trial_ended', paymentUrl: PORTAL }],
  ['no subscription, deleted', { customerId: 'cus_Legacy', deleted: true, wm_customer: wm(T - DAY, 0), key_abcdEFGH: KEY }, { allowed: false, reason: 'no_subscription', paymentUrl: CHECKOUT }],
];

/** The item after the upgrade: the writes applied, the 0.1 attributes removed (as the store does it). */
function upgraded(item: Record<string, unknown>): Record<string, unknown> {
  const upgrade = legacyUpgrade(item)!;
  const next: Record<string, unknown> = { ...item };
  for (const name of upgrade.remove) delete next[name];
  for (const [path, value] of upgrade.writes) {
    if (path.length === 1) next[path[0]] ??= value;
    else next[path[0]] = { ...(next[path[0]] as object | undefined), [path[1]]: value };
  }
  return next;
}

const projected = (item: Record<string, unknown>, projection: Projection): Record<string, unknown> => {
  const names = new Set(Object.values(projection.ExpressionAttributeNames));
  return Object.fromEntries(Object.entries(item).filter(([name]) => names.has(name)));
};

const summary = (item: Record<string, unknown>) => {
  const decision = decide(decodeCustomerItem(item), ROUTES, NOW, SETTINGS);
  return { verdicts: decision.verdicts.map((v) => v.allow), context: decision.context };
};

describe('legacyUpgrade', () => {
  it.each(CASES)('gives the decision 0.1 gave when the subscription is %s', (_, item, old) => {
    const after = upgraded(item);
    const record = decodeCustomerItem(after);
    const decision = decide(record, ROUTES, NOW, SETTINGS);
    expect(decision.verdicts.map((v) => v.allow)).toEqual([old.allowed, old.allowed]);
    expect({ reason: decision.reason, paymentWarning: decision.context.paymentWarning, paymentUrl: decision.context.paymentUrl }).toEqual({
      reason: old.reason,
      paymentWarning: old.paymentWarning,
      paymentUrl: old.paymentUrl,
    });
    const status = item.subscriptionStatus;
    expect(decision.context).toMatchObject(status === undefined ? { subscriptionStatus: 'none' } : { subscriptionStatus: status, plan: 'pro' });
    expect(Object.keys(after).filter((name) => name.startsWith('wm_') || name in { subscriptionId: 1, subscriptionStatus: 1, plan: 1, pastDueSince: 1 })).toEqual([]);
    expect(record.apiKeys).toEqual({ abcdEFGH: KEY });
  });

  it.each(CASES)('gives the same decision before the upgrade, through either reader, when %s', (_, item) => {
    const after = upgraded(item);
    expect(summary(item)).toEqual(summary(after));
    expect(summary(projected(item, decisionProjection('abcdEFGH')))).toEqual(summary(after));
    expect(summary(projected(item, PAYMENT_STATE_PROJECTION))).toEqual(summary(after));
  });

  it('maps every stream with its watermark and lists every 0.1 attribute', () => {
    const item = legacyItem({ subscriptionStatus: 'past_due', wm_customer: wm(T - DAY, 0) }, needsAction);
    expect(legacyUpgrade(item)).toEqual({
      writes: [
        [['subscriptions', 'sub_1'], { status: 'past_due', plan: 'pro', cancelAtPeriodEnd: false, currentPeriodEnd: T + 20 * DAY, watermark: wm(T - DAY) }],
        [['invoices', 'sub_1'], { invoiceId: LEGACY_INVOICE_ID, watermark: wm(T - 2 * DAY, 1), pastDueSince: T - 2 * DAY, paymentActionRequired: true, paymentUrl: INVOICE }],
        [['pastDue', 'sub_1'], T - 2 * DAY],
        [['entitlementsWatermark'], wm(T - 2 * DAY, 0)],
        [['customerWatermark'], wm(T - DAY, 0)],
      ],
      remove: [
        'cancelAtPeriodEnd',
        'currentPeriodEnd',
        'pastDueSince',
        'paymentActionRequired',
        'paymentUrl',
        'plan',
        'subscriptionId',
        'subscriptionOrder',
        'subscriptionStatus',
        'wm_customer',
        'wm_entitlements',
        'wm_invoices',
        'wm_sub_0',
        'wm_sub_1',
      ],
    });
  });

  it('starts the grace period of a past_due subscription without invoice state at its last event, else at the last write', () => {
    const item = legacyItem({ subscriptionStatus: 'past_due' });
    expect(legacyUpgrade(item)!.writes).toContainEqual([['pastDue', 'sub_1'], T - DAY]);
    // The readers' projections cannot name wm_<subscriptionId>.
    expect(legacyUpgrade(projected(item, PAYMENT_STATE_PROJECTION))!.writes).toContainEqual([['pastDue', 'sub_1'], T - DAY + 1]);
  });

  it('leaves entries the current layout already holds: a newer write wins', () => {
    const newer = { status: 'canceled', watermark: wm(T, 8) };
    const item = { ...legacyItem({ subscriptionStatus: 'past_due' }, failed), subscriptions: { sub_1: newer }, entitlementsWatermark: wm(T, 0) };
    expect(legacyUpgrade(item)!.writes).toEqual([]);
    expect(decodeCustomerItem(item).subscriptions).toEqual({ sub_1: newer });
    expect(decodeCustomerItem(item).invoices).toEqual({});
  });

  it('returns undefined for an item in the current layout', () => {
    const item = { customerId: 'cus_New', subscriptions: { sub_1: { status: 'active', watermark: wm(T) } }, invoices: {}, pastDue: {}, updatedAt: '2026-08-01T00:00:00.000Z' };
    expect(legacyUpgrade(item)).toBeUndefined();
    expect(withoutLegacy(item)).toBe(item);
  });

  it.each([
    [{ subscriptionStatus: 'lapsed' }, /0\.1 attribute subscriptionStatus is not a Stripe subscription status/],
    [{ subscriptionStatus: 'active', currentPeriodEnd: 'soon' }, /0\.1 attribute currentPeriodEnd is not a number: fix or remove it/],
  ])('throws CorruptRecordError naming the 0.1 attribute when it is malformed (%o)', (patch, message) => {
    const item = legacyItem(patch);
    expect(() => legacyUpgrade(item)).toThrow(CorruptRecordError);
    expect(() => decodeCustomerItem(item)).toThrow(message);
  });
});
