import { FIXTURE_CUSTOMER, stripeId, type Json, type StripeEventOverrides } from './overrides';

/** `billing.alert_triggered` (stripe 23.x `Stripe.Billing.AlertTriggered`): a usage_threshold alert on a meter. */
export function alertTriggeredObject(o: StripeEventOverrides = {}): Json {
  const livemode = o.livemode ?? false;
  return {
    object: 'billing.alert_triggered',
    alert: {
      id: stripeId('alrt'),
      object: 'billing.alert',
      alert_type: 'usage_threshold',
      livemode,
      status: 'active',
      title: 'Quota reached',
      usage_threshold: { filters: null, gte: o.alertValue ?? 1000, meter: `mtr_test_${(o.meter ?? 'api_calls').replace(/[^A-Za-z0-9]/g, '')}`, recurrence: 'one_time' },
    },
    created: o.created ?? Math.floor(Date.now() / 1000),
    customer: o.customer ?? FIXTURE_CUSTOMER,
    livemode,
    value: o.alertValue ?? 1000,
  };
}
