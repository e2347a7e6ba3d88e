import { BatchWriteItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { issueApiKey } from '../../lambda/shared/customers/api-key';
import { keyAttributeName } from '../../lambda/shared/customers/item';
import { buildStripeEvent, serializeEvent, signPayload } from '../../lib/stripe-events';
import { localClient } from '../../lib/local/dynamodb-local';
import { buildLocalDocument, createLocalApi, LOCAL_WEBHOOK_SECRET, type LocalApi } from '../../lib/local/stack';
import { loadProjectConfig, type TollgateConfig } from '../../lib/config/tollgate-config';
import { WEBHOOK_PATH } from '../../lib/contract';
import { freshBenchTables } from '../lib/authorizer';
import { countRequests } from '../lib/request-counter';
import { exactMeasure, percentile, summarize } from '../lib/stats';
import type { Figure, FigureContext, Measure } from '../lib/types';
import { quietHandlers } from '../lib/quiet-sdk';

/**
 * B12: a month-end storm, simulated on the real handlers and DynamoDB Local through the local gateway,
 * whose authorizer cache behaves as API Gateway's and whose flushes spend a management budget of 10
 * calls/s with a burst of 40 (refused with the SDK's TooManyRequestsException beyond it), and whose
 * webhook method is throttled as deployed (50/s, burst 100: Stripe's deliveries beyond it get 429 and
 * are retried, as Stripe retries them).
 *
 * Phases, with traffic all along from the active tenth of the customers (shape S of the capacity model,
 * scaled to 2 cores) on the standing routes:
 *   steady    traffic alone;
 *   wave      30 % of all customers renew (a counted plan's new period) at the webhook's pace;
 *   payments  blocked customers pay one by one: each from the payment's delivery to its first 200;
 *   burst     many blocked customers pay at once: the flushes their unlocks share.
 */

interface Scale {
  readonly customers: number;
  readonly activeShare: number;
  readonly rate: number;
  readonly steadySeconds: number;
  readonly renewals: number;
  readonly payments: number;
  readonly burst: number;
}

const SCALES: Record<FigureContext['mode'], Scale> = {
  full: { customers: 10_000, activeShare: 0.1, rate: 200, steadySeconds: 20, renewals: 3_000, payments: 20, burst: 40 },
  quick: { customers: 2_000, activeShare: 0.1, rate: 150, steadySeconds: 8, renewals: 600, payments: 8, burst: 20 },
  smoke: { customers: 200, activeShare: 0.2, rate: 50, steadySeconds: 2, renewals: 40, payments: 2, burst: 4 },
};

const DAY = 86_400;
const BUDGET_PER_SECOND = 10;
const PAYMENT_GOAL_MS = 2000;

interface Customer {
  readonly customerId: string;
  readonly subscriptionId: string;
  readonly key: string;
}

interface PhaseCounts {
  cache: number;
  invoked: number;
  reads: number;
  seconds: number;
  statuses: Record<string, number>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export const figure: Figure = {
  id: 'B12',
  title: 'month-end storm: control-plane calls, cache hit ratio and payment → access, simulated',
  async run(context) {
    quietHandlers();
    const scale = SCALES[context.mode];
    const loaded = loadProjectConfig(context.root);
    // The stage's own throttle high enough for the simulated traffic; the webhook's as deployed.
    const config: TollgateConfig = { ...loaded, throttleRateLimit: 10_000, throttleBurstLimit: 5_000 };
    const built = buildLocalDocument(config, context.root);
    const plan = Object.entries(config.plans).find(([, p]) => p.quota !== undefined)?.[0];
    if (plan === undefined) return { available: false, unavailableReason: 'the sample configuration has no counted plan', measures: [], facts: {}, notes: [] };
    const tables = await freshBenchTables(context.dynamodbEndpoint, 'storm');
    const admin = localClient(context.dynamodbEndpoint);
    const now = Math.floor(Date.now() / 1000);
    const periodEnd = now + 10 * DAY;

    // Seeded as the webhook and key management write them: active subscriptions on a counted plan.
    const customers: Customer[] = [];
    const blocked: Customer[] = [];
    const items: Record<string, unknown>[] = [];
    const seed = (i: number, status: 'active' | 'past_due', into: Customer[]): void => {
      const customerId = `cus_storm${String(i).padStart(6, '0')}`;
      const subscriptionId = `sub_storm${String(i).padStart(6, '0')}`;
      const issued = issueApiKey(customerId);
      const watermark = `${String(now - DAY).padStart(11, '0')}:3:evt_seed`;
      items.push({
        customerId,
        subscriptions: { [subscriptionId]: { status, plan, cancelAtPeriodEnd: false, currentPeriodStart: now - 20 * DAY, currentPeriodEnd: periodEnd, watermark } },
        invoices: {},
        // Past due for ten days: beyond any grace period, so blocked.
        pastDue: status === 'past_due' ? { [subscriptionId]: now - 10 * DAY } : {},
        [keyAttributeName(issued.keyId)]: { hash: issued.hash, createdAt: new Date().toISOString() },
      });
      into.push({ customerId, subscriptionId, key: issued.key });
    };
    for (let i = 0; i < scale.customers; i++) seed(i, 'active', customers);
    for (let i = 0; i < scale.payments + scale.burst; i++) seed(scale.customers + i, 'past_due', blocked);
    for (let i = 0; i < items.length; i += 25) {
      const batch = items.slice(i, i + 25).map((item) => ({ PutRequest: { Item: marshall(item) } }));
      await admin.send(new BatchWriteItemCommand({ RequestItems: { [tables.customers]: batch } }));
    }

    const api: LocalApi = createLocalApi({ config, built, dynamodbEndpoint: context.dynamodbEndpoint, tables, webhookSecret: LOCAL_WEBHOOK_SECRET, metering: false, throttling: true });
    const reads = countRequests(api.clients[0]!);
    const stage = `/${config.stageName}`;
    const call = (customer: Customer, path = '/v1/quotes') => api.gateway.handle({ method: 'GET', path: `${stage}${path}`, headers: { Authorization: `Bearer ${customer.key}` } });

    let phase: PhaseCounts | undefined;
    const begin = (): PhaseCounts => {
      reads.reset();
      return (phase = { cache: 0, invoked: 0, reads: 0, seconds: 0, statuses: {} });
    };
    const end = (counts: PhaseCounts, startedAt: number): void => {
      counts.reads = reads.counts.reads;
      counts.seconds = (Date.now() - startedAt) / 1000;
      phase = undefined;
    };

    // Traffic: the active tenth, each customer called at random, `rate` calls per second in all.
    const active = customers.slice(0, Math.max(1, Math.floor(customers.length * scale.activeShare)));
    let trafficOn = true;
    const traffic = (async () => {
      const tick = 50;
      while (trafficOn) {
        const started = Date.now();
        const n = Math.round((scale.rate * tick) / 1000);
        await Promise.all(
          Array.from({ length: n }, async () => {
            const response = await call(active[Math.floor(Math.random() * active.length)]!);
            const counts = phase;
            if (counts === undefined) return;
            if (response.diagnostics.authorizer === 'cache') counts.cache += 1;
            else if (response.diagnostics.authorizer === 'invoked') counts.invoked += 1;
            counts.statuses[response.statusCode] = (counts.statuses[response.statusCode] ?? 0) + 1;
          }),
        );
        await sleep(Math.max(0, tick - (Date.now() - started)));
      }
    })();

    // Stripe's side: a signed delivery, retried after a 429 (the webhook method's throttle) as Stripe retries.
    const webhookStatuses: Record<string, number> = {};
    let retriedAfter429 = 0;
    const deliver = async (type: Parameters<typeof buildStripeEvent>[0], overrides: Parameters<typeof buildStripeEvent>[1]): Promise<number> => {
      const payload = serializeEvent(buildStripeEvent(type, overrides));
      for (let attempt = 0; ; attempt++) {
        const response = await api.gateway.handle({
          method: 'POST',
          path: `${stage}${WEBHOOK_PATH}`,
          headers: { 'Content-Type': 'application/json; charset=utf-8', 'Stripe-Signature': signPayload(payload, LOCAL_WEBHOOK_SECRET) },
          body: Buffer.from(payload, 'utf8'),
        });
        webhookStatuses[response.statusCode] = (webhookStatuses[response.statusCode] ?? 0) + 1;
        if (response.statusCode !== 429 || attempt >= 20) return response.statusCode;
        retriedAfter429 += 1;
        await sleep(200 + Math.random() * 300);
      }
    };
    const renew = (c: Customer, created: number) =>
      deliver('customer.subscription.updated', { customer: c.customerId, subscription: c.subscriptionId, status: 'active', lookupKey: plan, created, currentPeriodEnd: periodEnd + 30 * DAY });

    try {
      // Warm the cache: every active customer until it is answered 200 (a cold DynamoDB Local may time
      // out a first decision: a 503 is not cached, as API Gateway does not cache a failed authorizer).
      for (let i = 0; i < active.length; i += 10) {
        await Promise.all(
          active.slice(i, i + 10).map(async (c) => {
            for (let attempt = 0; attempt < 5 && (await call(c)).statusCode !== 200; attempt++) await sleep(50);
          }),
        );
      }
      const steady = begin();
      let t0 = Date.now();
      await sleep(scale.steadySeconds * 1000);
      end(steady, t0);

      // The wave: 30 % of the customers renew, delivered as fast as the webhook's throttle lets Stripe.
      const wave = begin();
      t0 = Date.now();
      const renewing = customers.filter((_, i) => i % 10 < 3).slice(0, scale.renewals);
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < renewing.length) await renew(renewing[next++]!, now + 60);
        }),
      );
      end(wave, t0);

      // Payments: a blocked customer pays; from the delivery to its first 200.
      const payments = begin();
      t0 = Date.now();
      const latencies: number[] = [];
      for (const c of blocked.slice(0, scale.payments)) {
        const before = await call(c);
        if (before.statusCode !== 402) throw new Error(`a blocked customer was answered ${before.statusCode}, not 402`);
        const paidAt = Date.now();
        await deliver('customer.subscription.updated', { customer: c.customerId, subscription: c.subscriptionId, status: 'active', lookupKey: plan, created: now + 120 });
        for (;;) {
          if ((await call(c)).statusCode === 200) break;
          if (Date.now() - paidAt > 30_000) throw new Error(`${c.customerId} paid and was still refused after 30 s`);
          await sleep(20);
        }
        latencies.push(Date.now() - paidAt);
        await sleep(500);
      }
      end(payments, t0);

      // A burst: blocked customers all pay at once; their unlocks share the stage's flushes.
      const burstFlushesBefore = api.gateway.management.calls.accepted;
      t0 = Date.now();
      await Promise.all(blocked.slice(scale.payments).map((c) => deliver('customer.subscription.updated', { customer: c.customerId, subscription: c.subscriptionId, status: 'active', lookupKey: plan, created: now + 180 })));
      const burstSeconds = (Date.now() - t0) / 1000;
      const burstFlushes = api.gateway.management.calls.accepted - burstFlushesBefore;
      const stillRefused = (await Promise.all(blocked.slice(scale.payments).map((c) => call(c)))).filter((r) => r.statusCode !== 200).length;

      trafficOn = false;
      await traffic;

      // Control-plane calls per second, over the whole run.
      const perSecond = new Map<number, number>();
      for (const at of api.gateway.management.calls.acceptedAt) perSecond.set(Math.floor(at / 1000), (perSecond.get(Math.floor(at / 1000)) ?? 0) + 1);
      const peak = Math.max(0, ...perSecond.values());
      const runSeconds = steady.seconds + wave.seconds + payments.seconds + burstSeconds;
      const mean = api.gateway.management.calls.accepted / runSeconds;
      const hit = (c: PhaseCounts): number => c.cache / Math.max(1, c.cache + c.invoked);
      const hitRatio = hit(wave) / Math.max(1e-9, hit(steady));
      const readsPerSecond = (c: PhaseCounts): number => c.reads / c.seconds;
      const fivexx = Object.entries(webhookStatuses).filter(([s]) => Number(s) >= 500).reduce((n, [, k]) => n + k, 0);
      const p99 = percentile(latencies, 99);

      const measures: Measure[] = [
        exactMeasure('peak control-plane calls per second / 10 (the account budget)', peak / BUDGET_PER_SECOND, { a: peak, b: BUDGET_PER_SECOND, target: { op: '<=', value: 0.1 } }),
        exactMeasure('mean control-plane calls per second over the run', Number(mean.toFixed(3))),
        exactMeasure('throttled control-plane calls', api.gateway.management.calls.throttled, { target: { op: '==', value: 0 } }),
        exactMeasure('cache hit ratio during the wave / steady state', Number(hitRatio.toFixed(3)), { a: hit(wave), b: hit(steady), target: { op: '>=', value: 0.9 } }),
        exactMeasure('authorizer DynamoDB reads per second, wave / steady (+1 each)', Number(((readsPerSecond(wave) + 1) / (readsPerSecond(steady) + 1)).toFixed(3))),
        exactMeasure('webhook 5xx', fivexx, { target: { op: '==', value: 0 } }),
        {
          name: 'payment → access p99 / 2 s goal',
          ratio: summarize([p99 / PAYMENT_GOAL_MS]),
          a: summarize([p99]),
          b: summarize([PAYMENT_GOAL_MS]),
          unit: 'ms',
          target: { op: '<=', value: 1 },
          met: p99 <= PAYMENT_GOAL_MS,
        },
        // At most one flush per second of the burst, plus the one in flight when it began.
        exactMeasure(`flushes for ${scale.burst} unlocks at once`, burstFlushes, { target: { op: '<=', value: Math.ceil(burstSeconds) + 1 } }),
        exactMeasure('unlocked customers still refused after the burst', stillRefused, { target: { op: '==', value: 0 } }),
      ];
      return {
        available: true,
        measures,
        facts: {
          customers: scale.customers,
          activeCustomers: active.length,
          trafficPerSecond: scale.rate,
          renewals: renewing.length,
          waveSeconds: Number(wave.seconds.toFixed(1)),
          webhookStatuses,
          retriedAfter429,
          controlPlaneCalls: api.gateway.management.calls.accepted,
          hitRatio: { steady: Number(hit(steady).toFixed(4)), wave: Number(hit(wave).toFixed(4)), payments: Number(hit(payments).toFixed(4)) },
          authorizerReadsPerSecond: { steady: Number(readsPerSecond(steady).toFixed(2)), wave: Number(readsPerSecond(wave).toFixed(2)), payments: Number(readsPerSecond(payments).toFixed(2)) },
          paymentToAccessMs: { p50: percentile(latencies, 50), p99, max: Math.max(...latencies) },
          burst: { unlocks: scale.burst, seconds: Number(burstSeconds.toFixed(2)), flushes: burstFlushes, stillRefused },
          trafficStatuses: { steady: steady.statuses, wave: wave.statuses },
        },
        notes: [
          `${scale.customers} customers on plan ${plan} (a counted plan: under per-event flushing each renewal would flush), the active ${Math.round(scale.activeShare * 100)} % called ${scale.rate}/s on a standing route; ${renewing.length} renewals delivered at the webhook method's throttle (${config.webhookThrottleRateLimit}/s), a 429 retried as Stripe does.`,
          'Management calls are the local gateway\'s budget (10/s, burst 40); the stage flusher spends at most one per tollgate:cacheFlushIntervalSeconds (1 s).',
          `Payments: ${latencies.length} blocked customers paid one by one while the traffic ran; each from the delivery's start to the first 200 of its key.`,
        ],
      };
    } finally {
      trafficOn = false;
      api.destroy();
      admin.destroy();
    }
  },
};

