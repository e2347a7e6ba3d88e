import type Stripe from 'stripe';
import { stripeId } from '../../lib/stripe-events';

type MeterErrorNotification = Omit<Extract<Stripe.V2.Core.EventNotification, { type: 'v1.billing.meter.error_report_triggered' }>, 'fetchEvent' | 'fetchRelatedObject'>;

/** A meter error report as Stripe's event destination sends it (a thin notification), typed by the stripe SDK. */
export function meterErrorNotification(meterId = stripeId('mtr'), id = stripeId('evt')): string {
  const notification: MeterErrorNotification = {
    id,
    object: 'v2.core.event',
    type: 'v1.billing.meter.error_report_triggered',
    created: new Date().toISOString(),
    livemode: false,
    related_object: { id: meterId, type: 'billing.meter', url: `/v1/billing/meters/${meterId}` },
  };
  return JSON.stringify(notification);
}
