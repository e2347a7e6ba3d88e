import type { CustomerUsage } from '../../lambda/metering/aggregate';
import { settleUsage, type UsageState } from '../../lambda/metering/settle';
import { PERIOD_1, PERIOD_2, RULES } from './support';

const usage = (periods: Record<number, Record<string, number>>, extra: Partial<CustomerUsage> = {}): CustomerUsage => ({
  customerId: 'cus_settle',
  periods: new Map(Object.entries(periods).map(([pe, units]) => [Number(pe), new Map(Object.entries(units))])),
  unperiodic: new Map(),
  prepaid: 0,
  refunds: new Map(),
  lastCallAt: 0,
  ...extra,
});
const on = (plan: string, state: Partial<UsageState> = {}): UsageState => ({ subscriptions: [{ id: 'sub_1', plan, status: 'active', currentPeriodEnd: PERIOD_1 }], ...state });

describe('settleUsage', () => {
  it.each([
    ['within the quota: counted, nothing drawn, the split relies on the stored count', on('sample_metered', { usagePeriodEnd: PERIOD_1, periodUsed: 5 }), usage({ [PERIOD_1]: { '': 10 } }),
      { counters: [{ subscriptionId: 'sub_1', period: { periodEnd: PERIOD_1, units: 10, mode: 'add', expectUsed: 5 } }], fromQuota: 10, fromCredits: 0, overshoot: 0 }],
    ['crossing the quota of a block plan: the rest from credits', on('sample_metered', { usagePeriodEnd: PERIOD_1, periodUsed: 15, credits: 3 }), usage({ [PERIOD_1]: { '': 7 } }),
      { fromQuota: 5, fromCredits: 2, overshoot: 0, credits: { delta: -2, expect: { atLeast: 2 } } }],
    ['credits run out: clamped at zero, the rest is overshoot, relying on the exact balance', on('sample_metered', { usagePeriodEnd: PERIOD_1, periodUsed: 20, credits: 2 }), usage({ [PERIOD_1]: { '': 5 } }),
      { fromQuota: 0, fromCredits: 2, overshoot: 3, credits: { delta: -2, expect: { equals: 2 } } }],
    ['an older stored period: the period starts over', on('sample_metered', { usagePeriodEnd: PERIOD_1 - 100, periodUsed: 19 }), usage({ [PERIOD_1]: { '': 3 } }),
      { counters: [{ subscriptionId: 'sub_1', period: { periodEnd: PERIOD_1, units: 3, mode: 'start' } }], fromQuota: 3 }],
    ['units of an ended period: counted nowhere', on('sample_metered', { usagePeriodEnd: PERIOD_2, periodUsed: 1 }), usage({ [PERIOD_1]: { '': 4 } }),
      { lateUnits: 4, fromQuota: 0, fromCredits: 0, overshoot: 0 }],
    ['a bill plan past its quota: billed to its meter', on('sample_bill', { usagePeriodEnd: PERIOD_1, periodUsed: 8 }), usage({ [PERIOD_1]: { '': 5 } }),
      { fromQuota: 2, overshoot: 0 }],
    ['a refund lifts a balance from zero', { subscriptions: [], credits: 0 }, usage({}, { refunds: new Map([['r1', 10]]) }),
      { fromCredits: 0, credits: { delta: 10 } }],
  ] as const)('%s', (_, state, batch, expected) => {
    const settlement = settleUsage(state, batch, RULES.plans);
    expect(settlement).toMatchObject(expected);
  });

  it("bills a bill plan's overage to its meter and a metered route's to the route's meter", () => {
    const settlement = settleUsage(on('sample_bill', { usagePeriodEnd: PERIOD_1, periodUsed: 10 }), usage({ [PERIOD_1]: { '': 3, translate_chars: 4 } }), RULES.plans);
    expect(settlement.billed).toEqual([
      { meter: 'api_units', units: 3 },
      { meter: 'translate_chars', units: 4 },
    ]);
  });
});
