import { randomBytes } from 'node:crypto';
import { startFakeFacilitator, type FakeFacilitator } from './x402-facilitator';
import * as path from 'node:path';
import { createWriteStream, mkdirSync } from 'node:fs';
import { PROJECT_ROOT } from '../contract';

/** The clock's schedule: once a minute, the finest rate EventBridge schedules. */
const CLOCK_PERIOD_MS = 60_000;
import type { TableNames } from '../../lambda/shared/tables';
import { accessLogPath, eventsLogPath, removeCoordinates, writeCoordinates } from './coordinates';
import { adoptSharedDatabase, credentialsPath, localCredentials } from './credentials';
import { isSampleApi } from './banner';
import { DEMO_KEYS_FILE, issueDemoKeys, seedDemoCustomers, type DemoKeys } from './demo';
import { migrateLayout } from '../../lambda/shared/customers/layout';
import { createTables, freePort, LOCAL_REGION, startDynamoDbLocal, tableNames, type DynamoDbLocal } from './dynamodb-local';
import { localMeterReporting, type LocalMeterReporting } from './meter-reporting';
import { describeRouteChanges, filesUnder, requireFresh, watchSources } from './reload';
import { OPERATOR_PATH } from './operator/page';
import { OUTBOX_PATH } from './outbox-page';
import { outboxPath } from './alerts';
import { startAdminServer, startGatewayServer, type RunningServer } from './server';
import { startLocalIssuer, type LocalIssuer } from './oidc-issuer';
import * as stack from './stack';
import * as tollgateConfig from '../config/tollgate-config';
import { portalCatalog } from '../config/portal-catalog';
import { PORTAL_PATHS } from '../../lambda/shared/portal-paths';
import { localPortal, type LocalPortal } from './portal-run';
import { startLocalStripe, type LocalStripe } from './stripe-run';

/**
 * One local run: DynamoDB Local, the tables, the demo, the gateway and admin servers, and the reload of
 * the gateway when the document, cdk.json or lambda/ change (data, keys and ports kept).
 */

export interface LocalRunOptions {
  /** The folder whose cdk.json the run serves. */
  readonly root: string;
  /** `-c key=value`, on top of cdk.json's context. */
  readonly context: Readonly<Record<string, string>>;
  readonly stateDir: string;
  readonly port: number;
  readonly inMemory: boolean;
  readonly webhookSecret: string;
  readonly log: (line: string) => void;
  /** Called with the new API URL when a reload changes it. */
  readonly onUrlChange?: (apiUrl: string) => void;
  /** A Stripe test-mode API key: the portal's Checkout and Billing Portal, and metered billing reports. @default - the local fakes of Stripe's API (and the portal's test checkout) */
  readonly stripeApiKey?: string;
}

export interface LocalRun {
  apiUrl(): string;
  readonly dynamodb: DynamoDbLocal;
  readonly dbPath: string | undefined;
  readonly tables: TableNames;
  /** The sample API's demo customers and their keys; absent for a document of one's own (banner.ts isSampleApi). */
  readonly demo?: { readonly keys: DemoKeys; readonly seeded: boolean; readonly reused: boolean };
  /** The configuration (cdk.json and -c overrides) and document the gateway serves now. */
  stack(): { readonly config: tollgateConfig.TollgateConfig; readonly built: Served['built'] };
  /** How the portal takes payments: the local test checkout, or real Stripe. */
  readonly portalMode: 'fake' | 'stripe';
  /** Where metering reports billed units. */
  readonly meterReporting: LocalMeterReporting;
  /** The operator page on the admin server (lib/local/operator). */
  readonly operatorUrl: string;
  /** The alerts' local outbox page on the admin server (lib/local/outbox-page.ts). */
  readonly outboxUrl: string;
  /** The local OIDC issuer the gateway trusts. */
  readonly issuer: LocalIssuer;
  /** The Stripe API the run talks to: the local fake (whose test helper mints agents' SPTs), or Stripe's. */
  readonly stripeApiUrl: string;
  stop(): Promise<void>;
}

