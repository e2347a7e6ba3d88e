import { synth } from '../support/synth';

type Resource = { Type: string; Properties: Record<string, any> };

const ofType = (resources: Record<string, Resource>, type: string): Array<[string, Resource]> => Object.entries(resources).filter(([, r]) => r.Type === type);
const only = <T>(items: T[], what: string): T => {
  if (items.length !== 1) throw new Error(`expected one ${what}, found ${items.length}`);
  return items[0]!;
};

describe('operations (default configuration)', () => {
  let resources: Record<string, Resource>;
  let widgets: any[];
  const logicalIdOf = (prefix: string, type: string): string => only(ofType(resources, type).filter(([id]) => id.startsWith(prefix)), `${type} ${prefix}*`)[0];
  const alarm = (prefix: string): Record<string, any> => resources[logicalIdOf(`Operations${prefix}`, 'AWS::CloudWatch::Alarm')]!.Properties;
  const filter = (metricName: string): Record<string, any> =>
    only(ofType(resources, 'AWS::Logs::MetricFilter').filter(([, r]) => r.Properties.MetricTransformations[0].MetricName === metricName), `filter ${metricName}`)[1].Properties;

  beforeAll(() => {
    const { template } = synth();
    resources = template.toJSON().Resources;
    const body = resources[logicalIdOf('OperationsDashboard', 'AWS::CloudWatch::Dashboard')]!.Properties.DashboardBody;
    // The body is an Fn::Join of literal parts and tokens (inside strings: region, log group names).
    const text = (body['Fn::Join'][1] as unknown[]).map((part) => (typeof part === 'string' ? part : 'TOKEN')).join('');
    widgets = JSON.parse(text).widgets;
  });

  const widget = (title: string): any => only(widgets.filter((w) => w.properties.title === title), `widget "${title}"`);
  const expressions = (title: string): string[] =>
    (widget(title).properties.metrics as any[]).flatMap((m) => m.flatMap((part: any) => (typeof part === 'object' && part.expression !== undefined ? [part.expression] : [])));

  it('charts decisions by outcome and 402 decisions by reason from the authorizer\'s Decisions metric', () => {
    expect(expressions('Decisions by outcome')).toEqual(
      ['allow', 'deny', 'unauthorized', 'error'].map((o) => `SUM(SEARCH('{Tollgate,outcome,reason,service} MetricName="Decisions" outcome="${o}"', 'Sum', 300))`),
    );
    expect(expressions('402 decisions by reason')).toEqual([`SEARCH('{Tollgate,outcome,reason,service} MetricName="Decisions" outcome="deny"', 'Sum', 300)`]);
  });

  it("charts MCP tool calls by tool and outcome from the MCP function's McpToolCall metric", () => {
    expect(expressions('MCP tool calls by tool and outcome')).toEqual([`SEARCH('{Tollgate,outcome,service,tool} MetricName="McpToolCall"', 'Sum', 300)`]);
  });

  it("charts agents' 402 → paid → first 2xx by protocol: the purchase function's AgentSecondsToPay and metering's AgentSecondsToFirstCall", () => {
    // [namespace, metric, dimension pairs…, options]: the metric, its dimensions, its statistic and label.
    const described = (title: string) =>
      (widget(title).properties.metrics as any[])
        .filter((m) => typeof m[0] === 'string')
        .map((m) => ({ metric: m[1], dimensions: Object.fromEntries(Array.from({ length: (m.length - 3) / 2 }, (_, i) => [m[2 + 2 * i], m[3 + 2 * i]])), stat: m.at(-1).stat, label: m.at(-1).label }));
    expect(described('Agents: 402 → paid → first 2xx by protocol (median seconds)')).toEqual(
      ['mpp', 'x402'].map((protocol) => ({ metric: 'AgentSecondsToPay', dimensions: { protocol, service: 'tollgate-purchase' }, stat: 'p50', label: `402 → paid ${protocol}` })).concat(
        ['mpp', 'x402'].map((protocol) => ({ metric: 'AgentSecondsToFirstCall', dimensions: { protocol, service: 'tollgate-metering' }, stat: 'p50', label: `paid → first 2xx ${protocol}` })),
      ),
    );
    const funnel = 'Agents: challenges → payments → first 2xx by protocol';
    expect(expressions(funnel)).toHaveLength(3);
    expect(described(funnel)).toEqual(['mpp', 'x402'].map((protocol) => ({ metric: 'AgentSecondsToFirstCall', dimensions: { protocol, service: 'tollgate-metering' }, stat: 'SampleCount', label: `first 2xx ${protocol}` })));
  });

  it("charts auto top-up charges by outcome (metering's TopUpCharges) and the units the clock's sweep gave back (ReservationUnitsReturned)", () => {
    const metrics = (widget('Credits: auto top-up charges by outcome, strict reservations given back by the sweep (units)').properties.metrics as any[]).map((m) => [m[1], ...m.slice(2, -1)]);
    expect(metrics).toEqual([
      ...['charged', 'failed', 'unanswered'].map((outcome) => ['TopUpCharges', 'outcome', outcome, 'service', 'tollgate-metering']),
      ['ReservationUnitsReturned', 'service', 'tollgate-clock'],
    ]);
  });

  it('charts 401/402/429/503 from the access log by a metric filter with the status as dimension', () => {
    const metrics = widget('Responses 401 / 402 / 429 / 503 (access log)').properties.metrics as any[];
    expect(metrics.map((m) => m.slice(0, 4))).toEqual(['401', '402', '429', '503'].map((s) => ['Tollgate/Logs', 'Responses', 'status', s]));
    const responses = filter('Responses');
    expect(responses.FilterPattern).toBe('{ $.status = "*" }');
    expect(responses.MetricTransformations[0].Dimensions).toEqual([{ Key: 'status', Value: '$.status' }]);
    expect(responses.LogGroupName).toEqual({ Ref: logicalIdOf('ApiAccessLogs', 'AWS::Logs::LogGroup') });
    expect(filter('Denied').MetricTransformations[0].Dimensions).toEqual([{ Key: 'reason', Value: '$.reason' }]);
  });

  it('charts authorizer latency and errors, webhook outcomes, flushes, payment-to-flush time and recoveries', () => {
    expect(widget('Authorizer latency (ms)').properties.metrics.map((m: any[]) => [m[0], m[1], m.at(-1).stat])).toEqual([
      ['AWS/Lambda', 'Duration', 'p50'],
      ['AWS/Lambda', 'Duration', 'p99'],
    ]);
    expect(widget('Authorizer errors').properties.metrics.map((m: any[]) => m[1] ?? m[0].expression)).toEqual(
      expect.arrayContaining(['Errors', 'Throttles', 'AuthorizerUnavailable']),
    );
    expect(expressions('Webhook outcomes')).toEqual(
      ['applied', 'duplicate', 'stale', 'ignored', 'rejected', 'failed', 'parked'].map(
        (o) => `SUM(SEARCH('{Tollgate,outcome,service,type} MetricName="WebhookEvents" outcome="${o}"', 'Sum', 300))`,
      ),
    );
    const flushes = widget('Cache flushes').properties.metrics as any[];
    expect(flushes.filter((m) => m[1] === 'CacheFlushes').map((m) => m.slice(2, 6))).toEqual(
      expect.arrayContaining([['outcome', 'flushed', 'service', 'tollgate-webhook'], ['outcome', 'flushed', 'service', 'tollgate-clock'], ['outcome', 'failed', 'service', 'tollgate-webhook'], ['outcome', 'failed', 'service', 'tollgate-clock']]),
    );
    expect(widget('Payment event → flush (ms)').properties.metrics.map((m: any[]) => [m[1], m.at(-1).stat])).toEqual([
      ['PaymentToFlushMs', 'p50'],
      ['PaymentToFlushMs', 'p99'],
      ['PaymentToFlushMs', 'Maximum'],
    ]);
    expect(expressions('Recoveries by the reason they were denied')).toEqual([`SEARCH('{Tollgate,reason,service} MetricName="AccessRestored"', 'Sum', 300)`]);
    expect(widget('Top customers by 402s').properties.query).toContain('stats count(*) as denials by customerId');
    expect(widget('5xx by source (access log)').properties.query).toContain('stats count(*) as errors by source');
  });

  it.each([
    ['AuthorizerUnavailableAlarm', 'AuthorizerUnavailable', 1, 'Check first: the authorizer log'],
    ['WebhookFailuresAlarm', 'Webhook5xx', 3, 'Check first: the webhook log'],
    ['WebhookSignatureFailuresAlarm', 'WebhookSignatureRejected', 10, 'Check first: whether the endpoint\'s signing secret was rolled'],
    ['WebhookParkedAlarm', 'WebhookParked', 1, 'Check first: npx tollgate events parked'],
  ])('%s alarms on %s ≥ %d per 5 minutes and says what to check first', (name, metric, threshold, advice) => {
    const props = alarm(name);
    expect(props).toMatchObject({
      MetricName: metric,
      Namespace: 'Tollgate/Logs',
      Statistic: 'Sum',
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: threshold,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
    expect(props.AlarmDescription).toContain(advice);
    // No topic configured: no action.
    expect(props.AlarmActions).toBeUndefined();
  });

  it('alarms on failed flush calls of every function that flushes (webhook, clock, portal) together', () => {
    const props = alarm('CacheFlushFailuresAlarm');
    expect(props.Threshold).toBe(1);
    const [sum, ...inputs] = props.Metrics as any[];
    expect(sum.Expression).toBe('FILL(webhook, 0) + FILL(clock, 0) + FILL(portal, 0)');
    expect(inputs.map((m) => [m.Id, m.MetricStat.Metric.MetricName, m.MetricStat.Metric.Dimensions])).toEqual([
      ['webhook', 'CacheFlushes', [{ Name: 'outcome', Value: 'failed' }, { Name: 'service', Value: 'tollgate-webhook' }]],
      ['clock', 'CacheFlushes', [{ Name: 'outcome', Value: 'failed' }, { Name: 'service', Value: 'tollgate-clock' }]],
      ['portal', 'CacheFlushes', [{ Name: 'outcome', Value: 'failed' }, { Name: 'service', Value: 'tollgate-portal' }]],
    ]);
    expect(props.AlarmDescription).toContain('apigateway:DELETE');
  });

  it('alarms on meter events Stripe refused and on parked or dead-lettered metering batches', () => {
    // Refused at once by metering's stream requests, or reported later by Stripe to the webhook.
    const rejections = alarm('StripeReportingFailuresAlarm');
    expect(rejections).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
    expect((rejections.Metrics as any[])[0].Expression).toBe('FILL(metering, 0) + FILL(webhook, 0)');
    expect((rejections.Metrics as any[]).slice(1).map((m) => [m.Id, m.MetricStat.Metric.Namespace, m.MetricStat.Metric.MetricName, m.MetricStat.Metric.Dimensions, m.MetricStat.Stat])).toEqual([
      ['metering', 'Tollgate', 'MeterReportsRejected', [{ Name: 'service', Value: 'tollgate-metering' }], 'Sum'],
      ['webhook', 'Tollgate', 'MeterReportsRejected', [{ Name: 'service', Value: 'tollgate-webhook' }], 'Sum'],
    ]);
    expect(rejections.AlarmDescription).toContain('stripe rejected a meter report');
    expect(rejections.AlarmDescription).toContain('stripe could not apply meter events tollgate reported');
    const parked = alarm('MeteringParkedAlarm');
    expect(parked.Threshold).toBe(1);
    expect((parked.Metrics as any[]).slice(1).map((m) => [m.MetricStat.Metric.MetricName, m.MetricStat.Metric.Dimensions])).toEqual([
      ['MeteringBatchesParked', [{ Name: 'service', Value: 'tollgate-metering' }]],
      ['MeteringBatchesParked', [{ Name: 'outcome', Value: 'dead-letter' }, { Name: 'service', Value: 'tollgate-metering-dead-letter' }]],
      ['MeteringBatchesParked', [{ Name: 'outcome', Value: 'unreadable' }, { Name: 'service', Value: 'tollgate-metering-dead-letter' }]],
    ]);
    expect(widget('Metering: calls counted, units reported to Stripe').properties.metrics.map((m: any[]) => m[1])).toEqual(['UnitsCounted', 'MeterUnitsReported']);
    const lag = widget('Metering lag (ms): oldest call of a batch to its metering').properties.metrics as any[][];
    expect(lag.map((m) => [m[1], m.at(-1)?.stat])).toEqual([
      ['MeteringLagMs', 'p50'],
      ['MeteringLagMs', 'Maximum'],
    ]);
    expect(widget('Metering: Stripe rejections, parked and undecodable batches').properties.metrics.map((m: any[]) => m[1] ?? m[0].expression)).toEqual(
      expect.arrayContaining(['FILL(metering, 0) + FILL(webhook, 0)', 'MeterReportsRejected', 'MeteringBatchesUndecodable']),
    );
  });

  it('derives the alarms\' log metrics from the right lines', () => {
    expect(filter('AuthorizerUnavailable').FilterPattern).toBe('{ ($.responseType = "AUTHORIZER_FAILURE") || ($.responseType = "AUTHORIZER_CONFIGURATION_ERROR") }');
    expect(filter('Webhook5xx').FilterPattern).toBe('{ ($.resourcePath = "/webhooks/stripe") && ($.status = "5*") }');
    expect(filter('WebhookSignatureRejected').FilterPattern).toBe(
      '{ ($.outcome = "rejected") && (($.detail = "missing_signature") || ($.detail = "invalid_signature") || ($.detail = "stale_timestamp")) }',
    );
    expect(filter('WebhookParked').FilterPattern).toBe('{ $.outcome = "parked" }');
    expect(filter('WebhookParked').LogGroupName).toEqual({ Ref: logicalIdOf('StripeWebhookLogs', 'AWS::Logs::LogGroup') });
  });

  it('saves the report\'s Logs Insights queries under the API\'s id', () => {
    const queries = ofType(resources, 'AWS::Logs::QueryDefinition').map(([, r]) => r.Properties);
    expect(queries.map((q) => q.Name['Fn::Join'][1].at(-1)).sort()).toEqual(['/report/denials', '/report/payments', '/report/purchases', '/report/requests', '/report/restorations', '/report/successes', '/report/tools']);
    const restorations = queries.find((q) => q.Name['Fn::Join'][1].at(-1) === '/report/restorations')!;
    expect(restorations.LogGroupNames).toEqual([{ Ref: logicalIdOf('StripeWebhookLogs', 'AWS::Logs::LogGroup') }]);
    expect(restorations.QueryString).toContain('filter message = "access restored"');
    const tools = queries.find((q) => q.Name['Fn::Join'][1].at(-1) === '/report/tools')!;
    expect(tools.LogGroupNames).toEqual([{ Ref: logicalIdOf('McpLogs', 'AWS::Logs::LogGroup') }]);
    expect(tools.QueryString).toContain('filter message = "tool call"');
    // Agents' purchases on the purchase function's log (cdk.json sells to agents), their first 2xx on the access log.
    const byName = (name: string) => queries.find((q) => q.Name['Fn::Join'][1].at(-1) === `/report/${name}`)!;
    for (const name of ['purchases', 'payments']) {
      expect(byName(name).LogGroupNames).toEqual([{ Ref: logicalIdOf('PurchaseLogs', 'AWS::Logs::LogGroup') }]);
      expect(byName(name).QueryString).toContain('filter message = "agent purchase"');
    }
    expect(byName('successes').LogGroupNames).toEqual([{ Ref: logicalIdOf('ApiAccessLogs', 'AWS::Logs::LogGroup') }]);
  });

  it('keeps every log group for a set time: the access log 90 days, each function 30', () => {
    const groups = ofType(resources, 'AWS::Logs::LogGroup');
    expect(groups.length).toBeGreaterThanOrEqual(5);
    for (const [id, group] of groups) expect([id, group.Properties.RetentionInDays]).toEqual([id, id.startsWith('ApiAccessLogs') ? 90 : 30]);
  });
});

describe('operations (configured)', () => {
  it('notifies an e-mail through an encrypted, SSL-only topic, with the configured thresholds and retention (cdk-nag clean)', () => {
    const { template } = synth({
      'tollgate:alarmEmail': 'oncall@example.com',
      'tollgate:authorizerFailureThreshold': 5,
      'tollgate:alarmPeriodMinutes': 10,
      'tollgate:accessLogRetentionDays': 365,
      'tollgate:functionLogRetentionDays': 14,
    });
    const resources = template.toJSON().Resources as Record<string, Resource>;
    const [topicId, topic] = only(ofType(resources, 'AWS::SNS::Topic'), 'topic');
    expect(topic.Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^OperationsAlarmTopicKey/), 'Arn'] });
    expect(only(ofType(resources, 'AWS::KMS::Key'), 'key')[1].Properties.EnableKeyRotation).toBe(true);
    const policy = only(ofType(resources, 'AWS::SNS::TopicPolicy'), 'topic policy')[1].Properties.PolicyDocument.Statement;
    expect(policy).toEqual(expect.arrayContaining([expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]));
    expect(only(ofType(resources, 'AWS::SNS::Subscription'), 'subscription')[1].Properties).toMatchObject({ Protocol: 'email', Endpoint: 'oncall@example.com' });
    const alarms = ofType(resources, 'AWS::CloudWatch::Alarm').map(([, r]) => r.Properties);
    expect(alarms).toHaveLength(7);
    for (const alarm of alarms) {
      expect(alarm.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(alarm.OKActions).toEqual([{ Ref: topicId }]);
    }
    const authorizer = alarms.find((a) => a.MetricName === 'AuthorizerUnavailable')!;
    expect(authorizer).toMatchObject({ Threshold: 5, Period: 600 });
    expect(authorizer.AlarmDescription).toContain('5+ times in 10 minutes');
    for (const [id, group] of ofType(resources, 'AWS::Logs::LogGroup')) expect([id, group.Properties.RetentionInDays]).toEqual([id, id.startsWith('ApiAccessLogs') ? 365 : 14]);
  });

  it('notifies an existing topic by its ARN, creating none', () => {
    const arn = 'arn:aws:sns:eu-west-1:123456789012:oncall';
    const { template } = synth({ 'tollgate:alarmTopicArn': arn });
    template.resourceCountIs('AWS::SNS::Topic', 0);
    for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) expect(alarm.Properties.AlarmActions).toEqual([arn]);
  });
});
