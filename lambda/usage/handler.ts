import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { grantView, spendable } from '../shared/credit-grants';
import { fundsOfRecord } from '../shared/customers/wallet';
import type { CustomerRecord } from '../shared/customers/record';
import { problem } from '../shared/http';
import type { UsageSettings } from '../shared/settings';
import { countedOn, decidingSubscription } from '../shared/customers/standing';

/**
 * GET /tollgate/usage: the calling customer's plan, billing period, usage and credits, so a client can
 * see a 402 coming. Behind the standing authorizer (any valid key), which names the customer in its
 * context; one strongly consistent GetItem of the customer's payment state (never a key hash).
 */

export interface UsageReader {
  read(customerId: string): Promise<CustomerRecord | undefined>;
}

export interface UsageDeps {
  readonly customers: UsageReader;
  readonly settings: UsageSettings;
  readonly now?: () => Date;
  /** `Access-Control-Allow-Origin`. @default "*" */
  readonly corsAllowOrigin?: string;
}

/** The answer's shape: times as ISO-8601, null where a value does not apply. */
export interface UsageAnswer {
  readonly customerId: string;
  /** The deciding subscription's plan key and display name; null: no subscription. */
  readonly plan: { readonly key: string; readonly name: string } | null;
  /** The billing period the counter counts (start null when Stripe's events did not carry it). */
  readonly period: { readonly start: string | null; readonly end: string } | null;
  readonly used: number;
  /** null: unlimited. */
  readonly limit: number | null;
  readonly remaining: number | null;
  /** What happens past the quota: "block" (402 quota_exceeded) or "bill" (billed per unit). */
  readonly overage: 'block' | 'bill';
  /** Prepaid balance in units; null: never had credits. */
  readonly credits: number | null;
  /** When the quota resets; null when the plan has none. */
  readonly resetsAt: string | null;
  /** The credit grants in draw order, with what is left of each (0 once expired). */
  readonly grants: ReadonlyArray<ReturnType<typeof grantView>>;
}

const iso = (epochSeconds: number | undefined): string | null => (epochSeconds === undefined ? null : new Date(epochSeconds * 1000).toISOString());

export function usageAnswer(read: CustomerRecord, settings: UsageSettings, now: Date): UsageAnswer {
  // What the wallet may spend at `now`: expired grants count for nothing.
  const record = read.grants === undefined ? read : { ...read, credits: spendable(fundsOfRecord(read), now) ?? 0 };
  const { subscription, standing } = decidingSubscription(record, now, settings.gracePeriodSeconds);
  // The subscription the authorizer counts calls on: each has its own counter.
  const view = countedOn(record, subscription, standing, now, settings).usage;
  return {
    customerId: record.customerId,
    plan: view.plan === undefined ? null : { key: view.plan, name: view.planName ?? view.plan },
    period: view.periodEnd === undefined ? null : { start: iso(view.periodStart) ?? null, end: iso(view.periodEnd)! },
    used: view.used,
    limit: view.limit ?? null,
    remaining: view.remaining ?? null,
    overage: view.overage,
    credits: view.credits ?? null,
    resetsAt: iso(view.resetsAt),
    grants: (record.grants ?? []).map((g) => grantView(g, now)),
  };
}

export function makeUsageHandler(deps: UsageDeps): (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult> {
  const now = deps.now ?? ((): Date => new Date());
  const headers = { 'Cache-Control': 'no-store', 'Access-Control-Allow-Origin': deps.corsAllowOrigin ?? '*' };
  return async (event) => {
    const customerId: unknown = event.requestContext?.authorizer?.customerId;
    if (typeof customerId !== 'string' || customerId === '') {
      // Only reachable without the authorizer in front: a wiring mistake, not the caller's.
      return problem(500, 'Usage unavailable', 'the usage route received no customer from the authorizer: deploy it behind the tollgate authorizer', {}, headers);
    }
    const record = (await deps.customers.read(customerId)) ?? { customerId, subscriptions: {}, invoices: {}, pastDue: {} };
    return { statusCode: 200, headers: { ...headers, 'Content-Type': 'application/json' }, body: JSON.stringify(usageAnswer(record, deps.settings, now())) };
  };
}
