import { ConditionalCheckFailedException, DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import type { AuthorizerCacheFlusher } from '../../lambda/shared/ports';
import { composeWebhook } from '../../lambda/webhook/compose';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../lib/local/dynamodb-local';
import { benchWebhookSettings, freshBenchTables } from '../lib/authorizer';
import { throughput } from '../lib/interleave';
import { countRequests } from '../lib/request-counter';
import { SIZES } from '../lib/sizes';
import { exactMeasure, ratioMeasure } from '../lib/stats';
import type { Figure } from '../lib/types';
import { buildSchedule, type ExpectedOutcome } from '../lib/webhook-schedule';

const CONCURRENCY = 8;
/** One customer's deliveries are this many positions apart, so never in flight together. */
const MIN_CUSTOMERS = 2 * CONCURRENCY;
const SECRET = `whsec_bench_${randomUUID().replace(/-/g, '')}`;

/** The webhook's client as lambda/webhook/index.ts builds it (SDK defaults), pointed at DynamoDB Local. */
const webhookClient = (endpoint: string): DynamoDBClient => new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });

/**
 * The floor: conditional UpdateItems shaped like the webhook's subscription update (the same
 * watermark and subscription-order condition, the same attributes set), each one applying.
 */
function rawUpdate(table: string, customerId: string, sequence: number): UpdateItemCommand {
  const now = Math.floor(Date.now() / 1000);
  const wm = `${String(now + sequence).padStart(11, '0')}:5:evt_raw${sequence}`;
  return new UpdateItemCommand({
    TableName: table,
    Key: { customerId: { S: customerId } },
    UpdateExpression: 'SET #s0 = :s0, #s1 = :s1, #s2 = :s2, #s3 = :s3, #s4 = :s4, #s5 = :s5, #s6 = :s6, #s7 = :s7',
    ConditionExpression: '(attribute_not_exists(#wm) OR #wm < :below) AND (attribute_not_exists(#sid) OR #sid = :sid OR attribute_not_exists(#order) OR #order < :order)',
    ExpressionAttributeNames: {
      '#wm': `wm_sub_${customerId.slice(4)}`,
      '#sid': 'subscriptionId',
      '#order': 'subscriptionOrder',
      '#s0': `wm_sub_${customerId.slice(4)}`,
      '#s1': 'updatedAt',
      '#s2': 'subscriptionId',
      '#s3': 'subscriptionStatus',
      '#s4': 'plan',
      '#s5': 'cancelAtPeriodEnd',
      '#s6': 'currentPeriodEnd',
      '#s7': 'subscriptionOrder',
    },
    ExpressionAttributeValues: {
      ':below': { S: wm },
      ':sid': { S: `sub_${customerId.slice(4)}` },
      ':order': { S: `${String(now).padStart(11, '0')}:sub_${customerId.slice(4)}` },
      ':s0': { S: wm },
      ':s1': { S: new Date().toISOString() },
      ':s2': { S: `sub_${customerId.slice(4)}` },
      ':s3': { S: sequence % 2 === 0 ? 'active' : 'past_due' },
      ':s4': { S: 'pro-monthly' },
      ':s5': { BOOL: false },
      ':s6': { N: String(now + 30 * 86400) },
      ':s7': { S: `${String(now).padStart(11, '0')}:sub_${customerId.slice(4)}` },
    },
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
  });
}

