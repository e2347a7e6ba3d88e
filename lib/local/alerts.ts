import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type Stripe from 'stripe';
import { DynamoAlertOutbox, HttpWebhookSender, StripeContacts, alertPayload } from '../../lambda/alerts/channels';
import { makeAlertDelivery, type Contacts } from '../../lambda/alerts/handler';
import type { EmailMessage } from '../../lambda/alerts/email';
import { ALERT_PREFIX, CHANNELS, decodeAlertItem, sentAttribute, type FiredAlert } from '../../lambda/shared/alerts/outbox';
import { createObservability } from '../../lambda/shared/observability';
import type { AlertsConfig } from '../config/alerts';

/**
 * The alerts on one laptop: what the events table's stream does deployed, a sweep does after each
 * metering batch (alert items with a channel not yet sent); the seller's events and the customers'
 * e-mails are caught in the state folder's outbox (a JSON line each), shown by the admin server's
 * outbox page, instead of EventBridge and SES. A configured webhook URL is POSTed for real, signed
 * with LOCAL_ALERT_WEBHOOK_SECRET.
 */

export const OUTBOX_FILE = 'outbox.jsonl';
/** Only for the local run, never for a deployed receiver. */
export const LOCAL_ALERT_WEBHOOK_SECRET = 'tollgate_local_alerts_development_only';

export const outboxPath = (stateDir: string): string => path.join(stateDir, OUTBOX_FILE);

export type OutboxEntry =
  | { readonly kind: 'email'; readonly at: string; readonly alertId: string; readonly to: string; readonly subject: string; readonly text: string }
  | { readonly kind: 'event'; readonly at: string; readonly alertId: string; readonly detailType: string; readonly detail: Record<string, unknown> };

/** The outbox's entries, oldest first (lines that do not parse are skipped). */
export function readOutbox(file: string): OutboxEntry[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((line) => {
      try {
        return line.trim() === '' ? [] : [JSON.parse(line) as OutboxEntry];
      } catch {
        return [];
      }
    });
}

export interface LocalAlertsOptions {
  readonly config: AlertsConfig;
  readonly client: DynamoDBClient;
  readonly eventsTable: string;
  readonly outboxFile: string;
  /** The run's Stripe (the local fake or test mode): the customer's e-mail, as deployed. @default - none */
  readonly stripe?: Stripe;
  readonly now: () => Date;
}

/** The Stripe customer's e-mail, else a placeholder: local demo customers may not exist in Stripe. */
function localContacts(stripe: Stripe | undefined): Contacts {
  const real = stripe === undefined ? undefined : new StripeContacts(() => Promise.resolve(stripe));
  return {
    emailOf: async (customerId) => (await real?.emailOf(customerId).catch(() => undefined)) ?? `${customerId}@customers.example`,
  };
}

export function createLocalAlerts(options: LocalAlertsOptions): { sweep(): Promise<number> } {
  const write = (entry: OutboxEntry): void => appendFileSync(options.outboxFile, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
  const at = (): string => options.now().toISOString();
  const deliver = makeAlertDelivery({
    outbox: new DynamoAlertOutbox(options.client, options.eventsTable),
    events: { publish: (a: FiredAlert) => Promise.resolve(write({ kind: 'event', at: at(), alertId: a.eventId, detailType: a.detailType, detail: alertPayload(a) })) },
    ...(options.config.webhookUrl === undefined ? {} : { webhook: new HttpWebhookSender({ url: options.config.webhookUrl, secret: () => Promise.resolve(LOCAL_ALERT_WEBHOOK_SECRET), attempts: 1 }) }),
    email: {
      contacts: localContacts(options.stripe),
      mailer: { send: (m: EmailMessage, a: FiredAlert) => Promise.resolve(write({ kind: 'email', at: at(), alertId: a.eventId, to: m.to, subject: m.subject, text: m.text })) },
    },
    now: options.now,
    observability: createObservability('tollgate-alerts'),
  });
  const documents = DynamoDBDocumentClient.from(options.client);
  const channels = CHANNELS.filter((c) => c !== 'webhook' || options.config.webhookUrl !== undefined);
  return {
    async sweep() {
      const pending: FiredAlert[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const page = await documents.send(
          new ScanCommand({
            TableName: options.eventsTable,
            ConsistentRead: true,
            FilterExpression: `begins_with(eventId, :prefix) AND (${channels.map((c) => `attribute_not_exists(${sentAttribute(c)})`).join(' OR ')})`,
            ExpressionAttributeValues: { ':prefix': ALERT_PREFIX },
            ...(start === undefined ? {} : { ExclusiveStartKey: start }),
          }),
        );
        for (const item of page.Items ?? []) {
          const alert = decodeAlertItem(item);
          if (alert !== undefined) pending.push(alert);
        }
        start = page.LastEvaluatedKey;
      } while (start !== undefined);
      let delivered = 0;
      for (const alert of pending.sort((a, b) => a.firedAt.localeCompare(b.firedAt))) delivered += (await deliver(alert)).delivered.length;
      return delivered;
    },
  };
}
