import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomBytes } from 'node:crypto';
import type Stripe from 'stripe';
import { loadApiDocument } from '../openapi/load';
import type { TollgateConfig } from '../config/tollgate-config';
import { backendTarget, buildApiDocument, configuredBuildOptions, type BuiltApi } from '../openapi/build';
import { composeAuthorizer } from '../../lambda/authorizer/compose';
import { authorizerDynamoClient } from '../../lambda/authorizer/dynamo-client';
import { createTokenAuthenticator } from '../../lambda/authorizer/token-auth';
import { handler as sampleBackend } from '../../lambda/backend/index';
import { composeClock } from '../../lambda/clock/compose';
import type { ClockRun } from '../../lambda/clock/handler';
import type { Gateway } from '../../lambda/mcp/call';
import type { McpCatalog } from '../../lambda/mcp/catalog';
import { composeMcp } from '../../lambda/mcp/compose';
import { loadMcpSettings, mcpEnvironment, type McpSettings } from '../../lambda/mcp/settings';
import { composeMetering } from '../../lambda/metering/compose';
import type { MeteringResult } from '../../lambda/metering/handler';
import type { MeteringRules } from '../../lambda/metering/rules';
import { loadMeteringSettings, meteringEnvironment, type MeteringSettings } from '../../lambda/metering/settings';
import type { MeterReporter } from '../../lambda/metering/stripe-meter';
import { composePortal } from '../../lambda/portal/compose';
import { composePurchase } from '../../lambda/purchase/compose';
import { httpFacilitator } from '../../lambda/shared/agents/x402';
import { apiTitleOf, loadPurchaseSettings, purchaseEnvironment, type PurchaseSettings } from '../../lambda/purchase/settings';
import { agentSettingsOf } from '../config/agents';
import { loadPortalSettings, portalEnvironment, type PortalSettings } from '../../lambda/portal/settings';
import { readCustomer } from '../../lambda/shared/customers/store';
import { createObservability } from '../../lambda/shared/observability';
import type { AuthorizerCacheFlusher } from '../../lambda/shared/ports';
import type { RouteRule } from '../../lambda/shared/requirements';
import {
  authorizerEnvironment,
  clockEnvironment,
  loadAuthorizerSettings,
  loadClockSettings,
  loadUsageSettings,
  loadWebhookSettings,
  usageEnvironment,
  webhookEnvironment,
  type AuthorizerSettings,
  type ClockSettings,
  type UsageSettings,
  type WebhookSettings,
} from '../../lambda/shared/settings';
import { TABLES, type TableKey, type TableNames } from '../../lambda/shared/tables';
import { composeUsage } from '../../lambda/usage/compose';
import { composeWebhook } from '../../lambda/webhook/compose';
import { portalCatalog } from '../config/portal-catalog';
import { WEBHOOK_PATH } from '../contract';
import { localPortalAssets } from './portal-assets';
import type { FakeStripeStore } from './stripe-api/store';
import { makeTestCheckoutHandler } from './test-checkout';
import { LOCAL_CREDENTIALS, LOCAL_REGION, localClient, type LocalCredentials } from './dynamodb-local';
import { createLocalGateway, localInvocationUri, type LocalFunction, type LocalGateway, type StageThrottling } from './gateway';

import { createMeteringFeed, type MeteringFeed, type MeteringFeedOptions } from './metering-feed';
import { createLocalAlerts } from './alerts';
import { ALERT_RULES_ENV, encodeAlertRules } from '../../lambda/shared/alerts/rules';

/**
 * The deployed stack's pieces, wired for one laptop: the same OpenAPI document (the shared builder,
 * with local invocation URIs), the same authorizer, webhook and sample backend handlers, talking to
 * DynamoDB Local. No aws-cdk-lib.
 */

export const LOCAL_FUNCTION_NAMES = {
  authorizer: 'tollgate-authorizer',
  webhook: 'tollgate-webhook',
  backend: 'tollgate-backend',
  portal: 'tollgate-portal',
  testCheckout: 'tollgate-test-checkout',
  usage: 'tollgate-usage',
  purchase: 'tollgate-purchase',
  mcp: 'tollgate-mcp',
} as const;
export const LOCAL_REST_API_ID = 'local';
export const LOCAL_TABLE_PREFIX = 'tollgate';
/** Documented in the README: only for the local run, never for a deployed endpoint. */
export const LOCAL_WEBHOOK_SECRET = 'whsec_tollgate_local_development_only';

