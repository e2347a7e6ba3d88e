import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambdaDestinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as logsDestinations from 'aws-cdk-lib/aws-logs-destinations';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { meteringEnvironment } from '../lambda/metering/settings';
import { METERING_WRITE_ATTRIBUTES } from '../lambda/shared/customers/item';
import type { Plans } from '../lambda/shared/customers/usage-view';
import type { RouteRule } from '../lambda/shared/requirements';
import { NO_VALUE } from '../lambda/shared/access-log';
import { ENV } from '../lambda/shared/settings';
import type { PaymentTables } from './payment-tables';
import { bindSecret, TollgateFunction } from './tollgate-function';

/** Metering's reads of the customers table: the plan and the counters. */
export const METERING_CUSTOMER_READS = ['dynamodb:GetItem'] as const;
/** Its writes there, granted on the usage attributes only: one conditional UpdateItem (or a ConditionCheck) in the batch's transaction. */
export const METERING_CUSTOMER_WRITES = ['dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem'] as const;
/** The DynamoDB actions metering performs, by table: its usage write, its ledger, nothing more. */
export const METERING_ACTIONS = {
  customers: [...METERING_CUSTOMER_READS, ...METERING_CUSTOMER_WRITES],
  // The ledger entry (Put in the transaction, Get on a redelivery, Update when reported) and parked batches.
  events: ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem'],
  // A delivery's buffer items (Put with the window's ConditionCheck), the window's close (Update), its
  // read (Query), the watermark (Get, Update).
  usage: ['dynamodb:PutItem', 'dynamodb:ConditionCheckItem', 'dynamodb:UpdateItem', 'dynamodb:GetItem', 'dynamodb:Query'],
} as const;
export const METERING_DEAD_LETTER_ACTIONS = { events: ['dynamodb:PutItem'] } as const;

export interface MeteringProps {
  readonly tables: PaymentTables;
  /** The stage's access-log group. */
  readonly accessLogs: logs.ILogGroup;
  /** The authorizer's route table (costs, strict, meters) and the plans. */
  readonly routes: readonly RouteRule[];
  readonly plans: Plans;
  /** Usage windows' length (lambda/metering/window.ts); 0: none. */
  readonly windowSeconds: number;
  /** @default - reporting to Stripe meters off */
  readonly stripeApiKey?: secretsmanager.ISecret;
  /** Days the functions' log groups keep their logs. @default 30 */
  readonly logRetentionDays?: number;
  /** Reserved concurrency of the metering function: its cap, so a slow Stripe or a throttled table cannot take the API's. @default - none */
  readonly reservedConcurrency?: number;
}

/**
 * Usage metering from the access log: a subscription filter on the access-log group invokes the
 * metering function (asynchronously, so Lambda retries a failed batch twice), whose failures go to a
 * dead-letter function that parks the batch for `tollgate metering replay`; what that one cannot
 * park lands in an SQS queue as the last resort.
 */
export class Metering extends Construct {
  public readonly function: TollgateFunction;
  public readonly deadLetter: TollgateFunction;
  public readonly lastResort: sqs.Queue;
  public readonly subscription: logs.SubscriptionFilter;

  constructor(scope: Construct, id: string, props: MeteringProps) {
    super(scope, id);
    const { tables } = props;

    this.lastResort = new sqs.Queue(this, 'Unparked', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.deadLetter = new TollgateFunction(this, 'DeadLetter', {
      entry: 'metering-dead-letter',
      ...(props.logRetentionDays === undefined ? {} : { logRetentionDays: props.logRetentionDays }),
      description: 'tollgate metering dead letter: parks a batch metering gave up on, for tollgate metering replay',
      memorySize: 128,
    });
    tables.bind(this.deadLetter, METERING_DEAD_LETTER_ACTIONS);
    this.deadLetter.configureAsyncInvoke({ retryAttempts: 2, onFailure: new lambdaDestinations.SqsDestination(this.lastResort) });

    this.function = new TollgateFunction(this, 'Function', {
      entry: 'metering',
      ...(props.logRetentionDays === undefined ? {} : { logRetentionDays: props.logRetentionDays }),
      description: 'tollgate metering: counts successful calls from the access log, draws quotas and credits, reports to Stripe meters',
      // Retries with backoff on contention and on Stripe 429s fit well inside.
      timeout: Duration.seconds(60),
      ...(props.reservedConcurrency === undefined ? {} : { reservedConcurrentExecutions: props.reservedConcurrency }),
      environment: meteringEnvironment({ routes: props.routes, plans: props.plans, windowSeconds: props.windowSeconds }),
    });
    tables.bind(this.function, {
      // Its writes touch the usage counters and nothing else of the customer record (a bug or a forged
      // batch cannot change a subscription, a key or an entitlement): IAM checks every attribute named.
      customers: [...METERING_CUSTOMER_READS, { actions: METERING_CUSTOMER_WRITES, attributes: METERING_WRITE_ATTRIBUTES }],
      events: METERING_ACTIONS.events,
      usage: METERING_ACTIONS.usage,
    });
    if (props.windowSeconds > 0) {
      // Each minute, the windows that closed are summed (EventBridge's finest rate).
      new events.Rule(this, 'WindowSchedule', {
        description: 'tollgate metering: sums the usage windows that closed, once a minute',
        schedule: events.Schedule.rate(Duration.minutes(1)),
        targets: [new targets.LambdaFunction(this.function, { retryAttempts: 0 })],
      });
    }
    if (props.stripeApiKey !== undefined) bindSecret(this.function, props.stripeApiKey, ENV.stripeApiKeySecretId);
    this.function.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: new lambdaDestinations.LambdaDestination(this.deadLetter, { responseOnly: false }),
    });

    // Only lines the authorizer named a customer on can count: the others never invoke metering.
    this.subscription = new logs.SubscriptionFilter(this, 'AccessLogSubscription', {
      logGroup: props.accessLogs,
      destination: new logsDestinations.LambdaDestination(this.function),
      filterPattern: logs.FilterPattern.stringValue('$.customerId', '!=', NO_VALUE),
    });

    Validations.of(this.function.role!).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(this.deadLetter.node.defaultChild as CfnFunction)}.Arn>:*]`,
      reason: 'The on-failure destination may invoke any version of the dead-letter function (Lambda destinations grant the function and its versions).',
    });
    Validations.of(this.lastResort).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the last-resort dead letter of the metering dead-letter function.',
    });
  }
}
