import type { DynamoDBStreamEvent } from 'aws-lambda';
import { marshall } from '@aws-sdk/util-dynamodb';
import { recoveredAlertItem } from '../../lambda/metering/recovered';
import { sentAttribute, type Channel } from '../../lambda/shared/alerts/outbox';
import { recoveryOf, type PaymentRecoveryMarker } from '../../lambda/shared/alerts/recovered';
import type { PaymentChange } from '../../lambda/shared/customers/changes';
import type { PaymentReason } from '../../lambda/shared/problems';
import { makeAlertsHandler } from '../../lambda/alerts/handler';
import { quietObservability } from '../support/observability';

const EVENT = { id: 'evt_1', type: 'invoice.paid', created: 1_800_000_000 };
const APPLIED = new Date(1_800_000_002_000);
const invoicePaid: PaymentChange = { stream: 'invoices', invoiceId: 'in_1', subscriptionId: 'sub_1', outcome: 'paid' };
const invoiceFailed: PaymentChange = { stream: 'invoices', invoiceId: 'in_1', subscriptionId: 'sub_1', outcome: 'payment_failed' };
const active: PaymentChange = { stream: 'subscription', subscriptionId: 'sub_1', status: 'active' };
const pastDue: PaymentChange = { stream: 'subscription', subscriptionId: 'sub_1', status: 'past_due' };
const credits: PaymentChange = { stream: 'credits', credits: 100, liftCreditsBlock: true };
const entitlements: PaymentChange = { stream: 'entitlements', entitlements: ['search'] };

describe('which payments are recoveries', () => {
  it.each<[string, PaymentChange, PaymentReason | undefined, PaymentRecoveryMarker['via'] | undefined]>([
    ['an invoice paid after payment_failed', invoicePaid, 'payment_failed', 'invoice'],
    ['a subscription active again after a cancellation', active, 'subscription_canceled', 'subscription'],
    ['a subscription active after a trial ended', active, 'trial_ended', 'subscription'],
    ['credits bought after credits_exhausted', credits, 'credits_exhausted', 'credits'],
    ['credits bought past a used-up quota', credits, 'quota_exceeded', 'credits'],
    ['a renewal lifting a quota block (a new period, not a payment)', active, 'quota_exceeded', undefined],
    ['a first subscription (a sale)', active, 'no_subscription', undefined],
    ['a plan upgrade', active, 'upgrade_required', undefined],
    ['a change that lifted nothing (a renewal in good standing)', invoicePaid, undefined, undefined],
    ['an invoice that failed', invoiceFailed, 'payment_failed', undefined],
    ['a subscription still past_due', pastDue, 'payment_failed', undefined],
    ['entitlements granted', entitlements, 'payment_failed', undefined],
  ])('%s', (_name, change, lifted, via) => {
    const marker = recoveryOf(change, lifted, EVENT, APPLIED);
    if (via === undefined) expect(marker).toBeUndefined();
    else expect(marker).toEqual({ eventId: 'evt_1', eventType: 'invoice.paid', via, reason: lifted, paidAt: 1_800_000_000_000, restoredAt: 1_800_000_002_000 });
  });
});

describe('payment_recovered delivery', () => {
  it('goes to the bus and the webhook, never to the customer by e-mail', async () => {
    const marker: PaymentRecoveryMarker = { eventId: 'evt_1', eventType: 'invoice.paid', via: 'invoice', reason: 'payment_failed', paidAt: 1_800_000_000_000, restoredAt: 1_800_000_002_000 };
    const item: Record<string, unknown> = { ...recoveredAlertItem('cus_1', marker, 1_800_000_007_500, APPLIED) };
    expect(item).toMatchObject({ eventId: 'alert#cus_1#recovered#evt_1', detail: { firstCallAt: 1_800_000_007, secondsToFirstCall: 7.5 } });
    const published: string[] = [];
    const posted: string[] = [];
    const mailed: string[] = [];
    const handler = makeAlertsHandler({
      outbox: { markSent: (_id: string, channel: Channel, how: string) => ((item[sentAttribute(channel)] = how), Promise.resolve()) },
      events: { publish: (a) => (published.push(a.detailType), Promise.resolve()) },
      webhook: { send: (a) => (posted.push(a.eventId), Promise.resolve()) },
      email: { contacts: { emailOf: () => Promise.resolve('buyer@example.com') }, mailer: { send: (m) => (mailed.push(m.subject), Promise.resolve()) } },
      now: () => APPLIED,
      observability: quietObservability(),
    });
    const event: DynamoDBStreamEvent = { Records: [{ eventName: 'INSERT', dynamodb: { SequenceNumber: '1', NewImage: marshall(item) as never } }] };
    expect(await handler(event)).toEqual({ batchItemFailures: [] });
    expect(published).toEqual(['tollgate.customer.payment_recovered']);
    expect(posted).toEqual(['alert#cus_1#recovered#evt_1']);
    expect(mailed).toEqual([]);
    expect(item).toMatchObject({ sent_events: APPLIED.toISOString(), sent_webhook: APPLIED.toISOString(), sent_email: 'skipped: a seller-only alert' });
  });
});