/** The tables' variables, as the stack sets them for a function that uses `tables`. */
function tableEnvironment(tables: Partial<TableNames>): Record<string, string> {
  return Object.fromEntries(Object.entries(tables).map(([key, name]) => [TABLES[key as TableKey].envVar, name]));
}

/**
 * The settings the deployed authorizer reads from its environment, derived through the same contract
 * (the stack's encoding, the function's decoding), so the local run cannot drift from it.
 */
export function authorizerSettingsFor(config: TollgateConfig, routes: readonly RouteRule[], customersTable: string): AuthorizerSettings {
  return loadAuthorizerSettings({ ...authorizerEnvironment({ ...config, routes, ...agentSettingsOf(config, LOCAL_AGENT_SECRET_ID) }), ...tableEnvironment({ customers: customersTable }) });
}

/** The purchase function's settings, as the stack writes its environment; undefined when nothing is sold to agents. */
export function purchaseSettingsFor(config: TollgateConfig, tables: TableNames, routes: readonly RouteRule[], apiTitle: string): PurchaseSettings | undefined {
  const { agents } = agentSettingsOf(config, LOCAL_AGENT_SECRET_ID);
  if (agents === undefined) return undefined;
  return loadPurchaseSettings({ ...tableEnvironment(tables), ...purchaseEnvironment({ agents, agentSecretId: LOCAL_AGENT_SECRET_ID, routes, apiTitle, corsAllowOrigin: config.corsAllowOrigin }) });
}

/** Metering's settings as the stack writes its environment, for these tables and the stage it flushes (also `tollgate metering replay`'s). */
export function meteringSettingsFor(config: TollgateConfig, routes: readonly RouteRule[], tables: Pick<TableNames, 'customers' | 'events' | 'usage'>): MeteringSettings {
  const env = {
    ...meteringEnvironment({ routes, plans: config.plans ?? {}, windowSeconds: config.meteringWindowSeconds }),
    // As the stack's Alerts construct adds it (lib/alerts.ts).
    ...(config.alerts === undefined ? {} : { [ALERT_RULES_ENV]: encodeAlertRules(config.alerts.rules) }),
  };
  return loadMeteringSettings({ ...env, ...tableEnvironment({ customers: tables.customers, events: tables.events, usage: tables.usage }) });
}

/** Names only: the local run hands the secrets' values to the functions itself. */
export const LOCAL_SESSION_SECRET_ID = 'tollgate-local/session';
export const LOCAL_AGENT_SECRET_ID = 'tollgate-local/agent-payments';

export interface LocalSettings {
  readonly authorizer: AuthorizerSettings;
  readonly webhook: WebhookSettings;
  readonly clock: ClockSettings;
  readonly portal: PortalSettings;
  readonly usage: UsageSettings;
  readonly metering: MeteringSettings;
  /** Absent when nothing is sold to agents. */
  readonly purchase?: PurchaseSettings;
  readonly mcp: McpSettings;
}

/** Every function's settings, each through the environment contract its deployed function reads. */
export function localSettings(config: TollgateConfig, routes: readonly RouteRule[], tables: TableNames, apiTitle = 'API'): LocalSettings {
  const { customers, events } = tables;
  return {
    authorizer: authorizerSettingsFor(config, routes, customers),
    webhook: loadWebhookSettings({ ...tableEnvironment({ customers, events }), ...webhookEnvironment(config) }),
    clock: loadClockSettings({ ...tableEnvironment({ customers, events }), ...clockEnvironment({ ...config, restApiId: LOCAL_REST_API_ID }) }),
    portal: loadPortalSettings({ ...tableEnvironment(tables), ...authorizerEnvironment({ ...config, routes }), ...portalEnvironment(portalCatalog(config), LOCAL_SESSION_SECRET_ID, config) }),
    usage: loadUsageSettings({ ...tableEnvironment({ customers }), ...usageEnvironment(config) }),
    metering: meteringSettingsFor(config, routes, tables),
    ...((purchase) => (purchase === undefined ? {} : { purchase }))(purchaseSettingsFor(config, tables, routes, apiTitle)),
    mcp: loadMcpSettings(mcpEnvironment({ authorizationServers: configuredBuildOptions(config).authorizationServers ?? [], corsAllowOrigin: config.corsAllowOrigin })),
  };
}

