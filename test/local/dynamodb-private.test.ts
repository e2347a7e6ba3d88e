import { GetItemCommand, ListTablesCommand, PutItemCommand, ResourceNotFoundException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { adoptSharedDatabase, credentialsPath, localCredentials, readLocalCredentials } from '../../lib/local/credentials';
import { createTables, LOCAL_CREDENTIALS, LOCAL_REGION, localClient, startDynamoDbLocal, tableNames, type LocalCredentials } from '../../lib/local/dynamodb-local';
import { alive, run, waitFor } from '../support/processes';

/**
 * DynamoDB Local listens on every interface and the jar cannot bind to loopback: the local run's data
 * must be out of reach of any request that lacks the access key id held in the state folder.
 */

const ROOT = path.join(__dirname, '..', '..');
const tables = tableNames('tollgate');

const customer = (client: DynamoDBClient) =>
  client.send(new GetItemCommand({ TableName: tables.customers, Key: { customerId: { S: 'cus_private' } }, ConsistentRead: true }));

describe('local credentials', () => {
  let stateDir: string;
  beforeEach(() => (stateDir = mkdtempSync(path.join(tmpdir(), 'tollgate-credentials-'))));
  afterEach(() => rmSync(stateDir, { recursive: true, force: true }));

  it('generates a random access key id once, readable by its owner only', () => {
    const first = localCredentials(stateDir);
    expect(first.accessKeyId).toMatch(/^[A-Za-z0-9]{32,}$/);
    expect(localCredentials(stateDir)).toEqual(first);
    expect(readLocalCredentials(stateDir)).toEqual(first);
    expect(statSync(credentialsPath(stateDir)).mode & 0o777).toBe(0o600);
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);
    expect(readdirSync(stateDir)).toEqual([path.basename(credentialsPath(stateDir))]);

    const other = mkdtempSync(path.join(tmpdir(), 'tollgate-credentials-'));
    try {
      expect(localCredentials(other).accessKeyId).not.toBe(first.accessKeyId);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('refuses a damaged credentials file with a message that says what to do', () => {
    writeFileSync(credentialsPath(stateDir), '{"accessKeyId":"has-dashes"}');
    expect(() => localCredentials(stateDir)).toThrow(/is not tollgate's local credentials file: restore it, or delete it/);
  });
});

describe('DynamoDB Local for npm start', () => {
  let stateDir: string;
  let dbPath: string;
  beforeAll(() => {
    stateDir = mkdtempSync(path.join(tmpdir(), 'tollgate-private-'));
    dbPath = path.join(stateDir, 'dynamodb');
  });
  afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

  const withInstance = async (credentials: LocalCredentials, body: (endpoint: string, own: DynamoDBClient) => Promise<void>): Promise<void> => {
    const db = await startDynamoDbLocal({ dbPath, credentials });
    const own = db.client();
    try {
      await body(db.endpoint, own);
    } finally {
      own.destroy();
      await db.stop();
    }
  };

  it('shows a client with another access key id no tables and no data, and keeps the data across restarts', async () => {
    const credentials = localCredentials(stateDir);
    const strangers = [LOCAL_CREDENTIALS, { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'x' }];

    await withInstance(credentials, async (endpoint, own) => {
      await createTables(own, tables);
      await own.send(new PutItemCommand({ TableName: tables.customers, Item: { customerId: { S: 'cus_private' }, subscriptionStatus: { S: 'canceled' } } }));
      for (const stranger of strangers) {
        const client = localClient(endpoint, { credentials: stranger, maxAttempts: 1 });
        try {
          expect((await client.send(new ListTablesCommand({}))).TableNames).toEqual([]);
          await expect(customer(client)).rejects.toBeInstanceOf(ResourceNotFoundException);
          // Marking the customer active from elsewhere on the network fails too.
          await expect(
            client.send(new PutItemCommand({ TableName: tables.customers, Item: { customerId: { S: 'cus_private' }, subscriptionStatus: { S: 'active' } } })),
          ).rejects.toBeInstanceOf(ResourceNotFoundException);
        } finally {
          client.destroy();
        }
      }
      expect((await customer(own)).Item?.subscriptionStatus).toEqual({ S: 'canceled' });
    });

    await withInstance(credentials, async (endpoint, own) => {
      expect((await customer(own)).Item?.subscriptionStatus).toEqual({ S: 'canceled' });
      const stranger = localClient(endpoint, { credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
      try {
        expect((await stranger.send(new ListTablesCommand({}))).TableNames).toEqual([]);
      } finally {
        stranger.destroy();
      }
    });
  });

  it('hands the data of an older shared database to the folder\'s credentials on upgrade', async () => {
    const before = readLocalCredentials(stateDir)!;
    // A shared database is the same SQLite file under another name: what -sharedDb left behind.
    renameSync(path.join(dbPath, `${before.accessKeyId}_${LOCAL_REGION}.db`), path.join(dbPath, 'shared-local-instance.db'));
    const upgraded = { accessKeyId: 'TGupgradedKey0123456789abcdef', secretAccessKey: 'x' };
    expect(adoptSharedDatabase(dbPath, upgraded)).toBe(true);
    expect(adoptSharedDatabase(dbPath, upgraded)).toBe(false);
    await withInstance(upgraded, async (_endpoint, own) => {
      expect((await customer(own)).Item?.subscriptionStatus).toEqual({ S: 'canceled' });
    });
  });
});

describe('DynamoDB Local\'s watchdog', () => {
  it('ends java when the process that started it is SIGKILLed', async () => {
    const holder = run(process.execPath, ['--import', 'tsx', 'test/support/hold-dynamodb.ts'], { cwd: ROOT, env: process.env });
    const started = await waitFor(() => /java pid \d+/.test(holder.output()), 45_000);
    expect(started ? '' : holder.output()).toBe('');
    const javaPid = Number(/java pid (\d+)/.exec(holder.output())![1]);
    expect(alive(javaPid)).toBe(true);

    holder.child.kill('SIGKILL');
    await holder.exited;
    expect(await waitFor(() => !alive(javaPid), 15_000)).toBe(true);
  });
});
