import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { countOne, createObservability, type Observability } from '../shared/observability';
import { decodeAlertItem, type Channel, type FiredAlert } from '../shared/alerts/outbox';
import { emailsCustomer, renderEmail, type EmailMessage } from './email';

/**
 * The alerts' delivery (docs/alerts.md): each alert item metering put reaches this function once or
 * more through the events table's stream; each configured channel not yet marked sent is delivered and
 * then marked (`sent_<channel>`), so a failed channel is tried again (the stream retries the record)
 * without the others being sent twice and without the alert firing again. A crash between a delivery
 * and its mark sends that channel again: receivers de-duplicate by the alert's id (`id` in the event
 * and the webhook body), which never changes.
 */

/** The seller's EventBridge bus. */
export interface EventPublisher {
  publish(alert: FiredAlert): Promise<void>;
}
/** The seller's webhook (signed, retried with backoff). */
export interface WebhookSender {
  send(alert: FiredAlert): Promise<void>;
}
/** Amazon SES (deployed), or the local outbox (npm start). */
export interface Mailer {
  send(message: EmailMessage, alert: FiredAlert): Promise<void>;
}
/** The customer's e-mail address: its Stripe customer's. */
export interface Contacts {
  emailOf(customerId: string): Promise<string | undefined>;
}
export interface AlertOutbox {
  /** Records that `channel` delivered the alert (`how`: when, or why nothing was sent). */
  markSent(eventId: string, channel: Channel, how: string): Promise<void>;
}

export interface AlertsDeps {
  readonly outbox: AlertOutbox;
  readonly events?: EventPublisher;
  readonly webhook?: WebhookSender;
  readonly email?: { readonly mailer: Mailer; readonly contacts: Contacts; readonly accountUrl?: string };
  readonly now?: () => Date;
  readonly observability?: Observability;
}

export type DeliveryOutcome = { readonly delivered: readonly Channel[]; readonly failed: readonly Channel[] };

export function makeAlertDelivery(deps: AlertsDeps): (alert: FiredAlert) => Promise<DeliveryOutcome> {
  const now = deps.now ?? (() => new Date());
  const { logger, metrics } = deps.observability ?? createObservability('tollgate-alerts');
  const channels: Array<[Channel, (alert: FiredAlert) => Promise<string>]> = [];
  if (deps.events !== undefined) {
    const events = deps.events;
    channels.push(['events', async (a) => (await events.publish(a), now().toISOString())]);
  }
  if (deps.webhook !== undefined) {
    const webhook = deps.webhook;
    channels.push(['webhook', async (a) => (await webhook.send(a), now().toISOString())]);
  }
  if (deps.email !== undefined) {
    const { mailer, contacts, accountUrl } = deps.email;
    channels.push([
      'email',
      async (a) => {
        if (!emailsCustomer(a)) return 'skipped: a seller-only alert';
        const to = await contacts.emailOf(a.customerId);
        // Nothing to send to: recorded, not retried (the address is the customer's Stripe e-mail).
        if (to === undefined) return 'skipped: no e-mail address';
        await mailer.send(renderEmail(a, to, accountUrl), a);
        return now().toISOString();
      },
    ]);
  }
  return async (alert) => {
    const delivered: Channel[] = [];
    const failed: Channel[] = [];
    for (const [channel, deliver] of channels) {
      if (alert.sent.has(channel)) continue;
      try {
        const how = await deliver(alert);
        await deps.outbox.markSent(alert.eventId, channel, how);
        delivered.push(channel);
        countOne(metrics, 'AlertsDelivered', { channel });
      } catch (err) {
        failed.push(channel);
        countOne(metrics, 'AlertDeliveriesFailed', { channel });
        logger.warn('alert delivery failed, retried', { channel, detailType: alert.detailType, error: err instanceof Error ? `${err.name}: ${err.message}`.slice(0, 300) : 'unknown' });
      }
    }
    return { delivered, failed };
  };
}

/** The stream's records of alert items (the function's filter passes only their inserts); a record whose delivery failed is reported for retry. */
export function makeAlertsHandler(deps: AlertsDeps): (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse> {
  const deliver = makeAlertDelivery(deps);
  return async (event) => {
    const batchItemFailures: Array<{ itemIdentifier: string }> = [];
    for (const record of event.Records) {
      const image = record.dynamodb?.NewImage;
      const alert = image === undefined ? undefined : decodeAlertItem(unmarshall(image as Record<string, AttributeValue>));
      if (alert === undefined) continue;
      const { failed } = await deliver(alert);
      if (failed.length > 0 && record.dynamodb?.SequenceNumber !== undefined) batchItemFailures.push({ itemIdentifier: record.dynamodb.SequenceNumber });
    }
    return { batchItemFailures };
  };
}
