import { Match } from 'aws-cdk-lib/assertions';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { synth, synthInBeforeAll, type Resource } from '../support/synth';
import { expectedPolicies, expectTollgateTemplate, templateLookups } from '../support/template-assertions';

const stack = synthInBeforeAll();
const { ofType, logicalIdOf, statementsOf: policyStatements } = stack;
const { policyOf } = templateLookups(stack.resources);
let body: any;
const actionsOf = (statements: any[]): string[] => statements.flatMap((s) => [s.Action].flat());

beforeAll(() => {
  body = ofType('AWS::ApiGateway::RestApi')[0]![1].Properties.Body;
});

describe('gateway responses', () => {
  const responses = (): Record<string, any> => body['x-amazon-apigateway-gateway-responses'];

  it.each([
    ['ACCESS_DENIED', '402'],
    ['UNAUTHORIZED', '401'],
    ['AUTHORIZER_FAILURE', '503'],
    ['AUTHORIZER_CONFIGURATION_ERROR', '503'],
    ['THROTTLED', '429'],
  ])('maps %s to %s', (type, status) => {
    expect(responses()[type].statusCode).toBe(status);
  });

  it('keeps the status of DEFAULT_4XX and DEFAULT_5XX', () => {
    expect(responses().DEFAULT_4XX.statusCode).toBeUndefined();
    expect(responses().DEFAULT_5XX.statusCode).toBeUndefined();
  });

  it('gives every response problem+json, no-store and its own CORS headers', () => {
    expect(Object.keys(responses()).sort()).toEqual(
      ['ACCESS_DENIED', 'AUTHORIZER_CONFIGURATION_ERROR', 'AUTHORIZER_FAILURE', 'DEFAULT_4XX', 'DEFAULT_5XX', 'THROTTLED', 'UNAUTHORIZED'],
    );
    for (const response of Object.values(responses())) {
      expect(response.responseParameters).toMatchObject({
        'gatewayresponse.header.Content-Type': "'application/problem+json'",
        'gatewayresponse.header.Cache-Control': "'no-store'",
        'gatewayresponse.header.Access-Control-Allow-Origin': "'*'",
      });
      expect(Object.keys(response.responseTemplates)).toEqual(['application/json']);
    }
  });

  it('carries the authorizer context and the request id in the 402 body', () => {
    const template: string = responses().ACCESS_DENIED.responseTemplates['application/json'];
    for (const field of ['reason', 'title', 'detail', 'subscriptionStatus', 'paymentUrl']) {
      expect(template).toContain(`"${field}":"$context.authorizer.${field}"`);
    }
    for (const field of ['limit', 'used', 'resetsAt', 'balance']) expect(template).toContain(`"${field}":$context.authorizer.${field}`);
    expect(template).toContain('"status":402');
    expect(template).toContain('"requestId":"$context.requestId"');
    // By default the type URI names the stack's own problem page, on the domain and stage the caller used.
    expect(template).toContain('"type":"https://$context.domainName/$context.stage/tollgate/problems/$context.authorizer.reason"');
  });

  it('asks clients to retry 503 and 429 after a delay, and 401 for a bearer key', () => {
    expect(responses().AUTHORIZER_FAILURE.responseParameters['gatewayresponse.header.Retry-After']).toBe("'1'");
    expect(responses().AUTHORIZER_CONFIGURATION_ERROR.responseParameters['gatewayresponse.header.Retry-After']).toBe("'1'");
    expect(responses().THROTTLED.responseParameters['gatewayresponse.header.Retry-After']).toBe("'1'");
    expect(responses().UNAUTHORIZED.responseParameters['gatewayresponse.header.WWW-Authenticate']).toBe('\'Bearer realm="tollgate"\'');
  });

  it('renders every template as JSON once variables are substituted', () => {
    for (const response of Object.values(responses())) {
      const rendered = (response.responseTemplates['application/json'] as string)
        .replace(/\$context\.error\.messageString/g, '"Forbidden"')
        // The usage fields are raw JSON literals the authorizer sets (a number, a quoted string or null).
        .replace(/\$context\.authorizer\.(limit|used|resetsAt|balance)\b/g, 'null')
        // The offers to agents: a JSON array the authorizer sets (lambda/authorizer/offers.ts).
        .replace(/\$context\.authorizer\.offers\b/g, '[]')
        .replace(/\$context\.[A-Za-z.]+/g, 'x');
      expect(() => JSON.parse(rendered)).not.toThrow();
    }
  });
});

