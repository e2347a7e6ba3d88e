import Stripe from 'stripe';
import { fakeMeterEvents, METER_EVENT_DEDUP_SECONDS, type FakeMeterEvents } from '../../../lib/local/stripe-api/meter-events';
import { startFakeStripeApi, type FakeStripeApi } from '../../../lib/local/stripe-api/server';

describe('fake Stripe meter events (POST /v1/billing/meter_events)', () => {
  let api: FakeStripeApi;
  let meterEvents: FakeMeterEvents;
  let stripe: Stripe;
  let now = 1_800_000_000_000;

  beforeAll(async () => {
    meterEvents = fakeMeterEvents({ meters: ['api_units'], customerExists: (id) => id !== 'cus_unknown', now: () => now });
    api = await startFakeStripeApi({ resources: [meterEvents] });
    stripe = new Stripe('sk_test_meter', { host: api.host, port: api.port, protocol: 'http', maxNetworkRetries: 0 });
  });
  afterAll(() => api.close());

  const params = (identifier: string, value = '3'): Stripe.Billing.MeterEventCreateParams => ({
    event_name: 'api_units',
    payload: { stripe_customer_id: 'cus_meter1', value },
    identifier,
    timestamp: Math.floor(now / 1000) - 60,
  });

  it('answers the SDK with a billing.meter_event and keeps it for inspection', async () => {
    const event: Stripe.Billing.MeterEvent = await stripe.billing.meterEvents.create(params('id-1'));
    expect(event).toMatchObject({ object: 'billing.meter_event', event_name: 'api_units', identifier: 'id-1', payload: { stripe_customer_id: 'cus_meter1', value: '3' } });
    expect(meterEvents.events()).toHaveLength(1);
    expect(meterEvents.totals().get('cus_meter1 api_units')).toBe(3);
  });

  it('de-duplicates on identifier within 24 hours, and counts it as a new event after', async () => {
    const before = meterEvents.duplicates;
    expect(await stripe.billing.meterEvents.create(params('id-1', '999'))).toMatchObject({ identifier: 'id-1', payload: { value: '3' } });
    expect(meterEvents.duplicates).toBe(before + 1);
    expect(meterEvents.totals().get('cus_meter1 api_units')).toBe(3);
    now += (METER_EVENT_DEDUP_SECONDS + 1) * 1000;
    await stripe.billing.meterEvents.create(params('id-1', '4'));
    expect(meterEvents.totals().get('cus_meter1 api_units')).toBe(7);
  });

  it("rejects an unknown meter, an unknown customer and an old timestamp with Stripe's 400", async () => {
    await expect(stripe.billing.meterEvents.create({ ...params('id-2'), event_name: 'nope' })).rejects.toMatchObject({ statusCode: 400, type: 'StripeInvalidRequestError' });
    await expect(stripe.billing.meterEvents.create({ ...params('id-3'), payload: { stripe_customer_id: 'cus_unknown', value: '1' } })).rejects.toMatchObject({ statusCode: 400, code: 'resource_missing' });
    await expect(stripe.billing.meterEvents.create({ ...params('id-4'), timestamp: Math.floor(now / 1000) - 40 * 86_400 })).rejects.toMatchObject({ statusCode: 400 });
    expect(meterEvents.totals().get('cus_unknown api_units')).toBeUndefined();
  });
});
