import { walletKey } from '../../lambda/shared/customers/wallet';
import { decodeCustomerItem } from '../../lambda/shared/customers/item';
import { counterOf } from '../../lambda/shared/customers/usage-view';
import Stripe from 'stripe';
import { StreamMeterReporter, type StreamReporterOptions } from '../../lambda/metering/meter-event-stream';
import { fakeMeterEventStream, type FakeMeterEventStream } from '../../lib/local/stripe-api/meter-event-stream';
import { fakeMeterEvents, type FakeMeterEvents, type FakeMeterEventsOptions } from '../../lib/local/stripe-api/meter-events';
import { startFakeStripeApi, type FakeStripeApi } from '../../lib/local/stripe-api/server';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { NO_VALUE } from '../../lambda/shared/access-log';
import { encodeSubscriptionEvent, type LogEvent } from '../../lambda/metering/logs-event';
import { makeMeteringHandler, type MeteringDeps } from '../../lambda/metering/handler';
import type { MeteringRules } from '../../lambda/metering/rules';
import { DynamoMeteringStore, type MeteringStore } from '../../lambda/metering/store';
import { DynamoWindowStore } from '../../lambda/metering/window-store';
import type { TestTables } from '../support/dynamodb';
import { quietObservability } from '../support/observability';

export const PERIOD_1 = 1_900_000_000;
export const PERIOD_2 = PERIOD_1 + 30 * 86_400;

export const RULES: MeteringRules = {
  routes: [
    { method: 'GET', path: '/v1/search', cost: 1 },
    { method: 'POST', path: '/v1/reports/{reportId}', cost: 5 },
    { method: 'POST', path: '/v1/render', cost: 10, strict: true },
    { method: 'GET', path: '/v1/translate', cost: 2, meter: 'translate_chars' },
  ],
  plans: {
    sample_metered: { name: 'Metered', quota: 20, overage: 'block' },
    sample_bill: { name: 'Pay per use', quota: 10, overage: 'bill', meter: 'api_units' },
  },
};

export interface CallLine {
  readonly customerId?: string;
  readonly method?: string;
  readonly path?: string;
  readonly status?: number;
  readonly periodEnd?: number;
  readonly reserved?: number;
  readonly reservation?: string;
  readonly requestId?: string;
  /** What the authorizer said the customer had left (absent: not said, as an older authorizer's line). */
  readonly headroom?: number | 'unlimited';
  /** The presented key's id (absent: a token, or an older authorizer's line). */
  readonly keyId?: string;
  /** What the authorizer said pays for the call (absent: not said, as an older authorizer's line). */
  readonly basis?: 'plan' | 'credits';
}

let requestSequence = 0;

/** One access-log line, as API Gateway writes it from the stage's format ("-" for no value). */
export function accessLine(call: CallLine): string {
  const v = (x: string | number | undefined): string => (x === undefined ? NO_VALUE : String(x));
  return JSON.stringify({
    requestId: call.requestId ?? `req-${requestSequence++}`,
    ip: '203.0.113.9',
    requestTime: '1700000000000',
    method: call.method ?? 'GET',
    resourcePath: call.path ?? '/v1/search',
    status: String(call.status ?? 200),
    responseLatency: '12',
    responseType: NO_VALUE,
    error: NO_VALUE,
    authorizerStatus: '200',
    authorizerLatency: '5',
    authorizerError: NO_VALUE,
    customerId: v(call.customerId),
    keyId: v(call.keyId),
    reason: NO_VALUE,
    periodEnd: v(call.periodEnd),
    reserved: v(call.reserved),
    reservation: v(call.reservation),
    headroom: v(call.headroom),
    basis: v(call.basis),
  });
}

let eventSequence = 0;

/** A delivered batch of lines (CloudWatch Logs subscription encoding). Same `events` → same batch. */
export function logEvents(messages: readonly string[], at = 1_700_000_000_000): LogEvent[] {
  return messages.map((message) => ({ id: String(eventSequence++).padStart(20, '0'), timestamp: at, message }));
}

export function delivery(events: readonly LogEvent[], logStream = 'stream-a'): { awslogs: { data: string } } {
  return encodeSubscriptionEvent({ messageType: 'DATA_MESSAGE', logGroup: 'ApiAccessLogs', logStream, logEvents: events });
}

export interface CustomerSeed {
  readonly plan?: string;
  readonly periodEnd?: number;
  readonly credits?: number;
  readonly periodUsed?: number;
  readonly usagePeriodEnd?: number;
}

