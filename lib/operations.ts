import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { METERING_METRICS, METRICS, SERVICES } from '../lambda/shared/metrics';
import { METRICS_NAMESPACE } from '../lambda/shared/observability';
import { MCP_TOOL_CALL_METRIC } from '../lambda/mcp/call';
import { AGENT_PROTOCOLS, AGENT_PURCHASES_METRIC } from '../lambda/purchase/record';
import { AGENT_SECONDS_TO_FIRST_CALL_METRIC, AGENT_SECONDS_TO_PAY_METRIC } from '../lambda/shared/agents/first-call';
import { DASHBOARD_QUERIES, REPORT_QUERIES, reportQueryPrefix, type ReportQueryName } from './report/queries';
import type { OperationsConfig } from './config/operations';

export interface OperationsProps {
  readonly config: OperationsConfig;
  readonly restApiId: string;
  readonly accessLogs: logs.ILogGroup;
  readonly authorizer: lambda.IFunction & { readonly logGroup: logs.ILogGroup };
  readonly webhook: lambda.IFunction & { readonly logGroup: logs.ILogGroup };
  readonly clock: lambda.IFunction & { readonly logGroup: logs.ILogGroup };
  /** The MCP endpoint, when the document marks operations for it. @default - none */
  readonly mcp?: lambda.IFunction & { readonly logGroup: logs.ILogGroup };
  /** The purchase route's function, when selling to agents. @default - none */
  readonly purchase?: lambda.IFunction & { readonly logGroup: logs.ILogGroup };
}

/** Metrics derived from log lines by metric filters (the access log and the webhook's log). */
export const LOG_METRICS_NAMESPACE = 'Tollgate/Logs';
export const LOG_METRICS = {
  /** Every access-log line, by `status`. */
  responses: 'Responses',
  /** 402 lines, by `reason`. */
  denied: 'Denied',
  /** 503s the authorizer caused (AUTHORIZER_FAILURE, AUTHORIZER_CONFIGURATION_ERROR). */
  authorizerUnavailable: 'AuthorizerUnavailable',
  /** 5xx answers to Stripe's deliveries, whatever failed (the function's own or Lambda's). */
  webhook5xx: 'Webhook5xx',
  /** Deliveries refused for their signature (missing, wrong or stale). */
  signatureRejected: 'WebhookSignatureRejected',
  /** Events parked for replay. */
  parked: 'WebhookParked',
} as const;

const WEBHOOK_OUTCOMES = ['applied', 'duplicate', 'stale', 'ignored', 'rejected', 'failed', 'parked'] as const;
const DECISION_OUTCOMES = ['allow', 'deny', 'unauthorized', 'error'] as const;
const WATCHED_STATUSES = ['401', '402', '429', '503'] as const;

type AlarmName = 'authorizerUnavailable' | 'webhookFailures' | 'signatureFailures' | 'parkedEvents' | 'flushFailures' | 'stripeReportingFailures' | 'parkedMeteringBatches';

/** What the alarms watch (the dashboard draws them too). */
interface Signals {
  readonly authorizerUnavailable: cloudwatch.Metric;
  readonly webhook5xx: cloudwatch.Metric;
  readonly signatureRejected: cloudwatch.Metric;
  readonly parked: cloudwatch.Metric;
  readonly flushFailures: cloudwatch.MathExpression;
  readonly stripeRejections: cloudwatch.MathExpression;
  readonly parkedBatches: cloudwatch.MathExpression;
}

/** A function's Powertools metric (lambda/shared/metrics.ts) over `period`. */
/** The purchase function's Powertools service (lambda/purchase/index.ts). */
const AGENT_SERVICES = { purchase: 'tollgate-purchase' } as const;

const powertoolsMetrics =
  (period: Duration) =>
  (metricName: string, service: string, dimensions: Record<string, string> = {}, statistic = 'Sum'): cloudwatch.Metric =>
    new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { service, ...dimensions }, statistic, period });

/**
 * What operators look at and what wakes them up: one dashboard, the alarms (each description says
 * what to check first), the metric filters they read, and the saved Logs Insights queries
 * `tollgate report` runs. Reads the functions' Powertools metrics (lambda/shared/metrics.ts) and the
 * access log (lambda/shared/access-log.ts); adds nothing to the request path.
 */