describe('authorizer wiring', () => {
  it('declares a REQUEST authorizer on the Authorization header with the configured TTL', () => {
    const scheme = body.components.securitySchemes.tollgateApiKey;
    expect(scheme).toMatchObject({ type: 'apiKey', name: 'Authorization', in: 'header', 'x-amazon-apigateway-authtype': 'custom' });
    expect(scheme['x-amazon-apigateway-authorizer']).toMatchObject({
      type: 'request',
      identitySource: 'method.request.header.Authorization',
      authorizerResultTtlInSeconds: 300,
    });
    const uri = JSON.stringify(scheme['x-amazon-apigateway-authorizer'].authorizerUri);
    expect(uri).toContain(logicalIdOf('Authorizer', 'AWS::Lambda::Function'));
    expect(uri).toContain('/invocations');
  });

  it('declares one authorizer per group, all the same function: standing and metered cached, strict never', () => {
    const document = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'api', 'openapi.json'), 'utf8'));
    document.paths['/v1/search'].get['x-tollgate'] = { requires: 'subscription', cost: 5, strict: true };
    document.paths['/v1/ask'] = { post: { 'x-tollgate': { requires: 'subscription', cost: 2 }, responses: { '200': { description: 'ok' } } } };
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'tollgate-groups-')), 'openapi.json');
    writeFileSync(file, JSON.stringify(document));
    const { template } = synth({ 'tollgate:openApiDocument': file });
    const api = Object.values(template.findResources('AWS::ApiGateway::RestApi'))[0] as Resource;
    const schemes = api.Properties.Body.components.securitySchemes;
    expect(Object.keys(schemes).sort()).toEqual(['tollgateApiKey', 'tollgateMetered', 'tollgateStrict']);
    const ttl = (name: string): number => schemes[name]['x-amazon-apigateway-authorizer'].authorizerResultTtlInSeconds;
    // Standing routes cached the configured TTL (flushed when access opens or closes), routes sold by use a
    // second (no flush ever needed), strict routes never.
    expect([ttl('tollgateApiKey'), ttl('tollgateMetered'), ttl('tollgateStrict')]).toEqual([300, 1, 0]);
    const uris = new Set(Object.values(schemes).map((s: any) => JSON.stringify(s['x-amazon-apigateway-authorizer'].authorizerUri)));
    expect(uris.size).toBe(1);
    const paths = api.Properties.Body.paths;
    expect(paths['/v1/quotes'].get.security).toEqual([{ tollgateApiKey: [] }]);
    expect(paths['/v1/search'].get.security).toEqual([{ tollgateStrict: [] }]);
    expect(paths['/v1/ask'].post.security).toEqual([{ tollgateMetered: [] }]);
    expect(paths['/tollgate/usage'].get.security).toEqual([{ tollgateApiKey: [] }]);
  });

  it('applies the TTL from -c tollgate:authorizerCacheTtlSeconds', () => {
    const { template } = synth({ 'tollgate:authorizerCacheTtlSeconds': '0' });
    const api = Object.values(template.findResources('AWS::ApiGateway::RestApi'))[0] as Resource;
    expect(api.Properties.Body.components.securitySchemes.tollgateApiKey['x-amazon-apigateway-authorizer'].authorizerResultTtlInSeconds).toBe(0);
  });

  it('passes the secured routes and grace period to the authorizer, and nothing secret', () => {
    const env = stack.resources()[logicalIdOf('Authorizer', 'AWS::Lambda::Function')]!.Properties.Environment.Variables;
    expect(JSON.parse(env.TOLLGATE_ROUTES)).toEqual([
      ['GET', '/v1/ping', 'key'],
      ['GET', '/v1/quotes', 'subscription'],
      ['GET', '/v1/reports/{reportId}', 'entitlement:premium-reports'],
      ['GET', '/v1/search', 'subscription', 1, 0],
      ['GET', '/tollgate/usage', 'key'],
      ['PUT', '/tollgate/budget', 'key'],
      ['DELETE', '/tollgate/budget', 'key'],
      // The MCP endpoint: any valid credential (its tool calls are decided as their own routes).
      ['POST', '/mcp', 'key'],
      ['GET', '/mcp', 'key'],
      ['DELETE', '/mcp', 'key'],
    ]);
    expect(JSON.parse(env.TOLLGATE_PLANS)).toEqual({ pro: ['Pro', null, 'block'], sample_metered: ['Metered', 20, 'block'] });
    expect(env.TOLLGATE_GRACE_PERIOD_HOURS).toBe('72');
    expect(env.CUSTOMERS_TABLE).toEqual({ Ref: logicalIdOf('PaymentStateCustomers', 'AWS::DynamoDB::GlobalTable') });
  });
});