/** B4: webhook events/s against conditional UpdateItem/s, normalised by the writes each event makes. */
export const figure: Figure = {
  id: 'B4',
  title: 'webhook events/s / raw conditional UpdateItem/s',
  async run(context) {
    const sizes = SIZES[context.mode];
    const names = await freshBenchTables(context.dynamodbEndpoint, 'webhook');
    const client = webhookClient(context.dynamodbEndpoint);
    const rawClient = webhookClient(context.dynamodbEndpoint);
    const counter = countRequests(client);
    const rawCounter = countRequests(rawClient);
    let flushes = 0;
    // The local gateway's flush is in memory; API Gateway's costs a call the benchmark cannot make.
    const flusher: AuthorizerCacheFlusher = { flush: () => ((flushes += 1), Promise.resolve()) };
    // As deployed: boundaries recorded, checkout links followed, recovery evaluated.
    const handler = composeWebhook(benchWebhookSettings(names), { dynamodb: client, signingSecrets: () => Promise.resolve([SECRET]), flusher });
    try {
      const webhookRun = async (total: number) => {
        const schedule = buildSchedule(total, SECRET, MIN_CUSTOMERS);
        const actual: Record<string, number> = {};
        const mismatches: string[] = [];
        counter.reset();
        const { perSecond } = await throughput(schedule.deliveries.length, CONCURRENCY, async (i) => {
          const delivery = schedule.deliveries[i]!;
          const response = await handler(delivery.event);
          const outcome = response.statusCode === 200 ? (JSON.parse(response.body) as { outcome: string }).outcome : `http ${response.statusCode}`;
          actual[outcome] = (actual[outcome] ?? 0) + 1;
          if (outcome !== delivery.expected && mismatches.length < 5) mismatches.push(`delivery ${i}: ${outcome}, expected ${delivery.expected}`);
        });
        const accepted = (actual.applied ?? 0) + (actual.duplicate ?? 0) + (actual.stale ?? 0) + (actual.ignored ?? 0);
        return { perSecond, schedule, actual, mismatches, accepted, writes: counter.counts.writes, attempts: { ...counter.counts.attempts } };
      };
      const rawRun = async (total: number) => {
        const customers = Array.from({ length: Math.max(MIN_CUSTOMERS, Math.round(total / 8.8)) }, (_, c) => `cus_raw${randomUUID().replace(/-/g, '').slice(0, 8)}${c}`);
        rawCounter.reset();
        let conditionFailures = 0;
        const { perSecond } = await throughput(total, CONCURRENCY, async (i) => {
          try {
            await rawClient.send(rawUpdate(names.customers, customers[i % customers.length]!, i));
          } catch (err) {
            // Two updates of one item overtaking each other: counted, still one write request.
            if (!(err instanceof ConditionalCheckFailedException)) throw err;
            conditionFailures += 1;
          }
        });
        return { perSecond, writes: rawCounter.counts.writes, conditionFailures };
      };

      // Warm-up: both paths, discarded (the smoke run only proves the figure runs).
      if (context.mode !== 'smoke') {
        await webhookRun(Math.min(200, Math.round(sizes.webhookEvents / 3)));
        await rawRun(Math.min(200, Math.round(sizes.webhookEvents / 3)));
      }

      const reps: { a: number; b: number }[] = [];
      const runs: Awaited<ReturnType<typeof webhookRun>>[] = [];
      let rawConditionFailures = 0;
      for (let rep = 0; rep < sizes.repetitions; rep++) {
        let a: Awaited<ReturnType<typeof webhookRun>>;
        let b: Awaited<ReturnType<typeof rawRun>>;
        if (rep % 2 === 0) {
          a = await webhookRun(sizes.webhookEvents);
          b = await rawRun(a.schedule.deliveries.length);
        } else {
          b = await rawRun(sizes.webhookEvents);
          a = await webhookRun(sizes.webhookEvents);
        }
        reps.push({ a: a.perSecond, b: b.perSecond });
        rawConditionFailures += b.conditionFailures;
        runs.push(a);
      }
      const deliveries = runs.reduce((s, r) => s + r.schedule.deliveries.length, 0);
      const accepted = runs.reduce((s, r) => s + r.accepted, 0);
      const writes = runs.reduce((s, r) => s + r.writes, 0);
      const writesPerEvent = writes / accepted;
      const applied = runs.reduce((s, r) => s + (r.actual.applied ?? 0), 0);
      const sum = (pick: (o: Readonly<Record<string, number>>) => number, from: 'expected' | 'actual'): number =>
        runs.reduce((s, r) => s + pick(from === 'expected' ? r.schedule.expected : r.actual), 0);
      const outcomes = (['applied', 'duplicate', 'stale'] as ExpectedOutcome[]).map((o) => ({ outcome: o, expected: sum((x) => x[o] ?? 0, 'expected'), actual: sum((x) => x[o] ?? 0, 'actual') }));
      const exact = runs.every((r) => r.mismatches.length === 0) && outcomes.every((o) => o.expected === o.actual) && accepted === deliveries;
      const target = 0.85 / writesPerEvent;
      return {
        available: true,
        measures: [
          ratioMeasure('webhook events/s / conditional UpdateItem/s', reps, { unit: '/s', target: { op: '>=', value: Math.round(target * 1000) / 1000 } }),
          exactMeasure('DynamoDB item writes per accepted event', writesPerEvent, { a: writes, b: accepted }),
          exactMeasure('duplicate and stale counts exact (1 = yes)', exact ? 1 : 0, { target: { op: '==', value: 1 } }),
        ],
        facts: {
          deliveries,
          concurrency: CONCURRENCY,
          customersPerRepetition: runs[0]?.schedule.customers,
          outcomes,
          mismatches: runs.flatMap((r) => r.mismatches).slice(0, 5),
          requestsByOperation: runs.reduce<Record<string, number>>((acc, r) => {
            for (const [k, v] of Object.entries(r.attempts)) acc[k] = (acc[k] ?? 0) + v;
            return acc;
          }, {}),
          writesPerAppliedEvent: Math.round((writes / applied) * 1000) / 1000,
          cacheFlushes: flushes,
          baselineConditionFailures: rawConditionFailures,
          target: `0.85 ÷ ${writesPerEvent.toFixed(3)} writes per accepted event = ${target.toFixed(3)}`,
        },
        notes: [
          `${CONCURRENCY} deliveries in flight, in-process handler with its store and the SDK-default client; events pre-signed with the Stripe SDK; ~10 % duplicates and ~10 % out of order.`,
          'Writes are items: a TransactWriteItems of the ledger Put and the customer Update counts 2 (DynamoDB bills transactional writes at twice that again).',
          'The baseline is one UpdateItem per operation with the webhook\'s subscription condition and attributes, on its own customer items, every one applying.',
        ],
      };
    } finally {
      client.destroy();
      rawClient.destroy();
    }
  },
};
