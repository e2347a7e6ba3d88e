import { loadMeteringSettings } from '../../lambda/metering/settings';
import { METERING_WRITE_ATTRIBUTES } from '../../lambda/shared/customers/item';
import { METERING_ACTIONS, METERING_CUSTOMER_WRITES, METERING_DEAD_LETTER_ACTIONS } from '../../lib/metering';
import { synth, synthInBeforeAll, type Resource } from '../support/synth';

const stack = synthInBeforeAll({ 'tollgate:stripeApiKeySecretName': 'tollgate/stripe-api-key' });
const { ofType, logicalIdOf, statementsOf } = stack;
const actionsOn = (statements: any[], table: string): string[] =>
  statements.filter((s) => JSON.stringify(s.Resource).includes(table)).flatMap((s) => [s.Action].flat()).sort();

describe('metering in the stack', () => {
  it("subscribes the metering function to the stage's access-log group, for lines that name a customer", () => {
    const filters = ofType('AWS::Logs::SubscriptionFilter');
    expect(filters).toHaveLength(1);
    const [, filter] = filters[0]!;
    expect(filter.Properties.LogGroupName).toEqual({ Ref: logicalIdOf('ApiAccessLogs', 'AWS::Logs::LogGroup') });
    expect(JSON.stringify(filter.Properties.DestinationArn)).toContain(logicalIdOf('MeteringFunction', 'AWS::Lambda::Function'));
    expect(filter.Properties.FilterPattern).toBe('{ $.customerId != "-" }');
    const permission = ofType('AWS::Lambda::Permission').find(([, p]) => p.Properties.Principal === 'logs.amazonaws.com');
    expect(JSON.stringify(permission?.[1].Properties.FunctionName)).toContain(logicalIdOf('MeteringFunction', 'AWS::Lambda::Function'));
  });

  it('retries a failed batch twice, then hands it to the dead-letter function, whose own failures go to an encrypted queue', () => {
    const configs = ofType('AWS::Lambda::EventInvokeConfig');
    const metering = configs.find(([, c]) => JSON.stringify(c.Properties.FunctionName).includes(logicalIdOf('MeteringFunction', 'AWS::Lambda::Function')))![1];
    expect(metering.Properties).toMatchObject({ MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 6 * 3600 });
    expect(JSON.stringify(metering.Properties.DestinationConfig.OnFailure.Destination)).toContain(logicalIdOf('MeteringDeadLetter', 'AWS::Lambda::Function'));
    const deadLetter = configs.find(([, c]) => JSON.stringify(c.Properties.FunctionName).includes(logicalIdOf('MeteringDeadLetter', 'AWS::Lambda::Function')))![1];
    expect(JSON.stringify(deadLetter.Properties.DestinationConfig.OnFailure.Destination)).toContain(logicalIdOf('MeteringUnparked', 'AWS::SQS::Queue'));
    expect(stack.resources()[logicalIdOf('MeteringUnparked', 'AWS::SQS::Queue')]!.Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 86400 });
  });

  it('grants metering exactly its usage write and ledger actions and the key secret read: no flush, nothing else', () => {
    const statements = statementsOf('MeteringFunction');
    const customers = logicalIdOf('PaymentStateCustomers', 'AWS::DynamoDB::GlobalTable');
    const events = logicalIdOf('PaymentStateEventLedger', 'AWS::DynamoDB::GlobalTable');
    const usage = logicalIdOf('PaymentStateUsageWindows', 'AWS::DynamoDB::GlobalTable');
    expect(actionsOn(statements, customers)).toEqual([...METERING_ACTIONS.customers].sort());
    expect(actionsOn(statements, events)).toEqual([...METERING_ACTIONS.events].sort());
    expect(actionsOn(statements, usage)).toEqual([...METERING_ACTIONS.usage].sort());
    expect(METERING_ACTIONS.customers).not.toContain('dynamodb:PutItem');
    const all = statements.flatMap((s) => [s.Action].flat()).sort();
    expect(all).toEqual(
      [
        ...METERING_ACTIONS.customers,
        ...METERING_ACTIONS.events,
        ...METERING_ACTIONS.usage,
        // The on-failure destination: the dead-letter function only.
        'lambda:InvokeFunction',
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        'xray:PutTelemetryRecords',
        'xray:PutTraceSegments',
      ].sort(),
    );
    const invoke = statements.find((s) => s.Action === 'lambda:InvokeFunction');
    expect(JSON.stringify(invoke.Resource)).toContain(logicalIdOf('MeteringDeadLetter', 'AWS::Lambda::Function'));
    const secret = statements.find((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue'));
    expect(JSON.stringify(secret.Resource)).toContain('secret:tollgate/stripe-api-key');
  });

  it('scopes metering writes on the customers table to the usage attributes (IAM dynamodb:Attributes), its read to nothing more than GetItem', () => {
    const customers = logicalIdOf('PaymentStateCustomers', 'AWS::DynamoDB::GlobalTable');
    const onCustomers = statementsOf('MeteringFunction').filter((s) => JSON.stringify(s.Resource).includes(customers));
    const writes = onCustomers.filter((s) => [s.Action].flat().some((a: string) => (METERING_CUSTOMER_WRITES as readonly string[]).includes(a)));
    expect(writes).toHaveLength(1);
    expect([writes[0].Action].flat().sort()).toEqual([...METERING_CUSTOMER_WRITES].sort());
    expect(writes[0].Condition).toEqual({
      'ForAllValues:StringLike': { 'dynamodb:Attributes': ['customerId', 'periodUsage', 'periodUsed', 'usagePeriodEnd', 'prevPeriodEnd', 'prevPeriodUsed', 'meteredWindow', 'agentPayment', 'topUp', 'paymentRecovery', 'balance', 'p_*', 'budget', 'budget_*', 'budgetLeft', 'budgetLeft_*', 'grants'] },
    });
    expect(writes[0].Condition['ForAllValues:StringLike']['dynamodb:Attributes']).toEqual([...METERING_WRITE_ATTRIBUTES]);
    const others = onCustomers.filter((s) => s !== writes[0]);
    expect(others.flatMap((s) => [s.Action].flat())).toEqual(['dynamodb:GetItem']);
  });

  it('grants the dead-letter function a PutItem on the ledger and sending to its queue, nothing else', () => {
    const statements = statementsOf('MeteringDeadLetter');
    const events = logicalIdOf('PaymentStateEventLedger', 'AWS::DynamoDB::GlobalTable');
    expect(actionsOn(statements, events)).toEqual([...METERING_DEAD_LETTER_ACTIONS.events]);
    const all = statements.flatMap((s) => [s.Action].flat()).sort();
    expect(all).toEqual(['dynamodb:PutItem', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments'].sort());
  });

  it('tells metering its tables, rules and the secret name, never a secret value', () => {
    const variables = stack.resources()[logicalIdOf('MeteringFunction', 'AWS::Lambda::Function')]!.Properties.Environment.Variables;
    expect(Object.keys(variables).sort()).toEqual([
      'CUSTOMERS_TABLE',
      'EVENTS_TABLE',
      'POWERTOOLS_METRICS_NAMESPACE',
      'POWERTOOLS_SERVICE_NAME',
      'STRIPE_API_KEY_SECRET_ID',
      // cdk.json sets tollgate:alerts: the rules (docs/alerts.md).
      'TOLLGATE_ALERT_RULES',
      'TOLLGATE_METERING_WINDOW_SECONDS',
      'TOLLGATE_PLANS',
      'TOLLGATE_ROUTES',
      'USAGE_TABLE',
    ]);
    expect(variables.STRIPE_API_KEY_SECRET_ID).toBe('tollgate/stripe-api-key');
    // The authorizer's encoding, read back by the function's own loader: the sample's cost route and plans.
    const settings = loadMeteringSettings({ ...variables, CUSTOMERS_TABLE: 'c', EVENTS_TABLE: 'e', USAGE_TABLE: 'u' });
    expect(settings.window.seconds).toBe(60);
    expect(settings.rules.routes).toEqual([{ method: 'GET', path: '/v1/search', cost: 1 }]);
    expect(settings.rules.plans.sample_metered).toMatchObject({ quota: 20, overage: 'block' });
    expect(settings.stripeApiKeySecretId).toBe('tollgate/stripe-api-key');
    expect(JSON.stringify(stack.synthesized().template.toJSON())).not.toMatch(/sk_(test|live)_/);
  });

  it('leaves the Stripe key out of metering when none is configured', () => {
    const plain = synth().template.toJSON().Resources as Record<string, Resource>;
    const fn = Object.entries(plain).find(([id, r]) => id.startsWith('MeteringFunction') && r.Type === 'AWS::Lambda::Function')![1];
    expect(fn.Properties.Environment.Variables.STRIPE_API_KEY_SECRET_ID).toBeUndefined();
  });
});