describe('routes', () => {
  const operation = (path: string, method: string): any => body.paths[path]?.[method];

  it.each([
    ['/v1/ping', 'get'],
    ['/v1/quotes', 'get'],
    ['/v1/reports/{reportId}', 'get'],
  ])('secures %s %s with the authorizer', (path, method) => {
    expect(operation(path, method).security).toEqual([{ tollgateApiKey: [] }]);
    expect(operation(path, method)['x-amazon-apigateway-integration']).toMatchObject({ type: 'aws_proxy', httpMethod: 'POST' });
  });

  it.each([
    ['/v1/status', 'get'],
    ['/webhooks/stripe', 'post'],
    ['/v1/ping', 'options'],
    ['/v1/quotes', 'options'],
    ['/v1/reports/{reportId}', 'options'],
    ['/v1/status', 'options'],
  ])('leaves %s %s without an authorizer', (path, method) => {
    expect(operation(path, method)).toBeDefined();
    expect(operation(path, method).security).toBeUndefined();
  });

  it('has no root-level security (API Gateway ignores it)', () => {
    expect(body.security).toBeUndefined();
  });

  it('sends the webhook to the webhook function and the API to the backend', () => {
    const webhookUri = JSON.stringify(operation('/webhooks/stripe', 'post')['x-amazon-apigateway-integration'].uri);
    expect(webhookUri).toContain(logicalIdOf('StripeWebhook', 'AWS::Lambda::Function'));
    const backendUri = JSON.stringify(operation('/v1/quotes', 'get')['x-amazon-apigateway-integration'].uri);
    expect(backendUri).toContain(logicalIdOf('SampleBackend', 'AWS::Lambda::Function'));
  });

  it('answers CORS preflight from a mock integration', () => {
    const preflight = operation('/v1/quotes', 'options')['x-amazon-apigateway-integration'];
    expect(preflight.type).toBe('mock');
    expect(preflight.responses.default.responseParameters).toMatchObject({
      'method.response.header.Access-Control-Allow-Origin': "'*'",
      'method.response.header.Access-Control-Allow-Headers': "'Authorization,Content-Type'",
      'method.response.header.Access-Control-Allow-Methods': "'GET,OPTIONS'",
    });
  });

  it('applies the CORS configuration to preflights and gateway responses', () => {
    const { template } = synth({ 'tollgate:corsAllowHeaders': 'Content-Type,X-Request-Id', 'tollgate:corsMaxAgeSeconds': 60, 'tollgate:corsAllowMethods': ['GET'] });
    const api = Object.values(template.findResources('AWS::ApiGateway::RestApi'))[0] as Resource;
    expect(api.Properties.Body.paths['/v1/quotes'].options['x-amazon-apigateway-integration'].responses.default.responseParameters).toMatchObject({
      'method.response.header.Access-Control-Allow-Headers': "'Authorization,Content-Type,X-Request-Id'",
      'method.response.header.Access-Control-Allow-Methods': "'GET,OPTIONS'",
      'method.response.header.Access-Control-Max-Age': "'60'",
    });
    for (const response of Object.values<any>(api.Properties.Body['x-amazon-apigateway-gateway-responses'])) {
      expect(response.responseParameters['gatewayresponse.header.Access-Control-Allow-Headers']).toBe("'Authorization,Content-Type,X-Request-Id'");
    }
  });

  it('forwards Authorization to an HTTP backend only with tollgate:forwardAuthorization', () => {
    const { template } = synth({ 'tollgate:backendUrl': 'https://api.example.com', 'tollgate:forwardAuthorization': true });
    const api = Object.values(template.findResources('AWS::ApiGateway::RestApi'))[0] as Resource;
    const parameters = api.Properties.Body.paths['/v1/quotes'].get['x-amazon-apigateway-integration'].requestParameters;
    expect(parameters['integration.request.header.Authorization']).toBeUndefined();
    expect(parameters['integration.request.header.X-Tollgate-Customer-Id']).toBe('context.authorizer.customerId');
  });

  it('proxies to an HTTP backend when tollgate:backendUrl is set, with the caller\'s identity and without its key', () => {
    const { template } = synth({ 'tollgate:backendUrl': 'https://api.example.com/base' });
    const api = Object.values(template.findResources('AWS::ApiGateway::RestApi'))[0] as Resource;
    expect(api.Properties.Body.paths['/v1/reports/{reportId}'].get['x-amazon-apigateway-integration']).toEqual({
      type: 'http_proxy',
      httpMethod: 'GET',
      uri: 'https://api.example.com/base/v1/reports/{reportId}',
      passthroughBehavior: 'when_no_match',
      requestParameters: {
        'integration.request.path.reportId': 'method.request.path.reportId',
        'integration.request.header.X-Tollgate-Customer-Id': 'context.authorizer.customerId',
        'integration.request.header.X-Tollgate-Key-Id': 'context.authorizer.keyId',
        'integration.request.header.X-Tollgate-Plan': 'context.authorizer.plan',
        'integration.request.header.X-Tollgate-Subscription-Status': 'context.authorizer.subscriptionStatus',
        'integration.request.header.X-Tollgate-Payment-Warning': 'context.authorizer.paymentWarning',
        'integration.request.header.X-Tollgate-Current-Period-End': 'context.authorizer.currentPeriodEnd',
        'integration.request.header.Authorization': "'redacted-by-tollgate'",
      },
    });
    template.resourcePropertiesCountIs('AWS::Lambda::Function', { Description: 'tollgate sample backend' }, 0);
  });
});

