import { loadMeteringSettings } from '../../lambda/metering/settings';
import { loadAlertsSettings } from '../../lambda/alerts/settings';
import { expectTollgateTemplate, templateLookups } from '../support/template-assertions';
import { synth, synthInBeforeAll } from '../support/synth';

const IDENTITY = 'arn:aws:ses:eu-west-1:123456789012:identity/example.com';
const XRAY = 'xray:PutTelemetryRecords xray:PutTraceSegments on *';
const ALERTS = {
  quota: [50, 80, 100],
  creditsBelow: [100],
  webhookUrl: 'https://seller.example.com/tollgate-alerts',
  email: { from: 'billing@example.com', identityArn: IDENTITY },
};
const stack = synthInBeforeAll({ 'tollgate:stripeApiKeySecretName': 'tollgate/stripe-api-key', 'tollgate:alerts': ALERTS, 'tollgate:publicUrl': 'https://api.example.com/prod' });
const { ofType, logicalIdOf } = stack;
const { policyOf } = templateLookups(stack.resources);

/** The alerts function's policy without e-mail: the stream, its marks on alert items, the bus, the webhook secret. */
const ALERTS_POLICY = [
  // Its stream, and nothing else of the table's: the mapping polls it as the function.
  `dynamodb:DescribeStream dynamodb:GetRecords dynamodb:GetShardIterator dynamodb:ListStreams on ${JSON.stringify({ 'Fn::GetAtt': ['PaymentStateEventLedger5DAFA975', 'StreamArn'] })}`,
  // The `sent_<channel>` marks, on alert items only.
  `dynamodb:UpdateItem on PaymentStateEventLedger if ${JSON.stringify({ 'ForAllValues:StringEquals': { 'dynamodb:Attributes': ['eventId', 'sent_events', 'sent_webhook', 'sent_email'] }, 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['alert#*'] } })}`,
  'events:PutEvents on AlertsBus',
  'secretsmanager:GetSecretValue on AlertsWebhookSigningSecret',
  XRAY,
];

describe('alerts in the stack (tollgate:alerts set)', () => {
  it("passes every template assertion with cdk.json's context (cdk-nag ran at synth), the alerts function holding exactly its own calls", () => {
    const { email: _email, ...withoutEmail } = ALERTS;
    const { template } = synth({ 'tollgate:alerts': withoutEmail });
    expectTollgateTemplate(template.toJSON().Resources, { extraPolicies: [['AlertsFunction', ALERTS_POLICY]] });
  });

  it("with e-mail, adds exactly SES on the sending identity and the read of the Stripe key (the customer's address)", () => {
    expect(policyOf('AlertsFunction')).toEqual(
      [...ALERTS_POLICY, `ses:SendEmail on ${IDENTITY}`, 'secretsmanager:DescribeSecret secretsmanager:GetSecretValue on arn:<Partition>:secretsmanager:<Region>:<AccountId>:secret:tollgate/stripe-api-key-??????'].sort(),
    );
  });

  it("creates the seller's event bus, and grants PutEvents on that bus only", () => {
    expect(ofType('AWS::Events::EventBus')).toHaveLength(1);
    expect(policyOf('AlertsFunction').filter((s) => s.startsWith('events:'))).toEqual(['events:PutEvents on AlertsBus']);
  });

  it('scopes SES to the configured sending identity: one action, one resource', () => {
    const ses = ofType('AWS::IAM::Policy').flatMap(([, p]) => p.Properties.PolicyDocument.Statement as any[]).filter((s) => JSON.stringify(s.Action).includes('ses:'));
    expect(ses).toEqual([expect.objectContaining({ Action: 'ses:SendEmail', Resource: IDENTITY })]);
  });

  it('keeps the webhook signing secret in Secrets Manager, generated, named (not valued) in the environment', () => {
    const [[id, secret]] = ofType('AWS::SecretsManager::Secret').filter(([key]) => key.startsWith('AlertsWebhookSigningSecret')) as [[string, any]];
    expect(secret.Properties.GenerateSecretString).toMatchObject({ PasswordLength: 64 });
    const fn = stack.resources()[logicalIdOf('AlertsFunction', 'AWS::Lambda::Function')]!;
    const env = fn.Properties.Environment.Variables;
    // The secret's name (derived from its ARN), never its value.
    expect(JSON.stringify(env.TOLLGATE_ALERT_WEBHOOK_SECRET_ID)).toContain(`{"Ref":"${id}"}`);
    expect(JSON.stringify(env)).not.toMatch(/SecretString|resolve:secretsmanager/);
    const settings = loadAlertsSettings({ ...env, EVENTS_TABLE: 'events', TOLLGATE_ALERT_BUS: 'bus', TOLLGATE_ALERT_WEBHOOK_SECRET_ID: 'secret', STRIPE_API_KEY_SECRET_ID: 'key' });
    expect(settings).toMatchObject({ webhook: { url: ALERTS.webhookUrl }, email: { from: 'billing@example.com', identityArn: IDENTITY }, accountUrl: 'https://api.example.com/prod/tollgate/portal/account' });
  });

  it("invokes the function from the events table's new images, alert inserts only, retried per record", () => {
    const table = stack.resources()[logicalIdOf('PaymentStateEventLedger', 'AWS::DynamoDB::GlobalTable')]!;
    expect(table.Properties.StreamSpecification).toEqual({ StreamViewType: 'NEW_IMAGE' });
    const [[, mapping]] = ofType('AWS::Lambda::EventSourceMapping') as [[string, any]];
    expect(mapping.Properties).toMatchObject({ BisectBatchOnFunctionError: true, FunctionResponseTypes: ['ReportBatchItemFailures'], MaximumRetryAttempts: 20, MaximumRecordAgeInSeconds: 86_400 });
    expect(JSON.parse(mapping.Properties.FilterCriteria.Filters[0].Pattern)).toEqual({ eventName: ['INSERT'], dynamodb: { Keys: { eventId: { S: [{ prefix: 'alert#' }] } } } });
  });

  it('gives metering the rules in its environment, which it reads back as configured', () => {
    const fn = stack.resources()[logicalIdOf('MeteringFunction', 'AWS::Lambda::Function')]!;
    const env = Object.fromEntries(Object.entries(fn.Properties.Environment.Variables as Record<string, unknown>).map(([k, v]) => [k, typeof v === 'string' ? v : 'table']));
    expect(loadMeteringSettings(env).alertRules).toEqual({ quota: [50, 80, 100], creditsBelow: [100], budget: [100], paymentRecovered: true });
  });
});

describe('alerts in the stack (tollgate:alerts not set)', () => {
  it('builds no bus, no alerts function and no stream, and metering gets no rules', () => {
    // The sample's cdk.json sets it: unset here.
    const { template } = synth({ 'tollgate:alerts': null });
    template.resourceCountIs('AWS::Events::EventBus', 0);
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 0);
    expect(JSON.stringify(template.toJSON())).not.toMatch(/StreamSpecification|TOLLGATE_ALERT/);
  });
});
