import { BatchWriteItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { composeMetering } from '../../lambda/metering/compose';
import type { MeteringSettings } from '../../lambda/metering/settings';
import { encodeSubscriptionEvent, type LogEvent } from '../../lambda/metering/logs-event';
import { DEFAULT_WINDOW } from '../../lambda/metering/window';
import { renderAccessLogLine } from '../../lambda/shared/access-log';
import { createObservability } from '../../lambda/shared/observability';
import type { TableNames } from '../../lambda/shared/tables';
import { countRequests } from '../lib/request-counter';
import { exactMeasure } from '../lib/stats';
import type { Measure, Mode } from '../lib/types';
import { startBenchStripe, stripeAtScale } from './b8-stripe';

/**
 * B8's long tail: many customers, each far from its limit and in few lines of any one delivery (the
 * shape the capacity model calls U: most customers appear once per delivery). Every customer makes
 * CALLS calls inside one 60-s window, spread over the deliveries at random. Metered with windows, then
 * (on a sample of the same deliveries) without, as every delivery was metered before windows.
 */

const CUSTOMERS: Readonly<Record<Mode, number>> = { full: 10_000, quick: 2_000, smoke: 200 };
/** Calls per customer in the window: 25 a minute, a customer at 0.4 calls/s. */
const CALLS = 25;
const LINES_PER_BATCH = 500;
/** Deliveries metered without windows for the baseline (a sample: every customer written per delivery is slow locally). */
const BASELINE_DELIVERIES = 10;
/** Customers whose route reports every unit to a Stripe meter: Stripe requests per customer per window. */
const REPORTED_CUSTOMERS: Readonly<Record<Mode, number>> = { full: 1_000, quick: 300, smoke: 50 };
const PERIOD_END = 4_000_000_000;
/** A window start, well in the future (DynamoDB Local expires items by TTL). */
const WINDOW_AT = 2_000_000_400_000;
/** A window is summed once it has ended and its grace has passed. */
const CLOSED_AFTER_MS = (DEFAULT_WINDOW.seconds + DEFAULT_WINDOW.graceSeconds) * 1000;

/** Deterministic shuffle (a fixed LCG): the same deliveries every run. */
function shuffled<T>(items: T[]): T[] {
  let seed = 42;
  for (let i = items.length - 1; i > 0; i--) {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    const j = seed % (i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

function deliveries(customers: readonly string[], path: string, label: string, at: number): Array<{ awslogs: { data: string } }> {
  const calls = shuffled(customers.flatMap((c) => Array.from({ length: CALLS }, () => c)));
  const out: Array<{ awslogs: { data: string } }> = [];
  for (let from = 0; from < calls.length; from += LINES_PER_BATCH) {
    const events: LogEvent[] = calls.slice(from, from + LINES_PER_BATCH).map((customerId, i) => ({
      id: `${label}${String(from + i).padStart(12, '0')}`,
      // Spread over the window's first 50 s, in order.
      timestamp: at + Math.floor(((from + i) / calls.length) * 50_000),
      message: renderAccessLogLine({
        'context.requestId': `${label}-${from + i}`,
        'context.httpMethod': 'GET',
        'context.resourcePath': path,
        'context.status': 200,
        'context.authorizer.customerId': customerId,
        'context.authorizer.periodEnd': PERIOD_END,
        'context.authorizer.headroom': 1_000_000,
      }),
    }));
    out.push(encodeSubscriptionEvent({ messageType: 'DATA_MESSAGE', logGroup: 'ApiAccessLogs', logStream: `${label}-${from}`, logEvents: events }));
  }
  return out;
}

async function seed(client: DynamoDBClient, table: string, customers: readonly string[], plan: string): Promise<void> {
  for (let i = 0; i < customers.length; i += 25) {
    const item = (customerId: string) => ({
      customerId: { S: customerId },
      subscriptions: { M: { sub_1: { M: { status: { S: 'active' }, plan: { S: plan }, currentPeriodEnd: { N: String(PERIOD_END) }, watermark: { S: '0000000001:evt_1' } } } } },
      invoices: { M: {} },
      pastDue: { M: {} },
    });
    await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: customers.slice(i, i + 25).map((c) => ({ PutRequest: { Item: item(c) } })) } }));
  }
}

export interface LongTail {
  readonly measures: Measure[];
  readonly facts: Record<string, number>;
  readonly notes: string[];
}

