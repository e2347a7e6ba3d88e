import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { writeCoordinates } from '../../lib/local/coordinates';
import { LOCAL_REGION } from '../../lib/local/dynamodb-local';
import { LOCAL_REST_API_ID } from '../../lib/local/stack';
import { freshTables, type TestTables } from '../support/dynamodb';
import { run } from './support';

/** `tollgate customers upgrade` against the tables of a local stack (only DynamoDB is needed). */

let tables: TestTables;
let stateDir: string;
let env: Record<string, string | undefined>;
beforeAll(async () => {
  tables = await freshTables('cli-upgrade');
  stateDir = mkdtempSync(path.join(tmpdir(), 'tollgate-cli-upgrade-'));
  const apiUrl = 'http://127.0.0.1:9/local/';
  writeCoordinates(stateDir, {
    apiUrl,
    webhookUrl: `${apiUrl}webhooks/stripe`,
    adminUrl: 'http://127.0.0.1:9',
    dynamodbEndpoint: tables.endpoint,
    region: LOCAL_REGION,
    tables: tables.names,
    stage: 'local',
    restApiId: LOCAL_REST_API_ID,
    webhookSecretSource: 'default',
    pid: process.pid,
  });
  env = { TOLLGATE_STATE_DIR: stateDir };
});
afterAll(() => {
  tables.client.destroy();
  rmSync(stateDir, { recursive: true, force: true });
});

const documents = (): DynamoDBDocumentClient => DynamoDBDocumentClient.from(tables.client);
const put = (item: Record<string, unknown>): Promise<unknown> => documents().send(new PutCommand({ TableName: tables.names.customers, Item: item }));
const legacy = (customerId: string, patch: Record<string, unknown> = {}): Record<string, unknown> => ({
  customerId,
  subscriptionId: 'sub_1',
  subscriptionStatus: 'active',
  plan: 'pro',
  wm_sub_1: '01785000000:3:evt_1',
  ...patch,
});

describe('tollgate customers upgrade', () => {
  it('upgrades the 0.1 customers, prints the counts, and finds nothing the second time', async () => {
    await Promise.all([put(legacy('cus_cli_old1')), put(legacy('cus_cli_old2')), put({ customerId: 'cus_cli_new', subscriptions: {}, invoices: {}, pastDue: {} })]);

    const first = await run(['customers', 'upgrade'], env);
    expect(first).toEqual({ code: 0, stdout: 'upgraded 2 customers from the 0.1 layout (3 scanned, 0 skipped)\n', stderr: '' });
    const { Item } = await documents().send(new GetCommand({ TableName: tables.names.customers, Key: { customerId: 'cus_cli_old1' } }));
    expect(Item).toEqual({ customerId: 'cus_cli_old1', subscriptions: { sub_1: { status: 'active', plan: 'pro', watermark: '01785000000:3:evt_1' } } });

    const again = await run(['customers', 'upgrade', '--json'], env);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({ scanned: 3, upgraded: 0, skipped: 0, skippedCustomers: [] });
  });

  it('exits 1 naming each customer it could not upgrade and what to do', async () => {
    await put(legacy('cus_cli_broken', { subscriptionStatus: 'lapsed' }));
    const result = await run(['customers', 'upgrade'], env);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^upgraded 0 customers from the 0\.1 layout \(4 scanned, 1 skipped\)\n {2}skipped cus_cli_broken: customer cus_cli_broken: 0\.1 attribute subscriptionStatus is not a Stripe subscription status/);
    expect(result.stderr).toMatch(/1 customers were not upgraded: see the reasons above, then run tollgate customers upgrade again/);
  });
});