export class Operations extends Construct {
  public readonly dashboard: cloudwatch.Dashboard;
  public readonly alarms: Readonly<Record<AlarmName, cloudwatch.Alarm>>;
  public readonly topic?: sns.ITopic;

  constructor(scope: Construct, id: string, props: OperationsProps) {
    super(scope, id);
    const { config } = props;
    const period = Duration.minutes(config.alarmPeriodMinutes);
    const signals = this.buildSignals(props, period);
    this.topic =
      config.alarmTopicArn !== undefined
        ? sns.Topic.fromTopicArn(this, 'AlarmTopic', config.alarmTopicArn)
        : config.alarmEmail !== undefined
          ? this.emailTopic(config.alarmEmail)
          : undefined;
    this.alarms = this.buildAlarms(config, signals);
    this.saveReportQueries(props);
    this.dashboard = this.buildDashboard(props, period, signals);
  }

  /** The metric filters on the access log and the webhook's log, and the Powertools figures the alarms watch. */
  private buildSignals(props: OperationsProps, period: Duration): Signals {
    const logMetric = (name: string, logGroup: logs.ILogGroup, filterPattern: logs.IFilterPattern, dimensions?: Record<string, string>): cloudwatch.Metric => {
      new logs.MetricFilter(this, `${name}Filter`, {
        logGroup,
        filterPattern,
        metricNamespace: LOG_METRICS_NAMESPACE,
        metricName: name,
        metricValue: '1',
        unit: cloudwatch.Unit.COUNT,
        ...(dimensions === undefined ? {} : { dimensions }),
      });
      return new cloudwatch.Metric({ namespace: LOG_METRICS_NAMESPACE, metricName: name, statistic: 'Sum', period });
    };
    const stringValue = (field: string, op: string, value: string): logs.JsonPattern => logs.FilterPattern.stringValue(field, op, value);
    const all = (...patterns: logs.JsonPattern[]): logs.JsonPattern => logs.FilterPattern.all(...patterns);
    const any = (...patterns: logs.JsonPattern[]): logs.JsonPattern => logs.FilterPattern.any(...patterns);

    // The access log: every line by status, 402s by reason, the authorizer's 503s, 5xx to Stripe.
    logMetric(LOG_METRICS.responses, props.accessLogs, logs.FilterPattern.exists('$.status'), { status: '$.status' });
    logMetric(LOG_METRICS.denied, props.accessLogs, stringValue('$.status', '=', '402'), { reason: '$.reason' });
    const authorizerUnavailable = logMetric(
      LOG_METRICS.authorizerUnavailable,
      props.accessLogs,
      any(stringValue('$.responseType', '=', 'AUTHORIZER_FAILURE'), stringValue('$.responseType', '=', 'AUTHORIZER_CONFIGURATION_ERROR')),
    );
    const webhook5xx = logMetric(LOG_METRICS.webhook5xx, props.accessLogs, all(stringValue('$.resourcePath', '=', '/webhooks/stripe'), stringValue('$.status', '=', '5*')));
    // The webhook's own log line per delivery (lambda/webhook/handler.ts: outcome, detail = the problem).
    const signatureRejected = logMetric(
      LOG_METRICS.signatureRejected,
      props.webhook.logGroup,
      all(
        stringValue('$.outcome', '=', 'rejected'),
        any(...['missing_signature', 'invalid_signature', 'stale_timestamp'].map((problem) => stringValue('$.detail', '=', problem))),
      ),
    );
    const parked = logMetric(LOG_METRICS.parked, props.webhook.logGroup, stringValue('$.outcome', '=', 'parked'));

    const powertools = powertoolsMetrics(period);
    const flushFailures = new cloudwatch.MathExpression({
      expression: 'FILL(webhook, 0) + FILL(clock, 0) + FILL(portal, 0)',
      usingMetrics: {
        webhook: powertools(METRICS.cacheFlushes, SERVICES.webhook, { outcome: 'failed' }),
        clock: powertools(METRICS.cacheFlushes, SERVICES.clock, { outcome: 'failed' }),
        portal: powertools(METRICS.cacheFlushes, SERVICES.portal, { outcome: 'failed' }),
      },
      label: 'failed flushes',
      period,
    });

    // The metering functions' metrics (lambda/shared/metrics.ts METERING_METRICS).
    // Refused at once (metering's stream requests) or reported later by Stripe (the webhook's meter error reports).
    const stripeRejections = new cloudwatch.MathExpression({
      expression: 'FILL(metering, 0) + FILL(webhook, 0)',
      usingMetrics: {
        metering: powertools(METERING_METRICS.reportsRejected, SERVICES.metering),
        webhook: powertools(METERING_METRICS.reportsRejected, SERVICES.webhook),
      },
      label: 'meter events stripe refused',
      period,
    });
    const parkedBatches = new cloudwatch.MathExpression({
      expression: 'FILL(handler, 0) + FILL(deadLetter, 0) + FILL(unreadable, 0)',
      usingMetrics: {
        handler: powertools(METERING_METRICS.batchesParked, SERVICES.metering),
        deadLetter: powertools(METERING_METRICS.batchesParked, SERVICES.meteringDeadLetter, { outcome: 'dead-letter' }),
        unreadable: powertools(METERING_METRICS.batchesParked, SERVICES.meteringDeadLetter, { outcome: 'unreadable' }),
      },
      label: 'parked batches',
      period,
    });
    return { authorizerUnavailable, webhook5xx, signatureRejected, parked, flushFailures, stripeRejections, parkedBatches };
  }

