import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { gzipSync } from 'node:zlib';
import { batchId, decodeSubscriptionEvent } from '../../lambda/metering/logs-event';
import { DynamoMeteringStore, ledgerId, parkedBatchId, type MeteringStore } from '../../lambda/metering/store';
import { freshTables, type TestTables } from '../support/dynamodb';
import { accessLine, delivery, logEvents, meteringHandler, PERIOD_1, PERIOD_2, seedCustomer, usageOf } from './support';

describe('metering handler on DynamoDB Local', () => {
  let tables: TestTables;
  beforeAll(async () => {
    tables = await freshTables('metering');
  });
  afterAll(() => tables.client.destroy());

  it('counts only 2xx calls with a customer on routes that cost, one write per customer per batch', async () => {
    await seedCustomer(tables, 'cus_count1', { plan: 'sample_metered', periodEnd: PERIOD_1 });
    const { handler } = meteringHandler(tables);
    const lines = [
      ...Array.from({ length: 4 }, () => accessLine({ customerId: 'cus_count1', periodEnd: PERIOD_1 })),
      accessLine({ customerId: 'cus_count1', periodEnd: PERIOD_1, method: 'POST', path: '/v1/reports/{reportId}' }), // 5 units
      accessLine({ customerId: 'cus_count1', periodEnd: PERIOD_1, status: 402 }),
      accessLine({ customerId: 'cus_count1', periodEnd: PERIOD_1, status: 429 }),
      accessLine({ customerId: 'cus_count1', periodEnd: PERIOD_1, status: 503 }),
      accessLine({ customerId: 'cus_count1', periodEnd: PERIOD_1, status: 400 }),
      accessLine({ periodEnd: PERIOD_1 }), // the authorizer never saw it
      accessLine({ customerId: 'cus_count1', periodEnd: PERIOD_1, path: '/v1/quotes' }), // not sold by use
      'not json at all',
      JSON.stringify({ some: 'other log' }),
    ];
    const result = await handler(delivery(logEvents(lines)));
    expect(result).toMatchObject({ outcome: 'applied', customers: 1, countedCalls: 5, applied: 1, duplicates: 0 });
    expect(await usageOf(tables, 'cus_count1')).toEqual({ periodUsed: 9, usagePeriodEnd: PERIOD_1, credits: undefined });
  });

  it('counts the calls of a past_due customer in its grace period (its grace start is read with its subscription)', async () => {
    const pastDue = { status: 'past_due', plan: 'sample_metered', currentPeriodEnd: PERIOD_1, watermark: '00000000001:5:evt_1' };
    const item = { customerId: 'cus_pastdue1', subscriptions: { sub_1: pastDue }, invoices: {}, pastDue: { sub_1: 1 } };
    await DynamoDBDocumentClient.from(tables.client).send(new PutCommand({ TableName: tables.names.customers, Item: item }));
    const { handler } = meteringHandler(tables);
    const result = await handler(delivery(logEvents([accessLine({ customerId: 'cus_pastdue1', periodEnd: PERIOD_1 })])));
    expect(result).toMatchObject({ applied: 1, countedCalls: 1 });
    expect(await usageOf(tables, 'cus_pastdue1')).toMatchObject({ periodUsed: 1, usagePeriodEnd: PERIOD_1 });
  });

  it('adds nothing when the same batch is delivered again', async () => {
    await seedCustomer(tables, 'cus_dup1', { plan: 'sample_metered', periodEnd: PERIOD_1 });
    const { handler } = meteringHandler(tables);
    const batch = delivery(logEvents(Array.from({ length: 3 }, () => accessLine({ customerId: 'cus_dup1', periodEnd: PERIOD_1 }))));
    expect(await handler(batch)).toMatchObject({ applied: 1, duplicates: 0 });
    expect(await handler(batch)).toMatchObject({ applied: 0, duplicates: 1 });
    expect(await handler(structuredClone(batch))).toMatchObject({ applied: 0, duplicates: 1 });
    expect((await usageOf(tables, 'cus_dup1')).periodUsed).toBe(3);
  });

  it('skips a customer tollgate does not know, and a batch it cannot decode, without failing', async () => {
    const { handler } = meteringHandler(tables);
    expect(await handler(delivery(logEvents([accessLine({ customerId: 'cus_nobody', periodEnd: PERIOD_1 })])))).toMatchObject({
      outcome: 'applied',
      unknownCustomers: 1,
      applied: 0,
    });
    expect(await handler({ awslogs: { data: 'bm90IGd6aXA=' } })).toMatchObject({ outcome: 'undecodable' });
    expect(await handler({ awslogs: { data: gzipSync('{"messageType":"DATA_MESSAGE"}').toString('base64') } })).toMatchObject({ outcome: 'undecodable' });
    expect(await handler({ something: 'else' })).toMatchObject({ outcome: 'undecodable' });
    const control = { awslogs: { data: gzipSync(JSON.stringify({ messageType: 'CONTROL_MESSAGE', logGroup: '', logStream: '', logEvents: [] })).toString('base64') } };
    expect(await handler(control)).toMatchObject({ outcome: 'ignored' });
    expect(await usageOf(tables, 'cus_nobody')).toEqual({ credits: undefined, periodUsed: undefined, usagePeriodEnd: undefined });
  });

  it('starts a new period over an older one and leaves units of an ended period out of the new one', async () => {
    await seedCustomer(tables, 'cus_period1', { plan: 'sample_metered', periodEnd: PERIOD_2, periodUsed: 17, usagePeriodEnd: PERIOD_1 });
    const { handler } = meteringHandler(tables);
    await handler(delivery(logEvents([accessLine({ customerId: 'cus_period1', periodEnd: PERIOD_2 }), accessLine({ customerId: 'cus_period1', periodEnd: PERIOD_2 })])));
    expect(await usageOf(tables, 'cus_period1')).toMatchObject({ periodUsed: 2, usagePeriodEnd: PERIOD_2 });
    await handler(delivery(logEvents([accessLine({ customerId: 'cus_period1', periodEnd: PERIOD_1 }), accessLine({ customerId: 'cus_period1', periodEnd: PERIOD_2 })])));
    expect(await usageOf(tables, 'cus_period1')).toMatchObject({ periodUsed: 3, usagePeriodEnd: PERIOD_2 });
  });

  it('draws units past the quota from credits, never below zero', async () => {
    await seedCustomer(tables, 'cus_draw1', { plan: 'sample_metered', periodEnd: PERIOD_1, periodUsed: 18, usagePeriodEnd: PERIOD_1, credits: 3 });
    const { handler } = meteringHandler(tables);
    const calls = (n: number): string[] => Array.from({ length: n }, () => accessLine({ customerId: 'cus_draw1', periodEnd: PERIOD_1 }));
    await handler(delivery(logEvents(calls(1)))); // 19 of 20: no block yet
    await handler(delivery(logEvents(calls(2)))); // 21: quota reached, 1 unit from credits
    expect(await usageOf(tables, 'cus_draw1')).toEqual({ periodUsed: 21, usagePeriodEnd: PERIOD_1, credits: 2 });
    await handler(delivery(logEvents(calls(5)))); // 2 from credits, 3 overshoot
    expect(await usageOf(tables, 'cus_draw1')).toEqual({ periodUsed: 26, usagePeriodEnd: PERIOD_1, credits: 0 });
  });

  it('draws pay-as-you-go calls (no quota plan) from credits alone', async () => {
    await seedCustomer(tables, 'cus_payg1', { credits: 4 });
    const { handler } = meteringHandler(tables);
    await handler(delivery(logEvents([accessLine({ customerId: 'cus_payg1' }), accessLine({ customerId: 'cus_payg1', method: 'POST', path: '/v1/reports/{reportId}' })])));
    expect(await usageOf(tables, 'cus_payg1')).toEqual({ credits: 0, periodUsed: undefined, usagePeriodEnd: undefined });
  });

  it('gives a failed strict call its reservation back once, and draws nothing for a successful one', async () => {
    await seedCustomer(tables, 'cus_strict1', { credits: 80 });
    const { handler } = meteringHandler(tables);
    const strict = (status: number, reservation: string): string =>
      accessLine({ customerId: 'cus_strict1', method: 'POST', path: '/v1/render', status, reserved: 10, reservation });
    await handler(delivery(logEvents([strict(200, 'r_ok1'), strict(502, 'r_fail1'), strict(400, 'r_fail2')])));
    expect((await usageOf(tables, 'cus_strict1')).credits).toBe(100);
    // The same failed call in another batch (an overlapping delivery): given back once only.
    await handler(delivery(logEvents([strict(502, 'r_fail1'), strict(503, 'r_fail3')])));
    expect((await usageOf(tables, 'cus_strict1')).credits).toBe(110);
  });

  it('loses no increment when batches for one customer are applied at the same time', async () => {
    await seedCustomer(tables, 'cus_race1', { plan: 'sample_metered', periodEnd: PERIOD_1, credits: 1000 });
    // Each round of conflicting writes lets at least one through: 12 writers need at most 12 attempts.
    const { handler } = meteringHandler(tables, { maxAttempts: 12 });
    const batches = Array.from({ length: 12 }, (_, i) =>
      delivery(logEvents(Array.from({ length: i + 1 }, () => accessLine({ customerId: 'cus_race1', periodEnd: PERIOD_1 }))), `stream-${i}`),
    );
    const results = await Promise.all(batches.map((b) => handler(b)));
    expect(results.every((r) => r.outcome === 'applied' && r.applied === 1)).toBe(true);
    const total = (12 * 13) / 2; // 78 units
    expect(await usageOf(tables, 'cus_race1')).toEqual({ periodUsed: total, usagePeriodEnd: PERIOD_1, credits: 1000 - (total - 20) });
  });

  it('parks a batch whose write keeps failing, and a replay of the parked batch applies it once', async () => {
    await seedCustomer(tables, 'cus_park1', { plan: 'sample_metered', periodEnd: PERIOD_1 });
    await seedCustomer(tables, 'cus_park2', { plan: 'sample_metered', periodEnd: PERIOD_1 });
    const real = new DynamoMeteringStore(tables.client, { customers: tables.names.customers, events: tables.names.events });
    const throttled: MeteringStore = {
      read: (id) => real.read(id),
      apply: (write) => (write.customerId === 'cus_park2' ? Promise.reject(Object.assign(new Error('Rate of requests exceeds the allowed throughput'), { name: 'ThrottlingException' })) : real.apply(write)),
      entry: (id) => real.entry(id),
      settled: (id, r) => real.settled(id, r),
      settleWallet: (s) => real.settleWallet(s),
      park: (b) => real.park(b),
    };
    const batch = delivery(logEvents([accessLine({ customerId: 'cus_park1', periodEnd: PERIOD_1 }), accessLine({ customerId: 'cus_park2', periodEnd: PERIOD_1 })]));
    const id = batchId(decodeSubscriptionEvent(batch));
    const failing = meteringHandler(tables, { store: throttled, maxAttempts: 3 });
    expect(await failing.handler(batch)).toMatchObject({ outcome: 'parked', applied: 1 });
    const documents = DynamoDBDocumentClient.from(tables.client);
    const parked = (await documents.send(new GetCommand({ TableName: tables.names.events, Key: { eventId: parkedBatchId(id) } }))).Item;
    expect(parked).toMatchObject({ outcome: 'parked-batch', data: batch.awslogs.data, reason: expect.stringContaining('ThrottlingException') });
    // The replay: the same data through a healthy handler adds only what is missing.
    const { handler } = meteringHandler(tables);
    expect(await handler({ awslogs: { data: parked!.data as string } })).toMatchObject({ outcome: 'applied', applied: 1, duplicates: 1 });
    expect((await usageOf(tables, 'cus_park1')).periodUsed).toBe(1);
    expect((await usageOf(tables, 'cus_park2')).periodUsed).toBe(1);
    expect(await real.entry(ledgerId(id, 'cus_park2', 0))).toMatchObject({ customerId: 'cus_park2' });
  });

  it('meters the dead-letter record of a failed invocation like the delivery it carries', async () => {
    await seedCustomer(tables, 'cus_dlq1', { plan: 'sample_metered', periodEnd: PERIOD_1 });
    const { handler } = meteringHandler(tables);
    const batch = delivery(logEvents([accessLine({ customerId: 'cus_dlq1', periodEnd: PERIOD_1 })]));
    const record = { version: '1.0', timestamp: '2026-11-30T00:00:00Z', requestContext: { condition: 'RetriesExhausted', approximateInvokeCount: 3 }, requestPayload: batch, responseContext: { statusCode: 200 } };
    expect(await handler(record)).toMatchObject({ applied: 1 });
    expect(await handler(batch)).toMatchObject({ duplicates: 1 });
    expect((await usageOf(tables, 'cus_dlq1')).periodUsed).toBe(1);
  });
});
