import fc from 'fast-check';
import { decide } from '../../../lambda/shared/customers/standing';
import {
  accessSignature,
  attributesReadBy,
  CorruptRecordError,
  CUSTOMER_ATTRIBUTES,
  decisionProjection,
  decodeCustomerItem,
  keyAttributeName,
  METERING_PROJECTION,
  METERING_WRITE_ATTRIBUTES,
  PAYMENT_STATE_PROJECTION,
  type Projection,
} from '../../../lambda/shared/customers/item';
import { SUBSCRIPTION_STATUSES, type CustomerRecord } from '../../../lambda/shared/customers/record';
import type { RouteRule } from '../../../lambda/shared/requirements';

const HASH = 'ab'.repeat(32);
const KEY = { hash: HASH, createdAt: '2026-08-01T00:00:00.000Z', name: 'ci' };
const WM = '01785000000:3:evt_1';

describe('decodeCustomerItem', () => {
  it('decodes payment fields and key attributes, ignoring undeclared attributes', () => {
    const record = decodeCustomerItem({
      customerId: 'cus_1',
      subscriptions: { sub_1: { status: 'past_due', cancelAtPeriodEnd: false, watermark: WM } },
      invoices: { sub_1: { invoiceId: 'in_1', watermark: WM, pastDueSince: 1_785_000_000, paymentUrl: 'https://invoice.stripe.com/i/x' } },
      pastDue: { sub_1: 1_785_000_100 },
      entitlements: ['a', 'b'],
      usageBlock: null,
      somethingElse: { created: 1, id: 'evt_1' },
      key_abcdEFGH: KEY,
    });
    expect(record).toEqual({
      customerId: 'cus_1',
      subscriptions: { sub_1: { status: 'past_due', cancelAtPeriodEnd: false, watermark: WM } },
      invoices: { sub_1: { invoiceId: 'in_1', watermark: WM, pastDueSince: 1_785_000_000, paymentUrl: 'https://invoice.stripe.com/i/x' } },
      pastDue: { sub_1: 1_785_000_100 },
      entitlements: ['a', 'b'],
      apiKeys: { abcdEFGH: KEY },
    });
  });

  it('accepts entitlements stored as a string set', () => {
    expect(decodeCustomerItem({ customerId: 'cus_1', entitlements: new Set(['x']) }).entitlements).toEqual(['x']);
  });

  it.each([
    [{ subscriptions: { sub_1: { status: 'on_fire', watermark: WM } } }, /subscriptions.sub_1.status is not a Stripe subscription status/],
    [{ subscriptions: 'active' }, /subscriptions is not a map/],
    [{ subscriptions: { sub_1: { status: 'active' } } }, /subscriptions.sub_1.watermark is not a string/],
    [{ invoices: { sub_1: { invoiceId: 'in_1', watermark: WM, pastDueSince: '1785000000' } } }, /invoices.sub_1.pastDueSince is not a number/],
    [{ subscriptions: { sub_1: { status: 'active', watermark: WM, currentPeriodEnd: Number.NaN } } }, /currentPeriodEnd is not a number/],
    [{ subscriptions: { sub_1: { status: 'active', watermark: WM, cancelAtPeriodEnd: 'yes' } } }, /cancelAtPeriodEnd is not a boolean/],
    [{ subscriptions: { sub_1: { status: 'past_due', watermark: WM } } }, /pastDue.sub_1 is not set for a past_due subscription/],
    [{ pastDue: { sub_1: 'yesterday' } }, /pastDue.sub_1 is not a number/],
    [{ entitlements: 'premium' }, /entitlements is not a list of strings/],
    [{ entitlements: ['a', 1] }, /entitlements is not a list of strings/],
    [{ usageBlock: 'broke' }, /usageBlock is not/],
    [{ deleted: 1 }, /deleted is not a boolean/],
    [{ key_abcdEFGH: 'hash' }, /key_abcdEFGH is not a map/],
    [{ key_abcdEFGH: { ...KEY, hash: 'short' } }, /key_abcdEFGH.hash is not a SHA-256/],
    [{ key_abcdEFGH: { hash: HASH } }, /key_abcdEFGH.createdAt is not an ISO-8601 time/],
    [{ key_abcdEFGH: { ...KEY, expiresAt: 'soon' } }, /expiresAt is not an ISO-8601 time/],
    [{ key_abc: KEY }, /key_abc is not named key_/],
  ])('throws CorruptRecordError on %j', (fields, message) => {
    expect(() => decodeCustomerItem({ customerId: 'cus_1', ...fields })).toThrow(CorruptRecordError);
    expect(() => decodeCustomerItem({ customerId: 'cus_1', ...fields })).toThrow(message);
  });

  it('throws CorruptRecordError on an item without a customer id', () => {
    expect(() => decodeCustomerItem({ subscriptions: {} })).toThrow(CorruptRecordError);
  });
});

