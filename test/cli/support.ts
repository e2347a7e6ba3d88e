import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runCli, type CliIo } from '../../lib/cli/index';
import { writeCoordinates } from '../../lib/local/coordinates';
import { LOCAL_REGION } from '../../lib/local/dynamodb-local';
import { startAdminServer, startGatewayServer } from '../../lib/local/server';
import { buildLocalDocument, createLocalApi, LOCAL_REST_API_ID, LOCAL_WEBHOOK_SECRET } from '../../lib/local/stack';
import { loadProjectConfig } from '../../lib/config/tollgate-config';
import { freshTables, type TestTables } from '../support/dynamodb';
import { openedResources } from '../support/opened';

export const ROOT = path.join(__dirname, '..', '..');

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI in-process and collects what a user would see. */
export async function run(argv: string[], env: Record<string, string | undefined> = {}, io: Partial<CliIo> = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env, root: ROOT, ...io });
  return { code, stdout, stderr };
}

export interface LocalStack {
  /** For the CLI: TOLLGATE_STATE_DIR points at this stack's coordinates. */
  readonly env: Record<string, string | undefined>;
  readonly apiUrl: string;
  /** Its DynamoDB Local tables (arranging state a test starts from). */
  readonly tables: TestTables;
  get(route: string, key: string): Promise<Response>;
  stop(): Promise<void>;
}

/**
 * A local stack as npm start runs it (gateway, admin endpoint, webhook, DynamoDB Local tables) with its
 * coordinates written where the CLI looks.
 */
export async function startLocalStack(label: string, webhookSecret = LOCAL_WEBHOOK_SECRET): Promise<LocalStack> {
  const config = loadProjectConfig(ROOT);
  const built = buildLocalDocument(config, ROOT);
  // Closed in reverse by stop(), or at once when a later step fails (a listening server keeps jest alive).
  const opened = openedResources();
  try {
    return await openLocalStack(label, webhookSecret, config, built, opened);
  } catch (err) {
    await opened.closeAll();
    throw err;
  }
}

async function openLocalStack(
  label: string,
  webhookSecret: string,
  config: ReturnType<typeof loadProjectConfig>,
  built: ReturnType<typeof buildLocalDocument>,
  opened: ReturnType<typeof openedResources>,
): Promise<LocalStack> {
  const tables = await opened.open(freshTables(label), (t) => t.client.destroy());
  const api = await opened.open(createLocalApi({ config, built, dynamodbEndpoint: tables.endpoint, tables: tables.names, webhookSecret }), (a) => a.destroy());
  const gateway = await opened.open(startGatewayServer(api.gateway, { port: 0 }), (g) => g.close());
  const admin = await opened.open(startAdminServer(api.gateway, { port: 0 }), (a) => a.close());
  const apiUrl = `${gateway.url}/${config.stageName}/`;
  const stateDir = mkdtempSync(path.join(tmpdir(), `tollgate-${label}-`));
  opened.defer(() => rmSync(stateDir, { recursive: true, force: true }));
  writeCoordinates(stateDir, {
    apiUrl,
    webhookUrl: `${apiUrl}webhooks/stripe`,
    adminUrl: admin.url,
    dynamodbEndpoint: tables.endpoint,
    region: LOCAL_REGION,
    tables: tables.names,
    stage: config.stageName,
    restApiId: LOCAL_REST_API_ID,
    webhookSecretSource: 'default',
    pid: process.pid,
  });
  return {
    env: { TOLLGATE_STATE_DIR: stateDir },
    apiUrl,
    tables,
    get: (route, key) => fetch(`${apiUrl}${route}`, { headers: { Authorization: `Bearer ${key}` } }),
    stop: () => opened.closeAll(),
  };
}