describe('REST API and stage', () => {
  it('overwrites the API from the document', () => {
    stack.synthesized().template.hasResourceProperties('AWS::ApiGateway::RestApi', { Mode: 'overwrite', FailOnWarnings: true });
  });

  it('throttles, traces and writes JSON access logs with the response type and the 402 reason', () => {
    const stage = ofType('AWS::ApiGateway::Stage')[0]![1].Properties;
    expect(stage.StageName).toBe('prod');
    expect(stage.TracingEnabled).toBe(true);
    expect(stage.MethodSettings).toEqual(
      expect.arrayContaining([expect.objectContaining({ ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 })]),
    );
    const format = JSON.parse(stage.AccessLogSetting.Format);
    expect(format).toMatchObject({ responseType: '$context.error.responseType', reason: '$context.authorizer.reason', status: '$context.status' });
  });

  it('throttles the Stripe webhook in its own bucket, apart from the public routes', () => {
    const settings: any[] = ofType('AWS::ApiGateway::Stage')[0]![1].Properties.MethodSettings;
    expect(settings).toContainEqual(expect.objectContaining({ ResourcePath: '/*', HttpMethod: '*', ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 }));
    expect(settings).toContainEqual(
      expect.objectContaining({ ResourcePath: '/~1webhooks~1stripe', HttpMethod: 'POST', ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 }),
    );
    const { template } = synth({ 'tollgate:webhookThrottleRateLimit': '7', 'tollgate:webhookThrottleBurstLimit': 9 });
    const stage = Object.values(template.findResources('AWS::ApiGateway::Stage'))[0] as Resource;
    expect(stage.Properties.MethodSettings).toContainEqual(
      expect.objectContaining({ ResourcePath: '/~1webhooks~1stripe', HttpMethod: 'POST', ThrottlingRateLimit: 7, ThrottlingBurstLimit: 9 }),
    );
  });

  it('grants API Gateway invoke on the integrations and the authorizer (SpecRestApi adds none)', () => {
    const permissions = ofType('AWS::Lambda::Permission').map(([, p]) => p.Properties);
    const forFunction = (prefix: string): any[] =>
      permissions.filter((p) => JSON.stringify(p.FunctionName).includes(logicalIdOf(prefix, 'AWS::Lambda::Function')));
    for (const prefix of ['SampleBackend', 'StripeWebhook']) {
      const [permission, ...rest] = forFunction(prefix);
      expect(rest).toHaveLength(0);
      expect(permission).toMatchObject({ Action: 'lambda:InvokeFunction', Principal: 'apigateway.amazonaws.com' });
      expect(JSON.stringify(permission.SourceArn)).toMatch(/\/\*\/\*\/\*"/);
    }
    const [authorizer, ...others] = forFunction('Authorizer');
    expect(others).toHaveLength(0);
    expect(authorizer).toMatchObject({ Action: 'lambda:InvokeFunction', Principal: 'apigateway.amazonaws.com' });
    expect(JSON.stringify(authorizer.SourceArn)).toContain('/authorizers/*');
  });

  it('outputs the API URL and the Stripe webhook URL', () => {
    const outputs = stack.synthesized().template.toJSON().Outputs;
    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining(['ApiUrl', 'StripeWebhookUrl', 'CustomersTableName', 'ApiKeysTableName', 'EventsTableName', 'UsageTableName', 'RestApiId', 'StageName']),
    );
    expect(JSON.stringify(outputs.StripeWebhookUrl.Value)).toContain('/webhooks/stripe');
  });
});

