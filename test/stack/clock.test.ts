import { CLOCK_ACTIONS, CLOCK_INDEX_ACTIONS } from '../../lib/tollgate-stack';
import { synthInBeforeAll } from '../support/synth';

const stack = synthInBeforeAll();
const { ofType, logicalIdOf, statementsOf } = stack;

describe('clock', () => {
  it('runs the clock function once a minute from an EventBridge schedule', () => {
    const rules = ofType('AWS::Events::Rule').filter(([id]) => id.startsWith('ClockSchedule'));
    expect(rules).toHaveLength(1);
    const [, rule] = rules[0]!;
    expect(rule.Properties.ScheduleExpression).toBe('rate(1 minute)');
    expect(rule.Properties.State).toBe('ENABLED');
    expect(rule.Properties.Targets).toHaveLength(1);
    expect(JSON.stringify(rule.Properties.Targets[0].Arn)).toContain(logicalIdOf('Clock', 'AWS::Lambda::Function'));
  });

  it('lets only EventBridge, from this rule, invoke the clock', () => {
    const clock = logicalIdOf('Clock', 'AWS::Lambda::Function');
    const permissions = ofType('AWS::Lambda::Permission').filter(([, p]) => JSON.stringify(p.Properties.FunctionName).includes(clock));
    expect(permissions).toHaveLength(1);
    expect(permissions[0]![1].Properties).toMatchObject({ Action: 'lambda:InvokeFunction', Principal: 'events.amazonaws.com' });
    expect(JSON.stringify(permissions[0]![1].Properties.SourceArn)).toContain(logicalIdOf('ClockSchedule', 'AWS::Events::Rule'));
  });

  it('runs one at a time (reserved concurrency 1), long enough for the flusher to wait out a throttle', () => {
    const fn = stack.resources()[logicalIdOf('Clock', 'AWS::Lambda::Function')]!.Properties;
    expect(fn.ReservedConcurrentExecutions).toBe(1);
    expect(fn.Timeout).toBeGreaterThanOrEqual(10);
    expect(fn).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], MemorySize: 128 });
  });

  it('tells the clock the event ledger (the outbox), the customers table (the wallets it sweeps), the stage, the TTL and the flush interval, and nothing secret', () => {
    const variables = stack.resources()[logicalIdOf('Clock', 'AWS::Lambda::Function')]!.Properties.Environment.Variables;
    expect(Object.keys(variables).sort()).toEqual([
      'CUSTOMERS_TABLE',
      'EVENTS_TABLE',
      'POWERTOOLS_METRICS_NAMESPACE',
      'POWERTOOLS_SERVICE_NAME',
      'TOLLGATE_CACHE_TTL_SECONDS',
      'TOLLGATE_FLUSH_INTERVAL_SECONDS',
      'TOLLGATE_REST_API_ID',
      'TOLLGATE_STAGE_NAME',
    ]);
    expect(variables.EVENTS_TABLE).toEqual({ Ref: logicalIdOf('PaymentStateEventLedger', 'AWS::DynamoDB::GlobalTable') });
    expect(variables.TOLLGATE_REST_API_ID).toEqual({ Ref: logicalIdOf('Api', 'AWS::ApiGateway::RestApi') });
    expect(variables).toMatchObject({ TOLLGATE_STAGE_NAME: 'prod', TOLLGATE_CACHE_TTL_SECONDS: '300', TOLLGATE_FLUSH_INTERVAL_SECONDS: '1' });
  });

  it('grants the clock exactly the outbox read and write, the wallet sweep and the stage flush, besides logs and X-Ray', () => {
    const actions = statementsOf('Clock').flatMap((s) => [s.Action].flat()).sort();
    const tableActions = Object.values(CLOCK_ACTIONS).flatMap((entries) => entries.flatMap((entry) => (typeof entry === 'string' ? [entry] : entry.actions)));
    expect(actions).toEqual(['apigateway:DELETE', ...tableActions, ...CLOCK_INDEX_ACTIONS, 'xray:PutTelemetryRecords', 'xray:PutTraceSegments'].sort());
    const flush = statementsOf('Clock').find((s) => s.Action === 'apigateway:DELETE');
    expect(JSON.stringify(flush.Resource)).toContain(logicalIdOf('Api', 'AWS::ApiGateway::RestApi'));
    expect(JSON.stringify(flush.Resource)).toContain('/stages/prod/cache/authorizers');
  });

  it('builds no boundaries table: time needs no flush (a lock waits for the TTL)', () => {
    expect(ofType('AWS::DynamoDB::GlobalTable').map(([id]) => id).filter((id) => /Boundar/.test(id))).toEqual([]);
    expect(Object.keys(stack.synthesized().template.toJSON().Outputs)).not.toContain('BoundariesTableName');
  });
});
