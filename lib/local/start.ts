import { createServer } from 'node:net';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '../config/tollgate-config';
import { PROJECT_ROOT } from '../contract';
import { ApiDocumentError } from '../openapi/load';
import { OpenApiError } from '../openapi/build';
import { createTables, DynamoDbLocalError, freePort, LOCAL_REGION, startDynamoDbLocal, tableNames, type DynamoDbLocal } from './dynamodb-local';
import { removeCoordinates, STATE_DIR, stateDirectory, writeCoordinates } from './coordinates';
import { adoptSharedDatabase, credentialsPath, localCredentials, LocalCredentialsError } from './credentials';
import { DEMO_CUSTOMERS, issueDemoKeys, seedDemoCustomers } from './demo';
import { LocalServerError, startAdminServer, startGatewayServer, type RunningServer } from './server';
import { buildLocalDocument, createLocalApi, LOCAL_REST_API_ID, LOCAL_TABLE_PREFIX, LOCAL_WEBHOOK_SECRET, loadProjectConfig, type LocalApi } from './stack';

/**
 * `npm start`: DynamoDB Local, the tables, the demo customers and the local gateway on 127.0.0.1.
 * Ends cleanly on Ctrl-C, SIGTERM, or when the parent process (npm) goes away.
 */

const USAGE = `usage: npm start [-- --in-memory] [-- --port <port>]

Runs tollgate on 127.0.0.1: DynamoDB Local, the tables, demo customers and the local API Gateway.

options:
  --in-memory     keep nothing: DynamoDB Local runs in memory (default: persisted under ${STATE_DIR}/)
  --port <port>   the gateway's port (default: $PORT, else 3000)
  -h, --help      show this help

environment:
  PORT                    the gateway's port
  STRIPE_WEBHOOK_SECRET   the webhook signing secret (stripe listen prints one); default: ${LOCAL_WEBHOOK_SECRET}
`;

class UsageError extends Error {}


function parsePort(value: string | undefined): number {
  const port = Number(value ?? '3000');
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`port "${value}" is invalid: use a number from 1 to 65535`);
  return port;
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