describe('functions', () => {
  it.each(['Authorizer', 'StripeWebhook', 'SampleBackend', 'Clock'])('runs %s on Node.js 22, arm64, traced', (prefix) => {
    const fn = stack.resources()[logicalIdOf(prefix, 'AWS::Lambda::Function')]!.Properties;
    expect(fn).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], TracingConfig: { Mode: 'Active' } });
  });

  it('keeps secret values out of every environment', () => {
    for (const [, fn] of ofType('AWS::Lambda::Function')) {
      const variables: Record<string, unknown> = fn.Properties.Environment?.Variables ?? {};
      for (const value of Object.values(variables)) {
        expect(JSON.stringify(value)).not.toMatch(/whsec_|sk_(live|test)_|rk_(live|test)_/);
      }
    }
    const webhookEnv = stack.resources()[logicalIdOf('StripeWebhook', 'AWS::Lambda::Function')]!.Properties.Environment.Variables;
    expect(webhookEnv.STRIPE_WEBHOOK_SECRET_ID).toBe('tollgate/stripe-webhook-secret');
    expect(webhookEnv.STRIPE_API_KEY_SECRET_ID).toBeUndefined();
  });

  it('tells the sample backend the configured CORS origin', () => {
    const { template } = synth({ 'tollgate:corsAllowOrigin': 'https://app.example.com' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'tollgate sample backend',
      Environment: { Variables: Match.objectLike({ TOLLGATE_CORS_ALLOW_ORIGIN: 'https://app.example.com' }) },
    });
  });
});

