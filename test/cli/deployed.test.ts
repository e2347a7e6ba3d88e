import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ROOT } from './support';

/**
 * The installed `tollgate` bin against a deployed stack, in a child process whose environment holds no
 * AWS credentials: the SDK reads process.env and ~/.aws itself, so only a separate process proves what a
 * user without credentials sees. Nothing can reach the network: no credentials, no config files, the
 * instance metadata service disabled, and every AWS endpoint pointed at a closed loopback port.
 */

const BIN = path.join(ROOT, 'bin', 'tollgate.js');
const REGION = 'eu-west-1';
const API = `https://abc123.execute-api.${REGION}.amazonaws.com/prod/`;

let home: string;
let outputs: string;
beforeAll(() => {
  home = mkdtempSync(path.join(tmpdir(), 'tollgate-cli-deployed-'));
  outputs = path.join(home, 'cdk-outputs.json');
  writeFileSync(
    outputs,
    JSON.stringify({
      Tollgate: {
        ApiUrl: API,
        StripeWebhookUrl: `${API}webhooks/stripe`,
        CustomersTableName: 'Tollgate-Customers',
        ApiKeysTableName: 'Tollgate-ApiKeys',
        EventsTableName: 'Tollgate-Events',
        UsageTableName: 'Tollgate-Usage',
        BoundariesTableName: 'Tollgate-Boundaries',
        RestApiId: 'abc123',
        StageName: 'prod',
      },
    }),
  );
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

function tollgate(argv: string[], extraEnv: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = {
    ...extraEnv,
    HOME: home,
    TOLLGATE_STATE_DIR: home,
    AWS_CONFIG_FILE: path.join(home, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'no-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
  };
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...argv], { env, cwd: home, timeout: 50_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr });
    });
  });
}

const SIGN_IN =
  'sign in with aws sso login --profile <name> (or aws configure --profile <name>), then pass --profile <name> or set AWS_PROFILE=<name>; or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY';

describe('tollgate on a deployed stack without AWS credentials', () => {
  it('says how to provide credentials, in one line, and exits 1', async () => {
    const result = await tollgate(['keys', 'list', '--outputs', outputs]);
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: `tollgate: no AWS credentials for the deployed stack (Could not load credentials from any providers): ${SIGN_IN}\n`,
    });
  });

  it('says the same when the named profile does not exist', async () => {
    const result = await tollgate(['customers', 'show', 'cus_a', '--outputs', outputs, '--profile', 'nosuch', '--json']);
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n')).toHaveLength(2);
    expect(JSON.parse(result.stderr)).toEqual({ error: expect.stringMatching(/^no AWS credentials of profile "nosuch" for the deployed stack \(.+\): sign in with aws sso login/) });
  });

  it('says how to sign in before unlinking a subject of the deployed stack', async () => {
    const result = await tollgate(['customers', 'unlink-subject', '--issuer', 'https://login.example.com/', '--subject', 'user-a', '--outputs', outputs]);
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: `tollgate: no AWS credentials for the deployed stack (Could not load credentials from any providers): ${SIGN_IN}\n`,
    });
  });

  it('asks for the signing secret before sending an event', async () => {
    const result = await tollgate(['events', 'send', 'invoice.paid', '--customer', 'cus_a', '--outputs', outputs]);
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: 'tollgate: a deployed webhook needs its signing secret: pass --secret-id <secret name> or set STRIPE_WEBHOOK_SECRET\n',
    });
  });

  it('reads the secret named by --secret-id even when STRIPE_WEBHOOK_SECRET is set (the flag is the explicit choice)', async () => {
    const result = await tollgate(['events', 'send', 'invoice.paid', '--customer', 'cus_a', '--outputs', outputs, '--secret-id', 'tollgate/stripe-webhook-secret'], {
      STRIPE_WEBHOOK_SECRET: 'whsec_from_the_environment_0123',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^tollgate: no AWS credentials for the deployed stack \(Could not load credentials from any providers\)/);
  });
});