type StackModule = typeof stack;
/** What a reload takes afresh: the local stack, and the configuration loader it is built from. */
interface Builders {
  readonly stack: StackModule;
  readonly config: typeof tollgateConfig;
}
interface Served {
  readonly config: tollgateConfig.TollgateConfig;
  readonly built: ReturnType<StackModule['buildLocalDocument']>;
  readonly api: ReturnType<StackModule['createLocalApi']>;
}

/** The run's own modules (servers, DynamoDB Local, lock): kept across reloads, unlike handlers and builders. */
const RUN_MODULES = new Set(['start', 'run', 'server', 'reload', 'run-lock', 'lifeline', 'credentials', 'coordinates', 'dynamodb-local', 'demo', 'portal-run', 'stripe-run', 'oidc-issuer']);
const keepOnReload = (file: string): boolean =>
  path.dirname(file) === __dirname && RUN_MODULES.has(path.basename(file).replace(/\.[cm]?[jt]s$/, ''));
/** Handler code the deployed stack bundles: changes to it reload the gateway. */
const LAMBDA_DIR = path.join(PROJECT_ROOT, 'lambda');

/** A path for people: relative inside the project, absolute outside it. */
export function shown(file: string, root = PROJECT_ROOT): string {
  const relative = path.relative(root, file);
  return relative === '' ? '.' : relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
}