describe('decisionProjection', () => {
  it('projects the payment attributes and only the presented key, through placeholders', () => {
    const { ProjectionExpression, ExpressionAttributeNames } = decisionProjection('abcdEFGH');
    const names = ProjectionExpression.split(',').map((p) => ExpressionAttributeNames[p]);
    expect(names).toContain('subscriptions');
    expect(names).toContain('entitlements');
    expect(names).toContain('key_abcdEFGH');
    expect(names.filter((n) => n!.startsWith('key_'))).toEqual(['key_abcdEFGH']);
  });

  it('names at most 14 attributes: the payment state and the presented key (V8 copies the names on every decision; the budgets are the wallet\'s)', () => {
    const names = Object.values(decisionProjection('abcdEFGH').ExpressionAttributeNames);
    // topUp: a failed auto top-up's 402 says why (top_up_failed); the one name a 402 reason added.
    expect(names.length).toBeLessThanOrEqual(14);
    // periodUsage: each subscription's counter; periodUsed and usagePeriodEnd: an older item's one counter (read until metering moves it).
    expect(names).toEqual(['customerId', 'subscriptions', 'invoices', 'pastDue', 'entitlements', 'payerEntitlements', 'usageBlock', 'credits', 'periodUsage', 'periodUsed', 'usagePeriodEnd', 'topUp', 'deleted', 'key_abcdEFGH']);
  });

  it('refuses a key id that could inject into the expression', () => {
    expect(() => keyAttributeName('abc, #x')).toThrow(/invalid key id/);
    expect(() => decisionProjection('abc, #x')).toThrow(/invalid key id/);
  });

  it('names each placeholder once, and one call never changes another (the payment part is built once)', () => {
    const first = decisionProjection('abcdEFGH');
    const second = decisionProjection('zyxw9876');
    for (const { ProjectionExpression, ExpressionAttributeNames } of [first, second]) {
      const placeholders = ProjectionExpression.split(',');
      expect(new Set(placeholders).size).toBe(placeholders.length);
      expect(Object.keys(ExpressionAttributeNames).sort()).toEqual([...placeholders].sort());
    }
    const keys = (projection: typeof first) => Object.values(projection.ExpressionAttributeNames).filter((n) => n.startsWith('key_'));
    expect(keys(first)).toEqual(['key_abcdEFGH']);
    expect(keys(second)).toEqual(['key_zyxw9876']);
  });
});

/** What DynamoDB returns for a projection: the item's projected top-level attributes. */
const projected = (item: Record<string, unknown>, projection: Projection): Record<string, unknown> => {
  const names = new Set(Object.values(projection.ExpressionAttributeNames));
  return Object.fromEntries(Object.entries(item).filter(([name]) => names.has(name)));
};

const T = 1_785_000_000;
const subscriptionIds = fc.constantFrom('sub_A', 'sub_B', 'sub_C');
/** Customer items as the webhook and key management write them, any combination of attributes. */
const items: fc.Arbitrary<Record<string, unknown>> = fc
  .record({
    subscriptions: fc.dictionary(
      subscriptionIds,
      fc.record({
        status: fc.constantFrom(...SUBSCRIPTION_STATUSES),
        plan: fc.option(fc.constantFrom('basic', 'pro'), { nil: undefined }),
        cancelAtPeriodEnd: fc.boolean(),
        currentPeriodEnd: fc.integer({ min: T - 86400, max: T + 86400 }),
        watermark: fc.constant(WM),
      }),
    ),
    invoices: fc.dictionary(
      subscriptionIds,
      fc.record({
        invoiceId: fc.constant('in_1'),
        watermark: fc.constant(WM),
        pastDueSince: fc.option(fc.integer({ min: T - 10 * 86400, max: T }), { nil: undefined }),
        paymentActionRequired: fc.option(fc.constant(true), { nil: undefined }),
        paymentUrl: fc.option(fc.constant('https://invoice.stripe.com/i/x'), { nil: undefined }),
      }),
    ),
    pastDueAt: fc.integer({ min: T - 10 * 86400, max: T }),
    entitlements: fc.option(fc.subarray(['premium-reports', 'exports']), { nil: undefined }),
    usageBlock: fc.option(fc.constantFrom('credits_exhausted', 'quota_exceeded'), { nil: undefined }),
    credits: fc.option(fc.integer({ min: -5, max: 100 }), { nil: undefined }),
    periodUsed: fc.option(fc.nat({ max: 1000 }), { nil: undefined }),
    usagePeriodEnd: fc.option(fc.constantFrom(T, T + 86400), { nil: undefined }),
    deleted: fc.option(fc.boolean(), { nil: undefined }),
  })
  .map(({ pastDueAt, ...record }) => {
    const pastDue = Object.fromEntries(Object.entries(record.subscriptions).filter(([, s]) => s.status === 'past_due').map(([id]) => [id, pastDueAt]));
    const item = { customerId: 'cus_Projected', ...record, pastDue, entitlementsWatermark: WM, updatedAt: '2026-08-01T00:00:00.000Z', key_abcdEFGH: KEY };
    return JSON.parse(JSON.stringify(item)) as Record<string, unknown>;
  });