export function buildLocalDocument(config: TollgateConfig, root: string): BuiltApi {
  return buildApiDocument({
    document: loadApiDocument(config.openApiDocument, root),
    authorizerUri: localInvocationUri(LOCAL_FUNCTION_NAMES.authorizer),
    webhookUri: localInvocationUri(LOCAL_FUNCTION_NAMES.webhook),
    usageUri: localInvocationUri(LOCAL_FUNCTION_NAMES.usage),
    backend: backendTarget(config, { sampleBackend: localInvocationUri(LOCAL_FUNCTION_NAMES.backend) }),
    ...configuredBuildOptions(config),
    portalUri: localInvocationUri(LOCAL_FUNCTION_NAMES.portal),
    testCheckoutUri: localInvocationUri(LOCAL_FUNCTION_NAMES.testCheckout),
    ...(config.agentPayments === undefined ? {} : { purchaseUri: localInvocationUri(LOCAL_FUNCTION_NAMES.purchase) }),
    mcpUri: localInvocationUri(LOCAL_FUNCTION_NAMES.mcp),
    // The local server speaks http: the problem type URIs must resolve on it.
    selfScheme: 'http',
  });
}

export interface LocalApiOptions {
  readonly config: TollgateConfig;
  readonly built: BuiltApi;
  readonly dynamodbEndpoint: string;
  readonly tables: TableNames;
  readonly webhookSecret: string;
  /** DynamoDB Local's database is per access key id. @default LOCAL_CREDENTIALS */
  readonly credentials?: LocalCredentials;
  /** @default Date.now */
  readonly now?: () => number;
  /**
   * How the stage's flusher waits (between flushes, after a throttle): a test whose clock (`now`) advances
   * itself here drives the flusher with it. @default - the flusher keeps the system clock and timers
   */
  readonly sleep?: (ms: number) => Promise<void>;
  /** The stage's throttles (429 beyond them), as deployed: npm start turns them on. @default false */
  readonly throttling?: boolean;
  /** Receives every access-log line the stage writes (lambda/shared/access-log.ts). @default - none */
  readonly accessLog?: (line: string) => void;
  /** Receives the webhook's `access restored` log line of every recovery (lambda/webhook/recovery.ts), the MCP endpoint's `tool call` lines, agents' purchases and their first calls (lambda/shared/agents/first-call.ts). @default - none */
  readonly eventsLog?: (line: string) => void;
  /** `$context.domainName`: the local server's host and port, so the stage's own URLs resolve. @default "127.0.0.1" */
  readonly domainName?: string;
  /** The portal's Stripe (real with an API key, else the fake) and its signing secret for sessions. @default - no Stripe, a random secret */
  readonly portal?: LocalPortalOptions;
  /** The HMAC secret of agents' challenges (tollgate:agentPayments). @default - a random one per run */
  readonly agentSecret?: string;
  /** x402's facilitator (lib/local/x402-facilitator.ts) in place of the configured one. @default - the configured facilitatorUrl */
  readonly facilitatorUrl?: string;
  /**
   * The access log fed to the metering handler in batches, as the deployed subscription filter does.
   * @default on: a batch every second or at 500 lines, no Stripe reporting
   */
  readonly metering?: LocalMeteringOptions | false;
  /** With tollgate:alerts: the file the alerts' e-mails and seller events are caught in (lib/local/alerts.ts). @default - alerts stay undelivered */
  readonly alertsOutbox?: string;
}

export interface LocalPortalOptions {
  readonly stripe?: Stripe;
  /** The fake Stripe API's objects: the test checkout completes its sessions. */
  readonly fakeStripe?: FakeStripeStore;
  readonly sessionSecret: string;
}