async function main(): Promise<void> {
  // The project supports Node 20 (the Lambda runtime is 22): the SDK's notice about 2027 is noise here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // DynamoDB Local sends usage telemetry unless told not to (the child inherits this environment).
  process.env.DDB_LOCAL_TELEMETRY ??= '0';
  let args: { 'in-memory'?: boolean; port?: string; help?: boolean };
  try {
    args = parseArgs({
      options: { 'in-memory': { type: 'boolean' }, port: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
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
  const stateDir = stateDirectory(PROJECT_ROOT, process.env);
  // Locally the Powertools metrics would only print EMF blobs; decisions are logged one line per request.
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
  const secretFromEnv = process.env.STRIPE_WEBHOOK_SECRET;
  const webhookSecret = secretFromEnv === undefined || secretFromEnv === '' ? LOCAL_WEBHOOK_SECRET : secretFromEnv;

  const config = loadProjectConfig(PROJECT_ROOT);
  const built = buildLocalDocument(config, PROJECT_ROOT);
  await assertPortFree(port);

  let dynamodb: DynamoDbLocal | undefined;
  let api: LocalApi | undefined;
  const servers: RunningServer[] = [];
  let stopping: Promise<void> | undefined;
  const stop = (why: string): Promise<void> =>
    (stopping ??= (async () => {
      process.stdout.write(`\nstopping (${why})…\n`);
      removeCoordinates(stateDir, process.pid);
      await Promise.allSettled(servers.map((s) => s.close()));
      api?.destroy();
      await dynamodb?.stop();
      process.stdout.write('stopped\n');
    })());
  const exitAfter = (why: string): void => {
    void stop(why).finally(() => process.exit(0));
  };
  process.once('SIGINT', () => exitAfter('SIGINT'));
  process.once('SIGTERM', () => exitAfter('SIGTERM'));
  process.once('SIGHUP', () => exitAfter('SIGHUP'));
  // npm runs the script under `sh -c`; a SIGTERM to npm does not reach this process, so watch the parent.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) exitAfter('parent process ended');
  }, 500).unref();

  try {
    const dbPath = args['in-memory'] === true ? undefined : path.join(stateDir, 'dynamodb');
    const credentials = localCredentials(stateDir);
    if (dbPath !== undefined && adoptSharedDatabase(dbPath, credentials)) {
      process.stdout.write(`moved the local data into the database of ${path.relative(PROJECT_ROOT, credentialsPath(stateDir))} (readable with its key only)\n`);
    }
    dynamodb = await startDynamoDbLocal({ credentials, ...(dbPath === undefined ? {} : { dbPath }) });
    const tables = tableNames(LOCAL_TABLE_PREFIX);
    const admin = dynamodb.client();
    await createTables(admin, tables);

    api = createLocalApi({ config, built, dynamodbEndpoint: dynamodb.endpoint, tables, webhookSecret, credentials });
    const gatewayServer = await startGatewayServer(api.gateway, { port, log: (line) => process.stdout.write(`${line}\n`) });
    servers.push(gatewayServer);
    const adminServer = await startAdminServer(api.gateway, { port: await freePort(), log: (line) => process.stdout.write(`${line}\n`) });
    servers.push(adminServer);

    const apiUrl = `${gatewayServer.url}/${config.stageName}/`;
    const seeded = await seedDemoCustomers(api.gateway, { stage: config.stageName, webhookSecret, dynamodb: admin, tables });
    const keys = await issueDemoKeys({ client: admin, tables });
    admin.destroy();

    writeCoordinates(stateDir, {
      apiUrl,
      webhookUrl: `${apiUrl}webhooks/stripe`,
      adminUrl: adminServer.url,
      dynamodbEndpoint: dynamodb.endpoint,
      region: LOCAL_REGION,
      tables,
      stage: config.stageName,
      restApiId: LOCAL_REST_API_ID,
      webhookSecretSource: webhookSecret === LOCAL_WEBHOOK_SECRET ? 'default' : 'env',
      pid: process.pid,
      dynamodbPid: dynamodb.pid,
    });

    const paying = keys.paying;
    const free = keys.free;
    process.stdout.write(
      [
        '',
        `tollgate is running on ${apiUrl}`,
        `  DynamoDB Local  ${dynamodb.endpoint} (${dbPath === undefined ? 'in memory' : `data in ${path.relative(PROJECT_ROOT, dbPath) || dbPath}`})`,
        `  demo customers  ${DEMO_CUSTOMERS.paying} (active, premium-reports) · ${DEMO_CUSTOMERS.free} (no subscription)${seeded ? '' : ' (kept from the last run)'}`,
        `  webhook secret  ${webhookSecret === LOCAL_WEBHOOK_SECRET ? `${LOCAL_WEBHOOK_SECRET} (local default; set STRIPE_WEBHOOK_SECRET to use another)` : 'from STRIPE_WEBHOOK_SECRET'}`,
        '',
        'demo API keys (shown once, new on every start):',
        `  paying  ${paying}`,
        `  free    ${free}`,
        '',
        'try it:',
        `  curl -i ${apiUrl}v1/quotes -H "Authorization: Bearer ${paying}"    # 200`,
        `  curl -i ${apiUrl}v1/quotes                                          # 401`,
        `  curl -i ${apiUrl}v1/quotes -H "Authorization: Bearer ${free}"    # 402 no_subscription`,
        '',
        'real Stripe test-mode events (Stripe CLI), then restart with the secret it prints:',
        `  stripe listen --forward-to ${apiUrl}webhooks/stripe`,
        '  STRIPE_WEBHOOK_SECRET=whsec_… npm start',
        '',
        'manage it:  npx tollgate --help    ·    stop: Ctrl-C',
        '',
      ].join('\n'),
    );
  } catch (err) {
    await stop('start failed');
    throw err;
  }
}

const EXPECTED = [UsageError, ConfigError, ApiDocumentError, OpenApiError, DynamoDbLocalError, LocalServerError, LocalCredentialsError];

main().catch((err: unknown) => {
  if (err instanceof Error && EXPECTED.some((type) => err instanceof type)) {
    process.stderr.write(`tollgate: ${err.message}\n`);
    if (err instanceof UsageError) process.stderr.write(USAGE);
  } else {
    process.stderr.write(`tollgate: could not start: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  process.exit(err instanceof UsageError ? 2 : 1);
});
