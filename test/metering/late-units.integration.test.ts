import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { StreamMeterReporter } from '../../lambda/metering/meter-event-stream';
import type { FakeMeterEvents } from '../../lib/local/stripe-api/meter-events';
import { freshTables, type TestTables } from '../support/dynamodb';
import { accessLine, counterOfSeeded, delivery, logEvents, meteringHandler, PERIOD_1, PERIOD_2, seedCustomer, startMeterStripe, type MeterStripe } from './support';

/**
 * Units logged after a renewal belong to the period they were served in: they count against that
 * period's counter (kept by the renewal as the previous one), and a bill plan's overage among them is
 * reported to Stripe with a time inside that period, so it lands on that period's invoice.
 */

const NOW = (PERIOD_1 + 60) * 1000; // a minute into the new period
let tables: TestTables;
let stripe: MeterStripe;
let meterEvents: FakeMeterEvents;
let reporter: StreamMeterReporter;
beforeAll(async () => {
  tables = await freshTables('metering-late');
  stripe = await startMeterStripe(() => NOW);
  ({ meterEvents, reporter } = stripe);
});
afterAll(async () => {
  await stripe.close();
  tables.client.destroy();
});

const counters = (customerId: string) => counterOfSeeded(tables, customerId);
const calls = (customerId: string, periodEnd: number, n: number) => Array.from({ length: n }, () => accessLine({ customerId, periodEnd }));
/** Logged a few seconds before the period ended, delivered after the renewal. */
const lateEvents = (lines: string[]) => logEvents(lines, PERIOD_1 * 1000 - 3_000);

describe('units logged after a renewal (DynamoDB Local, fake Stripe API)', () => {
  it('counts them against the period that ended, and bills its overage at a time inside it', async () => {
    await seedCustomer(tables, 'cus_late_a', { plan: 'sample_bill', periodEnd: PERIOD_1 });
    const { handler } = meteringHandler(tables, { reporter, now: () => new Date(NOW) });
    await handler(delivery(logEvents(calls('cus_late_a', PERIOD_1, 8), PERIOD_1 * 1000 - 60_000), 'late-a1'));
    expect(await counters('cus_late_a')).toMatchObject({ usagePeriodEnd: PERIOD_1, periodUsed: 8 });

    // The renewal, as the webhook writes it: the subscription's new period on its counter, the closing one kept.
    await DynamoDBDocumentClient.from(tables.client).send(
      new UpdateCommand({
        TableName: tables.names.customers,
        Key: { customerId: 'cus_late_a' },
        UpdateExpression:
          'SET subscriptions.sub_1.currentPeriodEnd = :p2, periodUsage.sub_1.periodEnd = :p2, periodUsage.sub_1.used = :zero, periodUsage.sub_1.prevEnd = if_not_exists(periodUsage.sub_1.periodEnd, :zero), periodUsage.sub_1.prevUsed = if_not_exists(periodUsage.sub_1.used, :zero)',
        ExpressionAttributeValues: { ':p2': PERIOD_2, ':zero': 0 },
      }),
    );

    // 4 calls of the period that ended, delivered now: 2 within its quota of 10, 2 past it.
    const late = delivery(lateEvents(calls('cus_late_a', PERIOD_1, 4)), 'late-a2');
    expect(await handler(late)).toMatchObject({ applied: 1 });
    expect(await counters('cus_late_a')).toEqual({ usagePeriodEnd: PERIOD_2, periodUsed: 0, prevPeriodEnd: PERIOD_1, prevPeriodUsed: 12 });
    const reported = meterEvents.events().filter((e) => e.payload.stripe_customer_id === 'cus_late_a');
    expect(reported.map((e) => [e.event_name, e.payload.value])).toEqual([['api_units', '2']]);
    expect(reported[0]!.timestamp).toBeLessThan(PERIOD_1);
    // Again (a redelivery): nothing more.
    expect(await handler(late)).toMatchObject({ applied: 0, duplicates: 1 });
    expect((await counters('cus_late_a')).prevPeriodUsed).toBe(12);
    expect(meterEvents.totals().get('cus_late_a api_units')).toBe(2);
  });

  it('keeps the period it moves on from when metering starts the new period before the webhook', async () => {
    await seedCustomer(tables, 'cus_late_b', { plan: 'sample_bill', periodEnd: PERIOD_2, periodUsed: 9, usagePeriodEnd: PERIOD_1 });
    const { handler } = meteringHandler(tables, { reporter, now: () => new Date(NOW) });
    // One delivery: 3 calls of the period that ended (1 within its quota, 2 past it) and 2 of the new one.
    const mixed = delivery(logEvents([...calls('cus_late_b', PERIOD_1, 3), ...calls('cus_late_b', PERIOD_2, 2)], PERIOD_1 * 1000 + 5_000), 'late-b1');
    expect(await handler(mixed)).toMatchObject({ applied: 1 });
    expect(await counters('cus_late_b')).toEqual({ usagePeriodEnd: PERIOD_2, periodUsed: 2, prevPeriodEnd: PERIOD_1, prevPeriodUsed: 12 });
    const reported = meterEvents.events().filter((e) => e.payload.stripe_customer_id === 'cus_late_b');
    expect(reported.map((e) => [e.payload.value, e.timestamp < PERIOD_1])).toEqual([['2', true]]);
  });

  it('counts nowhere (and says so) units two renewals behind', async () => {
    await seedCustomer(tables, 'cus_late_c', { plan: 'sample_metered', periodEnd: PERIOD_2, usagePeriodEnd: PERIOD_2, periodUsed: 1 });
    const { handler } = meteringHandler(tables, { now: () => new Date(NOW) });
    expect(await handler(delivery(lateEvents(calls('cus_late_c', PERIOD_1 - 30 * 86_400, 2)), 'late-c1'))).toMatchObject({ applied: 1 });
    expect(await counters('cus_late_c')).toMatchObject({ usagePeriodEnd: PERIOD_2, periodUsed: 1 });
  });
});
