/**
 * Stripe's thin events (API v2 event destinations): a signed notification `{ object: 'v2.core.event', id, type,
 * created, related_object }` with no snapshot of the object. Signed with the same `Stripe-Signature` scheme as
 * snapshot events, so one endpoint (and the same list of signing secrets) takes both.
 *
 * The one tollgate acts on is `v1.billing.meter.error_report_triggered`: the meter event stream accepts a
 * request before it validates its events, and reports the ones it could not apply (an unknown customer or
 * meter, a timestamp out of range) later, in this event, about a meter and a validation window. tollgate
 * cannot tell from it which of its reports failed (the event names a few samples), so it records the notice
 * once, counts it on the metric the rejected-reports alarm watches, and logs where to look in Stripe.
 */

export const METER_ERROR_REPORT = 'v1.billing.meter.error_report_triggered';

/** The thin events the webhook acts on: what `tollgate stripe setup`'s event destination subscribes to. */
export const HANDLED_THIN_EVENT_TYPES = [METER_ERROR_REPORT] as const;

export interface ThinEventNotification {
  readonly id: string;
  readonly type: string;
  /** Epoch s. */
  readonly created: number;
  /** The object the event is about (a meter, for meter error reports). */
  readonly relatedObjectId?: string;
}

const isObject = (value: unknown): value is Readonly<Record<string, unknown>> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A thin event notification, or undefined when the body is not one (a snapshot event, or anything else). */
export function thinNotification(parsed: unknown): ThinEventNotification | undefined {
  if (!isObject(parsed) || parsed.object !== 'v2.core.event') return undefined;
  const { id, type, created, related_object: related } = parsed;
  if (typeof id !== 'string' || !/^evt_[A-Za-z0-9_]{1,255}$/.test(id) || typeof type !== 'string' || type === '' || type.length > 200) return undefined;
  const at = typeof created === 'string' ? Date.parse(created) : Number.NaN;
  if (Number.isNaN(at)) return undefined;
  const relatedId = isObject(related) && typeof related.id === 'string' ? related.id : undefined;
  return { id, type, created: Math.floor(at / 1000), ...(relatedId === undefined ? {} : { relatedObjectId: relatedId }) };
}
