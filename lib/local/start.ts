import { createServer } from 'node:net';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { SettingsError } from '../../lambda/shared/settings';
import { ConfigError, loadProjectConfig } from '../config/tollgate-config';
import { PROJECT_ROOT } from '../contract';
import { ApiDocumentError } from '../openapi/load';
import { OpenApiError } from '../openapi/build';
import { STATE_DIR, STATE_DIR_ENV, stateDirectory } from './coordinates';
import { ensurePrivateStateDir, LocalCredentialsError } from './credentials';
import { banner } from './banner';
import { DEMO_KEYS_FILE } from './demo';
import { DynamoDbLocalError } from './dynamodb-local';
import { watchLauncher } from './lifeline';
import { shown, startLocalRun, type LocalRun } from './run';
import { acquireRunLock, AlreadyRunningError, type RunLock } from './run-lock';
import { LocalServerError } from './server';
import { LOCAL_WEBHOOK_SECRET } from './stack';
import { findUserTollgate, RUNS_FROM_PACKAGE, UserAppError } from './user-app';

/**
 * `npm start` (and `npx tollgate start`): DynamoDB Local, the tables, the demo customers and the local gateway on 127.0.0.1, one
 * run per state folder. Ends cleanly on Ctrl-C, SIGTERM, SIGHUP, or when npm goes away however it
 * ended; DynamoDB Local ends with this process even when it is SIGKILLed (its watchdog).
 *
 * Run from the npm package in a user's CDK app (`npx tollgate start`), it serves that app: its
 * Tollgate construct's settings and document (lib/local/user-app.ts), its state in the app's folder.
 */

const USAGE = `usage: npm start [-- --in-memory] [-- --port <port>] [-- -c <key>=<value> …]
       npx tollgate start [--in-memory] [--port <port>] [--construct <path>] [-c <key>=<value> …]

Runs tollgate on 127.0.0.1: DynamoDB Local, the tables, demo customers and the local API Gateway.
Reloads the gateway in place when the OpenAPI document, cdk.json or lambda/ change. Installed from npm,
it serves the Tollgate construct of the CDK app in the current folder (its cdk.json's app is run, as
cdk synth runs it; restart after changing the construct's props).

options:
  --in-memory                keep nothing: DynamoDB Local runs in memory (default: persisted under ${STATE_DIR}/)
  --port <port>              the gateway's port (default: $PORT, else 3000)
  --construct <path>         the Tollgate to serve when your app has several (its path, such as MyStack/Paywall)
  -c, --context <key=value>  override a cdk.json context value, as cdk -c does (repeatable)
  -h, --help                 show this help

environment:
  PORT                    the gateway's port
  ${STATE_DIR_ENV}      the state folder (default: ${STATE_DIR}/); one npm start per folder
  STRIPE_WEBHOOK_SECRET   the webhook signing secret (stripe listen prints one); default: ${LOCAL_WEBHOOK_SECRET}
  STRIPE_API_KEY          a Stripe test-mode key for the portal (real Checkout); default: the local test checkout
`;

class UsageError extends Error {}

function parsePort(value: string | undefined): number {
  const port = Number(value ?? '3000');
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`port "${value}" is invalid: use a number from 1 to 65535`);
  return port;
}

function parseContext(values: readonly string[]): Record<string, string> {
  const context: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    if (eq <= 0) throw new UsageError(`context "${value}" is not key=value: write it as -c tollgate:openApiDocument=api/openapi.json`);
    context[value.slice(0, eq)] = value.slice(eq + 1);
  }
  return context;
}

/** Fails before DynamoDB Local starts when the port is taken. */
function assertPortFree(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new LocalServerError(`port ${port} on 127.0.0.1 is already in use: stop whatever uses it or choose another port (PORT=3001 npm start)`)
          : err,
      ),
    );
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
  });
}

const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

