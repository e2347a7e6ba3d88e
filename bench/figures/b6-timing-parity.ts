import { decisionBench } from '../lib/decisions';
import { interleavedLatencies } from '../lib/interleave';
import { SIZES } from '../lib/sizes';
import { percentile, ratioMeasure } from '../lib/stats';
import type { Figure } from '../lib/types';

/** B6: a 402 and an unknown-key 401 take as long as an Allow (no path is slower or tells by its timing). */
export const figure: Figure = {
  id: 'B6',
  title: '402 and unknown-key 401 latency / Allow latency',
  async run(context) {
    const sizes = SIZES[context.mode];
    const bench = await decisionBench(context, sizes.customers);
    try {
      await bench.expectOutcomes(bench.customers.allow, 'allow');
      await bench.expectOutcomes(bench.customers.deny, 'deny');
      await bench.expectOutcomes(bench.customers.unknown, 'unauthorized');
      const allow = bench.decisionProbe(bench.customers.allow);
      const deny = bench.decisionProbe(bench.customers.deny);
      const unknown = bench.decisionProbe(bench.customers.unknown);
      const deny50: { a: number; b: number }[] = [];
      const unknown50: { a: number; b: number }[] = [];
      const deny99: { a: number; b: number }[] = [];
      const unknown99: { a: number; b: number }[] = [];
      for (let rep = 0; rep < sizes.repetitions; rep++) {
        const [a, d, u] = await interleavedLatencies([allow, deny, unknown], { warmup: rep === 0 ? sizes.latencyWarmup : 10, samples: sizes.latencySamples });
        deny50.push({ a: percentile(d!, 50), b: percentile(a!, 50) });
        unknown50.push({ a: percentile(u!, 50), b: percentile(a!, 50) });
        deny99.push({ a: percentile(d!, 99), b: percentile(a!, 99) });
        unknown99.push({ a: percentile(u!, 99), b: percentile(a!, 99) });
      }
      return {
        available: true,
        measures: [
          ratioMeasure('p50 402 / p50 Allow', deny50, { unit: 'ms', target: { op: '<=', value: 1.1 } }),
          ratioMeasure('p50 unknown-key 401 / p50 Allow', unknown50, { unit: 'ms', target: { op: '<=', value: 1.1 } }),
          ratioMeasure('p99 402 / p99 Allow', deny99, { unit: 'ms' }),
          ratioMeasure('p99 unknown-key 401 / p99 Allow', unknown99, { unit: 'ms' }),
        ],
        facts: {
          samplesPerSidePerRepetition: sizes.latencySamples,
          repetitions: sizes.repetitions,
          unknownKeys: 'half on an existing customer (item read, key attribute absent), half on no customer (no item)',
          denyReasons: 'half subscription_canceled, half payment_failed (past due beyond the grace period)',
        },
        notes: [
          'Allow, 402 and 401 decisions interleaved one at a time (A B C, then C B A) on the same handler and client.',
          'A malformed or wrongly checksummed key is refused before any read, by design: it is faster and carries no information about stored keys, so it is not part of this figure.',
        ],
      };
    } finally {
      bench.destroy();
    }
  },
};
