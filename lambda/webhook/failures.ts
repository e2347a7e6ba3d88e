import Stripe from 'stripe';

/**
 * Why a verified event could not be applied, and whether Stripe's retry can cure it. Stripe retries
 * every non-2xx answer for three days and then disables the endpoint: a failure that the same bytes
 * will meet again (a permanent one) is parked for replay instead; only a fault that time cures
 * (transient) is answered 5xx.
 */
export type PermanentCause =
  /** The event's shape is not one tollgate can apply (a wrong API version, a test payload). */
  | 'event_shape'
  /** The customer's item cannot take it: it holds as much as one item may (ITEM_LIMITS). */
  | 'item_limit'
  /** The stored customer item fails validation (CorruptRecordError). */
  | 'corrupt_record'
  /** DynamoDB refused the write itself: an item over 400 KB, an expression it cannot evaluate. */
  | 'invalid_write'
  /** Stripe's API refused the re-fetch with a 4xx other than 429. */
  | 'stripe_refused';

export type FailureClass = { readonly kind: 'permanent'; readonly cause: PermanentCause } | { readonly kind: 'transient' };

const TRANSIENT: FailureClass = { kind: 'transient' };
const permanent = (cause: PermanentCause): FailureClass => ({ kind: 'permanent', cause });

/** The record owner's and the webhook's own error classes, by name (they live in several modules). */
const PERMANENT_ERRORS: Readonly<Record<string, PermanentCause>> = {
  EventShapeError: 'event_shape',
  CustomerItemFullError: 'item_limit',
  CorruptRecordError: 'corrupt_record',
  ValidationException: 'invalid_write',
};

/** Codes of a cancelled DynamoDB transaction's items that the same write would meet again. */
const PERMANENT_CANCELLATIONS = new Set(['ValidationError']);

function cancellationCodes(err: Error): string[] {
  const reasons = (err as { CancellationReasons?: unknown }).CancellationReasons;
  if (!Array.isArray(reasons)) return [];
  return reasons.map((reason: unknown) => (typeof reason === 'object' && reason !== null ? (reason as { Code?: unknown }).Code : undefined)).filter((code): code is string => typeof code === 'string');
}

/**
 * Classifies a failure that happened after the signature verified and before the event was
 * recorded. Anything not known to be permanent is transient: throttling, timeouts, network errors,
 * transaction races, Stripe 429/5xx, a missing table or grant, and errors nobody foresaw. A
 * deploy fixes those and Stripe's next retry then applies the event without anyone replaying it.
 */
export function classifyFailure(err: unknown): FailureClass {
  if (!(err instanceof Error)) return TRANSIENT;
  if (err instanceof Stripe.errors.StripeError) {
    const status = err.statusCode;
    return status !== undefined && status >= 400 && status < 500 && status !== 429 ? permanent('stripe_refused') : TRANSIENT;
  }
  const cause = PERMANENT_ERRORS[err.name];
  if (cause !== undefined) return permanent(cause);
  // The store wraps a cancelled transaction; its reasons say whether a retry can succeed.
  const inner = err.cause instanceof Error ? err.cause : err;
  const codes = cancellationCodes(inner);
  if (codes.some((code) => PERMANENT_CANCELLATIONS.has(code))) return permanent('invalid_write');
  if (inner !== err) return classifyFailure(inner);
  return TRANSIENT;
}
