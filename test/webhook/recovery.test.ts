import { makeWebhookHandler } from '../../lambda/webhook/handler';
import type { AccessRestored } from '../../lambda/webhook/recovery';
import { loadWebhookSettings } from '../../lambda/shared/settings';
import { buildStripeEvent } from '../../lib/stripe-events';
import { capturedOutput, jsonLines } from '../support/captured-output';
import { MemoryPaymentStateStore } from './memory-store';
import { RecordingFlusher, SECRET, signedDelivery } from './support';
import { ImmediateFlushes } from '../support/flusher';
import { createObservability } from '../../lambda/shared/observability';

const GRACE_SECONDS = 72 * 3600;
const T0 = 1_790_000_000;

/** The webhook with Powertools writing to stdout as in Lambda (metrics on), a clock at `now`. */
function webhook(now: () => Date) {
  const restored: AccessRestored[] = [];
  const previous = process.env.POWERTOOLS_METRICS_DISABLED;
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  const observability = createObservability('tollgate-webhook', { namespace: 'Tollgate', logLevel: 'INFO' });
  if (previous === undefined) delete process.env.POWERTOOLS_METRICS_DISABLED;
  else process.env.POWERTOOLS_METRICS_DISABLED = previous;
  const flusher = new RecordingFlusher();
  const handler = makeWebhookHandler({
    store: new MemoryPaymentStateStore(),
    signingSecrets: () => Promise.resolve([SECRET]),
    flushes: new ImmediateFlushes(flusher),
    gracePeriodSeconds: GRACE_SECONDS,
    now,
    observability,
    recovery: { gracePeriodSeconds: GRACE_SECONDS, onRestored: (r) => restored.push(r) },
  });
  return { handler, restored, flusher };
}

const emf = (lines: Array<Record<string, unknown>>, name: string): Array<Record<string, unknown>> =>
  lines.filter((l) => typeof l._aws === 'object' && name in l);

describe('recovery analytics', () => {
  it('logs and counts a restoration by the reason the customer was denied, with the time to flush', async () => {
    let clock = (T0 + 2) * 1000;
    const { handler, restored, flusher } = webhook(() => new Date(clock));
    const { lines } = await capturedOutput(async () => {
      // unpaid: denied with payment_failed; then paid: active again.
      await handler(signedDelivery(buildStripeEvent('customer.subscription.created', { customer: 'cus_Rec1', status: 'unpaid', created: T0 })));
      clock += 10_000;
      await handler(signedDelivery(buildStripeEvent('customer.subscription.updated', { customer: 'cus_Rec1', status: 'active', created: T0 + 10 })));
    });
    // The unpaid subscription opened nothing; the payment opened the standing routes: one flush.
    expect(flusher.flushes).toHaveLength(1);
    expect(restored).toEqual([
      expect.objectContaining({ message: 'access restored', customerId: 'cus_Rec1', reason: 'payment_failed', restoredAt: new Date((T0 + 12) * 1000).toISOString(), type: 'customer.subscription.updated' }),
    ]);
    const json = jsonLines(lines);
    expect(json.filter((l) => l.message === 'access restored')).toEqual([expect.objectContaining({ customerId: 'cus_Rec1', reason: 'payment_failed', level: 'INFO' })]);
    expect(emf(json, 'AccessRestored')).toEqual([expect.objectContaining({ reason: 'payment_failed', service: 'tollgate-webhook', AccessRestored: 1 })]);
    // The one flush, after the payment that opened access: created T0+10, flushed at T0+12 s.
    expect(emf(json, 'PaymentToFlushMs').map((l) => l.PaymentToFlushMs)).toEqual([2000]);
  });

  it.each([
    ['a first subscription', [{ type: 'customer.subscription.created' as const, status: 'active' as const }], 'no_subscription'],
    ['a resumed trial', [{ type: 'customer.subscription.created' as const, status: 'paused' as const }, { type: 'customer.subscription.updated' as const, status: 'active' as const }], 'trial_ended'],
    ['a new subscription after a cancellation', [{ type: 'customer.subscription.created' as const, status: 'canceled' as const }, { type: 'customer.subscription.updated' as const, status: 'active' as const, subscription: 'sub_second' }], 'subscription_canceled'],
  ])('counts %s as a restoration from its denial reason', async (_name, steps, reason) => {
    const { handler, restored } = webhook(() => new Date((T0 + 100) * 1000));
    await capturedOutput(async () => {
      let created = T0;
      for (const step of steps) {
        await handler(signedDelivery(buildStripeEvent(step.type, { customer: 'cus_Rec2', status: step.status, created: created++, ...('subscription' in step ? { subscription: step.subscription } : {}) })));
      }
    });
    expect(restored.map((r) => r.reason)).toEqual([reason]);
  });

  it('counts nothing when access did not go from denied to allowed', async () => {
    const { handler, restored, flusher } = webhook(() => new Date((T0 + 100) * 1000));
    await capturedOutput(async () => {
      // active → past_due (within the grace period: still allowed) → active → canceled → duplicate.
      await handler(signedDelivery(buildStripeEvent('customer.subscription.created', { customer: 'cus_Rec3', status: 'active', created: T0 })));
      await handler(signedDelivery(buildStripeEvent('customer.subscription.updated', { customer: 'cus_Rec3', status: 'past_due', created: T0 + 1 })));
      await handler(signedDelivery(buildStripeEvent('customer.subscription.updated', { customer: 'cus_Rec3', status: 'active', created: T0 + 2 })));
      const cancel = signedDelivery(buildStripeEvent('customer.subscription.deleted', { customer: 'cus_Rec3', created: T0 + 3 }));
      await handler(cancel);
      await handler(cancel);
    });
    // The first event opened the standing routes and the cancellation closed them: two flushes.
    expect(flusher.flushes).toHaveLength(2);
    // Only the first event let a customer without a subscription in.
    expect(restored.map((r) => r.reason)).toEqual(['no_subscription']);
  });
});

describe("the webhook's grace period", () => {
  const TABLES_AND_SECRET = { CUSTOMERS_TABLE: 'c', EVENTS_TABLE: 'e', STRIPE_WEBHOOK_SECRET_ID: 'whsec', TOLLGATE_CACHE_TTL_SECONDS: '300', TOLLGATE_FLUSH_INTERVAL_SECONDS: '1' };

  it('reads the grace period the stack sets for the authorizer', () => {
    expect(loadWebhookSettings({ ...TABLES_AND_SECRET, TOLLGATE_GRACE_PERIOD_HOURS: '72' }).gracePeriodSeconds).toBe(GRACE_SECONDS);
  });

  it.each([
    [{}, /missing TOLLGATE_GRACE_PERIOD_HOURS: set it in the stack/],
    [{ TOLLGATE_GRACE_PERIOD_HOURS: 'soon' }, /TOLLGATE_GRACE_PERIOD_HOURS must be a number of hours/],
    [{ TOLLGATE_GRACE_PERIOD_HOURS: '-1' }, /TOLLGATE_GRACE_PERIOD_HOURS must be a number of hours/],
  ])('refuses %j', (env, message) => {
    expect(() => loadWebhookSettings({ ...TABLES_AND_SECRET, ...env })).toThrow(message);
  });
});
