import fc from 'fast-check';
import { decide } from '../../lambda/shared/customers/standing';
import { isTerminal, SUBSCRIPTION_STATUSES, type CustomerRecord, type SubscriptionStatus } from '../../lambda/shared/customers/record';
import type { RouteRule } from '../../lambda/shared/requirements';
import { makeWebhookHandler } from '../../lambda/webhook/handler';
import type { InvoiceOutcome } from '../../lambda/shared/customers/changes';
import { INVOICE_RANK, STATUS_RANK } from '../../lambda/webhook/state';
import type { PaymentStateStore } from '../../lambda/webhook/store';
import { buildStripeEvent, stripeId } from '../../lib/stripe-events';
import { freshTables, type TestTables } from '../support/dynamodb';
import { MemoryPaymentStateStore } from './memory-store';
import { quietObservability } from '../support/observability';
import { RecordingFlusher, SECRET, signedDelivery, webhookFor } from './support';
import { ImmediateFlushes } from '../support/flusher';
import { testFlushes } from '../support/flushes';

let tables: TestTables;
beforeAll(async () => {
  tables = await freshTables('webhook-ordering');
});
afterAll(() => tables.client.destroy());

const T0 = 1_780_000_000;
const NOW = new Date((T0 + 60) * 1000);
const GRACE = 3600;
type InvoiceType = 'invoice.paid' | 'invoice.payment_failed' | 'invoice.payment_action_required' | 'invoice.voided' | 'invoice.marked_uncollectible';
const INVOICE_OUTCOME: Record<InvoiceType, InvoiceOutcome> = {
  'invoice.paid': 'paid',
  'invoice.payment_failed': 'payment_failed',
  'invoice.payment_action_required': 'payment_action_required',
  'invoice.voided': 'voided',
  'invoice.marked_uncollectible': 'uncollectible',
};
const SUBSCRIPTIONS = ['sub_1PropTestA', 'sub_1PropTestB', 'sub_1PropTestC'];

type SubscriptionEvent = { kind: 'subscription'; eventId: string; created: number; sub: number; status: SubscriptionStatus; lookupKey: string; periodEnd: number; cancelAtPeriodEnd: boolean };
type InvoiceEvent = { kind: 'invoice'; eventId: string; created: number; sub: number; type: InvoiceType; invoice: string; finalizedAt: number; url: string };
type HistoryEvent = SubscriptionEvent | InvoiceEvent;

/** Stream order: by created, then the documented same-second rank, then event id. */
const rank = (e: HistoryEvent): number => (e.kind === 'subscription' ? STATUS_RANK[e.status] : INVOICE_RANK[INVOICE_OUTCOME[e.type]]);
const byStreamOrder = (a: HistoryEvent, b: HistoryEvent): number => a.created - b.created || rank(a) - rank(b) || (a.eventId < b.eventId ? -1 : 1);

/**
 * A customer's history over 1-3 subscriptions and their invoices, a few seconds long (so same-second
 * ties occur). As in Stripe, a subscription that reached a terminal status stays in it.
 */
const history = fc.integer({ min: 1, max: 3 }).chain((subscriptions) =>
  fc
    .array(
      fc.oneof(
        fc.record({
          kind: fc.constant('subscription' as const),
          created: fc.integer({ min: T0, max: T0 + 6 }),
          sub: fc.nat({ max: subscriptions - 1 }),
          status: fc.constantFrom(...SUBSCRIPTION_STATUSES),
          lookupKey: fc.constantFrom('basic', 'pro'),
          periodEnd: fc.integer({ min: T0, max: T0 + 90 * 86400 }),
          cancelAtPeriodEnd: fc.boolean(),
        }),
        fc.record({
          kind: fc.constant('invoice' as const),
          created: fc.integer({ min: T0, max: T0 + 6 }),
          sub: fc.nat({ max: subscriptions - 1 }),
          type: fc.constantFrom<InvoiceType>(...(Object.keys(INVOICE_OUTCOME) as InvoiceType[])),
          invoice: fc.constantFrom('in_1AAAAAAAAAAAAAAA', 'in_1BBBBBBBBBBBBBBB'),
          finalizedAt: fc.integer({ min: T0 - 10 * 86400, max: T0 }),
          url: fc.constantFrom('https://invoice.stripe.com/i/a', 'https://invoice.stripe.com/i/b'),
        }),
      ),
      { minLength: 1, maxLength: 12 },
    )
    .map((events): HistoryEvent[] => {
      const numbered: HistoryEvent[] = events.map((e, i) => ({ ...e, eventId: String(i).padStart(3, '0') }));
      for (let s = 0; s < subscriptions; s++) {
        let terminal: SubscriptionStatus | undefined;
        for (const e of numbered.filter((x): x is SubscriptionEvent => x.kind === 'subscription' && x.sub === s).sort(byStreamOrder)) {
          if (terminal !== undefined) e.status = terminal;
          else if (isTerminal(e.status)) terminal = e.status;
        }
      }
      return numbered;
    }),
);

const newest = <T extends HistoryEvent>(events: T[]): T | undefined => [...events].sort(byStreamOrder).at(-1);

