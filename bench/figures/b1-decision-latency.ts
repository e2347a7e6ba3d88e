import { decisionBench } from '../lib/decisions';
import { pairedLatencies } from '../lib/interleave';
import { SIZES } from '../lib/sizes';
import { ratioMeasure, exactMeasure } from '../lib/stats';
import type { Figure } from '../lib/types';

/** B1: an uncached decision against the one GetItem it cannot avoid, and how many requests it makes. */
export const figure: Figure = {
  id: 'B1',
  title: 'authorizer decision latency / raw GetItem latency',
  async run(context) {
    const sizes = SIZES[context.mode];
    const bench = await decisionBench(context, sizes.customers);
    try {
      await bench.expectOutcomes(bench.customers.allow, 'allow');
      const decide = bench.decisionProbe(bench.customers.allow);
      const raw = bench.rawGetItemProbe(bench.customers.allow);
      bench.authorizerCounter.reset();
      const { p50, p99, callsPerSide: decisions } = await pairedLatencies([decide, raw], sizes);
      const requests = bench.authorizerCounter.total();
      const perDecision = requests / decisions;
      return {
        available: true,
        measures: [
          ratioMeasure('p50 decision / p50 GetItem', p50, { unit: 'ms', target: { op: '<=', value: 1.15 } }),
          ratioMeasure('p99 decision / p99 GetItem', p99, { unit: 'ms', target: { op: '<=', value: 1.4 } }),
          exactMeasure('DynamoDB requests per decision', perDecision, { a: requests, b: decisions, target: { op: '==', value: 1 } }),
        ],
        facts: {
          decisions,
          requestsByOperation: { ...bench.authorizerCounter.counts.attempts },
          samplesPerSidePerRepetition: sizes.latencySamples,
          repetitions: sizes.repetitions,
          customers: bench.customers.allow.length,
        },
        notes: [
          'Sequential (one request in flight), interleaved decision/GetItem pairs after a warm-up; each side has its own client built by authorizerDynamoClient().',
          'The baseline GetItem is the reader\'s exact request (same key, ConsistentRead, projection) on the raw client, without the document client, validation or policy.',
        ],
      };
    } finally {
      bench.destroy();
    }
  },
};