export interface LocalMeteringOptions extends Pick<MeteringFeedOptions, 'intervalMs' | 'maxLines' | 'schedule'> {
  /** Where billed units are reported (the fake Stripe API, or Stripe). @default - none: reporting off */
  readonly reporter?: MeterReporter;
  /** @default the route table's costs and the configured plans */
  readonly rules?: MeteringRules;
  /** Each delivered batch's result (tests, the terminal). */
  readonly onBatch?: (result: MeteringResult) => void;
  readonly onError?: (err: unknown) => void;
}

export interface LocalApi {
  readonly gateway: LocalGateway;
  /** The DynamoDB client the handlers use (closed by `destroy`). */
  readonly clients: readonly DynamoDBClient[];
  /** The local subscription filter feeding the metering handler (absent when metering is off). */
  readonly metering?: MeteringFeed;
  /** One run of the deployed clock function, for the run scheduled at `scheduled` (the local timer calls it each minute). */
  clock(scheduled: Date): Promise<ClockRun>;
  /** The metering function's minute run (its schedule deployed): sums the usage windows that closed. Undefined when metering is off. */
  sumMeteringWindows(): Promise<MeteringResult | undefined>;
  destroy(): void;
}

/** The DynamoDB clients of the local functions, each with its deployed counterpart's settings where they matter. */
function localClients(endpoint: string, credentials: LocalCredentials) {
  return {
    // The deployed authorizer's client settings (timeouts, attempts), pointed at DynamoDB Local.
    authorizer: authorizerDynamoClient({ endpoint, region: LOCAL_REGION, credentials }),
    reservations: authorizerDynamoClient({ endpoint, region: LOCAL_REGION, credentials, maxAttempts: 1 }),
    webhook: localClient(endpoint, { requestTimeoutMs: 2000, maxAttempts: 2, credentials }),
    // Metering is off the request path: a slow DynamoDB Local (a loaded laptop) must delay it, not park its batches.
    metering: localClient(endpoint, { requestTimeoutMs: 10_000, maxAttempts: 3, credentials }),
  };
}

