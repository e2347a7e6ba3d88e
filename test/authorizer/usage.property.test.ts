import fc from 'fast-check';
import { decide, decidingSubscription, type DecisionSettings } from '../../lambda/shared/customers/standing';
import type { CustomerRecord } from '../../lambda/shared/customers/record';
import { usageView, type Plans } from '../../lambda/shared/customers/usage-view';
import type { RouteRule } from '../../lambda/shared/requirements';
import { oneSubscription } from './support';

const NOW = new Date('2026-08-01T12:00:00Z');
const T = NOW.getTime() / 1000;
const PLANS: Plans = {
  sample_metered: { name: 'Metered', quota: 20, overage: 'block' },
  zero: { name: 'Zero', quota: 0, overage: 'block' },
  billed: { name: 'Billed', quota: 5, overage: 'bill', meter: 'api_calls' },
  pro: { name: 'Pro', overage: 'block' },
};
const SETTINGS: DecisionSettings = { gracePeriodSeconds: 72 * 3600, portalUrl: 'https://billing.example/portal', plans: PLANS };
const SEARCH: RouteRule = { method: 'GET', path: '/v1/search', requires: { kind: 'subscription' }, usage: { cost: 1 } };
const PREMIUM_SEARCH: RouteRule = { method: 'GET', path: '/v1/deep', requires: { kind: 'entitlement', lookupKey: 'deep' }, usage: { cost: 2 } };
const ASK: RouteRule = { method: 'POST', path: '/v1/ask', requires: { kind: 'subscription' }, usage: { cost: 3, strict: true } };

const record: fc.Arbitrary<CustomerRecord> = fc
  .record({
    status: fc.constantFrom(undefined, 'active', 'trialing', 'unpaid', 'canceled', 'paused', 'incomplete'),
    plan: fc.constantFrom(undefined, 'sample_metered', 'zero', 'billed', 'pro', 'undeclared'),
    periodEnd: fc.constantFrom(undefined, T + 3600, T + 86_400),
    counterPeriod: fc.constantFrom(undefined, 'same', 'older'),
    periodUsed: fc.integer({ min: 0, max: 30 }),
    credits: fc.option(fc.integer({ min: -3, max: 6 }), { nil: undefined }),
    usageBlock: fc.constantFrom(undefined, 'credits_exhausted', 'quota_exceeded'),
    entitled: fc.boolean(),
  })
  .map((r) => {
    const base = oneSubscription(
      'cus_Prop1',
      {
        ...(r.status === undefined ? {} : { subscriptionStatus: r.status }),
        ...(r.plan === undefined ? {} : { plan: r.plan }),
        ...(r.periodEnd === undefined ? {} : { currentPeriodEnd: r.periodEnd }),
        ...(r.usageBlock === undefined ? {} : { usageBlock: r.usageBlock }),
        entitlements: r.entitled ? ['deep'] : [],
      },
      T,
    );
    const usagePeriodEnd = r.counterPeriod === 'same' ? r.periodEnd : r.counterPeriod === 'older' ? T - 86_400 : undefined;
    return {
      ...base,
      ...(r.credits === undefined ? {} : { credits: r.credits }),
      ...(usagePeriodEnd === undefined ? {} : { periodUsed: r.periodUsed, usagePeriodEnd }),
    };
  });

describe('decisions on cost routes agree with the usage-view rule', () => {
  it('allows a metered route iff no usage block, entitled, and its cost covered (good standing with an unlimited or billing plan, or quota left plus credits ≥ cost, or credits ≥ cost)', () => {
    fc.assert(
      fc.property(record, (customer) => {
        const { subscription, standing } = decidingSubscription(customer, NOW, SETTINGS.gracePeriodSeconds);
        const view = usageView(customer, subscription, PLANS);
        const decision = decide(customer, [SEARCH, PREMIUM_SEARCH], NOW, SETTINGS);
        // A call is admitted only when what pays for it covers its whole cost (#24 item 8).
        const credits = Math.max(0, customer.credits ?? 0);
        const payableAt = (cost: number): boolean =>
          customer.usageBlock === undefined &&
          ((standing.good && view.planOpen && (view.limit === undefined || view.overage === 'bill' || (view.remaining ?? 0) + credits >= cost)) || credits >= cost);
        const payable = payableAt(SEARCH.usage!.cost);
        const entitled = (customer.entitlements ?? []).includes('deep');
        expect(decision.verdicts[0]!.allow).toBe(payable);
        expect(decision.verdicts[1]!.allow).toBe(payableAt(PREMIUM_SEARCH.usage!.cost) && entitled);
        // The counter counts only while it is the deciding subscription's period.
        expect(view.used).toBe(subscription?.currentPeriodEnd !== undefined && customer.usagePeriodEnd === subscription.currentPeriodEnd ? (customer.periodUsed ?? 0) : 0);
        if (decision.reason !== undefined) {
          // One reason, true for every denied route of the group.
          const anyUnpayable = !payable || (!entitled && !payableAt(PREMIUM_SEARCH.usage!.cost)) || (entitled && !decision.verdicts[1]!.allow);
          const reasons = anyUnpayable
            ? [customer.usageBlock, customer.credits !== undefined ? 'credits_exhausted' : undefined, standing.good ? 'quota_exceeded' : standing.reason].filter(Boolean)
            : ['upgrade_required'];
          expect(reasons).toContain(decision.reason);
          expect(decision.context.limit).toBe(view.limit ?? 'null');
        }
        // Metering counts against the plan only what the subscription pays for.
        expect(decision.context.periodEnd).toBe(standing.good && view.counted ? view.periodEnd : undefined);
      }),
      { numRuns: 2000 },
    );
  });

  it('allows a strict route iff no usage block and the balance covers the cost, whatever the plan', () => {
    fc.assert(
      fc.property(record, (customer) => {
        const decision = decide(customer, [ASK], NOW, SETTINGS);
        expect(decision.verdicts[0]!.allow).toBe(customer.usageBlock === undefined && (customer.credits ?? -1) >= 3);
        if (!decision.verdicts[0]!.allow) expect(decision.reason).toBe(customer.usageBlock ?? 'credits_exhausted');
      }),
      { numRuns: 1000 },
    );
  });

  it('leaves non-cost routes to standing alone: a used-up quota or an empty balance changes nothing there', () => {
    const quotes: RouteRule = { method: 'GET', path: '/v1/quotes', requires: { kind: 'subscription' } };
    fc.assert(
      fc.property(record, (customer) => {
        const plain = { ...customer, credits: undefined, periodUsed: undefined, usagePeriodEnd: undefined };
        expect(decide(customer, [quotes], NOW, SETTINGS).verdicts[0]!.allow).toBe(decide(plain, [quotes], NOW, SETTINGS).verdicts[0]!.allow);
      }),
    );
  });
});