  /** One alarm per signal, to the topic when there is one; each description says what to check first. */
  private buildAlarms(config: OperationsConfig, signals: Signals): Record<AlarmName, cloudwatch.Alarm> {
    const alarm = (name: string, metric: cloudwatch.IMetric, threshold: number, description: string): cloudwatch.Alarm => {
      const created = new cloudwatch.Alarm(this, name, {
        alarmDescription: description,
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        // Metric filters publish nothing when nothing matches: no data is no failure.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      if (this.topic !== undefined) {
        created.addAlarmAction(new actions.SnsAction(this.topic));
        created.addOkAction(new actions.SnsAction(this.topic));
      }
      return created;
    };
    const minutes = `${config.alarmPeriodMinutes} minute${config.alarmPeriodMinutes === 1 ? '' : 's'}`;
    return {
      authorizerUnavailable: alarm(
        'AuthorizerUnavailableAlarm',
        signals.authorizerUnavailable,
        config.authorizerFailureThreshold,
        `tollgate answered 503 (the authorizer failed or timed out) ${config.authorizerFailureThreshold}+ times in ${minutes}: callers cannot reach the API. ` +
          'Check first: the authorizer log for "authorizer decision" lines with outcome error and their reason (store_timeout, store_error: DynamoDB throttling or an outage of the customers table; corrupt_record: the item named; unknown_route: redeploy), then the function\'s Errors, Throttles and Duration.',
      ),
      webhookFailures: alarm(
        'WebhookFailuresAlarm',
        signals.webhook5xx,
        config.webhookFailureThreshold,
        `Stripe deliveries answered 5xx ${config.webhookFailureThreshold}+ times in ${minutes}: payment changes are not applied (Stripe retries for 3 days). ` +
          'Check first: the webhook log\'s "answering 500" lines (Secrets Manager access to the signing secret, DynamoDB, the Stripe API, the cache flush), then the function\'s Errors and Duration (a timeout logs nothing).',
      ),
      signatureFailures: alarm(
        'WebhookSignatureFailuresAlarm',
        signals.signatureRejected,
        config.signatureFailureThreshold,
        `${config.signatureFailureThreshold}+ webhook deliveries in ${minutes} had a missing, wrong or stale Stripe-Signature. ` +
          'Check first: whether the endpoint\'s signing secret was rolled in Stripe without storing the new one in Secrets Manager (store both, newest first, comma-separated); if the secret is right, someone is probing the endpoint (the access log keeps no IPs: add AWS WAF with logging to see them).',
      ),
      parkedEvents: alarm(
        'WebhookParkedAlarm',
        signals.parked,
        1,
        'A verified Stripe event was parked: it can never apply as sent, and the customer\'s state misses it. ' +
          'Check first: npx tollgate events parked --outputs cdk-outputs.json (cause and reason per event); fix the cause, then npx tollgate events replay <evt_id>.',
      ),
      flushFailures: alarm(
        'CacheFlushFailuresAlarm',
        signals.flushFailures,
        config.flushFailureThreshold,
        `${config.flushFailureThreshold}+ authorizer cache flush calls failed in ${minutes}: the stage flusher retries them, and the clock sweeps what is left each minute; meanwhile a payment or a cancellation may wait for the authorizer cache TTL. ` +
          'Check first: the "authorizer cache flush failed" lines of the webhook, clock and portal logs (AccessDenied: the apigateway:DELETE grant on the stage\'s cache path; TooManyRequests: the account\'s management budget of 10 calls/s, shared with deployments; NotFound: the stage name).',
      ),
      stripeReportingFailures: alarm(
        'StripeReportingFailuresAlarm',
        signals.stripeRejections,
        config.stripeReportingFailureThreshold,
        `Stripe refused ${config.stripeReportingFailureThreshold}+ meter events in ${minutes}: that usage is not billed yet (it stays on its ledger entry). ` +
          'Check first: the metering log\'s "stripe rejected a meter report" lines (event name and Stripe\'s error: a meter or customer that does not exist in this Stripe account, a timestamp outside 35 days, a wrong API key mode), then the webhook log\'s "stripe could not apply meter events tollgate reported" lines, each naming a v1.billing.meter.error_report_triggered event whose samples Stripe\'s Workbench shows.',
      ),
      parkedMeteringBatches: alarm(
        'MeteringParkedAlarm',
        signals.parkedBatches,
        1,
        'An access-log batch was parked or dead-lettered by metering: its calls are not counted against quotas or credits, nor billed, until it is replayed. ' +
          'Check first: the metering log\'s "metering batch parked for replay" and the dead-letter function\'s "parked from the dead-letter destination" lines (batchId and error); fix the cause, then replay the parked batch.',
      ),
    };
  }

  /** The saved Logs Insights queries `tollgate report` runs (lib/report/queries.ts). */
  private saveReportQueries(props: OperationsProps): void {
    // Without an MCP endpoint its query still exists (the CLI runs them all), on a group where it finds nothing.
    const queryLogGroup = { access: props.accessLogs, webhook: props.webhook.logGroup, mcp: props.mcp?.logGroup ?? props.accessLogs, purchase: props.purchase?.logGroup ?? props.accessLogs } as const;
    for (const [name, { logGroup, query }] of Object.entries(REPORT_QUERIES) as Array<[ReportQueryName, (typeof REPORT_QUERIES)[ReportQueryName]]>) {
      new logs.CfnQueryDefinition(this, `Report${name[0]!.toUpperCase()}${name.slice(1)}Query`, {
        name: `${reportQueryPrefix(props.restApiId)}${name}`,
        queryString: query,
        logGroupNames: [queryLogGroup[logGroup].logGroupName],
      });
    }
  }

  /** The dashboard: decisions and 402s, the authorizer, the webhook and flushes, recoveries, metering, the alarms. */
  private buildDashboard(props: OperationsProps, period: Duration, signals: Signals): cloudwatch.Dashboard {
    const region = Stack.of(this).region;
    const powertools = powertoolsMetrics(period);
    const search = (expression: string, label: string, statistic = 'Sum'): cloudwatch.MathExpression =>
      new cloudwatch.MathExpression({ expression: `SEARCH('${expression}', '${statistic}', ${period.toSeconds()})`, label, usingMetrics: {}, period });
    const sumOf = (expression: string, label: string): cloudwatch.MathExpression =>
      new cloudwatch.MathExpression({ expression: `SUM(SEARCH('${expression}', 'Sum', ${period.toSeconds()}))`, label, usingMetrics: {}, period });
    const graph = (title: string, left: cloudwatch.IMetric[], options: Partial<cloudwatch.GraphWidgetProps> = {}): cloudwatch.GraphWidget =>
      new cloudwatch.GraphWidget({ title, left, width: 8, height: 6, region, ...options });
    const accessLogTable = (title: string, queryString: string): cloudwatch.LogQueryWidget =>
      new cloudwatch.LogQueryWidget({ title, logGroupNames: [props.accessLogs.logGroupName], queryString, view: cloudwatch.LogQueryVisualizationType.TABLE, width: 8, height: 6, region });
    const decisions = `{${METRICS_NAMESPACE},outcome,reason,service} MetricName="${METRICS.decisions}"`;
    const webhookEvents = `{${METRICS_NAMESPACE},outcome,service,type} MetricName="${METRICS.webhookEvents}"`;

    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${Stack.of(this).stackName}-operations`,
      defaultInterval: Duration.hours(24),
    });
    dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown:
          '## tollgate operations\nDecisions, 402s and what became of them. Alarms: 503s from the authorizer, webhook 5xx and signature failures, parked events, failed flushes. `npx tollgate report` prints the same figures for any time range.',
        width: 24,
        height: 2,
      }),
    );
    dashboard.addWidgets(
      graph('Decisions by outcome', DECISION_OUTCOMES.map((outcome) => sumOf(`${decisions} outcome="${outcome}"`, outcome)), { stacked: true }),
      graph('402 decisions by reason', [search(`${decisions} outcome="deny"`, '')], { stacked: true }),
      graph(
        'Responses 401 / 402 / 429 / 503 (access log)',
        WATCHED_STATUSES.map((status) => new cloudwatch.Metric({ namespace: LOG_METRICS_NAMESPACE, metricName: LOG_METRICS.responses, dimensionsMap: { status }, statistic: 'Sum', period, label: status })),
      ),
    );
    dashboard.addWidgets(
      graph('Authorizer latency (ms)', [
        props.authorizer.metricDuration({ statistic: 'p50', period, label: 'p50' }),
        props.authorizer.metricDuration({ statistic: 'p99', period, label: 'p99' }),
      ]),
      graph('Authorizer errors', [
        props.authorizer.metricErrors({ period, label: 'Lambda errors' }),
        props.authorizer.metricThrottles({ period, label: 'Lambda throttles' }),
        signals.authorizerUnavailable.with({ label: '503 to callers' }),
        search(`${decisions} outcome="error"`, ''),
      ]),
      graph('5xx by status (access log)', [search(`{${LOG_METRICS_NAMESPACE},status} MetricName="${LOG_METRICS.responses}" status=5*`, '')]),
    );
    dashboard.addWidgets(
      graph('Webhook outcomes', WEBHOOK_OUTCOMES.map((outcome) => sumOf(`${webhookEvents} outcome="${outcome}"`, outcome)), { stacked: true }),
      graph('Cache flushes', [
        powertools(METRICS.cacheFlushes, SERVICES.webhook, { outcome: 'flushed' }).with({ label: 'webhook flushed' }),
        powertools(METRICS.cacheFlushes, SERVICES.clock, { outcome: 'flushed' }).with({ label: 'clock flushed' }),
        powertools(METRICS.cacheFlushes, SERVICES.portal, { outcome: 'flushed' }).with({ label: 'portal flushed' }),
        signals.flushFailures,
      ]),
      graph('Payment event → flush (ms)', [
        powertools(METRICS.paymentToFlush, SERVICES.webhook, {}, 'p50').with({ label: 'p50' }),
        powertools(METRICS.paymentToFlush, SERVICES.webhook, {}, 'p99').with({ label: 'p99' }),
        powertools(METRICS.paymentToFlush, SERVICES.webhook, {}, 'Maximum').with({ label: 'max' }),
      ]),
    );
    dashboard.addWidgets(
      graph('Recoveries by the reason they were denied', [search(`{${METRICS_NAMESPACE},reason,service} MetricName="${METRICS.accessRestored}"`, '')], { stacked: true }),
      accessLogTable('Top customers by 402s', DASHBOARD_QUERIES.topDeniedCustomers),
      accessLogTable('5xx by source (access log)', DASHBOARD_QUERIES.serverErrorsBySource),
    );
    // Agents paying the 402 (lambda/purchase/record.ts): the purchase route's challenges, payments by protocol, refusals by type.
    const agentPurchases = `{${METRICS_NAMESPACE},outcome,protocol,service} MetricName="${AGENT_PURCHASES_METRIC}"`;
    // 402 → paid → first 2xx (lambda/shared/agents/first-call.ts): timed by the purchase function at the payment, by metering at the first counted 2xx.
    const toPay = (protocol: string, statistic: string) => powertools(AGENT_SECONDS_TO_PAY_METRIC, AGENT_SERVICES.purchase, { protocol }, statistic);
    const toFirstCall = (protocol: string, statistic: string) => powertools(AGENT_SECONDS_TO_FIRST_CALL_METRIC, SERVICES.metering, { protocol }, statistic);
    dashboard.addWidgets(
      graph('Agents: challenges → payments → first 2xx by protocol', [
        sumOf(`${agentPurchases} outcome="payment-required"`, 'challenged (any protocol)'),
        ...AGENT_PROTOCOLS.map((protocol) => sumOf(`${agentPurchases} outcome="paid" protocol="${protocol}"`, `paid ${protocol}`)),
        ...AGENT_PROTOCOLS.map((protocol) => toFirstCall(protocol, 'SampleCount').with({ label: `first 2xx ${protocol}` })),
      ]),
      graph('Agents: 402 → paid → first 2xx by protocol (median seconds)', [
        ...AGENT_PROTOCOLS.map((protocol) => toPay(protocol, 'p50').with({ label: `402 → paid ${protocol}` })),
        ...AGENT_PROTOCOLS.map((protocol) => toFirstCall(protocol, 'p50').with({ label: `paid → first 2xx ${protocol}` })),
      ]),
      graph('Agents: refused payments by protocol and type', [search(`${agentPurchases} NOT outcome="paid" NOT outcome="payment-required"`, '')], { stacked: true }),
    );
    dashboard.addWidgets(
      new cloudwatch.LogQueryWidget({
        title: 'Agents: payments by protocol (each joined to its first 2xx: npx tollgate report)',
        logGroupNames: [(props.purchase?.logGroup ?? props.accessLogs).logGroupName],
        queryString: DASHBOARD_QUERIES.agentPayments,
        view: cloudwatch.LogQueryVisualizationType.TABLE,
        width: 8,
        height: 6,
        region,
      }),
    );
    dashboard.addWidgets(graph('MCP tool calls by tool and outcome', [search(`{${METRICS_NAMESPACE},outcome,service,tool} MetricName="${MCP_TOOL_CALL_METRIC}"`, '')], { stacked: true, width: 24 }));
    dashboard.addWidgets(
      graph('Metering: calls counted, units reported to Stripe', [
        powertools(METERING_METRICS.unitsCounted, SERVICES.metering).with({ label: 'counted' }),
        powertools(METERING_METRICS.unitsReported, SERVICES.metering).with({ label: 'reported to Stripe' }),
      ]),
      graph('Metering lag (ms): oldest call of a batch to its metering', [
        powertools(METERING_METRICS.lag, SERVICES.metering, {}, 'p50').with({ label: 'p50' }),
        powertools(METERING_METRICS.lag, SERVICES.metering, {}, 'Maximum').with({ label: 'max' }),
      ]),
      graph('Metering: Stripe rejections, parked and undecodable batches', [
        signals.stripeRejections.with({ label: 'rejected by Stripe' }),
        signals.parkedBatches,
        powertools(METERING_METRICS.batchesUndecodable, SERVICES.metering).with({ label: 'undecodable' }),
      ]),
    );
    dashboard.addWidgets(
      graph('Credits: auto top-up charges by outcome, strict reservations given back by the sweep (units)', [
        ...(['charged', 'failed', 'unanswered'] as const).map((outcome) => powertools(METERING_METRICS.topUpCharges, SERVICES.metering, { outcome }).with({ label: `top-up ${outcome}` })),
        powertools(METRICS.reservationUnitsReturned, SERVICES.clock).with({ label: 'units given back' }),
      ], { width: 24 }),
    );
    dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: Object.values(this.alarms), width: 24, height: 3 }),
    );
    return dashboard;
  }

  /** A topic for e-mail: encrypted with its own rotating key (CloudWatch may use it), SSL-only publishing. */
  private emailTopic(email: string): sns.Topic {
    const key = new kms.Key(this, 'AlarmTopicKey', {
      description: 'tollgate alarm topic encryption',
      enableKeyRotation: true,
    });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    const topic = new sns.Topic(this, 'AlarmTopic', { displayName: 'tollgate alarms', masterKey: key, enforceSSL: true });
    topic.addSubscription(new subscriptions.EmailSubscription(email));
    Validations.of(key).acknowledge({ id: 'AwsSolutions-IAM5', reason: 'A key policy names the key itself as its resource ("*").' });
    return topic;
  }
}