/** The record the final states give: the newest event per subscription and per subscription's invoices. */
function expectedRecord(customerId: string, events: HistoryEvent[]): CustomerRecord {
  const record: { subscriptions: CustomerRecord['subscriptions']; invoices: CustomerRecord['invoices']; pastDue: CustomerRecord['pastDue'] } = { subscriptions: {}, invoices: {}, pastDue: {} };
  SUBSCRIPTIONS.forEach((id, s) => {
    const sub = newest(events.filter((e): e is SubscriptionEvent => e.kind === 'subscription' && e.sub === s));
    const inv = newest(events.filter((e): e is InvoiceEvent => e.kind === 'invoice' && e.sub === s));
    if (sub !== undefined) {
      record.subscriptions = { ...record.subscriptions, [id]: { status: sub.status, plan: sub.lookupKey, cancelAtPeriodEnd: sub.cancelAtPeriodEnd, currentPeriodStart: sub.periodEnd - 30 * 86400, currentPeriodEnd: sub.periodEnd, watermark: '' } };
      if (sub.status === 'past_due') record.pastDue = { ...record.pastDue, [id]: T0 };
    }
    if (inv !== undefined && (sub === undefined || !isTerminal(sub.status))) {
      const open = inv.type === 'invoice.payment_failed' || inv.type === 'invoice.payment_action_required';
      record.invoices = {
        ...record.invoices,
        [id]: {
          invoiceId: inv.invoice,
          watermark: '',
          ...(open ? { pastDueSince: inv.finalizedAt, paymentUrl: inv.url } : {}),
          ...(inv.type === 'invoice.payment_action_required' ? { paymentActionRequired: true } : {}),
        },
      };
    }
  });
  return { customerId, ...record };
}

/** The stored state without what only orders it, for comparison. */
const comparable = (record: CustomerRecord | undefined) => ({
  subscriptions: Object.fromEntries(Object.entries(record?.subscriptions ?? {}).map(([id, { watermark: _w, ...s }]) => [id, JSON.parse(JSON.stringify(s)) as unknown])),
  invoices: Object.fromEntries(Object.entries(record?.invoices ?? {}).map(([id, { watermark: _w, ...i }]) => [id, JSON.parse(JSON.stringify(i)) as unknown])),
});

const ROUTES: RouteRule[] = [
  { method: 'GET', path: '/v1/quotes', requires: { kind: 'subscription' } },
  { method: 'GET', path: '/v1/reports', requires: { kind: 'entitlement', lookupKey: 'premium-reports' } },
];
const SETTINGS = { gracePeriodSeconds: GRACE, portalUrl: 'https://billing.example/portal', checkoutUrl: 'https://billing.example/checkout' };

/**
 * Random histories over 1-3 subscriptions per customer, interleaved, delivered in a random order with
 * random duplicates: every delivery is answered 2xx, each subscription ends in its newest event's state,
 * and the customer gets the access those final states give. 300 runs on the in-memory store (the
 * ordering rule), 30 on DynamoDB Local (the condition expressions that state it).
 */
describe('webhook ordering (property)', () => {
  const stores: Array<[string, () => PaymentStateStore, number]> = [
    ['in memory', () => new MemoryPaymentStateStore(), 300],
    ['on DynamoDB Local', () => webhookFor(tables).store, 30],
  ];
  it.each(stores)('ends in the access the final state of every subscription gives, whatever the delivery order and duplicates (%s)', async (_, makeStore, numRuns) => {
    const store = makeStore();
    const flushes = store instanceof MemoryPaymentStateStore ? new ImmediateFlushes(new RecordingFlusher()) : testFlushes(tables, new RecordingFlusher());
    const handler = makeWebhookHandler({ store, signingSecrets: () => Promise.resolve([SECRET]), flushes, gracePeriodSeconds: 0, observability: quietObservability(), now: () => NOW });
    await fc.assert(
      fc.asyncProperty(history, fc.infiniteStream(fc.nat()), fc.array(fc.nat(), { maxLength: 4 }), async (generated, randomness, duplicates) => {
        const customer = stripeId('cus');
        // Event ids unique to this run (the ledger outlives it) and ordered by their index for ties.
        const run = stripeId('evt').slice(4, 16);
        const events = generated.map((e) => ({ ...e, eventId: `evt_${run}_${e.eventId}` }));
        const bodies = events.map((e) =>
          signedDelivery(
            e.kind === 'subscription'
              ? buildStripeEvent('customer.subscription.updated', {
                  eventId: e.eventId,
                  created: e.created,
                  customer,
                  subscription: SUBSCRIPTIONS[e.sub]!,
                  subscriptionCreated: T0 - 86400,
                  status: e.status,
                  lookupKey: e.lookupKey,
                  currentPeriodEnd: e.periodEnd,
                  cancelAtPeriodEnd: e.cancelAtPeriodEnd,
                })
              : buildStripeEvent(e.type, { eventId: e.eventId, created: e.created, customer, subscription: SUBSCRIPTIONS[e.sub]!, invoice: e.invoice, invoiceFinalizedAt: e.finalizedAt, invoiceUrl: e.url }),
            SECRET,
            T0 + 60,
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

        const stored = await store.read(customer);
        const expected = expectedRecord(customer, events);
        expect(comparable(stored)).toEqual(comparable(expected));
        // The grace clock of a past_due subscription starts at one of its own events.
        for (const [id, since] of Object.entries(stored?.pastDue ?? {})) {
          expect([id, since >= T0 && since <= T0 + 6]).toEqual([id, true]);
        }
        const given = decide(stored ?? { customerId: customer, subscriptions: {}, invoices: {}, pastDue: {} }, ROUTES, NOW, SETTINGS);
        const wanted = decide(expected, ROUTES, NOW, SETTINGS);
        expect({ verdicts: given.verdicts, reason: given.reason, context: given.context }).toEqual({ verdicts: wanted.verdicts, reason: wanted.reason, context: wanted.context });
      }),
      { numRuns },
    );
  });
});
