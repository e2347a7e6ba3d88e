import type { APIGatewayProxyEvent } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { statedProxyEvent } from '../../lib/local/gateway/events';
import { BENCH_API } from './gateway';
import { buildStripeEvent, serializeEvent, signPayload, stripeId, type HandledEventType, type StripeEventOverrides } from '../../lib/stripe-events';

/**
 * A realistic delivery schedule for B4: each customer's subscription story (created, paid,
 * entitlements, a failed renewal, past due, recovered), Stripe-shaped and signed with the Stripe SDK,
 * with ~10 % of deliveries out of order (a newer subscription update delivered long before an older
 * one) and ~10 % duplicates (a delivery repeated later). Events of one customer are spread a whole
 * round of customers apart, so the expected outcome of every delivery is known exactly whatever the
 * concurrency.
 */

export type ExpectedOutcome = 'applied' | 'duplicate' | 'stale';

export interface Delivery {
  readonly event: APIGatewayProxyEvent;
  readonly expected: ExpectedOutcome;
}

interface Story {
  readonly type: HandledEventType;
  readonly overrides: StripeEventOverrides;
}

const STORY_LENGTH = 8;

function story(customer: string, t0: number): Story[] {
  const subscription = `sub_${customer.slice(4)}`;
  const first = `in_a${customer.slice(4)}`;
  const renewal = `in_b${customer.slice(4)}`;
  const common = { customer, subscription, subscriptionCreated: t0, lookupKey: 'pro-monthly' };
  return [
    { type: 'customer.subscription.created', overrides: { ...common, created: t0, status: 'active' } },
    { type: 'invoice.paid', overrides: { ...common, created: t0 + 1, invoice: first } },
    { type: 'entitlements.active_entitlement_summary.updated', overrides: { customer, created: t0 + 2, entitlements: ['premium-reports'] } },
    { type: 'invoice.payment_failed', overrides: { ...common, created: t0 + 100, invoice: renewal } },
    { type: 'customer.subscription.updated', overrides: { ...common, created: t0 + 101, status: 'past_due' } },
    { type: 'invoice.paid', overrides: { ...common, created: t0 + 200, invoice: renewal } },
    { type: 'customer.subscription.updated', overrides: { ...common, created: t0 + 201, status: 'active' } },
    { type: 'entitlements.active_entitlement_summary.updated', overrides: { customer, created: t0 + 300, entitlements: ['premium-reports', 'bulk-export'] } },
  ];
}

/** The body API Gateway hands the webhook for `POST /webhooks/stripe` (Lambda proxy, payload v1). */
export function webhookRequest(body: string, signature: string): APIGatewayProxyEvent {
  const headers: Record<string, string> = {
    Accept: '*/*; q=0.5, application/xml',
    'Cache-Control': 'no-cache',
    'Content-Type': 'application/json; charset=utf-8',
    Host: BENCH_API.domainName,
    'Stripe-Signature': signature,
    'User-Agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
    'X-Forwarded-For': '54.187.174.169',
    'X-Forwarded-Port': '443',
    'X-Forwarded-Proto': 'https',
  };
  return statedProxyEvent(BENCH_API, { method: 'POST', resource: '/webhooks/stripe', headers, body, sourceIp: '54.187.174.169' });
}

export interface Schedule {
  readonly deliveries: readonly Delivery[];
  readonly expected: Readonly<Record<ExpectedOutcome, number>>;
  readonly customers: number;
}

/** About `total` deliveries, signed now with `secret` (Stripe's 300 s tolerance starts here). */
export function buildSchedule(total: number, secret: string, minCustomers: number): Schedule {
  // At least a few times the concurrency: one customer's deliveries must never be in flight together.
  const customers = Math.max(minCustomers, Math.round(total / (STORY_LENGTH * 1.1)));
  const now = Math.floor(Date.now() / 1000);
  const t0 = now - 3600;
  const run = randomUUID().replace(/-/g, '').slice(0, 8);
  // rounds[r] holds the r-th delivery of every customer: one customer's deliveries are `customers` apart.
  const rounds: { body: string; signature: string; expected: ExpectedOutcome }[][] = [];
  const at = (round: number): { body: string; signature: string; expected: ExpectedOutcome }[] => (rounds[round] ??= []);
  for (let c = 0; c < customers; c++) {
    const customer = `cus_b${run}${String(c).padStart(5, '0')}`;
    const signed = story(customer, t0 + c).map(({ type, overrides }) => {
      const body = serializeEvent(buildStripeEvent(type, { ...overrides, eventId: stripeId('evt') }));
      return { body, signature: signPayload(body, secret, now) };
    });
    const order = signed.map((s): { body: string; signature: string; expected: ExpectedOutcome } => ({ ...s, expected: 'applied' }));
    // 8 in 10 customers: the recovery (active, t0+201) arrives before the past_due update (t0+101),
    // which is then stale.
    if (c % 10 < 8) {
      const pastDue = order[4]!;
      order[4] = order[6]!;
      order[6] = { ...pastDue, expected: 'stale' };
    }
    order.forEach((delivery, r) => at(r).push(delivery));
    // 8 in 10 customers: one delivery repeated a round after its last one (Stripe's retries).
    if (c % 10 >= 2) {
      const original = order[c % STORY_LENGTH]!;
      at(STORY_LENGTH).push({ ...original, expected: 'duplicate' });
    }
  }
  const deliveries = rounds.flat().map(({ body, signature, expected }) => ({ event: webhookRequest(body, signature), expected }));
  const expected = { applied: 0, duplicate: 0, stale: 0 };
  for (const d of deliveries) expected[d.expected] += 1;
  return { deliveries, expected, customers };
}
