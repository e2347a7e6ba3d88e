import { GetItemCommand, UpdateItemCommand, DynamoDBServiceException } from '@aws-sdk/client-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import Stripe from 'stripe';
import { CorruptRecordError } from '../../lambda/shared/customers/item';
import { makeWebhookHandler } from '../../lambda/webhook/handler';
import type { ParkedEvent, ParkResult } from '../../lambda/webhook/parking';
import type { CustomerUpdate } from '../../lambda/shared/customers/changes';
import { CustomerItemFullError, type ApplyOptions, type ApplyResult, type LedgerEvent } from '../../lambda/webhook/store';
import { buildStripeEvent, serializeEvent, signPayload, stripeId } from '../../lib/stripe-events';
import { freshTables, type TestTables } from '../support/dynamodb';
import { MemoryPaymentStateStore } from './memory-store';
import { proxyEvent, RecordingFlusher, SECRET, signedDelivery, snapshotTables, webhookFor } from './support';
import { ImmediateFlushes } from '../support/flusher';

/** The memory store, made to fail where a real store would. */
class FailingStore extends MemoryPaymentStateStore {
  failApply?: Error;
  failPark?: Error;
  parkWrites = 0;
  override apply(event: LedgerEvent, update: CustomerUpdate, options: ApplyOptions): Promise<ApplyResult> {
    return this.failApply === undefined ? super.apply(event, update, options) : Promise.reject(this.failApply);
  }
  override park(event: ParkedEvent, now: Date): Promise<ParkResult> {
    if (this.failPark !== undefined) return Promise.reject(this.failPark);
    return super.park(event, now).then((result) => {
      if (result.outcome === 'parked') this.parkWrites++;
      return result;
    });
  }
}

function observed(store: MemoryPaymentStateStore, flusher = new RecordingFlusher()) {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const logger = new Logger({ logLevel: 'SILENT' });
  const metrics = new Metrics({ namespace: 'TollgateTest', serviceName: 'webhook-test' });
  const lines: string[] = [];
  for (const level of ['info', 'warn', 'error'] as const) {
    jest.spyOn(logger, level).mockImplementation((...args: unknown[]) => void lines.push(JSON.stringify(args, (_k, v: unknown) => (v instanceof Error ? { name: v.name, message: v.message } : v))));
  }
  const points: Array<Record<string, string>> = [];
  jest.spyOn(metrics, 'singleMetric').mockImplementation(() => {
    const dims: Record<string, string> = {};
    return { addDimension: (name: string, value: string) => void (dims[name] = value), addMetric: (name: string) => void points.push({ metric: name, ...dims }) } as unknown as Metrics;
  });
  const handler = makeWebhookHandler({ store, signingSecrets: () => Promise.resolve([SECRET]), flushes: new ImmediateFlushes(flusher), gracePeriodSeconds: 0, observability: { logger, metrics } });
  return { handler, lines, points };
}

const T0 = Math.floor(Date.now() / 1000) - 600;
const answerOf = (response: { statusCode: number; body: string }): Record<string, unknown> => ({ status: response.statusCode, ...(JSON.parse(response.body) as Record<string, unknown>) });
const dynamo = (name: string) => new DynamoDBServiceException({ name, $fault: 'client', $metadata: {}, message: `${name} (test)` });