export async function startLocalRun(options: LocalRunOptions): Promise<LocalRun> {
  const { root, stateDir, log } = options;
  const dbPath = options.inMemory ? undefined : path.join(stateDir, 'dynamodb');
  const credentials = localCredentials(stateDir);
  if (dbPath !== undefined && adoptSharedDatabase(dbPath, credentials)) {
    log(`moved the local data into the database of ${shown(credentialsPath(stateDir), root)} (readable with its key only)`);
  }
  const tables = tableNames(stack.LOCAL_TABLE_PREFIX);
  // Appended across runs, like a log group; private like the rest of the state folder.
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const accessLog = createWriteStream(accessLogPath(stateDir), { flags: 'a', mode: 0o600 });
  let meterReporting: LocalMeterReporting | undefined;
  const eventsLog = createWriteStream(eventsLogPath(stateDir), { flags: 'a', mode: 0o600 });
  // One per run: a challenge issued before a reload is still payable after it.
  const agentSecret = randomBytes(32).toString('base64url');
  const build = ({ stack: module, config: configModule }: Builders, endpoint: string): Served => {
    const loaded = configModule.loadProjectConfig(root, options.context);
    // The local issuer is trusted beside whatever cdk.json trusts.
    const config = issuer === undefined ? loaded : { ...loaded, issuers: [...(loaded.issuers ?? []), issuer.trusted] };
    const built = module.buildLocalDocument(config, root);
    return {
      config,
      built,
      api: module.createLocalApi({
        config,
        built,
        dynamodbEndpoint: endpoint,
        tables,
        webhookSecret: options.webhookSecret,
        credentials,
        accessLog: (line) => accessLog.write(`${line}\n`),
        eventsLog: (line) => eventsLog.write(`${line}\n`),
        alertsOutbox: outboxPath(stateDir),
        domainName: `127.0.0.1:${options.port}`,
        // The stage's and the webhook method's throttles, as deployed (429 beyond them).
        throttling: true,
        ...(portal === undefined ? {} : { portal: portal.options }),
        agentSecret,
        ...(facilitator === undefined ? {} : { facilitatorUrl: facilitator.url }),
        metering: {
          reporter: meterReporting!.reporter,
          onError: (err) => log(`tollgate: metering batch failed: ${err instanceof Error ? err.message : String(err)}`),
          onBatch: (result) => {
            if (result.outcome === 'parked') log(`tollgate: metering batch ${result.batchId ?? ''} parked (a write kept failing); apply it with: npx tollgate metering replay`);
          },
        },
      }),
    };
  };

  // Validate the configuration and document before starting anything.
  stack.buildLocalDocument(tollgateConfig.loadProjectConfig(root, options.context), root);
  let dynamodb: DynamoDbLocal | undefined;
  let portal: LocalPortal | undefined;
  let localStripe: LocalStripe | undefined;
  let facilitator: FakeFacilitator | undefined;
  let issuer: LocalIssuer | undefined;
  const servers: RunningServer[] = [];
  let served: Served | undefined;
  let stopWatching = (): void => undefined;
  const retired = new Set<ReturnType<typeof setTimeout>>();

  let clockTimer: ReturnType<typeof setInterval> | undefined;
  let stopping = false;

  const stop = async (): Promise<void> => {
    stopping = true;
    if (clockTimer !== undefined) clearInterval(clockTimer);
    stopWatching();
    removeCoordinates(stateDir, process.pid);
    await Promise.allSettled([...servers.map((s) => s.close()), issuer?.close()]);
    for (const timer of retired) clearTimeout(timer);
    // The last access-log lines are metered before the clients go.
    await served?.api.metering?.stop().catch(() => undefined);
    served?.api.destroy();
    await new Promise<void>((resolve) => accessLog.end(resolve));
    await localStripe?.close();
    await facilitator?.close();
    await new Promise<void>((resolve) => eventsLog.end(resolve));
    await dynamodb?.stop();
  };

  try {
    issuer = await startLocalIssuer({ stateDir });
    dynamodb = await startDynamoDbLocal({ credentials, ...(dbPath === undefined ? {} : { dbPath }) });
    const admin = dynamodb.client();
    await createTables(admin, tables);
    // The deploy's layout migration, on the local tables: a state folder from an earlier version upgrades here, once.
    await migrateLayout(admin, tables.customers);
    const projectConfig = tollgateConfig.loadProjectConfig(root, options.context);
    // One Stripe for the portal and metering: the real one with a test-mode key, else one local fake.
    const testPage = (id: string): string => `http://127.0.0.1:${options.port}/${served?.config.stageName ?? projectConfig.stageName}${PORTAL_PATHS.testCheckout.replace('{session}', id)}`;
    // The fake's own events (a saved card charged off-session) reach the stage's webhook as Stripe's would.
    const webhook = { secret: options.webhookSecret, deliver: stack.webhookDelivery(() => served?.api.gateway, () => served?.config.stageName ?? projectConfig.stageName), log };
    localStripe = await startLocalStripe({ catalog: portalCatalog(projectConfig), pages: { checkout: testPage, billingPortal: testPage }, webhook, ...(options.stripeApiKey === undefined ? {} : { apiKey: options.stripeApiKey }) });
    meterReporting = localMeterReporting(localStripe);
    // x402's payments are verified and settled by a local facilitator (test wallets, no chain): the configured one is a real one.
    facilitator = await startFakeFacilitator();
    portal = localPortal({ stateDir, stripe: localStripe });
    served = build({ stack, config: tollgateConfig }, dynamodb.endpoint);
    const gatewayServer = await startGatewayServer(() => served!.api.gateway, { port: options.port, log });
    servers.push(gatewayServer);
    const adminServer = await startAdminServer(() => served!.api.gateway, { port: await freePort(), log, operatorStateDir: stateDir });
    servers.push(adminServer);
    const apiUrl = (): string => `${gatewayServer.url}/${served!.config.stageName}/`;
    const writeRunCoordinates = (): void =>
      writeCoordinates(stateDir, {
        apiUrl: apiUrl(),
        webhookUrl: `${apiUrl()}webhooks/stripe`,
        adminUrl: adminServer.url,
        dynamodbEndpoint: dynamodb!.endpoint,
        region: LOCAL_REGION,
        tables,
        stage: served!.config.stageName,
        restApiId: stack.LOCAL_REST_API_ID,
        webhookSecretSource: options.webhookSecret === stack.LOCAL_WEBHOOK_SECRET ? 'default' : 'env',
        pid: process.pid,
        dynamodbPid: dynamodb!.pid,
        oidcIssuerUrl: issuer!.url,
        context: options.context,
      });

    // The demo customers are the sample API's: its plans, its entitlement, its routes.
    let demo: LocalRun['demo'];
    if (isSampleApi(served.built.operations)) {
      const seeded = await seedDemoCustomers(served.api.gateway, { stage: served.config.stageName, webhookSecret: options.webhookSecret, dynamodb: admin, tables });
      const { reused, ...keys } = await issueDemoKeys({ client: admin, tables }, path.join(stateDir, DEMO_KEYS_FILE));
      demo = { keys, seeded, reused };
    }
    admin.destroy();
    writeRunCoordinates();

    const reload = (changed: readonly string[]): void => {
      log(`changed: ${changed.map((file) => shown(file, root)).join(', ')}`);
      const before = served!;
      let next: Served;
      try {
        const freshStack = requireFresh<StackModule>(require.resolve('./stack'), [path.join(PROJECT_ROOT, 'lib'), LAMBDA_DIR], keepOnReload);
        // requireFresh emptied the cache of lib/ and lambda/: the configuration (and the rules it validates with) loads afresh too.
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh module instance needs require itself
        next = build({ stack: freshStack, config: require('../config/tollgate-config') as typeof tollgateConfig }, dynamodb!.endpoint);
      } catch (err) {
        log(`tollgate: not reloaded: ${err instanceof Error ? err.message : String(err)} (still serving the last good version)`);
        return;
      }
      served = next;
      // Requests already inside the old gateway finish on its clients.
      const timer = setTimeout(() => {
        retired.delete(timer);
        void (before.api.metering?.stop() ?? Promise.resolve()).finally(() => before.api.destroy());
      }, 10_000);
      retired.add(timer);
      const routes = describeRouteChanges(before.built.operations, next.built.operations);
      log(`reloaded: ${next.built.operations.length} routes${routes === undefined ? '' : ` (${routes})`}; data and keys kept`);
      if (next.config.stageName !== before.config.stageName) {
        writeRunCoordinates();
        options.onUrlChange?.(apiUrl());
        log(`now serving ${apiUrl()}`);
      }
    };
    // The deployed schedules: a run each minute sweeps the stage's flush outbox (lambda/clock/handler.ts)
    // and sums the metering windows that closed (lambda/metering/window.ts).
    const tick = (): void => {
      served!.api.clock(new Date()).catch((err: unknown) => {
        if (stopping) return;
        log(`tollgate: clock run failed: ${err instanceof Error ? err.message : String(err)} (a queued flush waits for the next run)`);
      });
      served!.api.sumMeteringWindows().catch((err: unknown) => {
        if (stopping) return;
        log(`tollgate: metering window run failed: ${err instanceof Error ? err.message : String(err)} (the next run sums the window again)`);
      });
    };
    tick();
    clockTimer = setInterval(tick, CLOCK_PERIOD_MS);
    clockTimer.unref();

    const watched = (): string[] => [path.join(root, 'cdk.json'), path.resolve(root, served!.config.openApiDocument), ...filesUnder(LAMBDA_DIR)];
    stopWatching = watchSources(watched, reload);

    const current = (): { config: tollgateConfig.TollgateConfig; built: Served['built'] } => ({ config: served!.config, built: served!.built });
    return { apiUrl, dynamodb, dbPath, tables, ...(demo === undefined ? {} : { demo }), stack: current, portalMode: portal.mode, meterReporting, operatorUrl: `${adminServer.url}${OPERATOR_PATH}`, outboxUrl: `${adminServer.url}${OUTBOX_PATH}`, issuer, stripeApiUrl: localStripe.fake?.api.url ?? 'https://api.stripe.com', stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
