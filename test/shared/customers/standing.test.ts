import { decide, paymentUrlFor, standingOf, type DecisionSettings } from '../../../lambda/shared/customers/standing';
import { SUBSCRIPTION_STATUSES, subscriptionsOf, type CustomerRecord } from '../../../lambda/shared/customers/record';
import { PAYMENT_PROBLEMS, PAYMENT_REASONS, type PaymentReason } from '../../../lambda/shared/problems';
import type { RouteRule } from '../../../lambda/shared/requirements';
import { oneSubscription, type OneSubscription } from '../../authorizer/support';

const NOW = new Date('2026-08-01T12:00:00Z');
const T = NOW.getTime() / 1000;
const HOUR = 3600;
const GRACE = 72 * HOUR;
const SETTINGS: DecisionSettings = {
  gracePeriodSeconds: GRACE,
  checkoutUrl: 'https://pay.example/checkout',
  portalUrl: 'https://billing.example/portal',
};
const INVOICE_URL = 'https://invoice.stripe.com/i/acct_1/test_inv';

const KEY: RouteRule = { method: 'GET', path: '/v1/ping', requires: { kind: 'key' } };
const SUB: RouteRule = { method: 'GET', path: '/v1/quotes', requires: { kind: 'subscription' } };
const PREMIUM: RouteRule = { method: 'GET', path: '/v1/reports/{reportId}', requires: { kind: 'entitlement', lookupKey: 'premium-reports' } };
const ROUTES = [KEY, SUB, PREMIUM];

const customer = (fields: OneSubscription): CustomerRecord =>
  oneSubscription('cus_T3st', { entitlements: ['premium-reports'], paymentUrl: INVOICE_URL, ...fields }, T);

type Row = [label: string, fields: OneSubscription, expected: PaymentReason | 'allow', warning?: string];

// The decision table: every status, every condition that changes its outcome, both sides of each boundary.
const TABLE: Row[] = [
  ['no subscription', {}, 'no_subscription'],
  ['active', { subscriptionStatus: 'active' }, 'allow'],
  ['active with an invoice needing action', { subscriptionStatus: 'active', paymentActionRequired: true }, 'allow', 'payment_action_required'],
  ['trialing', { subscriptionStatus: 'trialing' }, 'allow'],
  ['past_due just failed', { subscriptionStatus: 'past_due', pastDueSince: T - 60 }, 'allow', 'payment_past_due'],
  ['past_due 1 s before the grace period ends', { subscriptionStatus: 'past_due', pastDueSince: T - GRACE + 1 }, 'allow', 'payment_past_due'],
  ['past_due exactly when the grace period ends', { subscriptionStatus: 'past_due', pastDueSince: T - GRACE }, 'payment_failed'],
  ['past_due after the grace period', { subscriptionStatus: 'past_due', pastDueSince: T - GRACE - HOUR }, 'payment_failed'],
  ['past_due after grace, invoice needs action', { subscriptionStatus: 'past_due', pastDueSince: T - GRACE - 1, paymentActionRequired: true }, 'payment_action_required'],
  ['past_due before the failed invoice is recorded', { subscriptionStatus: 'past_due' }, 'allow', 'payment_past_due'],
  ['unpaid', { subscriptionStatus: 'unpaid' }, 'payment_failed'],
  ['canceled', { subscriptionStatus: 'canceled' }, 'subscription_canceled'],
  ['canceled at period end, period running', { subscriptionStatus: 'canceled', cancelAtPeriodEnd: true, currentPeriodEnd: T + HOUR }, 'allow', 'subscription_ending'],
  ['canceled at period end, period over', { subscriptionStatus: 'canceled', cancelAtPeriodEnd: true, currentPeriodEnd: T }, 'subscription_canceled'],
  ['canceled immediately, period running', { subscriptionStatus: 'canceled', cancelAtPeriodEnd: false, currentPeriodEnd: T + HOUR }, 'subscription_canceled'],
  ['incomplete_expired', { subscriptionStatus: 'incomplete_expired' }, 'subscription_canceled'],
  ['incomplete_expired set to cancel at period end, period running', { subscriptionStatus: 'incomplete_expired', cancelAtPeriodEnd: true, currentPeriodEnd: T + 1 }, 'allow', 'subscription_ending'],
  ['incomplete', { subscriptionStatus: 'incomplete' }, 'payment_action_required'],
  ['paused', { subscriptionStatus: 'paused' }, 'trial_ended'],
];

