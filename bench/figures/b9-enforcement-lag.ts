import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createApiKey } from '../../lambda/shared/customers/keys';
import { deliverEvent } from '../../lib/local/demo';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../lib/local/dynamodb-local';
import { buildLocalDocument, createLocalApi, LOCAL_WEBHOOK_SECRET } from '../../lib/local/stack';
import { loadProjectConfig } from '../../lib/config/tollgate-config';
import { freshBenchTables } from '../lib/authorizer';
import { exactMeasure, summarize } from '../lib/stats';
import type { Figure, Measure } from '../lib/types';
import { quietHandlers } from '../lib/quiet-sdk';

const CLIENTS = 8;
/** Units left in the period when the clients start. */
const LEFT = 5;
const GOAL_MS = 2000;
const GIVE_UP_MS = 30_000;

interface Sample {
  readonly at: number;
  readonly status: number;
}

/**
 * B9: enforcement lag of log-based metering, locally: 8 clients call the sample's metered route as
 * fast as they can; from the call that uses the quota's last unit to the first 402, how long, and how
 * many calls got through meanwhile. The local stack as npm start runs it: the access log fed to the
 * metering handler every second, the flush reaching the in-process gateway.
 */
export const figure: Figure = {
  id: 'B9',
  title: 'enforcement lag (quota crossed → first 402) / 2 s goal',
  async run(context) {
    // As npm start runs the handlers: metrics off, only warnings and errors logged (to the discarded stdout).
    quietHandlers();
    const config = loadProjectConfig(context.root);
    const built = buildLocalDocument(config, context.root);
    const plan = config.plans.sample_metered;
    if (plan?.quota === undefined) return { available: false, unavailableReason: 'the sample configuration has no sample_metered plan with a quota', measures: [], facts: {}, notes: [] };
    const tables = await freshBenchTables(context.dynamodbEndpoint, 'lag');
    const admin = new DynamoDBClient({ endpoint: context.dynamodbEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    const documents = DynamoDBDocumentClient.from(admin);
    const batches: string[] = [];
    const api = createLocalApi({
      config,
      built,
      dynamodbEndpoint: context.dynamodbEndpoint,
      tables,
      webhookSecret: LOCAL_WEBHOOK_SECRET,
      metering: { onBatch: (r) => batches.push(`${r.outcome}:${r.countedCalls}`), onError: (e) => batches.push(String(e)) },
    });
    const repetitions = context.mode === 'full' ? 5 : context.mode === 'quick' ? 3 : 1;
    const lags: number[] = [];
    const through: number[] = [];
    const calls: number[] = [];
    try {
      for (let rep = 0; rep < repetitions; rep++) {
        const customerId = `cus_bench_lag${rep}`;
        const delivered = await deliverEvent(api.gateway, { type: 'customer.subscription.created', customerId, status: 'active', plan: 'sample_metered' }, LOCAL_WEBHOOK_SECRET);
        if (delivered.statusCode !== 200) throw new Error(`the subscription event was refused: ${delivered.body}`);
        const { key } = await createApiKey({ client: admin, tables }, { customerId });
        const item = (await documents.send(new GetCommand({ TableName: tables.customers, Key: { customerId }, ConsistentRead: true }))).Item!;
        const periodEnd = Object.values(item.subscriptions as Record<string, { currentPeriodEnd: number }>)[0]!.currentPeriodEnd;
        await documents.send(
          new UpdateCommand({ TableName: tables.customers, Key: { customerId }, UpdateExpression: 'SET usagePeriodEnd = :pe, periodUsed = :used', ExpressionAttributeValues: { ':pe': periodEnd, ':used': plan.quota - LEFT } }),
        );
        api.gateway.flushAuthorizerCache();
        const samples: Sample[] = [];
        const start = Date.now();
        let blocked = false;
        const client = async (): Promise<void> => {
          while (!blocked && Date.now() - start < GIVE_UP_MS) {
            const response = await api.gateway.handle({ method: 'GET', path: `/${config.stageName}/v1/search?q=bench`, headers: { Authorization: `Bearer ${key}` } });
            samples.push({ at: performance.now(), status: response.statusCode });
            if (response.statusCode === 402) blocked = true;
            // A client on a socket yields to the event loop between calls; in-process calls served from
            // the authorizer cache would otherwise never let the timers and I/O of metering run.
            await new Promise<void>((resolve) => setImmediate(resolve));
          }
        };
        await Promise.all(Array.from({ length: CLIENTS }, client));
        const successes = samples.filter((s) => s.status >= 200 && s.status < 300).sort((a, b) => a.at - b.at);
        const first402 = samples.filter((s) => s.status === 402).sort((a, b) => a.at - b.at)[0];
        const crossing = successes[LEFT - 1];
        if (first402 === undefined || crossing === undefined) throw new Error(`no 402 within ${GIVE_UP_MS / 1000} s (${successes.length} calls succeeded; batches ${batches.slice(0, 5).join(', ')})`);
        lags.push(first402.at - crossing.at);
        through.push(successes.length - LEFT);
        calls.push(samples.length);
        await api.metering?.drain();
      }
      const lag = summarize(lags.map((ms) => ms / GOAL_MS));
      const lagMeasure: Measure = {
        name: 'lag from the crossing call to the first 402 / 2 s goal',
        ratio: lag,
        a: summarize(lags),
        b: summarize(lags.map(() => GOAL_MS)),
        unit: 'ms',
        target: { op: '<=', value: 1 },
        met: lag.median <= 1,
      };
      const overshoot = summarize(through);
      return {
        available: true,
        measures: [lagMeasure, { ...exactMeasure(`calls through after the crossing (${CLIENTS} clients), median`, overshoot.median), ratio: overshoot }],
        facts: { clients: CLIENTS, unitsLeftAtStart: LEFT, lagsMs: lags.map((l) => Math.round(l)), callsThrough: through, callsMade: calls, batchIntervalMs: 1000 },
        notes: [
          `${CLIENTS} clients in-process against the local gateway, the sample's GET /v1/search (1 unit) on plan sample_metered with ${LEFT} units left; the access log is metered in batches every second, as npm start does.`,
          'The lag is bounded by the batch interval (CloudWatch Logs delivers in seconds when deployed), the write and the flush; calls through are what a log-based quota lets through meanwhile (strict routes let none).',
        ],
      };
    } finally {
      api.destroy();
      admin.destroy();
    }
  },
};