/** Test arrangement: the customer item as the webhook and key management leave it. */
export async function seedCustomer(tables: TestTables, customerId: string, seed: CustomerSeed = {}): Promise<void> {
  const subscriptions =
    seed.plan === undefined ? {} : { sub_1: { status: 'active', plan: seed.plan, watermark: '0000000001:evt_1', ...(seed.periodEnd === undefined ? {} : { currentPeriodEnd: seed.periodEnd }) } };
  await DynamoDBDocumentClient.from(tables.client).send(
    new PutCommand({
      TableName: tables.names.customers,
      Item: {
        customerId,
        subscriptions,
        invoices: {},
        pastDue: {},
        ...(seed.periodUsed === undefined ? {} : { periodUsed: seed.periodUsed }),
        ...(seed.usagePeriodEnd === undefined ? {} : { usagePeriodEnd: seed.usagePeriodEnd }),
      },
    }),
  );
  // The balance lives on the wallet (layout 2: lambda/shared/customers/layout.ts).
  if (seed.credits !== undefined) {
    await DynamoDBDocumentClient.from(tables.client).send(new PutCommand({ TableName: tables.names.customers, Item: { customerId: walletKey(customerId), balance: seed.credits } }));
  }
}

/** The subscription seedCustomer gives a customer with a plan. */
export const SEEDED_SUBSCRIPTION = 'sub_1';

/**
 * The seeded subscription's counter (else the customer's only one) as every reader sees it (its
 * `periodUsage` entry, or an older item's flat counter), under the flat attributes' names.
 */
export async function counterOfSeeded(tables: TestTables, customerId: string): Promise<{ periodUsed?: number; usagePeriodEnd?: number; prevPeriodEnd?: number; prevPeriodUsed?: number }> {
  const { Item } = await DynamoDBDocumentClient.from(tables.client).send(new GetCommand({ TableName: tables.names.customers, Key: { customerId }, ConsistentRead: true }));
  const record = decodeCustomerItem(Item ?? { customerId });
  // The seeded subscription's, else the customer's one subscription's (a customer subscribed through the webhook).
  const only = Object.keys(record.periodUsage ?? {}).length === 1 ? Object.keys(record.periodUsage!)[0] : undefined;
  const counter = counterOf(record, record.periodUsage?.[SEEDED_SUBSCRIPTION] === undefined ? only : SEEDED_SUBSCRIPTION);
  return { periodUsed: counter?.used, usagePeriodEnd: counter?.periodEnd, prevPeriodEnd: counter?.prevEnd, prevPeriodUsed: counter?.prevUsed };
}

export async function usageOf(tables: TestTables, customerId: string): Promise<{ credits?: number; periodUsed?: number; usagePeriodEnd?: number }> {
  const { periodUsed, usagePeriodEnd } = await counterOfSeeded(tables, customerId);
  // The balance: the wallet's (the customer item's own attribute is not read).
  const wallet = await DynamoDBDocumentClient.from(tables.client).send(new GetCommand({ TableName: tables.names.customers, Key: { customerId: walletKey(customerId) }, ConsistentRead: true }));
  return { credits: wallet.Item?.balance as number | undefined, periodUsed, usagePeriodEnd };
}


/** The usage windows of these tables (lambda/metering/window-store.ts). */
export const windowStore = (tables: TestTables): DynamoWindowStore => new DynamoWindowStore(tables.client, tables.names.usage);

/** EventBridge's minute event, which makes the metering function sum the closed windows. */
export const SCHEDULED = { 'detail-type': 'Scheduled Event', source: 'aws.events', time: '2023-11-14T22:15:00Z' } as const;

export function meteringHandler(tables: TestTables, overrides: Partial<MeteringDeps> & { store?: MeteringStore } = {}) {
  const store = overrides.store ?? new DynamoMeteringStore(tables.client, { customers: tables.names.customers, events: tables.names.events });
  const handler = makeMeteringHandler({
    rules: RULES,
    observability: quietObservability(),
    sleep: () => Promise.resolve(),
    now: () => new Date(1_700_000_100_000),
    ...overrides,
    store,
  });
  return { handler, store };
}

/** Stripe's meter event stream, faked on a local port, and the reporter metering sends to it (no waits between retries). */
export interface MeterStripe {
  readonly api: FakeStripeApi;
  readonly meterEvents: FakeMeterEvents;
  readonly stream: FakeMeterEventStream;
  readonly reporter: StreamMeterReporter;
  /** The SDK client the reporter uses. */
  readonly stripe: Stripe;
  close(): Promise<void>;
}

/** `now` is Stripe's clock (epoch ms), and the reporter's: it refuses a meter event dated in its future. */
export async function startMeterStripe(
  now: () => number,
  options: { readonly meterEvents?: Omit<FakeMeterEventsOptions, 'now'>; readonly reporter?: StreamReporterOptions } = {},
): Promise<MeterStripe> {
  const meterEvents = fakeMeterEvents({ ...options.meterEvents, now });
  const stream = fakeMeterEventStream(meterEvents, { now });
  const api = await startFakeStripeApi({ resources: [meterEvents, stream] });
  const stripe = new Stripe('sk_test_metering', { host: api.host, port: api.port, protocol: 'http', maxNetworkRetries: 0 });
  const reporter = new StreamMeterReporter(stripe, { sleep: () => Promise.resolve(), now, ...options.reporter });
  return { api, meterEvents, stream, reporter, stripe, close: () => api.close() };
}
