import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { setTimeout as delay } from 'node:timers/promises';
import { loadApiDocument } from '../openapi/load';
import type { TollgateConfig } from '../config/tollgate-config';
import { backendTarget, buildApiDocument, configuredBuildOptions, type BuiltApi } from '../openapi/build';
import { DynamoCustomerReader } from '../../lambda/authorizer/customer-store';
import { authorizerDynamoClient } from '../../lambda/authorizer/dynamo-client';
import { makeAuthorizerHandler } from '../../lambda/authorizer/handler';
import { createTokenAuthenticator } from '../../lambda/authorizer/token-auth';
import { handler as sampleBackend } from '../../lambda/backend/index';
import { makeClockHandler, type ClockRun } from '../../lambda/clock/handler';
import { DynamoBoundaryReader } from '../../lambda/clock/store';
import { createObservability } from '../../lambda/shared/observability';
import type { AuthorizerCacheFlusher } from '../../lambda/shared/ports';
import type { RouteRule } from '../../lambda/shared/requirements';
import { authorizerEnvironment, loadAuthorizerSettings, loadUsageSettings, usageEnvironment, type AuthorizerSettings } from '../../lambda/shared/settings';
import { PAYMENT_STATE_PROJECTION } from '../../lambda/shared/customers/item';
import { readCustomer } from '../../lambda/shared/customers/store';
import { makeUsageHandler } from '../../lambda/usage/handler';
import { TABLES, type TableNames } from '../../lambda/shared/tables';
import { checkoutLinker, dynamoCheckoutLinkStore } from '../../lambda/webhook/checkout-link';
import { makeMeteringHandler, type MeteringResult } from '../../lambda/metering/handler';
import { meteringRulesFrom, type MeteringRules } from '../../lambda/metering/rules';
import { DynamoMeteringStore } from '../../lambda/metering/store';
import type { MeterReporter } from '../../lambda/metering/stripe-meter';
import { makeWebhookHandler } from '../../lambda/webhook/handler';
import type { AccessRestored } from '../../lambda/webhook/recovery';
import { DynamoPaymentStateStore } from '../../lambda/webhook/store';
import { randomBytes } from 'node:crypto';
import type Stripe from 'stripe';
import { makePortalHandler } from '../../lambda/portal/handler';
import { portalCatalog } from '../config/portal-catalog';
import { WEBHOOK_PATH } from '../contract';
import { localPortalAssets } from './portal-assets';
import type { FakeStripeStore } from './stripe-api/store';
import { makeTestCheckoutHandler } from './test-checkout';
import { LOCAL_CREDENTIALS, LOCAL_REGION, localClient, type LocalCredentials } from './dynamodb-local';
import { createLocalGateway, localInvocationUri, type LocalFunction, type LocalGateway } from './gateway';
import { createMeteringFeed, type MeteringFeed, type MeteringFeedOptions } from './metering-feed';

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
} as const;
export const LOCAL_REST_API_ID = 'local';
export const LOCAL_TABLE_PREFIX = 'tollgate';
/** Documented in the README: only for the local run, never for a deployed endpoint. */
export const LOCAL_WEBHOOK_SECRET = 'whsec_tollgate_local_development_only';

/**
 * The settings the deployed authorizer reads from its environment, derived through the same contract
 * (the stack's encoding, the function's decoding), so the local run cannot drift from it.
 */
export function authorizerSettingsFor(config: TollgateConfig, routes: readonly RouteRule[], customersTable: string): AuthorizerSettings {
  return loadAuthorizerSettings({ ...authorizerEnvironment({ ...config, routes }), [TABLES.customers.envVar]: customersTable });
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
  /** How the clock waits for a boundary. @default a timer, cancelled by `destroy` */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Receives every access-log line the stage writes (lambda/shared/access-log.ts). @default - none */
  readonly accessLog?: (line: string) => void;
  /** Receives the webhook's `access restored` log line of every recovery (lambda/webhook/recovery.ts). @default - none */
  readonly eventsLog?: (line: string) => void;
  /** `$context.domainName`: the local server's host and port, so the stage's own URLs resolve. @default "127.0.0.1" */
  readonly domainName?: string;
  /** The portal's Stripe (real with an API key, else the fake) and its signing secret for sessions. @default - no Stripe, a random secret */
  readonly portal?: LocalPortalOptions;
  /**
   * The access log fed to the metering handler in batches, as the deployed subscription filter does.
   * @default on: a batch every second or at 500 lines, no Stripe reporting
   */
  readonly metering?: LocalMeteringOptions | false;
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
  destroy(): void;
}

