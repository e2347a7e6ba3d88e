import type Stripe from 'stripe';
import { ok, stripeError, type Resource } from './server';
import { epochNow, fakeId, type FakeMeter, type FakeStripeStore } from './store';

/**
 * `GET /v1/billing/meters` (with `status`) and `POST /v1/billing/meters`: as Stripe, an `event_name`
 * in use by an active meter is refused.
 */
export function metersResource(store: FakeStripeStore): Resource {
  return {
    routes: [
      {
        method: 'GET',
        pattern: /\/v1\/billing\/meters/,
        handle: ({ body }) => {
          const params = body as Stripe.Billing.MeterListParams;
          const data = [...store.meters.values()].filter((m) => params.status === undefined || m.status === params.status);
          return ok({ object: 'list', data, has_more: false, url: '/v1/billing/meters' });
        },
      },
      {
        method: 'POST',
        pattern: /\/v1\/billing\/meters/,
        handle: ({ body }) => {
          const params = body as unknown as Stripe.Billing.MeterCreateParams;
          if (typeof params.event_name !== 'string' || params.event_name === '') return stripeError(400, 'invalid_request_error', 'Missing required param: event_name.', { param: 'event_name' });
          if (typeof params.display_name !== 'string' || params.display_name === '') return stripeError(400, 'invalid_request_error', 'Missing required param: display_name.', { param: 'display_name' });
          const formula = params.default_aggregation?.formula;
          if (formula !== 'sum' && formula !== 'count' && formula !== 'last') return stripeError(400, 'invalid_request_error', 'Missing required param: default_aggregation[formula].');
          if ([...store.meters.values()].some((m) => m.status === 'active' && m.event_name === params.event_name)) {
            return stripeError(400, 'invalid_request_error', `An active meter with event_name ${params.event_name} already exists.`, { param: 'event_name' });
          }
          const now = epochNow();
          const meter: FakeMeter = {
            id: fakeId('mtr_test'),
            object: 'billing.meter',
            created: now,
            updated: now,
            display_name: params.display_name,
            event_name: params.event_name,
            default_aggregation: { formula },
            customer_mapping: { event_payload_key: params.customer_mapping?.event_payload_key ?? 'stripe_customer_id', type: 'by_id' },
            value_settings: { event_payload_key: params.value_settings?.event_payload_key ?? 'value' },
            status: 'active',
            livemode: false,
          };
          store.meters.set(meter.id, meter);
          return ok(meter);
        },
      },
    ],
  };
}