/** The gateway with the real handlers. The webhook flushes the gateway's cache in-process. */
export function createLocalApi(options: LocalApiOptions): LocalApi {
  const { config, built, tables } = options;
  const now = options.now ?? Date.now;
  const date = (): Date => new Date(now());
  const clients = localClients(options.dynamodbEndpoint, options.credentials ?? LOCAL_CREDENTIALS);
  const settings = localSettings(config, built.routes, tables, apiTitleOf(built.publicDocument));
  // The functions are built before the gateway that invokes them: flushes and deliveries reach it through this ref.
  const ref: { gateway?: LocalGateway } = {};
  const flusher: AuthorizerCacheFlusher = { flush: (target) => (ref.gateway === undefined ? Promise.resolve() : ref.gateway.flusher.flush(target)) };
  const flushClock = options.sleep === undefined ? {} : { flushClock: { now, sleep: options.sleep } };
  const clock = composeClock(settings.clock, { dynamodb: clients.webhook, flusher, ...flushClock, observability: createObservability('tollgate-clock') });
  const alerts =
    config.alerts === undefined || options.alertsOutbox === undefined
      ? undefined
      : createLocalAlerts({ config: config.alerts, client: clients.metering, eventsTable: tables.events, outboxFile: options.alertsOutbox, now: date, ...(options.portal?.stripe === undefined ? {} : { stripe: options.portal.stripe }) });
  const metering = localMetering(
    options,
    settings.metering,
    {
      dynamodb: clients.metering,
      now: date,
      ...(options.portal?.stripe === undefined ? {} : { stripe: options.portal.stripe }),
      ...(options.eventsLog === undefined ? {} : { onFirstCall: (record) => options.eventsLog!(JSON.stringify(record)) }),
    },
    alerts === undefined ? undefined : () => alerts.sweep(),
  );
  const sessionSecret = options.portal?.sessionSecret ?? randomBytes(32).toString('base64url');
  const agentSecret = options.agentSecret ?? randomBytes(32).toString('base64url');
  const functions: Record<string, LocalFunction> = {
    [LOCAL_FUNCTION_NAMES.authorizer]: composeAuthorizer(settings.authorizer, {
      dynamodb: clients.authorizer,
      reservations: clients.reservations,
      // Bearer JWTs of the configured issuers and of the local OIDC issuer (oidc-issuer.ts), as deployed.
      tokens: createTokenAuthenticator({ issuers: config.issuers ?? [], cacheTtlSeconds: config.authorizerCacheTtlSeconds, routeScopes: built.scopes, client: clients.authorizer, customersTable: tables.customers, now }),
      now: date,
      observability: createObservability('tollgate-authorizer'),
      agentSecret: () => Promise.resolve(agentSecret),
    }),
    [LOCAL_FUNCTION_NAMES.webhook]: composeWebhook(settings.webhook, {
      dynamodb: clients.webhook,
      signingSecrets: () => Promise.resolve([options.webhookSecret]),
      flusher,
      now: date,
      ...flushClock,
      observability: createObservability('tollgate-webhook'),
      ...(options.eventsLog === undefined ? {} : { onRestored: (restored) => options.eventsLog!(JSON.stringify(restored)) }),
    }),
    [LOCAL_FUNCTION_NAMES.backend]: sampleBackend,
    [LOCAL_FUNCTION_NAMES.portal]: composePortal(settings.portal, {
      dynamodb: clients.webhook,
      stripe: () => Promise.resolve(options.portal?.stripe),
      sessionSecret: () => Promise.resolve(sessionSecret),
      flusher,
      assets: localPortalAssets(built.publicDocument),
      now: date,
      ...flushClock,
      testMode: options.portal?.fakeStripe !== undefined,
      observability: createObservability('tollgate-portal'),
    }),
    [LOCAL_FUNCTION_NAMES.testCheckout]: localTestCheckout(options, clients.webhook, ref),
    [LOCAL_FUNCTION_NAMES.usage]: composeUsage(settings.usage, { dynamodb: clients.webhook, now: date }),
    ...(settings.purchase === undefined
      ? {}
      : {
          [LOCAL_FUNCTION_NAMES.purchase]: composePurchase(settings.purchase, {
            dynamodb: clients.webhook,
            stripe: () => Promise.resolve(options.portal?.stripe),
            secret: () => Promise.resolve(agentSecret),
            now: date,
            ...(options.facilitatorUrl === undefined ? {} : { facilitator: httpFacilitator(options.facilitatorUrl) }),
            ...(options.eventsLog === undefined ? {} : { onPurchase: (record) => options.eventsLog!(JSON.stringify(record)) }),
          }),
        }),
    ...(built.mcp === undefined ? {} : { [LOCAL_FUNCTION_NAMES.mcp]: localMcp(settings.mcp, built.mcp, ref, options) }),
  };
  const accessLog =
    metering === undefined
      ? options.accessLog
      : (line: string): void => {
          options.accessLog?.(line);
          metering.push(line);
        };
  const gateway = (ref.gateway = createLocalGateway({
    document: built.document,
    functions,
    stage: config.stageName,
    restApiId: LOCAL_REST_API_ID,
    now,
    ...(accessLog === undefined ? {} : { accessLog }),
    ...(options.domainName === undefined ? {} : { domainName: options.domainName }),
    ...(options.throttling === true ? { throttling: stageThrottling(config) } : {}),
  }));
  return {
    gateway,
    ...(metering === undefined ? {} : { metering }),
    clients: Object.values(clients),
    clock: (scheduled) => clock({ time: scheduled.toISOString() }),
    sumMeteringWindows: async () => {
      const result = metering === undefined ? undefined : await metering.handler({ 'detail-type': 'Scheduled Event', source: 'aws.events', time: date().toISOString() });
      await alerts?.sweep();
      return result;
    },
    destroy: () => {
      metering?.close();
      for (const client of Object.values(clients)) client.destroy();
    },
  };
}

/** The stage's throttle and the webhook method's own, as the stack sets them. */
export function stageThrottling(config: TollgateConfig): StageThrottling {
  return {
    rateLimit: config.throttleRateLimit,
    burstLimit: config.throttleBurstLimit,
    methods: { [`POST ${WEBHOOK_PATH}`]: { rateLimit: config.webhookThrottleRateLimit, burstLimit: config.webhookThrottleBurstLimit } },
  };
}