/** The gateway with the real handlers. The webhook flushes the gateway's cache in-process. */
export function createLocalApi(options: LocalApiOptions): LocalApi {
  const { config, built, tables } = options;
  const now = options.now ?? Date.now;
  // The deployed authorizer's client settings (timeouts, attempts), pointed at DynamoDB Local.
  const credentials = options.credentials ?? LOCAL_CREDENTIALS;
  const authorizerClient = authorizerDynamoClient({ endpoint: options.dynamodbEndpoint, region: LOCAL_REGION, credentials });
  const reservationClient = authorizerDynamoClient({ endpoint: options.dynamodbEndpoint, region: LOCAL_REGION, credentials, maxAttempts: 1 });
  const webhookClient = localClient(options.dynamodbEndpoint, { requestTimeoutMs: 2000, maxAttempts: 2, credentials });
  // The webhook is built before the gateway that invokes it: the flush reaches it through this ref.
  const ref: { gateway?: LocalGateway } = {};
  const flusher: AuthorizerCacheFlusher = {
    flush: (target) => (ref.gateway === undefined ? Promise.resolve() : ref.gateway.flusher.flush(target)),
  };
  const settings = authorizerSettingsFor(config, built.routes, tables.customers);
  const authorizer = makeAuthorizerHandler({
    customers: new DynamoCustomerReader(authorizerClient, tables.customers, { reservationClient }),
    settings,
    // Bearer JWTs of the configured issuers and of the local OIDC issuer (oidc-issuer.ts), as deployed.
    tokens: createTokenAuthenticator({ issuers: config.issuers ?? [], cacheTtlSeconds: config.authorizerCacheTtlSeconds, routeScopes: built.scopes, client: authorizerClient, customersTable: tables.customers, now }),
    now: () => new Date(now()),
    observability: createObservability('tollgate-authorizer'),
  });
  const webhook = makeWebhookHandler({
    store: new DynamoPaymentStateStore(webhookClient, { customersTable: tables.customers, eventsTable: tables.events, boundariesTable: tables.boundaries }),
    signingSecrets: () => Promise.resolve([options.webhookSecret]),
    flusher,
    checkoutLinks: checkoutLinker(dynamoCheckoutLinkStore(webhookClient, tables)),
    now: () => new Date(now()),
    observability: createObservability('tollgate-webhook'),
    plans: settings.plans ?? {},
    recovery: {
      gracePeriodSeconds: settings.gracePeriodSeconds,
      ...(options.eventsLog === undefined ? {} : { onRestored: (restored: AccessRestored) => options.eventsLog!(JSON.stringify(restored)) }),
    },
  });
  // A stopped run must not keep the process alive for the minutes a clock run may wait.
  const stopped = new AbortController();
  const clock = makeClockHandler({
    boundaries: new DynamoBoundaryReader(webhookClient, tables.boundaries),
    flusher,
    target: { restApiId: LOCAL_REST_API_ID, stage: config.stageName },
    gracePeriodSeconds: settings.gracePeriodSeconds,
    now: () => new Date(now()),
    sleep: options.sleep ?? ((ms) => delay(ms, undefined, { signal: stopped.signal })),
    observability: createObservability('tollgate-clock'),
  });
  const sessionSecret = options.portal?.sessionSecret ?? randomBytes(32).toString('base64url');
  const portal = makePortalHandler({
    settings: { tables, routes: built.routes, gracePeriodSeconds: settings.gracePeriodSeconds, catalog: portalCatalog(config), plans: settings.plans ?? {}, checkoutUrl: config.checkoutUrl, portalUrl: config.portalUrl },
    dynamodb: webhookClient,
    stripe: () => Promise.resolve(options.portal?.stripe),
    sessionSecret: () => Promise.resolve(sessionSecret),
    flusher,
    assets: localPortalAssets(built.publicDocument),
    now: () => new Date(now()),
    testMode: options.portal?.fakeStripe !== undefined,
    observability: createObservability('tollgate-portal'),
  });
  const testCheckout = makeTestCheckoutHandler({
    store: options.portal?.fakeStripe,
    webhookSecret: options.webhookSecret,
    catalog: portalCatalog(config),
    customers: (customerId) => readCustomer(webhookClient, tables.customers, customerId),
    now,
    deliver: async (payload, signature) =>
      (
        await ref.gateway!.handle({
          method: 'POST',
          path: `/${config.stageName}${WEBHOOK_PATH}`,
          headers: { 'Content-Type': 'application/json; charset=utf-8', 'Stripe-Signature': signature, 'User-Agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)' },
          body: Buffer.from(payload, 'utf8'),
        })
      ).statusCode,
  });
  // Metering is off the request path: a slow DynamoDB Local (a loaded laptop) must delay it, not park its batches.
  const meteringClient = localClient(options.dynamodbEndpoint, { requestTimeoutMs: 10_000, maxAttempts: 3, credentials });
  const meteringOptions = options.metering === false ? undefined : (options.metering ?? {});
  const metering =
    meteringOptions === undefined
      ? undefined
      : (() => {
          const handler = makeMeteringHandler({
            store: new DynamoMeteringStore(meteringClient, { customers: tables.customers, events: tables.events }),
            rules: meteringOptions.rules ?? meteringRulesFrom(built.routes, config.plans),
            flusher,
            target: { restApiId: LOCAL_REST_API_ID, stage: config.stageName },
            ...(meteringOptions.reporter === undefined ? {} : { reporter: meteringOptions.reporter }),
            now: () => new Date(now()),
            observability: createObservability('tollgate-metering'),
          });
          return createMeteringFeed({
            // Not `onBatch?.(await handler(event))`: an optional call skips its arguments when there is no
            // callback, and the batch would never be metered.
            deliver: async (event) => {
              const result = await handler(event);
              meteringOptions.onBatch?.(result);
            },
            now,
            ...(meteringOptions.intervalMs === undefined ? {} : { intervalMs: meteringOptions.intervalMs }),
            ...(meteringOptions.maxLines === undefined ? {} : { maxLines: meteringOptions.maxLines }),
            ...(meteringOptions.schedule === undefined ? {} : { schedule: meteringOptions.schedule }),
            ...(meteringOptions.onError === undefined ? {} : { onError: meteringOptions.onError }),
          });
        })();
  const accessLog =
    metering === undefined
      ? options.accessLog
      : (line: string): void => {
          options.accessLog?.(line);
          metering.push(line);
        };
  const usage = makeUsageHandler({
    customers: { read: (customerId) => readCustomer(webhookClient, tables.customers, customerId, PAYMENT_STATE_PROJECTION) },
    // Through the same environment contract as the deployed function.
    settings: loadUsageSettings({ ...usageEnvironment(config), [TABLES.customers.envVar]: tables.customers }),
    now: () => new Date(now()),
    corsAllowOrigin: config.corsAllowOrigin,
  });
  const functions: Record<string, LocalFunction> = {
    [LOCAL_FUNCTION_NAMES.authorizer]: authorizer,
    [LOCAL_FUNCTION_NAMES.webhook]: webhook,
    [LOCAL_FUNCTION_NAMES.backend]: sampleBackend,
    [LOCAL_FUNCTION_NAMES.portal]: portal,
    [LOCAL_FUNCTION_NAMES.testCheckout]: testCheckout,
    [LOCAL_FUNCTION_NAMES.usage]: usage,
  };
  const gateway = (ref.gateway = createLocalGateway({
    document: built.document,
    functions,
    stage: config.stageName,
    restApiId: LOCAL_REST_API_ID,
    now,
    ...(accessLog === undefined ? {} : { accessLog }),
    ...(options.domainName === undefined ? {} : { domainName: options.domainName }),
  }));
  return {
    gateway,
    ...(metering === undefined ? {} : { metering }),
    clients: [authorizerClient, reservationClient, webhookClient, meteringClient],
    clock: (scheduled) => clock({ time: scheduled.toISOString() }),
    destroy: () => {
      stopped.abort();
      metering?.close();
      authorizerClient.destroy();
      reservationClient.destroy();
      webhookClient.destroy();
      meteringClient.destroy();
    },
  };
}