describe('webhook parking (injected store)', () => {
  const PERMANENT: Array<[string, Error, string]> = [
    ['the customer item is full', new CustomerItemFullError('customer cus_1 holds 100 subscriptions'), 'item_limit'],
    ['the customer item fails validation', new CorruptRecordError('customer cus_1: attribute subscriptions is not a map'), 'corrupt_record'],
    ['DynamoDB refuses the write (ValidationException)', dynamo('ValidationException'), 'invalid_write'],
    ['stripe refuses a re-fetch with a 4xx', Stripe.errors.StripeError.generate({ type: 'invalid_request_error', message: 'no such subscription', statusCode: 404 } as never), 'stripe_refused'],
  ];
  const TRANSIENT: Array<[string, Error]> = [
    ['DynamoDB throttles', dynamo('ThrottlingException')],
    ['DynamoDB times out', Object.assign(new Error('timed out'), { name: 'TimeoutError' })],
    ['stripe rate-limits', Stripe.errors.StripeError.generate({ type: 'rate_limit_error', message: 'slow down', statusCode: 429 } as never)],
  ];

  it.each(PERMANENT)('answers 200 parked, records the signed body and counts it when %s', async (_, err, cause) => {
    const store = new FailingStore();
    store.failApply = err;
    const { handler, lines, points } = observed(store);
    const event = buildStripeEvent('customer.subscription.created', { customer: 'cus_Park1', created: T0 });
    const body = serializeEvent(event);
    const response = await handler(proxyEvent(body, { 'Stripe-Signature': signPayload(body, SECRET) }));

    expect(answerOf(response)).toMatchObject({ status: 200, outcome: 'parked', cause });
    const entry = store.ledger.get(String(event.id));
    expect(entry?.outcome).toBe('parked');
    expect(entry?.parked).toMatchObject({ eventId: event.id, type: 'customer.subscription.created', customerId: 'cus_Park1', cause, reason: err.message });
    expect(Buffer.from(entry!.parked!.rawBody).equals(Buffer.from(body))).toBe(true);
    expect(points).toEqual([{ metric: 'WebhookEvents', type: 'customer.subscription.created', outcome: 'parked' }]);
    expect(lines.join('\n')).not.toContain('"items"');
    expect(lines.join('\n')).not.toContain(SECRET);
  });

  it.each(TRANSIENT)('answers 500 and parks nothing when %s', async (_, err) => {
    const store = new FailingStore();
    store.failApply = err;
    const { handler, points } = observed(store);
    const response = await handler(signedDelivery(buildStripeEvent('customer.subscription.created', { customer: 'cus_Park2', created: T0 })));
    expect(response.statusCode).toBe(500);
    expect(store.ledger.size).toBe(0);
    expect(points.map((p) => p.outcome)).toEqual(['failed']);
  });

  it('answers 500 (stripe retries) when parking itself fails', async () => {
    const store = new FailingStore();
    store.failApply = new CustomerItemFullError('customer cus_1 holds 100 subscriptions');
    store.failPark = dynamo('ThrottlingException');
    const { handler } = observed(store);
    const response = await handler(signedDelivery(buildStripeEvent('customer.subscription.created', { created: T0 })));
    expect(response.statusCode).toBe(500);
    expect(store.ledger.size).toBe(0);
  });

  it('answers a redelivery of a parked event 200 parked again, with no second write', async () => {
    const store = new FailingStore();
    store.failApply = new CustomerItemFullError('customer cus_1 holds 100 subscriptions');
    const { handler } = observed(store);
    const delivery = signedDelivery(buildStripeEvent('customer.subscription.created', { created: T0 }));
    const answers = [await handler(delivery), await handler(delivery)].map(answerOf);
    expect(answers.map((a) => [a.status, a.outcome])).toEqual([
      [200, 'parked'],
      [200, 'parked'],
    ]);
    expect(store.parkWrites).toBe(1);
  });

  it('never parks an event once it is recorded, and a failed cache flush is no reason to fail the delivery', async () => {
    const store = new FailingStore();
    const flusher = new RecordingFlusher();
    flusher.failNext = 1;
    const { handler } = observed(store, flusher);
    const event = buildStripeEvent('customer.subscription.created', { created: T0 });
    const response = await handler(signedDelivery(event));
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body).outcome).toBe('applied');
    expect(store.ledger.get(String(event.id))?.outcome).toBe('applied');
  });
});

describe('webhook parking (DynamoDB Local)', () => {
  let tables: TestTables;
  beforeAll(async () => {
    tables = await freshTables('webhook-parking');
  });
  afterAll(() => tables.client.destroy());

  const ledgerEntry = async (eventId: string) =>
    (await tables.client.send(new GetItemCommand({ TableName: tables.names.events, Key: { eventId: { S: eventId } }, ConsistentRead: true }))).Item;

  it('parks a signed event tollgate cannot apply, keeps its exact bytes without expiry, and answers a redelivery without writing', async () => {
    const { handler } = webhookFor(tables);
    const event = buildStripeEvent('customer.subscription.updated', { created: T0, status: 'bogus' as never });
    const body = serializeEvent(event);
    const delivery = proxyEvent(body, { 'Stripe-Signature': signPayload(body, SECRET) });

    expect(answerOf(await handler(delivery))).toMatchObject({ status: 200, outcome: 'parked', cause: 'event_shape' });
    const entry = await ledgerEntry(String(event.id));
    expect(entry).toMatchObject({ outcome: { S: 'parked' }, cause: { S: 'event_shape' }, type: { S: 'customer.subscription.updated' } });
    expect(entry?.reason?.S).toMatch(/unknown status "bogus"/);
    expect(Buffer.from(entry!.rawBody!.B!).equals(Buffer.from(body))).toBe(true);
    expect(entry?.expiresAt).toBeUndefined();

    const before = await snapshotTables(tables);
    expect(answerOf(await handler(delivery))).toMatchObject({ status: 200, outcome: 'parked' });
    expect(await snapshotTables(tables)).toBe(before);
  });

  it('parks an event for a customer item made unacceptable by hand, then applies its replay once the item is fixed', async () => {
    const customer = stripeId('cus');
    const { handler, store } = webhookFor(tables);
    await tables.client.send(
      new UpdateItemCommand({ TableName: tables.names.customers, Key: { customerId: { S: customer } }, UpdateExpression: 'SET subscriptions = :bad', ExpressionAttributeValues: { ':bad': { S: 'not a map' } } }),
    );
    const event = buildStripeEvent('customer.subscription.created', { customer, status: 'active', created: T0 });
    const delivery = signedDelivery(event);
    expect(answerOf(await handler(delivery))).toMatchObject({ status: 200, outcome: 'parked', cause: 'corrupt_record' });
    expect((await ledgerEntry(String(event.id)))?.customerId?.S).toBe(customer);

    await tables.client.send(new UpdateItemCommand({ TableName: tables.names.customers, Key: { customerId: { S: customer } }, UpdateExpression: 'REMOVE subscriptions' }));
    expect(answerOf(await handler(delivery))).toMatchObject({ status: 200, outcome: 'applied' });
    expect((await store.read(customer))?.subscriptions[String((event.data as { object: { id: string } }).object.id)]?.status).toBe('active');
    const entry = await ledgerEntry(String(event.id));
    expect(entry?.outcome?.S).toBe('applied');
    expect(entry?.rawBody).toBeUndefined();
    expect(entry?.expiresAt?.N).toBeDefined();
    expect(answerOf(await handler(delivery))).toMatchObject({ status: 200, outcome: 'duplicate' });
  });
});
