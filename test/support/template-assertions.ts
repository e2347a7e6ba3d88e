import { resourceLookups, type Resource } from './synth';

/**
 * The template assertions every tollgate stack must pass, whoever builds it: this repository's app
 * (test/stack/tollgate-stack.test.ts) and a fresh CDK app that installed the packed package and added the
 * construct (test/package/pack.test.ts). Each function's whole policy spelled out, the gateway
 * responses, no secret value in any environment, `*` only for X-Ray, and the layout migration run
 * before every function that reads the customers table. `prefix`: the construct's id when it is not
 * the stack itself (its resources' logical ids start with it); `stage`: the stage name.
 */
export interface TemplateShape {
  /** @default '' */
  readonly prefix?: string;
  /** @default 'prod' */
  readonly stage?: string;
  /** Policies of functions the configuration adds or changes (tollgate:alerts' function with a webhook). @default - none */
  readonly extraPolicies?: ReadonlyArray<[string, string[]]>;
}

const XRAY = 'xray:PutTelemetryRecords xray:PutTraceSegments on *';
const ATTRIBUTES = (operator: string, attributes: readonly string[]): string => ` if ${JSON.stringify({ [`ForAllValues:${operator}`]: { 'dynamodb:Attributes': attributes } })}`;

/** Each function's whole policy (by logical id prefix, after the construct's): a new grant, a wider resource or a lost condition fails. */
export function expectedPolicies(stage = 'prod', eventsTableId = 'PaymentStateEventLedger5DAFA975'): Array<[string, string[]]> {
  const FLUSH = `apigateway:DELETE on arn:<Partition>:apigateway:<Region>::/restapis/Api/stages/${stage}/cache/authorizers`;
  return [
    ['Authorizer', [
      // A cost route's one read: the customer item and its wallet (BatchGetItem); a strict route's customer item (GetItem).
      'dynamodb:BatchGetItem dynamodb:GetItem on PaymentStateCustomers',
      // A strict reservation: on wallet items only (never a customer item), their balance, pending entries,
      // budgets (the reservation spends them and starts their windows: lambda/shared/budgets.ts), the grants it
      // draws from (lambda/shared/credit-grants.ts) and the sweep's mark (lambda/shared/customers/pending-sweep.ts) only.
      `dynamodb:UpdateItem on PaymentStateCustomers if ${JSON.stringify({ 'ForAllValues:StringLike': { 'dynamodb:Attributes': ['customerId', 'balance', 'p_*', 'budget', 'budget_*', 'budgetLeft', 'budgetLeft_*', 'grants', 'sweepShard', 'sweepAt', 'reservations'], 'dynamodb:LeadingKeys': ['*#wallet'] } })}`,
      // Signs the challenges of a 402's offers (cdk.json sells the sample pack to agents).
      'secretsmanager:DescribeSecret secretsmanager:GetSecretValue on AgentPaymentsSecret',
      XRAY,
    ]],
    // The budget route (PUT/DELETE /tollgate/budget) writes the caller's budgets on its wallet item and nothing else.
    ['Usage', ['dynamodb:GetItem on PaymentStateCustomers', `dynamodb:UpdateItem on PaymentStateCustomers if ${JSON.stringify({ 'ForAllValues:StringLike': { 'dynamodb:Attributes': ['customerId', 'budget', 'budget_*', 'budgetLeft', 'budgetLeft_*'], 'dynamodb:LeadingKeys': ['*#wallet'] } })}`, XRAY]],
    ['StripeWebhook', [
      FLUSH,
      'dynamodb:GetItem dynamodb:PutItem dynamodb:UpdateItem on PaymentStateEventLedger',
      'dynamodb:GetItem dynamodb:UpdateItem on PaymentStateCustomers',
      'secretsmanager:DescribeSecret secretsmanager:GetSecretValue on arn:<Partition>:secretsmanager:<Region>:<AccountId>:secret:tollgate/stripe-webhook-secret-??????',
      XRAY,
    ]],
    ['Portal', [
      FLUSH,
      'dynamodb:DeleteItem dynamodb:GetItem dynamodb:PutItem dynamodb:UpdateItem on PaymentStateEventLedger if {"ForAllValues:StringLike":{"dynamodb:LeadingKeys":["checkout#*","session#*","flush-limit#*","flush#*","alert#*"]}}',
      'dynamodb:GetItem dynamodb:PutItem on PaymentStateApiKeys',
      'dynamodb:GetItem on PaymentStateCustomers',
      `dynamodb:UpdateItem on PaymentStateCustomers${ATTRIBUTES('StringLike', ['customerId', 'keysVersion', 'key_*', 'topUp'])}`,
      // The account page's budget form: the customer's budgets on its wallet item, as the budget route writes them.
      `dynamodb:UpdateItem on PaymentStateCustomers if ${JSON.stringify({ 'ForAllValues:StringLike': { 'dynamodb:Attributes': ['customerId', 'budget', 'budget_*', 'budgetLeft', 'budgetLeft_*'], 'dynamodb:LeadingKeys': ['*#wallet'] } })}`,
      'secretsmanager:DescribeSecret secretsmanager:GetSecretValue on PortalSessionSecret',
      XRAY,
    ]],
    ['Clock', [
      FLUSH,
      'dynamodb:GetItem dynamodb:UpdateItem on PaymentStateEventLedger',
      // The sweep of reservations nobody settled: the wallets due (its index alone), read and given back (to the grants drawn), wallet items only.
      'dynamodb:Query on PaymentStateCustomers/index/pendingSweep',
      'dynamodb:GetItem on PaymentStateCustomers if {"ForAllValues:StringLike":{"dynamodb:LeadingKeys":["*#wallet"]}}',
      `dynamodb:UpdateItem on PaymentStateCustomers if ${JSON.stringify({ 'ForAllValues:StringLike': { 'dynamodb:Attributes': ['customerId', 'balance', 'p_*', 'grants', 'sweepShard', 'sweepAt', 'reservations'], 'dynamodb:LeadingKeys': ['*#wallet'] } })}`,
      XRAY,
    ]],
    // Alerts (cdk.json sets tollgate:alerts, no webhook, no e-mail): the events table's stream, the sent_* marks on alert items, the bus.
    ['AlertsFunction', [
      `dynamodb:DescribeStream dynamodb:GetRecords dynamodb:GetShardIterator dynamodb:ListStreams on ${JSON.stringify({ 'Fn::GetAtt': [eventsTableId, 'StreamArn'] })}`,
      `dynamodb:UpdateItem on PaymentStateEventLedger if ${JSON.stringify({ 'ForAllValues:StringEquals': { 'dynamodb:Attributes': ['eventId', 'sent_events', 'sent_webhook', 'sent_email'] }, 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['alert#*'] } })}`,
      'events:PutEvents on AlertsBus',
      XRAY,
    ]],
    ['MeteringFunction', [
      // The usage counters of the customer item, and the wallet's balance, pending reservations and budgets (never the legacy credits attribute).
      'dynamodb:ConditionCheckItem dynamodb:UpdateItem on PaymentStateCustomers' + ATTRIBUTES('StringLike', ['customerId', 'periodUsage', 'periodUsed', 'usagePeriodEnd', 'prevPeriodEnd', 'prevPeriodUsed', 'meteredWindow', 'agentPayment', 'topUp', 'paymentRecovery', 'balance', 'p_*', 'budget', 'budget_*', 'budgetLeft', 'budgetLeft_*', 'grants']),
      'dynamodb:GetItem dynamodb:PutItem dynamodb:UpdateItem on PaymentStateEventLedger',
      'dynamodb:ConditionCheckItem dynamodb:GetItem dynamodb:PutItem dynamodb:Query dynamodb:UpdateItem on PaymentStateUsageWindows',
      'dynamodb:GetItem on PaymentStateCustomers',
      'lambda:InvokeFunction on MeteringDeadLetter MeteringDeadLetter:*',
      XRAY,
    ]],
    ['MeteringDeadLetter', ['dynamodb:PutItem on PaymentStateEventLedger', 'sqs:GetQueueAttributes sqs:GetQueueUrl sqs:SendMessage on MeteringUnparked', XRAY]],
    ['SampleBackend', [XRAY]],
    // A tool call is its route's call through the API: nothing beyond its logs and traces.
    ['Mcp', [XRAY]],
    // The layout migration at deploy: reads the customers, writes the moved attributes and its own layout item's, nothing else.
    ['LayoutFunction', [
      'dynamodb:GetItem dynamodb:Scan on PaymentStateCustomers',
      `dynamodb:UpdateItem on PaymentStateCustomers${ATTRIBUTES('StringEquals', ['customerId', 'credits', 'balance', 'version', 'target', 'progress', 'migrated', 'request', 'runs'])}`,
      XRAY,
    ]],
    // Selling to agents: a presenting key's customer, the credits grant, a new key, the challenge claims, and the secret it verifies challenges with.
    ['Purchase', [
      'dynamodb:DeleteItem dynamodb:PutItem dynamodb:UpdateItem on PaymentStateEventLedger',
      'dynamodb:GetItem dynamodb:UpdateItem on PaymentStateCustomers',
      'dynamodb:PutItem on PaymentStateApiKeys',
      'secretsmanager:DescribeSecret secretsmanager:GetSecretValue on AgentPaymentsSecret',
      XRAY,
    ]],
  ];
}

