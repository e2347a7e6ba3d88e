import { localClient } from '../../lib/local/dynamodb-local';
import { budgetOnOff } from '../lib/budgets';
import { benchAuthorizer } from '../lib/authorizer';
import { decisionBench } from '../lib/decisions';
import { pairedLatencies } from '../lib/interleave';
import { SIZES } from '../lib/sizes';
import { ratioMeasure, exactMeasure } from '../lib/stats';
import type { Figure } from '../lib/types';

/** The sample's route sold by use: its decision reads the customer's budgets (B1's own route, a standing one, reads none). */
const SOLD_BY_USE = { method: 'GET', resource: '/v1/search', path: '/v1/search' } as const;

/**
 * B1: an uncached decision against the one GetItem it cannot avoid, and how many requests it makes; then
 * what budgets add to it: the decision on the route sold by use for customers with budgets against the
 * same decision for customers without, interleaved in the same run.
 */
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
      const requestsByOperation = { ...bench.authorizerCounter.counts.attempts };
      const seeder = localClient(context.dynamodbEndpoint);
      const budgets = await budgetOnOff({ seeder, names: bench.names, handler: bench.handler, route: SOLD_BY_USE, sizes, counters: [bench.authorizerCounter], raw: bench.rawDecisionReadProbe, handlerOn: (client) => benchAuthorizer(client, bench.settings) }).finally(() => seeder.destroy());
      return {
        available: true,
        measures: [
          ratioMeasure('p50 decision / p50 GetItem', p50, { unit: 'ms', target: { op: '<=', value: 1.15 } }),
          ratioMeasure('p99 decision / p99 GetItem', p99, { unit: 'ms', target: { op: '<=', value: 1.4 } }),
          exactMeasure('DynamoDB requests per decision', perDecision, { a: requests, b: decisions, target: { op: '==', value: 1 } }),
          ratioMeasure('p50 decision on a route sold by use, budgets set / none', budgets.latencies.p50, { unit: 'ms', target: { op: '<=', value: 1.02 } }),
          ratioMeasure('p99 decision on a route sold by use, budgets set / none', budgets.latencies.p99, { unit: 'ms' }),
          ratioMeasure('p50 raw BatchGetItem of the same items, budgets set / none (DynamoDB Local and the SDK)', budgets.raw.p50, { unit: 'ms' }),
          ratioMeasure('p50 decision on a route sold by use, budgets set / none, less what the raw BatchGetItem adds (tollgate\'s code)', budgets.ownP50, { unit: 'ms' }),
          ratioMeasure('in process on the recorded answers: the decision without budgets plus what budgets add to the SDK\'s BatchGetItem / the decision without budgets', budgets.inProcess!.sdk, { unit: 'ms' }),
          ratioMeasure('in process on the recorded answers: the decision without budgets plus what budgets add to tollgate\'s code / the decision without budgets', budgets.inProcess!.own, { unit: 'ms' }),
          exactMeasure('DynamoDB requests per decision on a route sold by use, budgets set or none', budgets.requests / budgets.decisions, { a: budgets.requests, b: budgets.decisions, target: { op: '==', value: 1 } }),
        ],
        facts: {
          decisions,
          requestsByOperation,
          samplesPerSidePerRepetition: sizes.latencySamples,
          repetitions: sizes.repetitions,
          customers: bench.customers.allow.length,
          budgetDecisions: budgets.decisions,
          budgetCustomersPerSide: budgets.customersPerSide,
          budgetAddedMicrosecondsInProcess: budgets.inProcess!.addedMicroseconds,
        },
        notes: [
          'Sequential (one request in flight), interleaved decision/GetItem pairs after a warm-up; each side has its own client built by authorizerDynamoClient().',
          'The baseline GetItem is the reader\'s exact request (same key, ConsistentRead, projection) on the raw client, without the document client, validation or policy.',
          'Budgets: GET /v1/search (cost 1) for pay-as-you-go customers, A with a customer and a key budget per day that the run never reaches, B with none, on the same handler and client, interleaved; a customer whose budget is used up got a 402 first, so the decision read the budgets. Interleaved with them, the decision\'s BatchGetItem for the same two sets of customers on the raw client: how much longer DynamoDB Local and the SDK take on the wallet item with budgets; the decision\'s ratio less that is what tollgate\'s code adds.',
        ],
      };
    } finally {
      bench.destroy();
    }
  },
};
