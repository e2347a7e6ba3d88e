import { CfnOutput, Duration, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { alertsEnvironment } from '../lambda/alerts/settings';
import { ALERT_PREFIX, CHANNELS, sentAttribute } from '../lambda/shared/alerts/outbox';
import { ALERT_RULES_ENV, encodeAlertRules } from '../lambda/shared/alerts/rules';
import type { AlertsConfig } from './config/alerts';
import type { PaymentTables } from './payment-tables';
import { TollgateFunction } from './tollgate-function';

/** The alerts function's writes: each alert item's `sent_<channel>` marks, on alert items only. */
export const ALERTS_ACTIONS = {
  events: [{ actions: ['dynamodb:UpdateItem'], leadingKeys: [`${ALERT_PREFIX}*`], attributes: ['eventId', ...CHANNELS.map(sentAttribute)] }],
} as const;
/** What reading the events table's stream takes (the event source mapping polls it as the function). */
export const STREAM_ACTIONS = ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams'] as const;

export interface AlertsProps {
  readonly config: AlertsConfig;
  readonly tables: PaymentTables;
  /** Metering detects the alerts: it gets the rules. */
  readonly metering: lambda.Function;
  /** The Stripe API key: the customer's e-mail address is its Stripe customer's (with `config.email`). */
  readonly stripeApiKey?: secretsmanager.ISecret;
  /** The portal's account page, named in the e-mails. @default - none */
  readonly accountUrl?: string;
  readonly logRetentionDays?: number;
}

/**
 * Alerts before the 402 (docs/alerts.md): metering puts each alert in the events table once; the
 * table's stream brings the inserts of alert items (a filter: nothing else invokes the function) to the
 * alerts function, which puts an event on the seller's bus, POSTs the signed webhook and e-mails the
 * customer through SES. Each permission is the one call it makes, on the one resource it makes it on.
 */
export class Alerts extends Construct {
  public readonly bus: events.EventBus;
  public readonly function: TollgateFunction;
  /** The seller webhook's signing secret (generated; the seller reads it from Secrets Manager). */
  public readonly webhookSecret?: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: AlertsProps) {
    super(scope, id);
    const { config, tables } = props;
    props.metering.addEnvironment(ALERT_RULES_ENV, encodeAlertRules(config.rules));

    this.bus = new events.EventBus(this, 'Bus', { description: 'tollgate alerts: quota thresholds, low credits, budgets reached and payments recovered, each once' });

    if (config.webhookUrl !== undefined) {
      this.webhookSecret = new secretsmanager.Secret(this, 'WebhookSigningSecret', {
        description: 'tollgate alerts: signs the webhook to the seller (Tollgate-Signature: t=…,v1=HMAC-SHA256)',
        generateSecretString: { passwordLength: 64, excludePunctuation: true },
      });
      Validations.of(this.webhookSecret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason: 'The seller verifies with it: rotating it is a change the seller makes with their receiver (rotate by hand, then update the receiver).',
      });
    }
    if (config.email !== undefined && props.stripeApiKey === undefined) throw new Error('tollgate:alerts.email needs tollgate:stripeApiKeySecretName: set both');

    this.function = new TollgateFunction(this, 'Function', {
      entry: 'alerts',
      ...(props.logRetentionDays === undefined ? {} : { logRetentionDays: props.logRetentionDays }),
      description: "tollgate alerts: each alert to the seller's bus, webhook and the customer's e-mail, each channel once",
      // Three webhook attempts (5 s each, 0.5 s and 2 s between) fit inside.
      timeout: Duration.seconds(30),
      memorySize: 256,
      environment: alertsEnvironment({
        busName: this.bus.eventBusName,
        ...(config.webhookUrl === undefined || this.webhookSecret === undefined ? {} : { webhook: { url: config.webhookUrl, secretId: this.webhookSecret.secretName } }),
        ...(config.email === undefined || props.stripeApiKey === undefined ? {} : { email: { ...config.email, stripeApiKeySecretId: props.stripeApiKey.secretName } }),
        ...(props.accountUrl === undefined ? {} : { accountUrl: props.accountUrl }),
      }),
    });
    tables.bind(this.function, ALERTS_ACTIONS);
    this.bus.grantPutEventsTo(this.function);
    if (this.webhookSecret !== undefined) this.function.addToRolePolicy(new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [this.webhookSecret.secretArn] }));
    if (config.email !== undefined && props.stripeApiKey !== undefined) {
      this.function.addToRolePolicy(new iam.PolicyStatement({ actions: ['ses:SendEmail'], resources: [config.email.identityArn] }));
      // The address: a read of the Stripe customer (the key is named in the environment, never its value).
      props.stripeApiKey.grantRead(this.function);
    }

    // The events table's stream: new images, read only by this mapping.
    const table = tables.events.node.defaultChild as dynamodb.CfnGlobalTable;
    table.streamSpecification = { streamViewType: 'NEW_IMAGE' };
    const streamArn = table.attrStreamArn;
    this.function.addToRolePolicy(new iam.PolicyStatement({ actions: [...STREAM_ACTIONS], resources: [streamArn] }));
    new lambda.EventSourceMapping(this, 'Stream', {
      target: this.function,
      eventSourceArn: streamArn,
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize: 10,
      // A failed channel retries its record (the sent ones are skipped); an alert older than a day is given up (its item keeps what was sent).
      retryAttempts: 20,
      maxRecordAge: Duration.days(1),
      bisectBatchOnError: true,
      reportBatchItemFailures: true,
      filters: [lambda.FilterCriteria.filter({ eventName: ['INSERT'], dynamodb: { Keys: { eventId: { S: [{ prefix: ALERT_PREFIX }] } } } })],
    });

    new CfnOutput(this, 'BusName', { value: this.bus.eventBusName, description: "The alerts' EventBridge bus: add rules on it (source tollgate)" });
    if (this.webhookSecret !== undefined) new CfnOutput(this, 'WebhookSecretName', { value: this.webhookSecret.secretName, description: 'Secrets Manager secret that signs the alerts webhook: your receiver verifies Tollgate-Signature with it' });
  }
}