describe('permissions', () => {
  const WRITES = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'];

  it('lets the authorizer read, and update only for strict reservations, only the customers table, and read only the agents\' challenge secret', () => {
    const statements = policyStatements('Authorizer');
    const actions = actionsOf(statements);
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:UpdateItem']));
    for (const write of WRITES.filter((w) => w !== 'dynamodb:UpdateItem')) expect(actions).not.toContain(write);
    // One secret only: the HMAC key of agents' challenges (docs/agents.md), read on a Deny that offers something.
    const secrets = statements.filter((s) => [s.Action].flat().some((a: string) => a.startsWith('secretsmanager:')));
    expect(secrets.map((s) => JSON.stringify(s.Resource))).toEqual([expect.stringContaining(logicalIdOf('AgentPaymentsSecret', 'AWS::SecretsManager::Secret'))]);
    const tables = statements.filter((s) => [s.Action].flat().some((a: string) => a.startsWith('dynamodb:'))).flatMap((s) => [s.Resource].flat());
    const customers = logicalIdOf('PaymentStateCustomers', 'AWS::DynamoDB::GlobalTable');
    for (const resource of tables) expect(JSON.stringify(resource)).toContain(customers);
  });

  it('lets only the webhook write payment state, and read the signing secret', () => {
    const statements = policyStatements('StripeWebhook');
    expect(actionsOf(statements)).toEqual(expect.arrayContaining([...WRITES.slice(0, 2), 'secretsmanager:GetSecretValue']));
    expect(actionsOf(policyStatements('SampleBackend')).filter((a) => a.startsWith('dynamodb:'))).toEqual([]);
    const secret = statements.find((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue'));
    expect(JSON.stringify(secret.Resource)).toContain(':secret:tollgate/stripe-webhook-secret-??????');
  });

  it.each<[string, string[]]>(expectedPolicies())('gives %s exactly the policy it needs', (functionPrefix, expected) => {
    expect(policyOf(functionPrefix)).toEqual([...expected].sort());
  });

  it('has a policy test above for every function of the stack', () => {
    const tested = ['Authorizer', 'Usage', 'StripeWebhook', 'Portal', 'Clock', 'MeteringFunction', 'MeteringDeadLetter', 'SampleBackend', 'Mcp', 'Purchase', 'LayoutFunction', 'AlertsFunction'];
    expect(expectedPolicies().map(([fn]) => fn).sort()).toEqual([...tested].sort());
    expect(ofType('AWS::Lambda::Function').map(([id]) => tested.find((prefix) => id.startsWith(prefix)) ?? id).sort()).toEqual([...tested].sort());
  });

  it('scopes the portal to the ledger items it writes (dynamodb:LeadingKeys), to key attributes of a customer (dynamodb:Attributes) and to the budgets of wallet items (both)', () => {
    const statements = policyStatements('Portal');
    const on = (table: string) => statements.filter((s) => JSON.stringify(s.Resource).includes(logicalIdOf(table, 'AWS::DynamoDB::GlobalTable')));
    // The event ledger: checkout claims, sessions, the flush coordinator's items and a failed top-up's alert, every action on them alone.
    const events = on('PaymentStateEventLedger');
    expect(events).toHaveLength(1);
    expect([events[0].Action].flat().sort()).toEqual(['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    expect(events[0].Condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['checkout#*', 'session#*', 'flush-limit#*', 'flush#*', 'alert#*'] } });
    // The customers table: any item read (the decision the account shows); writes name the key attributes only,
    // or (the account page's budget form) the budgets of a wallet item only.
    const customers = on('PaymentStateCustomers');
    const writes = customers.filter((s) => [s.Action].flat().includes('dynamodb:UpdateItem'));
    expect(writes).toHaveLength(2);
    expect(writes.map((w) => [w.Action].flat())).toEqual([['dynamodb:UpdateItem'], ['dynamodb:UpdateItem']]);
    expect(writes.map((w) => w.Condition)).toEqual([
      { 'ForAllValues:StringLike': { 'dynamodb:Attributes': ['customerId', 'keysVersion', 'key_*', 'topUp'] } },
      { 'ForAllValues:StringLike': { 'dynamodb:Attributes': ['customerId', 'budget', 'budget_*', 'budgetLeft', 'budgetLeft_*'], 'dynamodb:LeadingKeys': ['*#wallet'] } },
    ]);
    const reads = customers.filter((s) => !writes.includes(s));
    expect(reads.flatMap((s) => [s.Action].flat())).toEqual(['dynamodb:GetItem']);
    expect(reads.every((s) => s.Condition === undefined)).toBe(true);
  });

  it('gives the portal its session secret and the cache flush, and no other secret', () => {
    const statements = policyStatements('Portal');
    const secrets = statements.filter((s) => [s.Action].flat().some((a: string) => a.startsWith('secretsmanager:')));
    expect(secrets).toHaveLength(1);
    expect(JSON.stringify(secrets[0].Resource)).toContain(logicalIdOf('PortalSessionSecret', 'AWS::SecretsManager::Secret'));
    const flush = statements.find((s) => s.Action === 'apigateway:DELETE');
    expect(JSON.stringify(flush.Resource)).toContain('/stages/prod/cache/authorizers');
  });

  it('lets the webhook flush exactly this stage\'s authorizer cache', () => {
    const statement = policyStatements('StripeWebhook').find((s) => s.Action === 'apigateway:DELETE');
    const resource = JSON.stringify(statement.Resource);
    expect(resource).toContain(logicalIdOf('Api', 'AWS::ApiGateway::RestApi'));
    expect(resource).toContain('/stages/prod/cache/authorizers');
  });

  it('uses * resources only for X-Ray, which has no resource-level permissions', () => {
    for (const [, policy] of ofType('AWS::IAM::Policy')) {
      for (const statement of policy.Properties.PolicyDocument.Statement) {
        if ([statement.Resource].flat().includes('*')) {
          expect([statement.Action].flat().sort()).toEqual(['xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
        }
      }
    }
  });
});

describe('payment state tables', () => {
  it('creates the customers, API keys, event ledger and usage windows tables', () => {
    expect(ofType('AWS::DynamoDB::GlobalTable')).toHaveLength(4);
    for (const [name, key] of [['PaymentStateCustomers', 'customerId'], ['PaymentStateApiKeys', 'keyId'], ['PaymentStateEventLedger', 'eventId']]) {
      expect(stack.resources()[logicalIdOf(name!, 'AWS::DynamoDB::GlobalTable')]!.Properties.KeySchema).toEqual([{ AttributeName: key, KeyType: 'HASH' }]);
    }
    // Usage windows are read by Query: a window's shard, then its deliveries.
    expect(stack.resources()[logicalIdOf('PaymentStateUsageWindows', 'AWS::DynamoDB::GlobalTable')]!.Properties.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
  });

  it('makes every table on-demand, recoverable, deletion protected and retained', () => {
    for (const [, table] of ofType('AWS::DynamoDB::GlobalTable')) {
      expect(table.DeletionPolicy).toBe('Retain');
      expect(table.UpdateReplacePolicy).toBe('Retain');
      expect(table.Properties.BillingMode).toBe('PAY_PER_REQUEST');
      for (const replica of table.Properties.Replicas) {
        expect(replica.DeletionProtectionEnabled).toBe(true);
        expect(replica.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
      }
    }
  });

  it('expires ledger entries by TTL and nothing else', () => {
    const ledger = stack.resources()[logicalIdOf('PaymentStateEventLedger', 'AWS::DynamoDB::GlobalTable')]!.Properties;
    expect(ledger.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    const customers = stack.resources()[logicalIdOf('PaymentStateCustomers', 'AWS::DynamoDB::GlobalTable')]!.Properties;
    expect(customers.TimeToLiveSpecification).toBeUndefined();
  });
});

describe('layout migration', () => {
  const layoutId = (): string => logicalIdOf('Layout', 'Custom::TollgateLayout');

  it('runs the migration function once per layout version, as a custom resource with no provider framework', () => {
    const [resource, ...others] = ofType('Custom::TollgateLayout').map(([, r]) => r);
    expect(others).toEqual([]);
    expect(resource!.Properties).toEqual({
      ServiceToken: { 'Fn::GetAtt': [logicalIdOf('LayoutFunction', 'AWS::Lambda::Function'), 'Arn'] },
      ServiceTimeout: '3300',
      LayoutVersion: 2,
    });
    expect(ofType('AWS::StepFunctions::StateMachine')).toEqual([]);
  });

  it('gives the migration 15 minutes a run and two retries of the event to resume it', () => {
    const fn = stack.resources()[logicalIdOf('LayoutFunction', 'AWS::Lambda::Function')]!;
    expect(fn.Properties.Timeout).toBe(900);
    const configs = ofType('AWS::Lambda::EventInvokeConfig').filter(([, c]) => c.Properties.FunctionName.Ref === logicalIdOf('LayoutFunction', 'AWS::Lambda::Function'));
    expect(configs.map(([, c]) => c.Properties)).toEqual([{ FunctionName: expect.anything(), MaximumRetryAttempts: 2, Qualifier: '$LATEST' }]);
  });

  it('deploys every function that reads the customers table after the migration, and no other', () => {
    const waiting = ofType('AWS::Lambda::Function')
      .filter(([, fn]) => (fn.DependsOn ?? []).includes(layoutId()))
      .map(([id]) => id.replace(/[0-9A-F]{8}$/, ''))
      .sort();
    const readers = ofType('AWS::Lambda::Function')
      .filter(([, fn]) => JSON.stringify(fn.Properties.Environment ?? {}).includes(logicalIdOf('PaymentStateCustomers', 'AWS::DynamoDB::GlobalTable')))
      .map(([id]) => id.replace(/[0-9A-F]{8}$/, ''))
      .filter((id) => id !== 'LayoutFunction')
      .sort();
    expect(waiting).toEqual(readers);
    expect(waiting).toEqual(expect.arrayContaining(['Authorizer', 'StripeWebhook', 'MeteringFunction']));
  });
});

describe('the shared template assertions', () => {
  it('holds for this repository\'s template: the package test runs the same on a fresh app\'s (test/package/pack.test.ts)', () => {
    expectTollgateTemplate(stack.resources());
  });
});

describe('stack outputs', () => {
  it('matches the snapshot (a supplement to the assertions above)', () => {
    const json = JSON.stringify(stack.synthesized().template.toJSON(), null, 1).replace(/[0-9a-f]{64}(\.zip)?/g, '<hash>$1');
    expect(JSON.parse(json)).toMatchSnapshot();
  });

  it('never depends on the flush policy from the webhook function (no dependency cycle)', () => {
    const webhook = stack.resources()[logicalIdOf('StripeWebhook', 'AWS::Lambda::Function')]!;
    expect(webhook.DependsOn ?? []).not.toContain(logicalIdOf('FlushAuthorizerCache', 'AWS::IAM::Policy'));
  });
});
