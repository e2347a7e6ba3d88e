import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { composeMetering } from '../../lambda/metering/compose';
import { encodeSubscriptionEvent, type LogEvent } from '../../lambda/metering/logs-event';
import { renderAccessLogLine } from '../../lambda/shared/access-log';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../lib/local/dynamodb-local';
import { freshBenchTables } from '../lib/authorizer';
import { throughput } from '../lib/interleave';
import { longTail } from './b8-long-tail';
import { DEFAULT_WINDOW } from '../../lambda/metering/window';
import { countRequests } from '../lib/request-counter';
import { exactMeasure, ratioMeasure } from '../lib/stats';
import type { Figure, Mode } from '../lib/types';
import { createObservability } from '../../lambda/shared/observability';

const CUSTOMERS = 20;
const LINES_PER_BATCH = 500;
/** Deliveries in flight: a log group's streams deliver in parallel. */
const BATCH_CONCURRENCY = 4;
/** The naive per-call writer's requests in flight. */
const RAW_CONCURRENCY = 8;
const LINES: Readonly<Record<Mode, number>> = { full: 20_000, quick: 5_000, smoke: 1_000 };
const PERIOD_END = 4_000_000_000;

const client = (endpoint: string): DynamoDBClient => new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });

/** Access-log lines as the stage writes them: 2xx calls of GET /v1/search by CUSTOMERS customers on a quota plan. */
function batches(total: number, run: number): Array<{ awslogs: { data: string } }> {
  const out: Array<{ awslogs: { data: string } }> = [];
  for (let from = 0; from < total; from += LINES_PER_BATCH) {
    const events: LogEvent[] = [];
    for (let i = from; i < Math.min(total, from + LINES_PER_BATCH); i++) {
      const message = renderAccessLogLine({
        'context.requestId': `r${run}-${i}`,
        'context.httpMethod': 'GET',
        'context.resourcePath': '/v1/search',
        'context.status': 200,
        'context.authorizer.customerId': `cus_bench${i % CUSTOMERS}`,
        'context.authorizer.periodEnd': PERIOD_END,
      });
      events.push({ id: `${run}${String(i).padStart(12, '0')}`, timestamp: Date.now(), message });
    }
    out.push(encodeSubscriptionEvent({ messageType: 'DATA_MESSAGE', logGroup: 'ApiAccessLogs', logStream: `stream-${run}-${from}`, logEvents: events }));
  }
  return out;
}

/** B8: access-log lines metered per second against raw per-call UpdateItem/s. */
export const figure: Figure = {
  id: 'B8',
  title: 'metering log events/s / raw UpdateItem/s',
  async run(context) {
    const names = await freshBenchTables(context.dynamodbEndpoint, 'metering');
    const meteringClient = client(context.dynamodbEndpoint);
    const rawClient = client(context.dynamodbEndpoint);
    const counter = countRequests(meteringClient);
    const documents = DynamoDBDocumentClient.from(rawClient);
    for (let c = 0; c < CUSTOMERS; c++) {
      await documents.send(
        new PutCommand({
          TableName: names.customers,
          Item: { customerId: `cus_bench${c}`, subscriptions: { sub_1: { status: 'active', plan: 'bench_plan', currentPeriodEnd: PERIOD_END, watermark: '0000000001:evt_1' } }, invoices: {}, pastDue: {}, credits: 1_000_000_000 },
        }),
      );
    }
    const settings = {
      customersTable: names.customers,
      eventsTable: names.events,
      usageTable: names.usage,
      window: { ...DEFAULT_WINDOW, seconds: 0 },
      rules: { routes: [{ method: 'GET', path: '/v1/search', cost: 1 }], plans: { bench_plan: { name: 'Bench', quota: 1_000, overage: 'block' as const } } },
    };
    const handler = composeMetering(settings, {
      dynamodb: meteringClient,
      observability: createObservability('tollgate-metering', { namespace: 'TollgateBench', logLevel: 'SILENT' }),
    });
    const total = LINES[context.mode];
    let run = 0;
    const meteringRun = async () => {
      const delivered = batches(total, run++);
      counter.reset();
      const { seconds } = await throughput(delivered.length, BATCH_CONCURRENCY, (i) => handler(delivered[i]!));
      return { perSecond: total / seconds, writes: counter.counts.writes, attempts: { ...counter.counts.attempts } };
    };
    const rawRun = async () => {
      // What metering without aggregation would do: one UpdateItem per counted call.
      const { perSecond } = await throughput(total, RAW_CONCURRENCY, (i) =>
        rawClient.send(
          new UpdateItemCommand({
            TableName: names.customers,
            Key: { customerId: { S: `cus_bench${i % CUSTOMERS}` } },
            UpdateExpression: 'ADD periodUsed :one',
            ConditionExpression: 'usagePeriodEnd = :pe OR attribute_not_exists(usagePeriodEnd)',
            ExpressionAttributeValues: { ':one': { N: '1' }, ':pe': { N: String(PERIOD_END) } },
          }),
        ),
      );
      return { perSecond };
    };
    try {
      if (context.mode !== 'smoke') {
        await meteringRun();
        await rawRun();
      }
      const reps: { a: number; b: number }[] = [];
      const runs: Awaited<ReturnType<typeof meteringRun>>[] = [];
      for (let rep = 0; rep < (context.mode === 'full' ? 5 : context.mode === 'quick' ? 3 : 1); rep++) {
        let a: Awaited<ReturnType<typeof meteringRun>>;
        let b: Awaited<ReturnType<typeof rawRun>>;
        if (rep % 2 === 0) {
          a = await meteringRun();
          b = await rawRun();
        } else {
          b = await rawRun();
          a = await meteringRun();
        }
        reps.push({ a: a.perSecond, b: b.perSecond });
        runs.push(a);
      }
      const lines = total * runs.length;
      const writes = runs.reduce((s, r) => s + r.writes, 0);
      const tail = await longTail(context.dynamodbEndpoint, names, context.mode, client);
      return {
        available: true,
        measures: [
          ...tail.measures,
          ratioMeasure('metered log events/s / raw UpdateItem/s', reps, { unit: '/s', target: { op: '>=', value: 3 } }),
          exactMeasure('DynamoDB item writes per log event', writes / lines, { a: writes, b: lines }),
        ],
        facts: {
          ...tail.facts,
          linesPerRepetition: total,
          linesPerBatch: LINES_PER_BATCH,
          customers: CUSTOMERS,
          batchConcurrency: BATCH_CONCURRENCY,
          rawConcurrency: RAW_CONCURRENCY,
          requestsByOperation: runs.reduce<Record<string, number>>((acc, r) => {
            for (const [k, v] of Object.entries(r.attempts)) acc[k] = (acc[k] ?? 0) + v;
            return acc;
          }, {}),
        },
        notes: [
          ...tail.notes,
          `Throughput: ${LINES_PER_BATCH} lines per delivered batch (gzip + base64 as CloudWatch Logs delivers), ${BATCH_CONCURRENCY} batches in flight, ${CUSTOMERS} customers on a quota plan with credits; every line a 2xx call that counts.`,
          'A includes decoding, parsing, aggregation, one read and one transaction (ledger entry + usage update) per customer per batch.',
          `The baseline is one conditional UpdateItem (ADD periodUsed) per counted call, ${RAW_CONCURRENCY} in flight: what metering without aggregation would write.`,
        ],
      };
    } finally {
      meteringClient.destroy();
      rawClient.destroy();
    }
  },
};
