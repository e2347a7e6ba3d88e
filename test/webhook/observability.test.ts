import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { makeWebhookHandler } from '../../lambda/webhook/handler';
import { buildStripeEvent, serializeEvent, signPayload } from '../../lib/stripe-events';
import { MemoryPaymentStateStore } from './memory-store';
import { proxyEvent, RecordingFlusher, SECRET, signedDelivery } from './support';
import { ImmediateFlushes } from '../support/flusher';
import Stripe from 'stripe';
import { meterErrorNotification } from './thin-events';

function observed() {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const logger = new Logger({ logLevel: 'SILENT' });
  const metrics = new Metrics({ namespace: 'TollgateTest', serviceName: 'webhook-test' });
  const lines: Array<Record<string, unknown>> = [];
  for (const level of ['info', 'warn', 'error'] as const) {
    jest.spyOn(logger, level).mockImplementation((_message: unknown, ...extra: unknown[]) => {
      lines.push(Object.assign({}, ...extra.filter((e) => typeof e === 'object')));
    });
  }
  const points: Array<Record<string, string>> = [];
  jest.spyOn(metrics, 'singleMetric').mockImplementation(() => {
    const dims: Record<string, string> = {};
    return {
      addDimension: (name: string, value: string) => void (dims[name] = value),
      addMetric: (name: string) => void points.push({ metric: name, ...dims }),
    } as unknown as Metrics;
  });
  const handler = makeWebhookHandler({
    store: new MemoryPaymentStateStore(),
    signingSecrets: () => Promise.resolve([SECRET]),
    flushes: new ImmediateFlushes(new RecordingFlusher()),
    gracePeriodSeconds: 0,
    observability: { logger, metrics },
  });
  return { handler, lines, points };
}

describe('webhook observability', () => {
  it('logs and counts each event by type and outcome, never the body or signature', async () => {
    const { handler, lines, points } = observed();
    const event = buildStripeEvent('customer.subscription.created', { customer: 'cus_Obs1', created: 1_790_000_000 });
    const delivery = signedDelivery(event);
    await handler(delivery);
    await handler(delivery);
    await handler(signedDelivery({ ...buildStripeEvent('customer.subscription.created'), type: 'plan.created' }));
    const body = serializeEvent(event);
    await handler(proxyEvent(body, { 'Stripe-Signature': signPayload(body, 'whsec_wrongsecret1234567') }));

    expect(lines.map((l) => [l.type, l.outcome])).toEqual([
      ['customer.subscription.created', 'applied'],
      ['customer.subscription.created', 'duplicate'],
      ['plan.created', 'ignored'],
      [undefined, 'rejected'],
    ]);
    expect(lines[0]).toMatchObject({ eventId: event.id, customerId: 'cus_Obs1' });
    expect(points).toEqual([
      { metric: 'WebhookEvents', type: 'customer.subscription.created', outcome: 'applied' },
      { metric: 'WebhookEvents', type: 'customer.subscription.created', outcome: 'duplicate' },
      { metric: 'WebhookEvents', type: 'other', outcome: 'ignored' },
      { metric: 'WebhookEvents', type: 'other', outcome: 'rejected' },
    ]);
    const logged = JSON.stringify(lines);
    expect(logged).not.toContain(SECRET);
    expect(logged).not.toContain('v1=');
    expect(logged).not.toContain('"items"');
  });

  it("records Stripe's meter error report once, counts it where the rejected-reports alarm looks, and ignores other thin events", async () => {
    const { handler, lines, points } = observed();
    const body = meterErrorNotification('mtr_ObsMeter1', 'evt_ObsThin1');
    // The stripe SDK reads the body as a thin event notification with the signature tollgate verified.
    const header = signPayload(body, SECRET);
    expect(new Stripe('sk_test_x').parseEventNotification(body, header, SECRET)).toMatchObject({ type: 'v1.billing.meter.error_report_triggered', related_object: { id: 'mtr_ObsMeter1' } });
    const first = await handler(proxyEvent(body, { 'Stripe-Signature': header }));
    const again = await handler(proxyEvent(body, { 'Stripe-Signature': signPayload(body, SECRET) }));
    const other = JSON.stringify({ ...JSON.parse(body), id: 'evt_ObsThin2', type: 'v1.billing.meter.created' });
    const ignored = await handler(proxyEvent(other, { 'Stripe-Signature': signPayload(other, SECRET) }));
    const unsigned = await handler(proxyEvent(body, { 'Stripe-Signature': signPayload(body, 'whsec_wrongsecret1234567') }));
    expect([first, again, ignored, unsigned].map((r) => [r.statusCode, JSON.parse(r.body).outcome ?? JSON.parse(r.body).problem])).toEqual([
      [200, 'recorded'],
      [200, 'duplicate'],
      [200, 'ignored'],
      [400, 'invalid_signature'],
    ]);
    expect(points.filter((p) => p.metric === 'MeterReportsRejected')).toEqual([{ metric: 'MeterReportsRejected' }]);
    expect(lines.find((l) => l.meter === 'mtr_ObsMeter1')).toMatchObject({ eventId: 'evt_ObsThin1', type: 'v1.billing.meter.error_report_triggered' });
  });
});