describe('decide', () => {
  it('has a row for every subscription status', () => {
    const covered = new Set(TABLE.map(([, fields]) => fields.subscriptionStatus));
    for (const status of SUBSCRIPTION_STATUSES) expect(covered).toContain(status);
    expect(covered).toContain(undefined);
  });

  // Objects, not tuples: jest takes a 4th parameter beyond a row's length for a done callback.
  it.each(TABLE.map(([label, fields, expected, warning]) => ({ label, fields, expected, warning })))(
    'answers $label with $expected',
    ({ fields, expected, warning }) => {
      const decision = decide(customer(fields), ROUTES, NOW, SETTINGS);
      const verdict = Object.fromEntries(decision.verdicts.map((v) => [v.route.path, v.allow]));

      expect(verdict['/v1/ping']).toBe(true); // free tier: any valid key, whatever the payment state
      if (expected === 'allow') {
        expect(verdict).toEqual({ '/v1/ping': true, '/v1/quotes': true, '/v1/reports/{reportId}': true });
        expect(decision.reason).toBeUndefined();
        expect(decision.context.reason).toBeUndefined();
        expect(decision.context.paymentWarning).toBe(warning);
      } else {
        expect(verdict).toEqual({ '/v1/ping': true, '/v1/quotes': false, '/v1/reports/{reportId}': false });
        expect(decision.reason).toBe(expected);
        expect(decision.context).toMatchObject({
          reason: expected,
          title: PAYMENT_PROBLEMS[expected].title,
          detail: PAYMENT_PROBLEMS[expected].detail,
          customerId: 'cus_T3st',
          subscriptionStatus: fields.subscriptionStatus ?? 'none',
        });
        expect(decision.context.paymentWarning).toBeUndefined();
      }
    },
  );

  it.each([
    ['active', 'active'],
    ['trialing', 'trialing'],
    ['past_due in grace', 'past_due'],
  ] as const)('answers upgrade_required for the entitlement route only when %s lacks the entitlement', (_label, status) => {
    const decision = decide(customer({ subscriptionStatus: status, pastDueSince: T, entitlements: ['other'] }), ROUTES, NOW, SETTINGS);
    expect(decision.verdicts.map((v) => v.allow)).toEqual([true, true, false]);
    expect(decision.reason).toBe('upgrade_required');
    expect(decision.context.paymentUrl).toBe(SETTINGS.portalUrl);
  });

  it('answers upgrade_required when the customer has no entitlements at all', () => {
    const decision = decide(customer({ subscriptionStatus: 'active', entitlements: undefined }), ROUTES, NOW, SETTINGS);
    expect(decision.verdicts.map((v) => v.allow)).toEqual([true, true, false]);
    expect(decision.reason).toBe('upgrade_required');
  });

  it.each(['credits_exhausted', 'quota_exceeded'] as const)('denies every paid route with %s when the usage block applies', (block) => {
    const withEntitlement = decide(customer({ subscriptionStatus: 'active', usageBlock: block }), ROUTES, NOW, SETTINGS);
    expect(withEntitlement.verdicts.map((v) => v.allow)).toEqual([true, false, false]);
    expect(withEntitlement.reason).toBe(block);
    // Also without the entitlement: every denied route is denied by the block, so the block is the reason.
    const without = decide(customer({ subscriptionStatus: 'active', usageBlock: block, entitlements: [] }), ROUTES, NOW, SETTINGS);
    expect(without.reason).toBe(block);
  });

  it('gives the subscription reason, not the usage block, when the subscription grants nothing', () => {
    const decision = decide(customer({ subscriptionStatus: 'unpaid', usageBlock: 'quota_exceeded' }), ROUTES, NOW, SETTINGS);
    expect(decision.reason).toBe('payment_failed');
  });

  it('applies a grace period of zero at once', () => {
    const decision = decide(customer({ subscriptionStatus: 'past_due', pastDueSince: T }), ROUTES, NOW, { ...SETTINGS, gracePeriodSeconds: 0 });
    expect(decision.reason).toBe('payment_failed');
  });

  it('puts only flat JSON-safe values in the context when stored strings carry quotes', () => {
    const decision = decide(customer({ subscriptionStatus: 'active', plan: 'pro "gold"\\\n', usageBlock: 'quota_exceeded' }), ROUTES, NOW, SETTINGS);
    for (const value of Object.values(decision.context)) {
      expect(['string', 'number', 'boolean']).toContain(typeof value);
      // eslint-disable-next-line no-control-regex
      if (typeof value === 'string') expect(value).not.toMatch(/["\\\u0000-\u001f]/);
    }
    expect(decision.context.plan).toBe('pro gold');
  });

  it('decides from payment state alone when the customer has keys (never puts key material in the context)', () => {
    const decision = decide(
      { ...customer({ subscriptionStatus: 'active' }), apiKeys: { abcdEFGH: { hash: 'a'.repeat(64), createdAt: NOW.toISOString() } } },
      ROUTES,
      NOW,
      SETTINGS,
    );
    expect(JSON.stringify(decision.context)).not.toContain('a'.repeat(64));
  });
});

describe('standingOf', () => {
  it('grants nothing for every status outside active, trialing, past_due in grace and paid-up cancellations', () => {
    const bad = SUBSCRIPTION_STATUSES.filter((s) => !['active', 'trialing', 'past_due'].includes(s));
    for (const status of bad) expect(standingOf(subscriptionsOf(customer({ subscriptionStatus: status }))[0]!, NOW, GRACE).good).toBe(false);
  });
});

describe('paymentUrlFor', () => {
  const withInvoice = { paymentUrl: INVOICE_URL };
  const withoutInvoice = {};
  const expected: Record<PaymentReason, [full: string, invoiceless: string, portalOnly: string, checkoutOnly: string]> = {
    payment_failed: [INVOICE_URL, SETTINGS.portalUrl!, 'portal', 'checkout'],
    payment_action_required: [INVOICE_URL, SETTINGS.portalUrl!, 'portal', 'checkout'],
    no_subscription: [SETTINGS.checkoutUrl!, SETTINGS.checkoutUrl!, 'portal', 'checkout'],
    subscription_canceled: [SETTINGS.checkoutUrl!, SETTINGS.checkoutUrl!, 'portal', 'checkout'],
    trial_ended: [SETTINGS.portalUrl!, SETTINGS.portalUrl!, 'portal', 'checkout'],
    upgrade_required: [SETTINGS.portalUrl!, SETTINGS.portalUrl!, 'portal', 'checkout'],
    credits_exhausted: [SETTINGS.portalUrl!, SETTINGS.portalUrl!, 'portal', 'checkout'],
    quota_exceeded: [SETTINGS.portalUrl!, SETTINGS.portalUrl!, 'portal', 'checkout'],
    top_up_failed: [SETTINGS.portalUrl!, SETTINGS.portalUrl!, 'portal', 'checkout'],
    budget_exceeded: [SETTINGS.portalUrl!, SETTINGS.portalUrl!, 'portal', 'checkout'],
  };

  it.each(PAYMENT_REASONS.map((r) => [r]))('points %s at the most specific known URL', (reason) => {
    const [full, invoiceless, portalOnly, checkoutOnly] = expected[reason];
    expect(paymentUrlFor(reason, withInvoice, SETTINGS)).toBe(full);
    expect(paymentUrlFor(reason, withoutInvoice, SETTINGS)).toBe(invoiceless);
    expect(paymentUrlFor(reason, withoutInvoice, { gracePeriodSeconds: 0, portalUrl: 'portal' })).toBe(portalOnly);
    expect(paymentUrlFor(reason, withoutInvoice, { gracePeriodSeconds: 0, checkoutUrl: 'checkout' })).toBe(checkoutOnly);
    expect(paymentUrlFor(reason, withoutInvoice, { gracePeriodSeconds: 0 })).toBeUndefined();
  });

  it('omits paymentUrl from the context when none is known', () => {
    const decision = decide(customer({ paymentUrl: undefined }), ROUTES, NOW, { gracePeriodSeconds: GRACE });
    expect(decision.reason).toBe('no_subscription');
    expect(decision.context).not.toHaveProperty('paymentUrl');
  });

  it('gives the failed invoice URL during the grace period for the backend to show', () => {
    const decision = decide(customer({ subscriptionStatus: 'past_due', pastDueSince: T }), ROUTES, NOW, SETTINGS);
    expect(decision.context.paymentUrl).toBe(INVOICE_URL);
  });
});
