import fc from 'fast-check';
import {
  dueInstants,
  flushTimes,
  LOOKBACK_MS,
  MIN_FLUSH_INTERVAL_MS,
  OVERLAP_MS,
  PERIOD_MS,
  planRun,
  recordedWindow,
  SETTLE_MS,
} from '../../lambda/clock/schedule';
import { boundaryItem, bucketOf, type RecordedBoundary } from '../../lambda/shared/boundaries';
import { keyBoundaries } from '../../lambda/shared/customers/keys';
import { changeBoundaries } from '../../lambda/webhook/boundaries';
import type { CustomerUpdate, PaymentChange } from '../../lambda/shared/customers/changes';
import { watermark } from '../../lambda/webhook/state';

const T = Date.parse('2026-03-01T12:00:00Z');
const GRACE_S = 72 * 3600;
const at = (offset: number, recordedAt = T - 10 * PERIOD_MS): RecordedBoundary => ({ kind: 'at', at: T + offset, recordedAt });

describe('planRun', () => {
  it('gives consecutive runs windows that overlap a little and leave no gap', () => {
    const a = planRun(T);
    const b = planRun(T + PERIOD_MS);
    expect(a.own).toEqual({ from: T + PERIOD_MS - OVERLAP_MS, to: T + 2 * PERIOD_MS });
    expect(b.own.from).toBeLessThan(a.own.to);
    expect(a.own.to - b.own.from).toBe(OVERLAP_MS);
    expect(a.query).toEqual({ from: T - LOOKBACK_MS, to: a.own.to });
  });
});

describe('dueInstants', () => {
  const plan = planRun(T);

  it.each([
    ['in its own window, recorded long ago', at(PERIOD_MS), [T + PERIOD_MS]],
    ['before its window, recorded long ago (its owner flushed it)', at(10_000), []],
    ['before its window, recorded after the previous run was scheduled', at(10_000, T - 30_000), [T + 10_000]],
    ['already due, recorded since the previous run (no overlap rotation)', at(-20_000, T - 20_000), [T - 20_000]],
    ['beyond its window (the next run owns it)', at(2 * PERIOD_MS, T), []],
    ['older than the lookback', at(-LOOKBACK_MS - 1, T), []],
  ])('flushes a boundary %s: %j', (_name, boundary, expected) => {
    expect(dueInstants(plan, [boundary], GRACE_S)).toEqual(expected);
  });

  it('makes a grace start due a grace period later, and queries the starts that are', () => {
    const start = T + PERIOD_MS - GRACE_S * 1000;
    expect(dueInstants(plan, [{ kind: 'grace', at: start, recordedAt: start }], GRACE_S)).toEqual([T + PERIOD_MS]);
    expect(recordedWindow('grace', plan.own, GRACE_S)).toEqual({ from: plan.own.from - GRACE_S * 1000, to: plan.own.to - GRACE_S * 1000 });
    expect(recordedWindow('at', plan.own, GRACE_S)).toEqual(plan.own);
  });

  it('lists each instant once, in order', () => {
    expect(dueInstants(plan, [at(PERIOD_MS + 5), at(PERIOD_MS), at(PERIOD_MS + 5)], GRACE_S)).toEqual([T + PERIOD_MS, T + PERIOD_MS + 5]);
  });
});

describe('flushTimes', () => {
  it('flushes the settle time after each boundary, at once for those already settled', () => {
    expect(flushTimes([T - 60_000, T - 5_000, T + 30_000], T)).toEqual([T, T + 30_000 + SETTLE_MS]);
    // Due a second ago: not settled yet, so a flush now would not cover it.
    expect(flushTimes([T - 60_000, T - 1_000], T)).toEqual([T, T - 1_000 + SETTLE_MS]);
  });

  it('covers boundaries closer than the least flush interval with one flush, never two within it', () => {
    const starts = flushTimes([T, T + 500, T + 2_500, T + 2_600, T + 10_000], T - 5_000);
    expect(starts).toEqual([T + SETTLE_MS, T + SETTLE_MS + MIN_FLUSH_INTERVAL_MS, T + SETTLE_MS + 2 * MIN_FLUSH_INTERVAL_MS, T + 10_000 + SETTLE_MS]);
    // Each flush starts after the boundaries it covers have settled.
    expect(T + 2_600 + SETTLE_MS).toBeLessThanOrEqual(starts[2]!);
  });
});

