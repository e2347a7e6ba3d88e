import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseTime } from '../../lib/cli/report';
import { accessLogPath, eventsLogPath, writeCoordinates } from '../../lib/local/coordinates';
import { renderAccessLogLine } from '../../lambda/shared/access-log';
import { ROOT, run } from './support';

const NOW = new Date('2026-11-30T12:00:00.000Z');
const at = (iso: string): number => Date.parse(iso);

describe('tollgate report on the local stack', () => {
  let stateDir: string;
  beforeAll(() => {
    stateDir = mkdtempSync(path.join(tmpdir(), 'tollgate-report-'));
    writeCoordinates(stateDir, {
      apiUrl: 'http://127.0.0.1:9/prod/',
      webhookUrl: 'http://127.0.0.1:9/prod/webhooks/stripe',
      adminUrl: 'http://127.0.0.1:9',
      dynamodbEndpoint: 'http://127.0.0.1:9',
      region: 'us-east-1',
      tables: { customers: 'c', apiKeys: 'k', events: 'e', usage: 'u' },
      stage: 'prod',
      restApiId: 'local',
      webhookSecretSource: 'default',
      pid: process.pid,
    });
    // As the local gateway renders them (the deployed format).
    const request = (time: string, status: number, customerId?: string, reason?: string): string =>
      renderAccessLogLine({
        'context.requestId': `req-${time}`,
        'context.requestTimeEpoch': at(time),
        'context.httpMethod': 'GET',
        'context.resourcePath': '/v1/quotes',
        'context.status': status,
        'context.authorizer.customerId': customerId,
        'context.authorizer.reason': reason,
      });
    writeFileSync(
      accessLogPath(stateDir),
      [
        request('2026-11-29T09:00:00Z', 402, 'cus_Old', 'no_subscription'),
        request('2026-11-30T11:00:00Z', 402, 'cus_Rep1', 'payment_failed'),
        request('2026-11-30T11:00:30Z', 402, 'cus_Rep1', 'payment_failed'),
        request('2026-11-30T11:10:00Z', 200, 'cus_Rep1'),
        request('2026-11-30T11:20:00Z', 401),
      ].join('\n') + '\n',
    );
    writeFileSync(
      eventsLogPath(stateDir),
      `${JSON.stringify({ message: 'access restored', customerId: 'cus_Rep1', reason: 'payment_failed', restoredAt: '2026-11-30T11:05:00.000Z', eventId: 'evt_1', type: 'invoice.paid' })}\n`,
    );
  });
  afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

  const report = (...argv: string[]) => run(['report', ...argv], { TOLLGATE_STATE_DIR: stateDir }, { now: () => NOW });

  it('prints the last 24 hours as JSON from the access and events logs', async () => {
    const result = await report('--json');
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout);
    expect(json).toMatchObject({
      source: 'local',
      since: '2026-11-29T12:00:00.000Z',
      until: NOW.toISOString(),
      requests: 4,
      statuses: { '401': 1, '402': 2 },
      deniedByReason: { payment_failed: 2 },
      topDeniedCustomers: [{ customerId: 'cus_Rep1', denials: 2 }],
      recoveries: { count: 1, withoutDenialInRange: 0, medianSeconds: 300, byReason: { payment_failed: { count: 1, medianSeconds: 300 } } },
      serverErrors: { authorizer: 0, integration: 0, gateway: 0 },
    });
  });

  it('takes --since and --until as times or durations, and prints a table', async () => {
    const result = await report('--since', '2026-11-29T00:00:00Z', '--until', '90m');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('tollgate report 2026-11-29T00:00:00.000Z → 2026-11-30T10:30:00.000Z');
    // The files it read, wherever the state folder is (here one outside the working folder).
    expect(result.stdout).toContain(`(local: ${accessLogPath(stateDir)} and ${path.basename(eventsLogPath(stateDir))})`);
    expect(result.stdout).toMatch(/no_subscription\s+1/);
    expect(result.stdout).toContain('recoveries: 0');
  });

  it('refuses a range that ends before it starts, with its usage', async () => {
    const result = await report('--since', '1h', '--until', '2h');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^tollgate: --since \(2026-11-30T11:00:00.000Z\) must be before --until \(2026-11-30T10:00:00.000Z\)\nusage: tollgate report/);
  });
});

describe('parseTime', () => {
  it('reads an ISO time or a duration back from now', () => {
    expect(parseTime('2026-11-01T00:00:00Z', '--since', NOW).toISOString()).toBe('2026-11-01T00:00:00.000Z');
    expect(parseTime('7d', '--since', NOW).toISOString()).toBe('2026-11-23T12:00:00.000Z');
  });

  it('names the option and the forms it takes', () => {
    expect(() => parseTime('yesterday', '--since', NOW)).toThrow('--since "yesterday" is neither an ISO-8601 time nor a duration');
  });
});

describe('tollgate report on a deployed stack without AWS credentials', () => {
  it('runs the saved queries with the SDK, so it asks for credentials in one line', async () => {
    const home = mkdtempSync(path.join(tmpdir(), 'tollgate-report-deployed-'));
    try {
      const outputs = path.join(home, 'cdk-outputs.json');
      const api = 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod/';
      writeFileSync(
        outputs,
        JSON.stringify({
          Tollgate: { ApiUrl: api, StripeWebhookUrl: `${api}webhooks/stripe`, CustomersTableName: 'c', ApiKeysTableName: 'k', EventsTableName: 'e', UsageTableName: 'u', RestApiId: 'abc123', StageName: 'prod' },
        }),
      );
      const env = {
        PATH: process.env.PATH,
        HOME: home,
        TOLLGATE_STATE_DIR: home,
        AWS_CONFIG_FILE: path.join(home, 'no-config'),
        AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'no-credentials'),
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
      };
      const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        execFile(process.execPath, [path.join(ROOT, 'bin', 'tollgate.js'), 'report', '--outputs', outputs], { env, cwd: home, timeout: 50_000 }, (err, _stdout, stderr) => {
          resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stderr });
        });
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^tollgate: no AWS credentials for the deployed stack \(Could not load credentials from any providers\): sign in with aws sso login/);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
