import { CLOCK_ACTIONS, WEBHOOK_ACTIONS } from '../../lib/tollgate-stack';
import { PERIOD_MS, SETTLE_MS } from '../../lambda/clock/schedule';
import { synthInBeforeAll } from '../support/synth';

const stack = synthInBeforeAll();
const { ofType, logicalIdOf, statementsOf } = stack;

describe('clock', () => {
  it('runs the clock function once a minute from an EventBridge schedule', () => {
    const [, rule] = ofType('AWS::Events::Rule')[0]!;
    expect(ofType('AWS::Events::Rule')).toHaveLength(1);
    expect(rule.Properties.ScheduleExpression).toBe('rate(1 minute)');
    expect(rule.Properties.State).toBe('ENABLED');
    expect(rule.Properties.Targets).toHaveLength(1);
    expect(JSON.stringify(rule.Properties.Targets[0].Arn)).toContain(logicalIdOf('Clock', 'AWS::Lambda::Function'));
    expect(PERIOD_MS).toBe(60_000);
  });

  it('lets only EventBridge, from this rule, invoke the clock', () => {
    const clock = logicalIdOf('Clock', 'AWS::Lambda::Function');
    const permissions = ofType('AWS::Lambda::Permission').filter(([, p]) => JSON.stringify(p.Properties.FunctionName).includes(clock));
    expect(permissions).toHaveLength(1);
    expect(permissions[0]![1].Properties).toMatchObject({ Action: 'lambda:InvokeFunction', Principal: 'events.amazonaws.com' });
    expect(JSON.stringify(permissions[0]![1].Properties.SourceArn)).toContain(logicalIdOf('ClockSchedule', 'AWS::Events::Rule'));
  });

  it('gives a run time to wait through its window: two periods, the settle time, and margin', () => {
    const fn = stack.resources()[logicalIdOf('Clock', 'AWS::Lambda::Function')]!.Properties;
    expect(fn.Timeout * 1000).toBeGreaterThan(2 * PERIOD_MS + SETTLE_MS + 10_000);
    expect(fn).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], MemorySize: 128 });
  });

  it('tells the clock its table, the grace period and the stage to flush, and nothing secret', () => {
    const variables = stack.resources()[logicalIdOf('Clock', 'AWS::Lambda::Function')]!.Properties.Environment.Variables;
    expect(Object.keys(variables).sort()).toEqual([
      'BOUNDARIES_TABLE',
      'POWERTOOLS_METRICS_NAMESPACE',
      'POWERTOOLS_SERVICE_NAME',
      'TOLLGATE_GRACE_PERIOD_HOURS',
      'TOLLGATE_REST_API_ID',
      'TOLLGATE_STAGE_NAME',
    ]);
    expect(variables.BOUNDARIES_TABLE).toEqual({ Ref: logicalIdOf('PaymentStateBoundaries', 'AWS::DynamoDB::GlobalTable') });
    expect(variables.TOLLGATE_REST_API_ID).toEqual({ Ref: logicalIdOf('Api', 'AWS::ApiGateway::RestApi') });
    expect(variables.TOLLGATE_STAGE_NAME).toBe('prod');
    expect(variables.TOLLGATE_GRACE_PERIOD_HOURS).toBe('72');
  });

  it('grants the clock exactly a Query on the boundaries table and the stage flush, besides logs and X-Ray', () => {
    const actions = statementsOf('Clock').flatMap((s) => [s.Action].flat()).sort();
    expect(actions).toEqual(['apigateway:DELETE', ...CLOCK_ACTIONS.boundaries, 'xray:PutTelemetryRecords', 'xray:PutTraceSegments'].sort());
    const query = statementsOf('Clock').find((s) => s.Action === 'dynamodb:Query');
    expect(JSON.stringify(query.Resource)).toContain(logicalIdOf('PaymentStateBoundaries', 'AWS::DynamoDB::GlobalTable'));
    const flush = statementsOf('Clock').find((s) => s.Action === 'apigateway:DELETE');
    expect(JSON.stringify(flush.Resource)).toContain(logicalIdOf('Api', 'AWS::ApiGateway::RestApi'));
    expect(JSON.stringify(flush.Resource)).toContain('/stages/prod/cache/authorizers');
  });

  it('lets the webhook record boundaries (PutItem, nothing else) and names the table to it', () => {
    expect(WEBHOOK_ACTIONS.boundaries).toEqual(['dynamodb:PutItem']);
    const boundaries = logicalIdOf('PaymentStateBoundaries', 'AWS::DynamoDB::GlobalTable');
    const onBoundaries = statementsOf('StripeWebhook')
      .filter((s) => JSON.stringify(s.Resource).includes(boundaries))
      .flatMap((s) => [s.Action].flat());
    expect(onBoundaries).toEqual(['dynamodb:PutItem']);
    const variables = stack.resources()[logicalIdOf('StripeWebhook', 'AWS::Lambda::Function')]!.Properties.Environment.Variables;
    expect(variables.BOUNDARIES_TABLE).toEqual({ Ref: boundaries });
  });

  it('outputs the boundaries table for the CLI (key expiries from a deployed stack)', () => {
    expect(stack.synthesized().template.toJSON().Outputs.BoundariesTableName.Value).toEqual({ Ref: logicalIdOf('PaymentStateBoundaries', 'AWS::DynamoDB::GlobalTable') });
  });
});