export async function longTail(endpoint: string, names: TableNames, mode: Mode, client: (endpoint: string) => DynamoDBClient): Promise<LongTail> {
  const dynamodb = client(endpoint);
  const counter = countRequests(dynamodb);
  try {
    const customers = Array.from({ length: CUSTOMERS[mode] }, (_, i) => `cus_tail${String(i).padStart(6, '0')}`);
    const reported = Array.from({ length: REPORTED_CUSTOMERS[mode] }, (_, i) => `cus_rep${String(i).padStart(6, '0')}`);
    await seed(dynamodb, names.customers, customers, 'tail_plan');
    await seed(dynamodb, names.customers, reported, 'reported_plan');
    let now = WINDOW_AT + 55_000;
    const stripe = await startBenchStripe(() => now);
    const { reporter } = stripe;
    const settings = (window: number): MeteringSettings => ({
      customersTable: names.customers,
      eventsTable: names.events,
      usageTable: names.usage,
      window: { ...DEFAULT_WINDOW, seconds: window },
      rules: {
        routes: [
          { method: 'GET', path: '/v1/search', cost: 1 },
          { method: 'GET', path: '/v1/translate', cost: 1, meter: 'translate_calls' },
        ],
        plans: {
          tail_plan: { name: 'Tail', quota: 10_000_000, overage: 'block' },
          // Every unit billed: each customer's window owes Stripe a report.
          reported_plan: { name: 'Reported', overage: 'bill', meter: 'api_units' },
        },
      },
    });
    const observability = createObservability('tollgate-metering', { namespace: 'TollgateBench', logLevel: 'SILENT' });
    const windowed = composeMetering(settings(DEFAULT_WINDOW.seconds), { dynamodb, reporter, observability, now: () => new Date(now) });
    const scheduled = { 'detail-type': 'Scheduled Event', source: 'aws.events', time: new Date(WINDOW_AT).toISOString() };

    // Windowed: every delivery, then the minute's run once the window has closed.
    const tail = deliveries(customers, '/v1/search', 'tail', WINDOW_AT);
    const calls = customers.length * CALLS;
    counter.reset();
    for (const d of tail) await windowed(d);
    const deliveryWrites = counter.counts.writes;
    now = WINDOW_AT + CLOSED_AFTER_MS;
    const summed = await windowed(scheduled);
    const windowedWrites = counter.counts.writes;

    // Reported customers, in the next window: their Stripe requests per customer per window.
    const reportAt = WINDOW_AT + 10 * 60_000;
    now = reportAt + 55_000;
    for (const d of deliveries(reported, '/v1/translate', 'rep', reportAt)) await windowed(d);
    now = reportAt + CLOSED_AFTER_MS;
    await windowed(scheduled);

    // Before windows: a sample of the same long tail, every customer written per delivery.
    const perDelivery = composeMetering(settings(0), { dynamodb, observability, now: () => new Date(now) });
    const sample = deliveries(customers, '/v1/search', 'base', WINDOW_AT + 20 * 60_000).slice(0, BASELINE_DELIVERIES);
    counter.reset();
    for (const d of sample) await perDelivery(d);
    const baselineWrites = counter.counts.writes;
    const baselineCalls = sample.length * LINES_PER_BATCH;

    const stripeRequests = reporter.counts.requests;
    const reportedEvents = stripe.meterEvents.events().length;
    await stripe.close();
    const scale = await stripeAtScale(mode);

    const perCall = windowedWrites / calls;
    const stripePerCustomerWindow = stripeRequests / reported.length;
    return {
      measures: [
        exactMeasure('long tail: DynamoDB item writes per counted call, windowed', perCall, { a: windowedWrites, b: calls, target: { op: '<=', value: 0.05 } }),
        exactMeasure('long tail: DynamoDB item writes per counted call, per delivery (before windows)', baselineWrites / baselineCalls, { a: baselineWrites, b: baselineCalls }),
        exactMeasure('long tail: Stripe requests per customer per window (v2 stream)', stripePerCustomerWindow, { a: stripeRequests, b: reported.length, target: { op: '<=', value: 1 } }),
        ...scale.measures,
      ],
      facts: {
        longTailCustomers: customers.length,
        longTailCallsPerCustomer: CALLS,
        longTailDeliveries: tail.length,
        longTailBufferWrites: deliveryWrites,
        longTailCustomersSummed: summed.customers,
        longTailBaselineDeliveries: sample.length,
        reportedCustomers: reported.length,
        reportedEvents,
        ...scale.facts,
      },
      notes: [
        `Long tail: ${customers.length} customers far from their limits, ${CALLS} calls each inside one 60-s window, shuffled into deliveries of ${LINES_PER_BATCH} lines (each customer in about ${((LINES_PER_BATCH / (customers.length * CALLS)) * CALLS).toFixed(2)} lines of a delivery); writes counted from the first delivery to the window's sum, buffers included (${deliveryWrites} for ${tail.length} deliveries).`,
        `The per-delivery figure meters ${sample.length} of the same kind of deliveries with windows off, as every delivery was metered before.`,
        `Stripe: ${reported.length} customers whose route reports every unit to a meter, ${CALLS} calls each in one window, reported by the function's reporter (v2 meter event stream) to the local fake of Stripe's API: ${stripeRequests} stream requests for ${reportedEvents} events (one per customer and window).`,
        ...scale.notes,
      ],
    };
  } finally {
    dynamodb.destroy();
  }
}