const ROUTES: RouteRule[] = [
  { method: 'GET', path: '/v1/quotes', requires: { kind: 'subscription' } },
  { method: 'GET', path: '/v1/reports', requires: { kind: 'entitlement', lookupKey: 'premium-reports' } },
];

describe('the attribute table', () => {
  it('has every attribute that takes part in access read by both the authorizer and the webhook', () => {
    for (const [name, attribute] of Object.entries(CUSTOMER_ATTRIBUTES)) {
      if (!('access' in attribute) || attribute.access === undefined) continue;
      expect([name, (attributesReadBy('authorizer') as readonly string[]).includes(name)]).toEqual([name, true]);
      expect([name, (attributesReadBy('webhook') as readonly string[]).includes(name)]).toEqual([name, true]);
    }
  });

  it('gives the authorizer every attribute its decision depends on, and the webhook every one its signature does', () => {
    fc.assert(
      fc.property(items, (item) => {
        const full: CustomerRecord = decodeCustomerItem(item);
        const forAuthorizer = decodeCustomerItem(projected(item, decisionProjection('abcdEFGH')));
        const forWebhook = decodeCustomerItem(projected(item, PAYMENT_STATE_PROJECTION));
        const now = new Date(T * 1000);
        const settings = { gracePeriodSeconds: 3 * 86400, portalUrl: 'https://billing.example/portal' };
        expect(decide(forAuthorizer, ROUTES, now, settings)).toEqual(decide(full, ROUTES, now, settings));
        expect(forAuthorizer.apiKeys).toEqual(full.apiKeys);
        expect(accessSignature(forWebhook)).toBe(accessSignature(full));
        expect(forWebhook.apiKeys).toEqual({});
        expect(forWebhook.entitlementsWatermark).toBe(full.entitlementsWatermark);
        const forMetering = decodeCustomerItem(projected(item, METERING_PROJECTION));
        const { customerId, subscriptions, pastDue, credits, periodUsed, usagePeriodEnd } = full;
        expect(forMetering).toEqual({ customerId, subscriptions, pastDue, credits, periodUsed, usagePeriodEnd, invoices: {}, apiKeys: {} });
      }),
      { numRuns: 300 },
    );
  });

  it('lets metering write only the partition key, the usage attributes and the wallet\'s, its budgets and grants among them (never the legacy credits attribute), and the agent payment and payment recovery markers it removes', () => {
    expect([...METERING_WRITE_ATTRIBUTES].sort()).toEqual(['agentPayment', 'balance', 'budget', 'budgetLeft', 'budgetLeft_*', 'budget_*', 'customerId', 'grants', 'meteredWindow', 'p_*', 'paymentRecovery', 'periodUsage', 'periodUsed', 'prevPeriodEnd', 'prevPeriodUsed', 'topUp', 'usagePeriodEnd']);
  });
});

describe('accessSignature', () => {
  const base: CustomerRecord = { customerId: 'cus_1', subscriptions: { sub_A: { status: 'active', plan: 'pro', currentPeriodEnd: T, cancelAtPeriodEnd: false, watermark: WM } }, invoices: {}, pastDue: {} };
  const withSub = (patch: object): CustomerRecord => ({ ...base, subscriptions: { sub_A: { ...base.subscriptions.sub_A!, ...patch } } });
  it.each([
    ['a renewal moves the period end', withSub({ currentPeriodEnd: T + 30 * 86400 }), false],
    ['only the watermark moves', withSub({ watermark: '01785000009:3:evt_2' }), false],
    ['the status changes', withSub({ status: 'past_due' }), true],
    ['the plan changes', withSub({ plan: 'basic' }), true],
    ['another subscription appears', { ...base, subscriptions: { ...base.subscriptions, sub_B: { status: 'canceled', watermark: WM } } }, true],
    ['an invoice asks for payment', { ...base, invoices: { sub_A: { invoiceId: 'in_1', watermark: WM, paymentUrl: 'https://invoice.stripe.com/i/x' } } }, true],
    ['entitlements appear', { ...base, entitlements: ['b', 'a'] }, true],
    ['the period end of a cancelling subscription moves', withSub({ cancelAtPeriodEnd: true, currentPeriodEnd: T + 5 }), true],
  ] as const)('tells whether access changed when %s', (_, changed, changes) => {
    expect(accessSignature(changed) !== accessSignature(base)).toBe(changes);
  });

  it('ignores entitlement order, and treats no record as an empty one', () => {
    expect(accessSignature({ ...base, entitlements: ['a', 'b'] })).toBe(accessSignature({ ...base, entitlements: ['b', 'a'] }));
    expect(accessSignature(undefined)).toBe(accessSignature({ customerId: 'cus_1', subscriptions: {}, invoices: {}, pastDue: {} }));
  });
});
