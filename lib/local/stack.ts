import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { setTimeout as delay } from 'node:timers/promises';
import { loadApiDocument } from '../openapi/load';
import { loadConfig, readCdkJsonContext, type TollgateConfig } from '../config/tollgate-config';
import { buildApiDocument, configuredBuildOptions, type BuiltApi } from '../openapi/build';
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
import { authorizerEnvironment, loadAuthorizerSettings, type AuthorizerSettings } from '../../lambda/shared/settings';
import { TABLES, type TableNames } from '../../lambda/shared/tables';
import { makeWebhookHandler } from '../../lambda/webhook/handler';
import { DynamoPaymentStateStore } from '../../lambda/webhook/store';
import { LOCAL_CREDENTIALS, LOCAL_REGION, localClient, type LocalCredentials } from './dynamodb-local';
import { createLocalGateway, localInvocationUri, type LocalFunction, type LocalGateway } from './gateway';

/**
 * The deployed stack's pieces, wired for one laptop: the same OpenAPI document (the shared builder,
 * with local invocation URIs), the same authorizer, webhook and sample backend handlers, talking to
 * DynamoDB Local. No aws-cdk-lib.
 */

export const LOCAL_FUNCTION_NAMES = { authorizer: 'tollgate-authorizer', webhook: 'tollgate-webhook', backend: 'tollgate-backend' } as const;
export const LOCAL_REST_API_ID = 'local';
export const LOCAL_TABLE_PREFIX = 'tollgate';
/** Documented in the README: only for the local run, never for a deployed endpoint. */
export const LOCAL_WEBHOOK_SECRET = 'whsec_tollgate_local_development_only';

/** cdk.json's `tollgate:*` context, validated as `cdk synth` validates it; `overrides` as `cdk -c key=value`. */
export function loadProjectConfig(root: string, overrides: Readonly<Record<string, string>> = {}): TollgateConfig {
  const context = { ...readCdkJsonContext(root), ...overrides };
  return loadConfig((key) => context[key]);
}

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
    backend:
      config.backendUrl === undefined
        ? { type: 'lambda', invocationUri: localInvocationUri(LOCAL_FUNCTION_NAMES.backend) }
        : { type: 'http', baseUrl: config.backendUrl },
    ...configuredBuildOptions(config),
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
}

export interface LocalApi {
  readonly gateway: LocalGateway;
  /** The DynamoDB client the handlers use (closed by `destroy`). */
  readonly clients: readonly DynamoDBClient[];
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
  const webhookClient = localClient(options.dynamodbEndpoint, { requestTimeoutMs: 2000, maxAttempts: 2, credentials });
  // The webhook is built before the gateway that invokes it: the flush reaches it through this ref.
  const ref: { gateway?: LocalGateway } = {};
  const flusher: AuthorizerCacheFlusher = {
    flush: (target) => (ref.gateway === undefined ? Promise.resolve() : ref.gateway.flusher.flush(target)),
  };
  const settings = authorizerSettingsFor(config, built.routes, tables.customers);
  const authorizer = makeAuthorizerHandler({
    customers: new DynamoCustomerReader(authorizerClient, tables.customers),
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
    now: () => new Date(now()),
    observability: createObservability('tollgate-webhook'),
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
  const functions: Record<string, LocalFunction> = {
    [LOCAL_FUNCTION_NAMES.authorizer]: authorizer,
    [LOCAL_FUNCTION_NAMES.webhook]: webhook,
    [LOCAL_FUNCTION_NAMES.backend]: sampleBackend,
  };
  const gateway = (ref.gateway = createLocalGateway({
    document: built.document,
    functions,
    stage: config.stageName,
    restApiId: LOCAL_REST_API_ID,
    now,
    ...(options.accessLog === undefined ? {} : { accessLog: options.accessLog }),
  }));
  return {
    gateway,
    clients: [authorizerClient, webhookClient],
    clock: (scheduled) => clock({ time: scheduled.toISOString() }),
    destroy: () => {
      stopped.abort();
      authorizerClient.destroy();
      webhookClient.destroy();
    },
  };
}