/** A resource as a reader names it: logical ids without their hash (and the construct's prefix), ARNs joined, the account's references as <Partition>, <Region>, <AccountId>. */
export const resourceName = (resource: unknown, prefix = ''): string =>
  JSON.stringify(resource)
    .replace(/\{"Fn::GetAtt":\["(\w+?)[0-9A-F]{8}","Arn"\]\}/g, '$1')
    .replace(/\{"Ref":"AWS::(\w+)"\}/g, '<$1>')
    .replace(/\{"Ref":"(\w+?)[0-9A-F]{8}"\}/g, '$1')
    .replace(/\{"Fn::Join":\["",\[(.*?)\]\]\}/g, (_, parts: string) => parts.replace(/[",]/g, ''))
    .replace(/^"|"$/g, '')
    .replace(prefix === '' ? /^\b$/ : new RegExp(`\\b${prefix}(?=[A-Z])`, 'g'), '');

/** Lookups over a template's resources, by logical id after the construct's prefix. */
export function templateLookups(resources: () => Record<string, Resource>, prefix = '') {
  const lookups = resourceLookups(resources);
  const statementsOf = (functionPrefix: string): any[] => lookups.statementsOf(prefix + functionPrefix);
  /** Every statement of a function's role, as `actions on resources [if condition]`, sorted. */
  const policyOf = (functionPrefix: string): string[] =>
    statementsOf(functionPrefix)
      .map((s) => {
        expect(s.Effect).toBe('Allow');
        const condition = s.Condition === undefined ? '' : ` if ${JSON.stringify(s.Condition)}`;
        return `${[s.Action].flat().sort().join(' ')} on ${[s.Resource].flat().map((r) => resourceName(r, prefix)).join(' ')}${condition}`;
      })
      .sort();
  return { ...lookups, statementsOf, policyOf, logicalIdOf: (name: string, type: string) => lookups.logicalIdOf(prefix + name, type) };
}

/** Runs every assertion above on one template's resources. */
export function expectTollgateTemplate(resources: Record<string, Resource>, shape: TemplateShape = {}): void {
  const prefix = shape.prefix ?? '';
  const { ofType, logicalIdOf, policyOf } = templateLookups(() => resources, prefix);
  const unprefixed = (id: string): string => id.slice(prefix.length).replace(/[0-9A-F]{8}$/, '');

  // Each function's whole policy, and a policy row for every function.
  // A configuration's own policy of a function replaces the default one. Policies name resources without the construct's prefix.
  const extra = shape.extraPolicies ?? [];
  const policies = [...expectedPolicies(shape.stage, logicalIdOf('PaymentStateEventLedger', 'AWS::DynamoDB::GlobalTable').slice(prefix.length)).filter(([fn]) => !extra.some(([name]) => name === fn)), ...extra];
  for (const [fn, expected] of policies) expect({ fn, policy: policyOf(fn) }).toEqual({ fn, policy: [...expected].sort() });
  const tested = policies.map(([fn]) => fn);
  expect(ofType('AWS::Lambda::Function').map(([id]) => tested.find((name) => unprefixed(id).startsWith(name)) ?? id).sort()).toEqual([...tested].sort());

  // `*` only for X-Ray, which has no resource-level permissions.
  for (const [, policy] of ofType('AWS::IAM::Policy')) {
    for (const statement of policy.Properties.PolicyDocument.Statement) {
      if ([statement.Resource].flat().includes('*')) expect([statement.Action].flat().sort()).toEqual(['xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
    }
  }

  // No secret value in any environment: secrets are named, and read from Secrets Manager.
  for (const [, fn] of ofType('AWS::Lambda::Function')) {
    for (const value of Object.values(fn.Properties.Environment?.Variables ?? {})) expect(JSON.stringify(value)).not.toMatch(/whsec_|sk_(live|test)_|rk_(live|test)_/);
  }

  // The gateway responses: problem+json, no-store, the 402 and its retries.
  const [api, ...apis] = ofType('AWS::ApiGateway::RestApi');
  expect(apis).toEqual([]);
  const responses: Record<string, any> = api![1].Properties.Body['x-amazon-apigateway-gateway-responses'];
  expect(Object.fromEntries(Object.entries(responses).map(([type, r]) => [type, r.statusCode ?? null]))).toEqual({
    ACCESS_DENIED: '402',
    UNAUTHORIZED: '401',
    AUTHORIZER_FAILURE: '503',
    AUTHORIZER_CONFIGURATION_ERROR: '503',
    THROTTLED: '429',
    DEFAULT_4XX: null,
    DEFAULT_5XX: null,
  });
  for (const response of Object.values(responses)) {
    expect(response.responseParameters).toMatchObject({ 'gatewayresponse.header.Content-Type': "'application/problem+json'", 'gatewayresponse.header.Cache-Control': "'no-store'" });
  }
  for (const type of ['AUTHORIZER_FAILURE', 'AUTHORIZER_CONFIGURATION_ERROR', 'THROTTLED']) expect(responses[type].responseParameters['gatewayresponse.header.Retry-After']).toBe("'1'");
  expect(responses.ACCESS_DENIED.responseTemplates['application/json']).toContain('"status":402');

  // The layout migration: one custom resource, every function reading the customers table deployed after it.
  const layout = logicalIdOf('Layout', 'Custom::TollgateLayout');
  const customers = logicalIdOf('PaymentStateCustomers', 'AWS::DynamoDB::GlobalTable');
  for (const [id, fn] of ofType('AWS::Lambda::Function')) {
    const reads = JSON.stringify(fn.Properties.Environment ?? {}).includes(customers);
    const isMigration = unprefixed(id) === 'LayoutFunction';
    expect({ id, waits: (fn.DependsOn ?? []).includes(layout) }).toEqual({ id, waits: reads && !isMigration });
  }
}
