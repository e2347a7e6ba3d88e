import { aggregateBatch, type CustomerUsage } from '../../lambda/metering/aggregate';
import { routeLookup } from '../../lambda/metering/rules';
import { chunkUsage, decodeUsage, DEFAULT_WINDOW, encodeUsage, isNearLimit, mergeUsage, newestClosable, shardOf, windowOf } from '../../lambda/metering/window';
import { accessLine, logEvents, PERIOD_1, RULES } from './support';

const usageOf = (lines: readonly string[]): CustomerUsage => {
  const { customers } = aggregateBatch(logEvents(lines), routeLookup(RULES.routes));
  expect(customers.size).toBe(1);
  return [...customers.values()][0]!;
};
const calls = (n: number, headroom?: number | 'unlimited') => Array.from({ length: n }, () => accessLine({ customerId: 'cus_w1', periodEnd: PERIOD_1, ...(headroom === undefined ? {} : { headroom }) }));

describe('usage windows', () => {
  it('places a time in the window that contains it, and closes a window a grace after it ends', () => {
    expect(windowOf(1_700_000_039_999, 60)).toBe(1_699_999_980);
    expect(windowOf(1_700_000_040_000, 60)).toBe(1_700_000_040);
    expect(windowOf(1_700_000_099_999, 60)).toBe(1_700_000_040);
    // The window [1_700_000_040, 1_700_000_100) is summed from 1_700_000_100 + 90 s on.
    expect(newestClosable(1_700_000_189_999, DEFAULT_WINDOW)).toBe(1_699_999_980);
    expect(newestClosable(1_700_000_190_000, DEFAULT_WINDOW)).toBe(1_700_000_040);
  });

  it('tells a customer near its limit (written at once) from one far from it (summed over the window)', () => {
    const span = 1000; // the delivery covered a second
    // 2 units in a second, projected twice over two windows and the grace (210 s): 840 units.
    expect(isNearLimit(usageOf(calls(2, 840)), span, DEFAULT_WINDOW)).toBe(true);
    expect(isNearLimit(usageOf(calls(2, 841)), span, DEFAULT_WINDOW)).toBe(false);
    // The same calls spread over 60 s are a slower customer.
    expect(isNearLimit(usageOf(calls(2, 100)), 60_000, DEFAULT_WINDOW)).toBe(false);
    expect(isNearLimit(usageOf(calls(2, 14)), 60_000, DEFAULT_WINDOW)).toBe(true);
    // Nothing to run out, whatever the rate.
    expect(isNearLimit(usageOf(calls(500, 'unlimited')), span, DEFAULT_WINDOW)).toBe(false);
    // A line that did not say: near (a line of an authorizer from before the headroom, or a forged one).
    expect(isNearLimit(usageOf([...calls(1, 'unlimited'), ...calls(1)]), span, DEFAULT_WINDOW)).toBe(true);
    // The least headroom of the delivery decides.
    expect(isNearLimit(usageOf([...calls(1, 100_000), ...calls(1, 5)]), span, DEFAULT_WINDOW)).toBe(true);
    // Windows off: everyone is written at once.
    expect(isNearLimit(usageOf(calls(1, 'unlimited')), span, { ...DEFAULT_WINDOW, seconds: 0 })).toBe(true);
  });

  it('always writes a refund at once: it is owed by its reservation id', () => {
    const refund = usageOf([accessLine({ customerId: 'cus_w1', method: 'POST', path: '/v1/render', status: 503, reserved: 10, reservation: 'r1' }), ...calls(1, 'unlimited')]);
    expect(isNearLimit(refund, 1000, DEFAULT_WINDOW)).toBe(true);
  });

  it('keeps every unit through encoding, chunking and merging', () => {
    const a = usageOf([...calls(3, 'unlimited'), accessLine({ customerId: 'cus_w1', path: '/v1/translate', headroom: 'unlimited', basis: 'credits' })]);
    const b = usageOf([...calls(2, 'unlimited'), accessLine({ customerId: 'cus_w1', periodEnd: PERIOD_1 + 1, headroom: 'unlimited' })]);
    const merged = mergeUsage(a, b);
    expect(merged.periods.get(PERIOD_1)).toEqual(new Map([['', 5]]));
    expect(merged.periods.get(PERIOD_1 + 1)).toEqual(new Map([['', 1]]));
    expect(merged.unperiodic).toEqual(new Map([['translate_chars', 2]]));
    const { usage, dropped } = decodeUsage(encodeUsage([merged]));
    expect(dropped).toBe(0);
    // What the window needs, without the headroom (a windowed customer was far from its limit).
    expect(usage).toEqual([{ customerId: 'cus_w1', periods: merged.periods, unperiodic: merged.unperiodic, prepaid: 0, refunds: new Map(), lastCallAt: merged.lastCallAt }]);
  });

  it('splits a large delivery into items under DynamoDB’s 400 KB, and drops (counting) what it cannot read', () => {
    const many = Array.from({ length: 6000 }, (_, i): CustomerUsage => ({ customerId: `cus_${String(i).padStart(14, '0')}`, periods: new Map([[PERIOD_1, new Map([['', 1]])]]), unperiodic: new Map(), prepaid: 0, refunds: new Map(), lastCallAt: 1_700_000_000_000 }));
    const chunks = chunkUsage(many, 100_000);
    expect(chunks.length).toBeGreaterThan(2);
    for (const chunk of chunks) expect(Buffer.byteLength(chunk)).toBeLessThanOrEqual(100_000);
    expect(chunks.flatMap((c) => decodeUsage(c).usage.map((u) => u.customerId))).toEqual(many.map((u) => u.customerId));
    expect(decodeUsage('not json')).toEqual({ usage: [], dropped: 1 });
    expect(decodeUsage(JSON.stringify([['cus_1', [], [], -1, 0], ['cus_2', [], [['', 2]], 0, 0]])).dropped).toBe(1);
  });

  it('spreads deliveries over the shards', () => {
    const counts = new Array<number>(DEFAULT_WINDOW.shards).fill(0);
    for (let i = 0; i < 800; i++) counts[shardOf(`batch-${i}`, DEFAULT_WINDOW.shards)]! += 1;
    for (const n of counts) expect(n).toBeGreaterThan(60);
  });
});