/** The test checkout (the fake Stripe's hosted page): it completes a session by delivering its events to the webhook, through the gateway. */
function localTestCheckout(options: LocalApiOptions, client: DynamoDBClient, ref: { readonly gateway?: LocalGateway }): LocalFunction {
  const { config } = options;
  return makeTestCheckoutHandler({
    store: options.portal?.fakeStripe,
    webhookSecret: options.webhookSecret,
    catalog: portalCatalog(config),
    customers: (customerId) => readCustomer(client, options.tables.customers, customerId),
    now: options.now ?? Date.now,
    deliver: webhookDelivery(() => ref.gateway, () => config.stageName),
  });
}

/** Posts a signed event body to the stage's webhook through the gateway, as Stripe does; resolves with its status (503 before the gateway is up). */
export function webhookDelivery(gateway: () => LocalGateway | undefined, stageName: () => string): (payload: string, signature: string) => Promise<number> {
  return async (payload, signature) => {
    const target = gateway();
    if (target === undefined) return 503;
    const response = await target.handle({
      method: 'POST',
      path: `/${stageName()}${WEBHOOK_PATH}`,
      headers: { 'Content-Type': 'application/json; charset=utf-8', 'Stripe-Signature': signature, 'User-Agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)' },
      body: Buffer.from(payload, 'utf8'),
    });
    return response.statusCode;
  };
}

/** The MCP endpoint: its tool calls through the gateway in process (deployed: fetch to the stage's URL), its `tool call` lines in the events log. */
function localMcp(settings: McpSettings, catalog: McpCatalog, ref: { readonly gateway?: LocalGateway }, options: LocalApiOptions): LocalFunction {
  const gateway: Gateway = async (request) => {
    const url = new URL(request.url);
    const response = await ref.gateway!.handle({ method: request.method, path: `${url.pathname}${url.search}`, headers: request.headers, ...(request.body === undefined ? {} : { body: request.body }) });
    return { status: response.statusCode, headers: response.headers, body: response.body.toString('utf8') };
  };
  const { eventsLog } = options;
  return composeMcp(settings, {
    catalog,
    gateway,
    observability: createObservability('tollgate-mcp'),
    ...(options.now === undefined ? {} : { now: () => new Date(options.now!()) }),
    ...(eventsLog === undefined ? {} : { onToolCall: (record) => eventsLog(JSON.stringify(record)) }),
  });
}

/** The access log fed to the metering function in batches, as the deployed subscription filter does; undefined when metering is off. */
function localMetering(
  options: LocalApiOptions,
  settings: MeteringSettings,
  clients: Parameters<typeof composeMetering>[1],
  /** After each batch: deliver the alerts it put (the deployed stream's part). */
  afterBatch?: () => Promise<unknown>,
): (MeteringFeed & { readonly handler: ReturnType<typeof composeMetering> }) | undefined {
  if (options.metering === false) return undefined;
  const feed = options.metering ?? {};
  const handler = composeMetering(feed.rules === undefined ? settings : { ...settings, rules: feed.rules }, {
    ...clients,
    ...(feed.reporter === undefined ? {} : { reporter: feed.reporter }),
    observability: createObservability('tollgate-metering'),
  });
  const fed = createMeteringFeed({
    // Not `onBatch?.(await handler(event))`: an optional call skips its arguments when there is no
    // callback, and the batch would never be metered.
    deliver: async (event) => {
      const result = await handler(event);
      await afterBatch?.();
      feed.onBatch?.(result);
    },
    now: options.now ?? Date.now,
    ...(feed.intervalMs === undefined ? {} : { intervalMs: feed.intervalMs }),
    ...(feed.maxLines === undefined ? {} : { maxLines: feed.maxLines }),
    ...(feed.schedule === undefined ? {} : { schedule: feed.schedule }),
    ...(feed.onError === undefined ? {} : { onError: feed.onError }),
  });
  return Object.assign(fed, { handler });
}
