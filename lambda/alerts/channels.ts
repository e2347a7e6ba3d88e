import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SendEmailCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type Stripe from 'stripe';
import { ALERT_SOURCE } from '../shared/alerts/rules';
import { sentAttribute, type Channel, type FiredAlert } from '../shared/alerts/outbox';
import type { AlertOutbox, Contacts, EventPublisher, Mailer, WebhookSender } from './handler';
import type { EmailMessage } from './email';
import { SIGNATURE_HEADER, signatureHeader } from './signature';

/** The event's detail and the webhook's body carry the same fields: the alert's id first, for de-duplication. */
export const alertPayload = (alert: FiredAlert): Record<string, unknown> => ({ id: alert.eventId, type: alert.detailType, firedAt: alert.firedAt, ...alert.detail });

export class EventBridgePublisher implements EventPublisher {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly busName: string,
  ) {}

  async publish(alert: FiredAlert): Promise<void> {
    const out = await this.client.send(
      new PutEventsCommand({ Entries: [{ EventBusName: this.busName, Source: ALERT_SOURCE, DetailType: alert.detailType, Detail: JSON.stringify(alertPayload(alert)), Time: new Date(alert.firedAt) }] }),
    );
    if ((out.FailedEntryCount ?? 0) > 0) throw new Error(`eventbridge refused the event: ${out.Entries?.[0]?.ErrorCode ?? 'unknown'}`);
  }
}

export interface HttpWebhookOptions {
  readonly url: string;
  readonly secret: () => Promise<string>;
  /** Attempts per delivery (the stream retries the record after them). @default 3 */
  readonly attempts?: number;
  /** @default 500 ms, then 4× per attempt */
  readonly firstDelayMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly fetch?: typeof fetch;
  readonly now?: () => Date;
}

/** POSTs the alert, signed; 2xx is delivered, anything else (or no answer in 5 s) is retried with backoff. */
export class HttpWebhookSender implements WebhookSender {
  constructor(private readonly options: HttpWebhookOptions) {}

  async send(alert: FiredAlert): Promise<void> {
    const { attempts = 3, firstDelayMs = 500 } = this.options;
    const sleep = this.options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    const post = this.options.fetch ?? fetch;
    const body = JSON.stringify(alertPayload(alert));
    const secret = await this.options.secret();
    let last = '';
    for (let attempt = 1; attempt <= attempts; attempt += 1) {
      if (attempt > 1) await sleep(firstDelayMs * 4 ** (attempt - 2));
      try {
        // Signed at each attempt: the receiver's tolerance counts from the send.
        const response = await post(this.options.url, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', [SIGNATURE_HEADER]: signatureHeader(secret, body, (this.options.now ?? (() => new Date()))()), 'User-Agent': 'tollgate-alerts/1' },
          body,
          signal: AbortSignal.timeout(5000),
        });
        if (response.ok) return;
        last = `http ${response.status}`;
      } catch (err) {
        last = err instanceof Error ? err.name : 'unknown';
      }
    }
    throw new Error(`the seller's webhook did not answer 2xx after ${attempts} attempts (${last})`);
  }
}

export class SesMailer implements Mailer {
  constructor(
    private readonly client: SESv2Client,
    private readonly from: string,
    private readonly identityArn: string,
  ) {}

  async send(message: EmailMessage): Promise<void> {
    await this.client.send(
      new SendEmailCommand({
        FromEmailAddress: this.from,
        FromEmailAddressIdentityArn: this.identityArn,
        Destination: { ToAddresses: [message.to] },
        Content: { Simple: { Subject: { Data: message.subject, Charset: 'UTF-8' }, Body: { Text: { Data: message.text, Charset: 'UTF-8' }, Html: { Data: message.html, Charset: 'UTF-8' } } } },
      }),
    );
  }
}

/** The Stripe customer's e-mail (tollgate keeps none): one read per alert e-mail, off the request path. */
export class StripeContacts implements Contacts {
  constructor(private readonly stripe: () => Promise<Stripe>) {}

  async emailOf(customerId: string): Promise<string | undefined> {
    const customer = await (await this.stripe()).customers.retrieve(customerId);
    return customer.deleted === true ? undefined : (customer.email ?? undefined);
  }
}

export class DynamoAlertOutbox implements AlertOutbox {
  private readonly documents: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly table: string,
  ) {
    this.documents = DynamoDBDocumentClient.from(client);
  }

  async markSent(eventId: string, channel: Channel, how: string): Promise<void> {
    await this.documents.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { eventId },
        UpdateExpression: 'SET #sent = :how',
        ConditionExpression: 'attribute_exists(eventId)',
        ExpressionAttributeNames: { '#sent': sentAttribute(channel) },
        ExpressionAttributeValues: { ':how': how },
      }),
    );
  }
}
