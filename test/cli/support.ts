import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runCli, type CliIo } from '../../lib/cli/index';
import { writeCoordinates } from '../../lib/local/coordinates';
import { LOCAL_REGION } from '../../lib/local/dynamodb-local';
import { startAdminServer, startGatewayServer } from '../../lib/local/server';
import { buildLocalDocument, createLocalApi, LOCAL_REST_API_ID, LOCAL_WEBHOOK_SECRET, loadProjectConfig } from '../../lib/local/stack';
import { freshTables, type TestTables } from '../support/dynamodb';

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
  const tables = await freshTables(label);
  const api = createLocalApi({ config, built, dynamodbEndpoint: tables.endpoint, tables: tables.names, webhookSecret });
  const gateway = await startGatewayServer(api.gateway, { port: 0 });
  const admin = await startAdminServer(api.gateway, { port: 0 });
  const apiUrl = `${gateway.url}/${config.stageName}/`;
  const stateDir = mkdtempSync(path.join(tmpdir(), `tollgate-${label}-`));
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
    stop: async () => {
      await Promise.all([gateway.close(), admin.close()]);
      api.destroy();
      tables.client.destroy();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