function bannerOf(run: LocalRun, stateDir: string, webhookSecret: string): string {
  return banner({
    apiUrl: run.apiUrl(),
    shown,
    stateDir,
    keysFile: path.join(stateDir, DEMO_KEYS_FILE),
    webhookSecret,
    dynamodb: { endpoint: run.dynamodb.endpoint, ...(run.dbPath === undefined ? {} : { dbPath: run.dbPath }) },
    portalMode: run.portalMode,
    operatorUrl: run.operatorUrl,
    outboxUrl: run.outboxUrl,
    issuerUrl: run.issuer.url,
    meterReporting: run.meterReporting.description,
    ...run.stack(),
    ...(run.demo === undefined ? {} : { demo: run.demo }),
    stripeApiUrl: run.stripeApiUrl,
  });
}

async function main(): Promise<void> {
  // The project supports Node 20 (the Lambda runtime is 22): the SDK's notice about 2027 is noise here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // A closed terminal must not turn the goodbye line into a crash that skips the cleanup.
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
  let args: { 'in-memory'?: boolean; port?: string; construct?: string; context?: string[]; help?: boolean };
  try {
    args = parseArgs({
      options: {
        'in-memory': { type: 'boolean' },
        port: { type: 'string' },
        construct: { type: 'string' },
        context: { type: 'string', short: 'c', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (args.help === true) {
    process.stdout.write(USAGE);
    return;
  }
  const port = parsePort(args.port ?? process.env.PORT);
  const root = RUNS_FROM_PACKAGE ? process.cwd() : PROJECT_ROOT;
  const stateDir = stateDirectory(root, process.env);
  const overrides = parseContext(args.context ?? []);
  const context = RUNS_FROM_PACKAGE ? { ...findUserTollgate(root, stateDir, args.construct).context, ...overrides } : overrides;
  // The 401 names the MCP protected-resource metadata at the URL callers use: a gateway header is a literal.
  context['tollgate:publicUrl'] ??= `http://127.0.0.1:${port}/${loadProjectConfig(root, context).stageName}`;
  // Locally the Powertools metrics would only print EMF lines; each decision's record rides on its line,
  // so POWERTOOLS_METRICS_DISABLED=false prints one line per decision.
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
  const secretFromEnv = process.env.STRIPE_WEBHOOK_SECRET;
  const webhookSecret = secretFromEnv === undefined || secretFromEnv === '' ? LOCAL_WEBHOOK_SECRET : secretFromEnv;

  ensurePrivateStateDir(stateDir);
  const lock: RunLock = acquireRunLock(stateDir, shown(stateDir));
  let run: LocalRun | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (why: string): Promise<void> =>
    (stopping ??= (async () => {
      say(`\nstopping (${why})…`);
      await run?.stop();
      lock.release();
      say('stopped');
    })());
  const exitAfter = (why: string): void => {
    void stop(why).finally(() => process.exit(0));
  };
  // `on`, not `once`: npm forwards the signal the terminal already sent, and a second one must not
  // fall back to the default action (exit at once, skipping the cleanup).
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => exitAfter(signal));
  watchLauncher((launcher) => exitAfter(`its launcher, pid ${launcher}, ended`));

  try {
    await assertPortFree(port);
    run = await startLocalRun({
      root,
      context,
      stateDir,
      port,
      inMemory: args['in-memory'] === true,
      webhookSecret,
      log: say,
      onUrlChange: (url) => lock.update(url),
      ...(process.env.STRIPE_API_KEY === undefined || process.env.STRIPE_API_KEY === '' ? {} : { stripeApiKey: process.env.STRIPE_API_KEY }),
    });
    lock.update(run.apiUrl());
    process.stdout.write(bannerOf(run, stateDir, webhookSecret));
  } catch (err) {
    await stop('start failed');
    throw err;
  }
}

const EXPECTED = [UsageError, UserAppError, ConfigError, SettingsError, ApiDocumentError, OpenApiError, DynamoDbLocalError, LocalServerError, LocalCredentialsError, AlreadyRunningError];

main().catch((err: unknown) => {
  if (err instanceof Error && EXPECTED.some((type) => err instanceof type)) {
    process.stderr.write(`tollgate: ${err.message}\n`);
    if (err instanceof UsageError) process.stderr.write(USAGE);
  } else {
    process.stderr.write(`tollgate: could not start: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  process.exit(err instanceof UsageError ? 2 : 1);
});
