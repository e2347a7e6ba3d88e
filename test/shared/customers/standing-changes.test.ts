import { changesStandingAccess } from '../../../lambda/shared/customers/standing-changes';
import type { CustomerRecord, SubscriptionEntry } from '../../../lambda/shared/customers/record';

const NOW = new Date('2026-12-01T00:00:00Z');
const t = NOW.getTime() / 1000;
const GRACE = 3 * 24 * 3600;

const customer = (subscriptions: Record<string, Partial<SubscriptionEntry>>, extra: Partial<CustomerRecord> = {}): CustomerRecord => ({
  customerId: 'cus_1',
  subscriptions: Object.fromEntries(Object.entries(subscriptions).map(([id, s]) => [id, { status: 'active', watermark: 'w', ...s }])),
  invoices: {},
  pastDue: Object.fromEntries(Object.entries(subscriptions).filter(([, s]) => s.status === 'past_due').map(([id]) => [id, t - 4 * 24 * 3600])),
  ...extra,
});

describe('changesStandingAccess', () => {
  it.each<[string, CustomerRecord | undefined, CustomerRecord, boolean]>([
    ['a first subscription', undefined, customer({ sub_1: {} }), true],
    ['a payment after the grace period ran out', customer({ sub_1: { status: 'past_due' } }), customer({ sub_1: {} }), true],
    ['a payment within the grace period (nothing was denied)', customer({ sub_1: { status: 'past_due' } }, { pastDue: { sub_1: t - 3600 } }), customer({ sub_1: {} }), false],
    ['a new entitlement', customer({ sub_1: {} }, { entitlements: ['basic'] }), customer({ sub_1: {} }, { entitlements: ['basic', 'premium'] }), true],
    ['a block lifted', customer({ sub_1: {} }, { usageBlock: 'quota_exceeded' }), customer({ sub_1: {} }), true],
    ['a renewal in good standing', customer({ sub_1: { currentPeriodEnd: t + 10 } }), customer({ sub_1: { currentPeriodEnd: t + 30 * 86400 } }), false],
    ['a cancellation', customer({ sub_1: {} }), customer({ sub_1: { status: 'canceled' } }), true],
    ['an entitlement lost', customer({ sub_1: {} }, { entitlements: ['premium'] }), customer({ sub_1: {} }), true],
    ['a failed payment that ends access (unpaid)', customer({ sub_1: {} }), customer({ sub_1: { status: 'unpaid' } }), true],
    ['a failed payment within the grace period (past_due, still allowed)', customer({ sub_1: {} }), customer({ sub_1: { status: 'past_due' } }, { pastDue: { sub_1: t - 3600 } }), false],
    ['the customer deleted in Stripe (its keys stop authenticating)', customer({ sub_1: { status: 'canceled' } }), customer({ sub_1: { status: 'canceled' } }, { deleted: true }), true],
    ['a block set', customer({ sub_1: {} }), customer({ sub_1: {} }, { usageBlock: 'credits_exhausted' }), true],
    ['a cancellation of one of two subscriptions in good standing', customer({ sub_1: {}, sub_2: {} }), customer({ sub_1: {}, sub_2: { status: 'canceled' } }), false],
    ['a reason that changes while access stays closed (unpaid, then canceled)', customer({ sub_1: { status: 'unpaid' } }), customer({ sub_1: { status: 'canceled' } }), false],
    ['a new subscription beside one in good standing', customer({ sub_1: {} }), customer({ sub_1: {}, sub_2: {} }), false],
    ['a reactivated subscription after a cancellation', customer({ sub_1: { status: 'canceled' } }), customer({ sub_1: { status: 'canceled' }, sub_2: {} }), true],
    ['an entitlement gained while no subscription pays (still closed)', customer({}, {}), customer({}, { entitlements: ['premium'] }), false],
  ])('%s', (_name, before, after, expected) => {
    expect(changesStandingAccess(before, after, NOW, GRACE)).toBe(expected);
  });
});