describe('the schedule as a whole', () => {
  /**
   * Runs scheduled every minute, each looking once at some second of its minute; a boundary recorded at
   * any time up to when it falls due. It must be flushed at least once, never before it settled, at most
   * three times; within the settle time when recorded two periods ahead, else within two periods.
   */
  it('flushes every boundary after it is due and soon after, a bounded number of times', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 10 * PERIOD_MS, max: 20 * PERIOD_MS }),
        fc.integer({ min: 0, max: 10 * PERIOD_MS }),
        fc.array(fc.integer({ min: 0, max: PERIOD_MS - OVERLAP_MS }), { minLength: 40, maxLength: 40 }),
        (dueOffset, recordedAhead, delays) => {
          const due = T + dueOffset;
          const recordedAt = due - recordedAhead;
          const flushes: number[] = [];
          delays.forEach((delay, k) => {
            const scheduled = T + k * PERIOD_MS;
            const looked = scheduled + delay;
            if (recordedAt >= looked) return;
            const plan = planRun(scheduled);
            const instants = dueInstants(plan, [{ kind: 'at', at: due, recordedAt }], GRACE_S);
            flushes.push(...flushTimes(instants, looked));
          });
          expect(flushes.length).toBeGreaterThanOrEqual(1);
          expect(flushes.length).toBeLessThanOrEqual(3);
          for (const flush of flushes) expect(flush).toBeGreaterThanOrEqual(due + SETTLE_MS);
          const first = Math.min(...flushes);
          expect(first).toBeLessThanOrEqual(recordedAhead >= 2 * PERIOD_MS ? due + SETTLE_MS : due + 2 * PERIOD_MS);
        },
      ),
    );
  });
});

describe('what writers record', () => {
  const update = (change: PaymentChange, created = 1_772_366_400): CustomerUpdate => ({ customerId: 'cus_1', change, watermark: watermark(created, 1, 'evt_1') });

  it.each<[string, PaymentChange, ReturnType<typeof changeBoundaries>]>([
    ['a past_due subscription: its grace start', { stream: 'subscription', subscriptionId: 'sub_1', status: 'past_due' }, [{ kind: 'grace', at: 1_772_366_400_000 }]],
    [
      'a subscription canceling at period end: the period end',
      { stream: 'subscription', subscriptionId: 'sub_1', status: 'active', cancelAtPeriodEnd: true, currentPeriodEnd: 1_775_000_000 },
      [{ kind: 'at', at: 1_775_000_000_000 }],
    ],
    ['an active subscription renewing: nothing', { stream: 'subscription', subscriptionId: 'sub_1', status: 'active', currentPeriodEnd: 1_775_000_000 }, []],
    [
      'a failed invoice: its due date as a grace start',
      { stream: 'invoices', subscriptionId: 'sub_1', invoiceId: 'in_1', outcome: 'payment_failed', pastDueSince: 1_772_000_000 },
      [{ kind: 'grace', at: 1_772_000_000_000 }],
    ],
    ['a paid invoice: nothing', { stream: 'invoices', subscriptionId: 'sub_1', invoiceId: 'in_1', outcome: 'paid', pastDueSince: 1_772_000_000 }, []],
    ['entitlements: nothing', { stream: 'entitlements', entitlements: ['a'] }, []],
  ])('records for %s', (_name, change, expected) => {
    expect(changeBoundaries(update(change))).toEqual(expected);
  });

  it('records a key expiry, and a rotated key\'s end of overlap', () => {
    expect(keyBoundaries({})).toEqual([]);
    expect(keyBoundaries({ expiresAt: '2026-03-01T12:00:00.000Z' }, '2026-03-02T12:00:00.000Z')).toEqual([
      { kind: 'at', at: T },
      { kind: 'at', at: T + 86_400_000 },
    ]);
  });

  it('stores a boundary in the hour bucket of its instant, expiring a day after it can fall due', () => {
    expect(bucketOf('at', T + 59 * 60_000)).toBe('at#2026-03-01T12');
    expect(boundaryItem({ kind: 'at', at: T }, new Date(T - 1000))).toEqual({ bucket: 'at#2026-03-01T12', at: T, recordedAt: T - 1000, expiresAt: T / 1000 + 86_400 });
    expect(boundaryItem({ kind: 'grace', at: T }, new Date(T)).expiresAt).toBe(T / 1000 + 60 * 86_400 + 86_400);
  });
});
