import { ALERT_DETAIL_TYPES, type AlertDetail, type AlertDetailType, type DueAlert } from './rules';

/**
 * An alert's ledger item in the events table: the proof it fired, and its outbox. Metering puts it with
 * `attribute_not_exists(eventId)` in the same transaction as the usage write that made it due, so it
 * exists once per threshold and period; its insert reaches the alerts function through the table's
 * stream, which delivers each channel and marks it sent (`sent_<channel>`), so a failed channel is tried
 * again without the alert firing again.
 *
 *   eventId     alert#<customerId>#<rule>#<threshold>#<subject>#<period>
 *   outcome     alert
 *   detailType  tollgate.customer.quota_threshold | credits_low | budget_exceeded | budget_threshold | payment_recovered | auto_top_up_failed
 *   detail      the event's detail (rules.ts AlertDetail)
 *   firedAt     ISO-8601
 *   expiresAt   the period's end + ALERT_RETENTION_SECONDS (the table's TTL)
 *   sent_events, sent_webhook, sent_email   ISO-8601 when that channel delivered it
 */

export const ALERT_PREFIX = 'alert#';
export const ALERT_OUTCOME = 'alert';
/** An alert's item outlives its period by this long: a replayed batch of the period still finds it. */
export const ALERT_RETENTION_SECONDS = 35 * 24 * 60 * 60;
export const CHANNELS = ['events', 'webhook', 'email'] as const;
export type Channel = (typeof CHANNELS)[number];
export const sentAttribute = (channel: Channel): string => `sent_${channel}`;

export const alertId = (customerId: string, key: string): string => `${ALERT_PREFIX}${customerId}#${key}`;

export interface AlertItem {
  readonly eventId: string;
  readonly outcome: typeof ALERT_OUTCOME;
  readonly customerId: string;
  readonly detailType: AlertDetailType;
  readonly detail: AlertDetail;
  readonly firedAt: string;
  readonly expiresAt: number;
}

export interface FiredAlert extends AlertItem {
  /** Channels that delivered it already. */
  readonly sent: ReadonlySet<Channel>;
}

export function alertItem(customerId: string, due: DueAlert, now: Date): AlertItem {
  const t = Math.floor(now.getTime() / 1000);
  return {
    eventId: alertId(customerId, due.key),
    outcome: ALERT_OUTCOME,
    customerId,
    detailType: due.detailType,
    detail: due.detail,
    firedAt: now.toISOString(),
    expiresAt: Math.max(t, due.periodEnd) + ALERT_RETENTION_SECONDS,
  };
}

const DETAIL_TYPES = new Set<string>(Object.values(ALERT_DETAIL_TYPES));
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** An alert item as read (a stream image unmarshalled, or a GetItem); undefined when it is not one. */
export function decodeAlertItem(item: Record<string, unknown>): FiredAlert | undefined {
  const { eventId, outcome, customerId, detailType, detail, firedAt, expiresAt } = item;
  if (outcome !== ALERT_OUTCOME || typeof eventId !== 'string' || !eventId.startsWith(ALERT_PREFIX)) return undefined;
  if (typeof customerId !== 'string' || typeof detailType !== 'string' || !DETAIL_TYPES.has(detailType) || !isRecord(detail)) return undefined;
  if (typeof firedAt !== 'string' || typeof expiresAt !== 'number') return undefined;
  const rule = detail.rule;
  if (rule !== 'quota' && rule !== 'credits' && rule !== 'budget' && rule !== 'recovered' && rule !== 'topUp') return undefined;
  const sent = new Set(CHANNELS.filter((c) => typeof item[sentAttribute(c)] === 'string'));
  return { eventId, outcome, customerId, detailType: detailType as AlertDetailType, detail: detail as unknown as AlertDetail, firedAt, expiresAt, sent };
}
