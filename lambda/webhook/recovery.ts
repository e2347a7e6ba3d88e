import type { CustomerRecord } from '../shared/customers/record';
import { METRICS, recordMilliseconds } from '../shared/metrics';
import { countOne, type Observability } from '../shared/observability';
import type { PaymentReason } from '../shared/problems';
import type { RouteRule } from '../shared/requirements';
import { decide } from '../shared/customers/standing';
import type { Plans } from '../shared/customers/usage-view';

/**
 * Recovery analytics, computed where access changes: the webhook already knows a customer's state
 * before and after an event, so it evaluates the authorizer's pure decision on both. When a paid
 * route went from denied to allowed, the event restored access: one `access restored` log line and
 * one `AccessRestored` metric by the reason the customer was denied. Paid routes are of two kinds, and
 * either way out counts: one that requires a subscription (a payment, a new subscription), and one sold
 * by use (a renewal that resets a used-up quota, credits topped up or bought in a pack). Nothing is written on the
 * authorizer's path; when the episode's denials began comes from the access log (its 402 lines carry
 * customerId and reason), and `tollgate report` joins the two.
 */

/** A paid route as every route requiring a subscription sees it: allowed iff the standing is good and no usage block applies. */
const PAID_ROUTE: RouteRule = { method: 'GET', path: '/', requires: { kind: 'subscription' } };
/** A route sold by use, as every such route sees it: open while the plan has units left (or is unlimited, or bills) or credits remain. */
const USAGE_ROUTE: RouteRule = { method: 'GET', path: '/', requires: { kind: 'subscription' }, usage: { cost: 1 } };

export const ACCESS_RESTORED_MESSAGE = 'access restored';

/** What the log line (deployed) and `.tollgate/events.log` (local) record of one restoration. */
export interface AccessRestored {
  readonly message: typeof ACCESS_RESTORED_MESSAGE;
  readonly customerId: string;
  /** The 402 reason the customer was answered before this event. */
  readonly reason: PaymentReason;
  /** When the webhook applied the event (ISO 8601). */
  readonly restoredAt: string;
  readonly eventId: string;
  readonly type: string;
}

export interface RecoveryOptions {
  /** The grace period the authorizer applies (the same setting: a past_due within grace is not denied). */
  readonly gracePeriodSeconds: number;
  /** The usage plans the authorizer applies (a used-up quota denies a route sold by use). @default {} */
  readonly plans?: Plans;
  /** Also receives each restoration (the local run appends them to `.tollgate/events.log`). @default - none */
  readonly onRestored?: (restored: AccessRestored) => void;
}

type DecisionOptions = Pick<RecoveryOptions, 'gracePeriodSeconds' | 'plans'>;

/** The reason `route` is denied, or undefined when it is allowed. */
function denial(route: RouteRule, record: CustomerRecord | undefined, customerId: string, now: Date, options: DecisionOptions): PaymentReason | undefined {
  const decision = decide(record ?? { customerId, subscriptions: {}, invoices: {}, pastDue: {} }, [route], now, { gracePeriodSeconds: options.gracePeriodSeconds, plans: options.plans ?? {} });
  return decision.verdicts[0]!.allow ? undefined : decision.reason;
}

/** The reason of the 402 this change lifted, if it lifted one: a paid route's first, else a route sold by use's. */
export function liftedDenial(change: Pick<AccessChange, 'before' | 'after' | 'customerId' | 'appliedAt'>, options: DecisionOptions): PaymentReason | undefined {
  for (const route of [PAID_ROUTE, USAGE_ROUTE]) {
    const was = denial(route, change.before, change.customerId, change.appliedAt, options);
    if (was !== undefined && denial(route, change.after, change.customerId, change.appliedAt, options) === undefined) return was;
  }
  return undefined;
}

export interface AccessChange {
  readonly customerId: string;
  readonly before: CustomerRecord | undefined;
  readonly after: CustomerRecord;
  readonly eventId: string;
  readonly type: string;
  /** The event's `created` (epoch seconds). */
  readonly created: number;
  readonly appliedAt: Date;
  /** When the flush the event caused completed; undefined: none was needed or possible. */
  readonly flushedAt?: Date;
}

/** Called by the webhook once an applied event changed a customer's access. */
export function makeAccessObserver(options: RecoveryOptions, observability: Observability): (change: AccessChange) => AccessRestored | undefined {
  const { logger, metrics } = observability;
  return (change) => {
    if (change.flushedAt !== undefined) {
      // Stripe's delivery delay included: what the customer waits from the payment to access.
      recordMilliseconds(metrics, METRICS.paymentToFlush, Math.max(0, change.flushedAt.getTime() - change.created * 1000));
    }
    const was = liftedDenial(change, options);
    if (was === undefined) return undefined;
    const restored: AccessRestored = {
      message: ACCESS_RESTORED_MESSAGE,
      customerId: change.customerId,
      reason: was,
      restoredAt: change.appliedAt.toISOString(),
      eventId: change.eventId,
      type: change.type,
    };
    countOne(metrics, METRICS.accessRestored, { reason: was });
    const { message, ...fields } = restored;
    logger.info(message, fields);
    options.onRestored?.(restored);
    return restored;
  };
}
