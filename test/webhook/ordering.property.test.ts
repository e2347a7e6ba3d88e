import fc from 'fast-check';
import { buildStripeEvent, stripeId } from '../../lib/fixtures/stripe-events';
import type { SubscriptionStatus } from '../../lambda/shared/model';
import { SUBSCRIPTION_STATUSES } from '../../lambda/shared/model';
import { INVOICE_RANK, STATUS_RANK } from '../../lambda/webhook/state';
import { freshTables, type TestTables } from '../support/dynamodb';
import { makeWebhookHandler } from '../../lambda/webhook/handler';
import type { PaymentStateStore } from '../../lambda/webhook/store';
import { MemoryPaymentStateStore } from './memory-store';
import { quietObservability, RecordingFlusher, SECRET, signedDelivery, webhookFor } from './support';

let tables: TestTables;
beforeAll(async () => {
  tables = await freshTables('webhook-ordering');
});
afterAll(() => tables.client.destroy());

const T0 = 1_780_000_000;
type InvoiceType = 'invoice.paid' | 'invoice.payment_failed' | 'invoice.payment_action_required';
const INVOICE_OUTCOME = { 'invoice.paid': 'paid', 'invoice.payment_failed': 'payment_failed', 'invoice.payment_action_required': 'payment_action_required' } as const;

type HistoryEvent =
  | { kind: 'subscription'; eventId: string; created: number; status: SubscriptionStatus; lookupKey: string; periodEnd: number; cancelAtPeriodEnd: boolean }
  | { kind: 'invoice'; eventId: string; created: number; type: InvoiceType; invoice: string; finalizedAt: number; url: string };

/** A customer's history: subscription and invoice events over a few seconds (so same-second ties occur). */
const history = fc
  .array(
    fc.oneof(
      fc.record({
        kind: fc.constant('subscription' as const),
        created: fc.integer({ min: T0, max: T0 + 6 }),
        status: fc.constantFrom(...SUBSCRIPTION_STATUSES),
        lookupKey: fc.constantFrom('basic', 'pro'),
        periodEnd: fc.integer({ min: T0, max: T0 + 90 * 86400 }),
        cancelAtPeriodEnd: fc.boolean(),
      }),
      fc.record({
        kind: fc.constant('invoice' as const),
        created: fc.integer({ min: T0, max: T0 + 6 }),
        type: fc.constantFrom<InvoiceType>('invoice.paid', 'invoice.payment_failed', 'invoice.payment_action_required'),
        invoice: fc.constantFrom('in_1AAAAAAAAAAAAAAA', 'in_1BBBBBBBBBBBBBBB'),
        finalizedAt: fc.integer({ min: T0 - 10 * 86400, max: T0 }),
        url: fc.constantFrom('https://invoice.stripe.com/i/a', 'https://invoice.stripe.com/i/b'),
      }),
    ),
    { minLength: 1, maxLength: 8 },
  )
  .map((events): HistoryEvent[] => events.map((e, i) => ({ ...e, eventId: String(i).padStart(3, '0') })));

/** The newest event of a stream: by created, then the documented same-second rank, then event id. */
function newest<T extends HistoryEvent>(events: T[], rank: (e: T) => number): T | undefined {
  return [...events].sort((a, b) => a.created - b.created || rank(a) - rank(b) || (a.eventId < b.eventId ? -1 : 1)).at(-1);
}

/**
 * Random per-customer histories, delivered in a random order with random duplicates: every delivery
 * is answered 2xx and the final state is the newest event's per object. 500 runs on the in-memory
 * store (the ordering rule), 40 on DynamoDB Local (the condition expressions that state it).
 */
describe('webhook ordering (property)', () => {
  const stores: Array<[string, () => PaymentStateStore, number]> = [
    ['in memory', () => new MemoryPaymentStateStore(), 500],
    ['on DynamoDB Local', () => webhookFor(tables).store, 40],
  ];
  it.each(stores)('ends in the state of the newest event per object whatever the delivery order and duplicates (%s)', async (_, makeStore, numRuns) => {
    const store = makeStore();
    const handler = makeWebhookHandler({ store, signingSecrets: () => Promise.resolve([SECRET]), flusher: new RecordingFlusher(), observability: quietObservability() });
    await fc.assert(
      fc.asyncProperty(
        history,
        fc.infiniteStream(fc.nat()),
        fc.array(fc.nat(), { maxLength: 4 }),
        async (generated, randomness, duplicates) => {
          const customer = stripeId('cus');
          // Event ids unique to this run (the ledger outlives it) and ordered by their index for ties.
          const run = stripeId('evt').slice(4, 16);
          const events = generated.map((e) => ({ ...e, eventId: `evt_${run}_${e.eventId}` }));
          const subscription = 'sub_1PropTestSubscription';
          const bodies = events.map((e) =>
            signedDelivery(
              e.kind === 'subscription'
                ? buildStripeEvent('customer.subscription.updated', {
                    eventId: e.eventId,
                    created: e.created,
                    customer,
                    subscription,
                    subscriptionCreated: T0 - 86400,
                    status: e.status,
                    lookupKey: e.lookupKey,
                    currentPeriodEnd: e.periodEnd,
                    cancelAtPeriodEnd: e.cancelAtPeriodEnd,
                  })
                : buildStripeEvent(e.type, { eventId: e.eventId, created: e.created, customer, subscription, invoice: e.invoice, invoiceFinalizedAt: e.finalizedAt, invoiceUrl: e.url }),
            ),
          );
          // A random delivery order (Fisher-Yates from the stream) plus random re-deliveries.
          const order = bodies.map((_, i) => i);
          const rng = randomness[Symbol.iterator]();
          for (let i = order.length - 1; i > 0; i--) {
            const j = (rng.next().value as number) % (i + 1);
            [order[i], order[j]] = [order[j]!, order[i]!];
          }
          for (const d of duplicates) order.splice(d % (order.length + 1), 0, order[d % order.length]!);

          for (const i of order) {
            const response = await handler(bodies[i]!);
            expect(response.statusCode).toBe(200);
          }

          const state = await store.read(customer);
          const sub = newest(events.filter((e): e is Extract<HistoryEvent, { kind: 'subscription' }> => e.kind === 'subscription'), (e) => STATUS_RANK[e.status]);
          const inv = newest(events.filter((e): e is Extract<HistoryEvent, { kind: 'invoice' }> => e.kind === 'invoice'), (e) => INVOICE_RANK[INVOICE_OUTCOME[e.type]]);
          expect({
            subscriptionStatus: state?.subscriptionStatus,
            plan: state?.plan,
            currentPeriodEnd: state?.currentPeriodEnd,
            cancelAtPeriodEnd: state?.cancelAtPeriodEnd,
            pastDueSince: state?.pastDueSince,
            paymentActionRequired: state?.paymentActionRequired,
            paymentUrl: state?.paymentUrl,
          }).toEqual({
            subscriptionStatus: sub?.status,
            plan: sub?.lookupKey,
            currentPeriodEnd: sub?.periodEnd,
            cancelAtPeriodEnd: sub?.cancelAtPeriodEnd,
            pastDueSince: inv === undefined || inv.type === 'invoice.paid' ? undefined : inv.finalizedAt,
            paymentActionRequired: inv?.type === 'invoice.payment_action_required' ? true : undefined,
            paymentUrl: inv === undefined || inv.type === 'invoice.paid' ? undefined : inv.url,
          });
        },
      ),
      { numRuns },
    );
  });
});
