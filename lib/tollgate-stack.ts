import { Annotations, Aws, CfnOutput, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { deployWarnings } from './config/deploy-checks';
import type { TollgateConfig } from './config/tollgate-config';
import { ACCESS_LOG_FORMAT } from '../lambda/shared/access-log';
import { ENV, authorizerEnvironment, clockEnvironment, flushEnvironment, plansEnvironment, usageEnvironment } from '../lambda/shared/settings';
import { agentPaymentsOf, agentSettingsOf } from './config/agents';
import { apiTitleOf, purchaseEnvironment } from '../lambda/purchase/settings';
import { STACK_OUTPUTS, WEBHOOK_PATH } from './contract';
import { portalEnvironment } from '../lambda/portal/settings';
import { portalCatalog } from './config/portal-catalog';
import { writePortalAssets } from './bundling';
import { backendTarget, buildApiDocument, configuredBuildOptions, readMcpCatalog, readRoutes, routeScopesOf, type BuiltApi } from './openapi/build';
import { CATALOG_FILE, type McpCatalog } from '../lambda/mcp/catalog';
import { mcpEnvironment } from '../lambda/mcp/settings';
import { Operations } from './operations';
import { assertEnvironmentFits, issuersEnvironment } from '../lambda/shared/issuers';
import { SUBJECT_INDEX } from '../lambda/shared/customers/subjects';
import { LayoutMigration } from './layout-migration';
import { PaymentTables, type TableAccess } from './payment-tables';
import { Metering } from './metering';
import { bindSecret, TollgateFunction } from './tollgate-function';
import { PORTAL_ENV } from '../lambda/portal/settings';
import { PORTAL_BUDGET_LEADING_KEYS, PORTAL_BUDGET_WRITE_ATTRIBUTES, PORTAL_CUSTOMER_WRITE_ATTRIBUTES, PORTAL_LEDGER_PREFIXES } from '../lambda/portal/writes';
import { BALANCE, PENDING_PREFIX, WALLET_ATTRIBUTES, WALLET_LEADING_KEYS } from '../lambda/shared/customers/wallet';
import { SWEEP_INDEX, SWEEP_WALLET_ATTRIBUTES } from '../lambda/shared/customers/sweep-mark';
import { GRANTS } from '../lambda/shared/credit-grants';
import { BUDGET_WALLET_ATTRIBUTES } from '../lambda/shared/customers/budgets-reservation';
import { Alerts } from './alerts';
import { PORTAL_PATHS } from '../lambda/shared/portal-paths';

/** What the resources are built from: configuration already validated (lib/tollgate.ts validates a Tollgate's props). */
export interface TollgateResourcesProps {
  readonly config: TollgateConfig;
  /** The user's OpenAPI document (parsed), operations annotated with `x-tollgate`. */
  readonly apiDocument: unknown;
  /** The REST API's name. @default `${id}-api` */
  readonly apiName?: string;
}

/** The DynamoDB actions each function performs, by table: nothing more is granted. */
/**
 * BatchGetItem: a decision's one read (the customer item and its wallet); GetItem: a strict decision's
 * customer item; UpdateItem: a strict route's reservation, on wallet items and wallet attributes alone.
 */
export const AUTHORIZER_ACTIONS: TableAccess = {
  customers: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', { actions: ['dynamodb:UpdateItem'], attributes: WALLET_ATTRIBUTES, leadingKeys: WALLET_LEADING_KEYS }],
};
/** The budget route (lambda/usage/budget.ts) writes the caller's budgets on its wallet item, and nothing else. */
export const USAGE_ACTIONS: TableAccess = {
  customers: ['dynamodb:GetItem', { actions: ['dynamodb:UpdateItem'], attributes: ['customerId', ...BUDGET_WALLET_ATTRIBUTES], leadingKeys: WALLET_LEADING_KEYS }],
};
/** With an issuer whose tokens map by subject: one Query on the subject index, nothing else of the index. */
export const AUTHORIZER_SUBJECT_ACTIONS = ['dynamodb:Query'] as const;
export const WEBHOOK_ACTIONS = {
  customers: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
  // GetItem: the checkout links (lambda/webhook/checkout-link.ts) and the flush outbox; UpdateItem: the outbox too.
  events: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
} as const;
/**
 * The clock sweeps the stage's flush outbox (lambda/shared/aws/flush-coordinator.ts), and the wallets whose
 * reservations nobody settled (lambda/shared/customers/pending-sweep.ts): it reads wallet items, gives back
 * expired entries (to the grants they were drawn from) and moves or removes the sweep's mark on them,
 * nothing else of the customers table.
 */
export const CLOCK_ACTIONS: TableAccess = {
  customers: [
    { actions: ['dynamodb:GetItem'], leadingKeys: WALLET_LEADING_KEYS },
    { actions: ['dynamodb:UpdateItem'], attributes: ['customerId', BALANCE, `${PENDING_PREFIX}*`, GRANTS, ...SWEEP_WALLET_ATTRIBUTES], leadingKeys: WALLET_LEADING_KEYS },
  ],
  events: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
};
/** The clock's one read of the sweep's index: the wallets due. */
export const CLOCK_INDEX_ACTIONS = ['dynamodb:Query'] as const;
/** lambda/purchase: the presenting key's customer (GetItem), the credits grant and a new key (transactions), the challenge claims. */
export const PURCHASE_ACTIONS = {
  customers: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
  apiKeys: ['dynamodb:PutItem'],
  events: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
} as const;
/**
 * lambda/portal: sign-in and account reads, key issuance and rotation (keys.ts) on key attributes only,
 * the customer's budgets on its wallet item only (the account page's budget form),
 * and its own ledger items (issuance claims, sessions, the stage flusher's outbox and rotation limit), nothing else of the ledger.
 */
export const PORTAL_ACTIONS: TableAccess = {
  customers: [
    'dynamodb:GetItem',
    { actions: ['dynamodb:UpdateItem'], attributes: PORTAL_CUSTOMER_WRITE_ATTRIBUTES },
    { actions: ['dynamodb:UpdateItem'], attributes: PORTAL_BUDGET_WRITE_ATTRIBUTES, leadingKeys: PORTAL_BUDGET_LEADING_KEYS },
  ],
  apiKeys: ['dynamodb:GetItem', 'dynamodb:PutItem'],
  events: [{ actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'], leadingKeys: PORTAL_LEDGER_PREFIXES.map((prefix) => `${prefix}*`) }],
};

/** API Gateway's URI for invoking a Lambda function as an integration or authorizer. */
function invocationUri(fn: lambda.IFunction): string {
  return `arn:${Aws.PARTITION}:apigateway:${Aws.REGION}:lambda:path/2015-03-31/functions/${fn.functionArn}/invocations`;
}

/**
 * The paywalled API: a REST API from the OpenAPI builder, the Lambda authorizer that reads payment
 * state, the Stripe webhook that writes it, the sample backend, and the tables. Topology and
 * permissions only; behaviour lives in lambda/. Users build it as a `Tollgate` (lib/tollgate.ts), which
 * validates its props first; this repository's stack is one of them (`TollgateStack`).
 */
export class TollgateResources extends Construct {
  public readonly api: apigateway.SpecRestApi;
  public readonly tables: PaymentTables;
  /** The customers table's layout migration, run at deploy. */
  public readonly layout: LayoutMigration;
  public readonly authorizer: TollgateFunction;
  public readonly webhook: TollgateFunction;
  public readonly clock: TollgateFunction;
  public readonly portal: TollgateFunction;
  public readonly metering: Metering;
  public readonly backend?: TollgateFunction;
  public readonly usage: TollgateFunction;
  /** Selling to agents (tollgate:agentPayments): the purchase route's function. */
  public readonly purchase?: TollgateFunction;
  /** The MCP endpoint (lambda/mcp), when the document marks operations `"mcp"`. */
  public readonly mcp?: TollgateFunction;
  public readonly built: BuiltApi;
  /** Threshold alerts (tollgate:alerts, docs/alerts.md): the seller's bus and the delivery function. */
  public readonly alerts?: Alerts;

  constructor(scope: Construct, id: string, props: TollgateResourcesProps) {
    super(scope, id);
    const { config } = props;

    for (const warning of deployWarnings(config)) Annotations.of(this).addWarningV2(warning.setting, warning.message);

    this.tables = new PaymentTables(this, 'PaymentState');
    // Before every function that reads the customers table: they read only the current layout.
    this.layout = new LayoutMigration(this, 'Layout', { tables: this.tables, logRetentionDays: config.operations.functionLogRetentionDays });
    this.tables.customersAfter(this.layout.resource);

    const webhookSecret = secretsmanager.Secret.fromSecretNameV2(this, 'StripeWebhookSecret', config.stripeWebhookSecretName);
    const stripeApiKey =
      config.stripeApiKeySecretName === undefined
        ? undefined
        : secretsmanager.Secret.fromSecretNameV2(this, 'StripeApiKey', config.stripeApiKeySecretName);

    this.backend =
      config.backendUrl === undefined
        ? new TollgateFunction(this, 'SampleBackend', {
            entry: 'backend',
            logRetentionDays: config.operations.functionLogRetentionDays,
            description: 'tollgate sample backend',
            environment: { [ENV.corsAllowOrigin]: config.corsAllowOrigin },
          })
        : undefined;

    // Validated before anything else is built: a bad document fails synth with its own message.
    const routes = readRoutes(props.apiDocument, true);

    // Keys the HMAC of agents' challenges: generated, read by the authorizer (which signs) and the purchase function (which verifies).
    const agentSecret = config.agentPayments === undefined ? undefined : this.buildAgentSecret();
    this.authorizer = this.buildAuthorizer(config, routes, props.apiDocument, agentSecret);
    this.purchase = agentSecret === undefined ? undefined : this.buildPurchase(config, agentSecret, stripeApiKey, routes, apiTitleOf(props.apiDocument));
    this.usage = this.buildUsage(config);
    this.webhook = this.buildWebhook(config, webhookSecret, stripeApiKey);
    this.portal = this.buildPortal(config, routes, props.apiDocument, stripeApiKey);
    const catalog = readMcpCatalog(props.apiDocument);
    this.mcp = catalog === undefined ? undefined : this.buildMcp(config, catalog);

    const built = (this.built = buildApiDocument({
      document: props.apiDocument,
      authorizerUri: invocationUri(this.authorizer),
      webhookUri: invocationUri(this.webhook),
      usageUri: invocationUri(this.usage),
      backend: backendTarget(config, { sampleBackend: this.backend && invocationUri(this.backend) }),
      ...configuredBuildOptions(config),
      portalUri: invocationUri(this.portal),
      ...(this.purchase === undefined ? {} : { purchaseUri: invocationUri(this.purchase) }),
      ...(this.mcp === undefined ? {} : { mcpUri: invocationUri(this.mcp) }),
    }));

    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', {
      retention: config.operations.accessLogRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.api = this.buildApi(props.apiName ?? `${id}-api`, config, built, accessLogs);
    this.allowApiGatewayInvoke();
    if (config.domainName !== undefined && config.certificateArn !== undefined) this.addCustomDomain(config.domainName, config.certificateArn, config.stageName);

    this.clock = this.buildClock(config);

    // Usage: successful calls counted from the access log (lambda/metering).
    this.metering = new Metering(this, 'Metering', {
      tables: this.tables,
      accessLogs,
      routes: built.routes,
      plans: config.plans,
      windowSeconds: config.meteringWindowSeconds,
      ...(config.reservedConcurrency === undefined ? {} : { reservedConcurrency: config.reservedConcurrency.metering }),
      ...(stripeApiKey === undefined ? {} : { stripeApiKey }),
      logRetentionDays: config.operations.functionLogRetentionDays,
    });

    this.alerts = this.buildAlerts(config, stripeApiKey);

    this.allowCacheFlush(config.stageName, [this.webhook, this.clock, this.portal]);

    new Operations(this, 'Operations', {
      config: config.operations,
      restApiId: this.api.restApiId,
      accessLogs,
      authorizer: this.authorizer,
      webhook: this.webhook,
      clock: this.clock,
      ...(this.mcp === undefined ? {} : { mcp: this.mcp }),
      ...(this.purchase === undefined ? {} : { purchase: this.purchase }),
    });

    this.addOutputs(config.stageName);
    this.acknowledgeFindings();
  }

  /** The REQUEST authorizer: an API key or token and the payment standing → a whole-API policy. */
  private buildAuthorizer(config: TollgateConfig, routes: ReturnType<typeof readRoutes>, apiDocument: unknown, agentSecret: secretsmanager.ISecret | undefined): TollgateFunction {
    const environment = {
      ...authorizerEnvironment({ ...config, routes, ...(agentSecret === undefined ? {} : agentSettingsOf(config, agentSecret.secretName)) }),
      // Trusted token issuers: public facts only (URLs, audiences, algorithms), and the cache TTL tokens must outlive.
      ...issuersEnvironment(config.issuers ?? [], config.authorizerCacheTtlSeconds, routeScopesOf(apiDocument)),
    };
    const authorizer = new TollgateFunction(this, 'Authorizer', {
      entry: 'authorizer',
      logRetentionDays: config.operations.functionLogRetentionDays,
      description: 'tollgate REQUEST authorizer: API key and payment standing → whole-API policy',
      timeout: Duration.seconds(3),
      memorySize: 512,
      // Kept for the authorizer: a slow webhook, metering or clock cannot take the API's concurrency.
      reservedConcurrentExecutions: config.reservedConcurrency?.authorizer,
      // Invoked per uncached decision (every call of a route sold by use): Lambda's own start and report
      // lines would cost $0.33 per million decisions, a third of an invocation (docs/access-timing.md).
      systemLogLevel: 'WARN',
      environment,
    });
    // Exactly the calls the function makes: one GetItem per uncached decision, or one UpdateItem per strict one.
    const tables = this.tables.bind(authorizer, AUTHORIZER_ACTIONS);
    // Read once per instance, on the first Deny that offers something.
    agentSecret?.grantRead(authorizer);
    assertEnvironmentFits({ ...tables, ...environment });
    if ((config.issuers ?? []).some((issuer) => issuer.customer.kind === 'subject')) {
      authorizer.addToRolePolicy(
        new iam.PolicyStatement({ actions: [...AUTHORIZER_SUBJECT_ACTIONS], resources: [`${this.tables.customers.tableArn}/index/${SUBJECT_INDEX}`] }),
      );
    }
    return authorizer;
  }

  private buildAgentSecret(): secretsmanager.Secret {
    const secret = new secretsmanager.Secret(this, 'AgentPaymentsSecret', {
      description: "tollgate: keys the HMAC that binds agents' MPP challenges to their content",
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'A rotation only voids the challenges in flight (they expire within the cache TTL + 15 minutes anyway): rotate it by hand if it leaks.',
    });
    return secret;
  }

  /** The purchase route (docs/agents.md): a credential verified, its SPT charged once, credits and a key granted. */
  private buildPurchase(config: TollgateConfig, agentSecret: secretsmanager.ISecret, stripeApiKey: secretsmanager.ISecret | undefined, routes: ReturnType<typeof readRoutes>, apiTitle: string): TollgateFunction {
    const agents = agentPaymentsOf(config)!;
    const purchase = new TollgateFunction(this, 'Purchase', {
      entry: 'purchase',
      logRetentionDays: config.operations.functionLogRetentionDays,
      description: 'tollgate purchase route: credit packs sold to agents over MPP (a Stripe shared payment token, charged once)',
      timeout: Duration.seconds(20),
      memorySize: 256,
      environment: purchaseEnvironment({ agents, agentSecretId: agentSecret.secretName, routes, apiTitle, corsAllowOrigin: config.corsAllowOrigin }),
    });
    this.tables.bind(purchase, PURCHASE_ACTIONS);
    agentSecret.grantRead(purchase);
    if (stripeApiKey !== undefined) bindSecret(purchase, stripeApiKey, ENV.stripeApiKeySecretId);
    return purchase;
  }

  /** The usage route: the caller's plan, period, usage and credits. */
  private buildUsage(config: TollgateConfig): TollgateFunction {
    const usage = new TollgateFunction(this, 'Usage', {
      entry: 'usage',
      logRetentionDays: config.operations.functionLogRetentionDays,
      description: "tollgate usage route: the caller's plan, period, usage and credits",
      memorySize: 256,
      environment: { ...usageEnvironment(config), [ENV.corsAllowOrigin]: config.corsAllowOrigin },
    });
    this.tables.bind(usage, USAGE_ACTIONS);
    return usage;
  }

  /**
   * The MCP endpoint: the marked operations as tools. No grant beyond its logs: a tool call is its
   * route's HTTP call through this API with the caller's credential, so the authorizer decides it and
   * the access log meters it; the function reads no table and reaches no backend by another path.
   */
  private buildMcp(config: TollgateConfig, catalog: McpCatalog): TollgateFunction {
    return new TollgateFunction(this, 'Mcp', {
      entry: 'mcp',
      logRetentionDays: config.operations.functionLogRetentionDays,
      description: "tollgate MCP endpoint: the API's marked operations as tools, each call sent through the API with the caller's credential",
      // API Gateway cuts an integration at 29 s; the inner call gives up first (lambda/mcp/call.ts).
      timeout: Duration.seconds(29),
      memorySize: 512,
      // Capped: each tool call holds this function for its route's whole call, so a flood of slow tool
      // calls cannot take the account's unreserved concurrency from the portal and the backend.
      reservedConcurrentExecutions: config.reservedConcurrency?.mcp,
      environment: mcpEnvironment({ authorizationServers: configuredBuildOptions(config).authorizationServers ?? [], corsAllowOrigin: config.corsAllowOrigin }),
      // The tools are too large for the 4 KB environment: a file beside the bundle, read at init.
      afterBundling: (output) => (writeFileSync(path.join(output, CATALOG_FILE), JSON.stringify(catalog)), []),
    });
  }

  /** The Stripe webhook: verified, idempotent, order-safe payment state. */
  private buildWebhook(config: TollgateConfig, webhookSecret: secretsmanager.ISecret, stripeApiKey: secretsmanager.ISecret | undefined): TollgateFunction {
    const webhook = new TollgateFunction(this, 'StripeWebhook', {
      entry: 'webhook',
      logRetentionDays: config.operations.functionLogRetentionDays,
      description: 'tollgate Stripe webhook: verified, idempotent, order-safe payment state',
      timeout: Duration.seconds(10),
      reservedConcurrentExecutions: config.reservedConcurrency?.webhook,
      environment: {
        // Recovery analytics and the unlock rule evaluate the authorizer's decision, grace period included.
        [ENV.gracePeriodHours]: String(config.gracePeriodHours),
        ...plansEnvironment(config.plans),
        ...flushEnvironment(config),
      },
    });
    // Exactly the calls lambda/webhook/store.ts makes (a transaction is authorized by its Put and Update).
    this.tables.bind(webhook, WEBHOOK_ACTIONS);
    bindSecret(webhook, webhookSecret, ENV.webhookSecretId);
    if (stripeApiKey !== undefined) bindSecret(webhook, stripeApiKey, ENV.stripeApiKeySecretId);
    return webhook;
  }

  private buildAlerts(config: TollgateConfig, stripeApiKey: secretsmanager.ISecret | undefined): Alerts | undefined {
    if (config.alerts === undefined) return undefined;
    const accountUrl = config.publicUrl === undefined ? undefined : `${config.publicUrl.replace(/\/$/, '')}${PORTAL_PATHS.account}`;
    return new Alerts(this, 'Alerts', {
      config: config.alerts,
      tables: this.tables,
      metering: this.metering.function,
      ...(stripeApiKey === undefined ? {} : { stripeApiKey }),
      ...(accountUrl === undefined ? {} : { accountUrl }),
      logRetentionDays: config.operations.functionLogRetentionDays,
    });
  }

  /** The REST API from the built document, its stage's throttles, tracing and JSON access log. */
  private buildApi(name: string, config: TollgateConfig, built: BuiltApi, accessLogs: logs.ILogGroup): apigateway.SpecRestApi {
    const api = new apigateway.SpecRestApi(this, 'Api', {
      restApiName: name,
      description: 'tollgate: API paywalled by Stripe subscription state',
      apiDefinition: apigateway.ApiDefinition.fromInline(built.document),
      // Overwrite: paths removed from the document disappear from the API.
      mode: apigateway.RestApiMode.OVERWRITE,
      failOnWarnings: true,
      cloudWatchRole: false,
      deployOptions: {
        stageName: config.stageName,
        tracingEnabled: true,
        throttlingRateLimit: config.throttleRateLimit,
        throttlingBurstLimit: config.throttleBurstLimit,
        // Stripe's deliveries get their own bucket: a flood on the public routes must not make Stripe
        // back off (its retries slow down for hours) and delay access changes.
        methodOptions: {
          [`${WEBHOOK_PATH}/POST`]: {
            throttlingRateLimit: config.webhookThrottleRateLimit,
            throttlingBurstLimit: config.webhookThrottleBurstLimit,
          },
        },
        metricsEnabled: true,
        accessLogDestination: new apigateway.LogGroupLogDestination(accessLogs),
        // One format, lambda/shared/access-log.ts: the local gateway writes the same lines and metering reads them.
        accessLogFormat: apigateway.AccessLogFormat.custom(ACCESS_LOG_FORMAT),
      },
    });
    // SpecRestApi does not redeploy on an inline document change by itself.
    api.latestDeployment?.addToLogicalId(built.document);
    return api;
  }

  /**
   * tollgate:domainName: a regional domain name (TLS 1.2) mapped at the stage's name, so every URL the
   * stack makes from `$context.domainName/$context.stage` (problem types, payment and portal links)
   * works on the custom domain as on the execute-api one.
   */
  private addCustomDomain(domainName: string, certificateArn: string, stageName: string): void {
    const domain = new apigateway.DomainName(this, 'CustomDomain', {
      domainName,
      certificate: acm.Certificate.fromCertificateArn(this, 'CustomDomainCertificate', certificateArn),
      endpointType: apigateway.EndpointType.REGIONAL,
      securityPolicy: apigateway.SecurityPolicy.TLS_1_2,
    });
    new apigateway.BasePathMapping(this, 'CustomDomainMapping', { domainName: domain, restApi: this.api, stage: this.api.deploymentStage, basePath: stageName });
    new CfnOutput(this, 'CustomDomainUrl', { value: `https://${domainName}/${stageName}/`, description: 'Base URL of the paywalled API on the custom domain' });
    new CfnOutput(this, 'CustomDomainTarget', { value: domain.domainNameAliasDomainName, description: 'Point a DNS CNAME (or Route 53 alias) for the custom domain at this name' });
  }

  /** SpecRestApi adds no invoke permissions: the integrations' and the authorizer's. */
  private allowApiGatewayInvoke(): void {
    const apiGateway = new iam.ServicePrincipal('apigateway.amazonaws.com');
    for (const [name, fn] of [['Backend', this.backend], ['Webhook', this.webhook], ['Usage', this.usage], ['Portal', this.portal], ['Mcp', this.mcp], ['Purchase', this.purchase]] as const) {
      fn?.addPermission(`ApiInvoke${name}`, { principal: apiGateway, sourceArn: this.api.arnForExecuteApi() });
    }
    this.authorizer.addPermission('ApiInvokeAuthorizer', {
      principal: apiGateway,
      sourceArn: Stack.of(this).formatArn({
        service: 'execute-api',
        resource: this.api.restApiId,
        resourceName: 'authorizers/*',
      }),
    });
  }

  /**
   * The clock: once a minute it sweeps the stage's flush outbox, making any flush a writer could not
   * (lambda/clock/handler.ts), and gives back strict reservations nobody settled. Locks that come with
   * time wait for the cache TTL: no flush for them.
   */
  private buildClock(config: TollgateConfig): TollgateFunction {
    const clock = new TollgateFunction(this, 'Clock', {
      entry: 'clock',
      logRetentionDays: config.operations.functionLogRetentionDays,
      description: 'tollgate clock: makes any authorizer-cache flush a writer left in the outbox; gives back unsettled reservations',
      // One flush and its retries within the coordinator's wait.
      timeout: Duration.seconds(30),
      memorySize: 128,
      reservedConcurrentExecutions: config.reservedConcurrency?.clock,
      environment: clockEnvironment({ ...config, restApiId: this.api.restApiId }),
    });
    this.tables.bind(clock, CLOCK_ACTIONS);
    clock.addToRolePolicy(new iam.PolicyStatement({ actions: [...CLOCK_INDEX_ACTIONS], resources: [`${this.tables.customers.tableArn}/index/${SWEEP_INDEX}`] }));
    new events.Rule(this, 'ClockSchedule', {
      description: 'tollgate clock: once a minute, the finest rate EventBridge schedules',
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [new targets.LambdaFunction(clock)],
    });
    return clock;
  }

  /**
   * Lets `functions` flush this stage's authorizer cache. A separate policy, not the roles' default
   * ones: a function does not depend on it, so the webhook can name this API without a
   * function → API → function dependency cycle.
   */
  private allowCacheFlush(stageName: string, functions: readonly TollgateFunction[]): void {
    new iam.Policy(this, 'FlushAuthorizerCache', {
      roles: functions.map((fn) => fn.role!),
      statements: [
        new iam.PolicyStatement({
          actions: ['apigateway:DELETE'],
          resources: [`arn:${Aws.PARTITION}:apigateway:${Aws.REGION}::/restapis/${this.api.restApiId}/stages/${stageName}/cache/authorizers`],
        }),
      ],
    });
  }

  private addOutputs(stageName: string): void {
    new CfnOutput(this, STACK_OUTPUTS.apiUrl, { value: this.api.url, description: 'Base URL of the paywalled API' });
    new CfnOutput(this, STACK_OUTPUTS.stripeWebhookUrl, {
      value: this.api.urlForPath(WEBHOOK_PATH),
      description: 'Register this URL as a Stripe webhook endpoint',
    });
    new CfnOutput(this, STACK_OUTPUTS.customersTableName, { value: this.tables.customers.tableName });
    new CfnOutput(this, STACK_OUTPUTS.apiKeysTableName, { value: this.tables.apiKeys.tableName });
    new CfnOutput(this, STACK_OUTPUTS.eventsTableName, { value: this.tables.events.tableName });
    new CfnOutput(this, STACK_OUTPUTS.usageTableName, { value: this.tables.usage.tableName });
    new CfnOutput(this, STACK_OUTPUTS.restApiId, { value: this.api.restApiId });
    new CfnOutput(this, STACK_OUTPUTS.stageName, { value: stageName });
  }

  /**
   * The portal function: docs, problem pages, the public document and the developer portal. Its
   * assets (the explorer from npm, the portal script with the client helper, the public document) are
   * written beside the bundle, so nothing is fetched from a CDN at run time.
   */
  private buildPortal(config: TollgateConfig, routes: ReturnType<typeof readRoutes>, apiDocument: unknown, stripeApiKey: secretsmanager.ISecret | undefined): TollgateFunction {
    const sessionSecret = new secretsmanager.Secret(this, 'PortalSessionSecret', {
      description: 'tollgate portal: signs the session cookies of signed-in customers',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    Validations.of(sessionSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'A rotation only signs everyone out of the portal (sessions last 15 minutes): rotate it by hand if it leaks.',
    });
    // The document callers read, built by the same builder (no ARNs in it).
    const publicDocument = buildApiDocument({
      document: apiDocument,
      authorizerUri: 'unused',
      webhookUri: 'unused',
      backend: { type: 'http', baseUrl: 'https://unused.invalid' },
      ...configuredBuildOptions(config),
    }).publicDocument;
    const portal = new TollgateFunction(this, 'Portal', {
      entry: 'portal',
      logRetentionDays: config.operations.functionLogRetentionDays,
      description: 'tollgate portal: API reference, problem pages, signup, sign-in with a key, rotation, billing portal',
      timeout: Duration.seconds(10),
      memorySize: 512,
      environment: {
        ...authorizerEnvironment({ ...config, routes }),
        ...portalEnvironment(portalCatalog(config), sessionSecret.secretName, config),
      },
      afterBundling: (output) => (writePortalAssets(output, publicDocument), []),
    });
    this.tables.bind(portal, PORTAL_ACTIONS);
    // portalEnvironment names the session secret as well (the contract the function reads): the same name.
    bindSecret(portal, sessionSecret, PORTAL_ENV.sessionSecretId);
    if (stripeApiKey !== undefined) bindSecret(portal, stripeApiKey, ENV.stripeApiKeySecretId);
    return portal;
  }

  /** cdk-nag findings tollgate accepts, each with the reason. */
  private acknowledgeFindings(): void {
    const ack = (scope: Construct, id: string, reason: string): void => Validations.of(scope).acknowledge({ id, reason });
    ack(this.api, 'AwsSolutions-APIG2', 'Request validation is the backend\'s concern; the authorizer validates the credential.');
    ack(this.api, 'AwsSolutions-APIG3', 'WAF is left to the deployer: tollgate throttles at the stage and rejects bad keys without a database read.');
    ack(this.api, 'AwsSolutions-APIG6', 'Execution logging needs an account-wide CloudWatch role; JSON access logs record every outcome and reason.');
    ack(this.api, 'AwsSolutions-APIG4', 'Public routes (x-tollgate "public", CORS preflight, the Stripe webhook, verified by signature) have no authorizer by design.');
    ack(this.api, 'AwsSolutions-COG4', 'Callers authenticate with tollgate API keys through the Lambda authorizer, not Cognito.');
  }
}

// This repository's stack, with one Tollgate in it: lib/tollgate.ts (a type, so no import cycle at run time).
export type { TollgateStack, TollgateStackProps } from './tollgate';
