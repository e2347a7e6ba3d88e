import { mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { accessLogPath, eventsLogPath } from '../../lib/local/coordinates';
import { run } from '../cli/support';
import { buildReport, localRows } from '../../lib/report/queries';
import { deployedReport, type LogEvent } from '../support/logs-insights';
import { launchChromium } from '../support/browser';
import { eventually, npmStartForFile } from '../support/npm-start';

/**
 * npm start as a user runs it: a customer without a subscription gets 402s, pays (a signed test event
 * through the CLI), gets in; then `tollgate report --json` and the operator page show the 402s and the
 * recovery, from the files the run wrote.
 */

const ARTIFACTS = path.join(__dirname, '..', '..', 'test-artifacts');
const CUSTOMER = 'cus_OpsEndToEnd1';

const npm = npmStartForFile('ops-e2e');

describe('operations on npm start', () => {
  it('reports the 402s and the recovery a payment brought, in tollgate report --json and on the operator page', async () => {
    const stateDir = npm.stateDir();
    const env = { TOLLGATE_STATE_DIR: stateDir };
    const created = await run(['keys', 'create', '--customer', CUSTOMER, '--json'], env);
    expect(created.code).toBe(0);
    const { key } = JSON.parse(created.stdout) as { key: string };
    const quotes = () => fetch(`${npm.started().apiUrl}v1/quotes`, { headers: { Authorization: `Bearer ${key}` } });

    const beforeFirst402 = Date.now();
    for (let i = 0; i < 3; i++) {
      const denied = await quotes();
      expect(denied.status).toBe(402);
      expect(((await denied.json()) as { reason: string }).reason).toBe('no_subscription');
    }
    const paid = await run(['events', 'send', 'customer.subscription.created', '--customer', CUSTOMER], env);
    expect(paid.code).toBe(0);
    const afterPayment = Date.now();
    expect((await quotes()).status).toBe(200);

    const report = await eventually(async () => {
      const result = await run(['report', '--json', '--since', '1h'], env);
      const json = JSON.parse(result.stdout) as { recoveries: { count: number } };
      return json.recoveries.count >= 1 ? (json as any) : undefined;
    }, 30_000);
    expect(report).toMatchObject({
      source: 'local',
      statuses: { '402': 3 },
      deniedByReason: { no_subscription: 3 },
      topDeniedCustomers: [{ customerId: CUSTOMER, denials: 3 }],
      // The seeded subscriptions of the paying and the metered demo customers, and the pay-as-you-go one's first
      // credits (routes sold by use), granted access too, with no 402 before them.
      recoveries: { count: 1, byReason: { no_subscription: { count: 1 } }, withoutDenialInRange: 3 },
      serverErrors: { authorizer: 0, integration: 0, gateway: 0 },
    });
    // From the first 402 to the payment's access: after the 402s, within what this test measured around them.
    expect(report.recoveries.medianSeconds).toBeGreaterThan(0);
    expect(report.recoveries.medianSeconds).toBeLessThanOrEqual((afterPayment - beforeFirst402) / 1000);
    expect(report.recoveries.byReason.no_subscription.medianSeconds).toBe(report.recoveries.medianSeconds);
    expect(report.outcomes.allowed).toBeGreaterThanOrEqual(1);

    // The deployed report's saved queries over the lines this run recorded give the same figures as the local
    // report over the same lines. One snapshot of the files feeds both: the CLI's read above may predate a line
    // still on its way to the file (a request answered just before the report's \`until\`).
    const since = new Date(report.since);
    const until = new Date(report.until);
    const lines = (file: string): string[] => readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
    const accessLines = lines(accessLogPath(stateDir));
    const eventLines = lines(eventsLogPath(stateDir));
    const range = (events: LogEvent[]): LogEvent[] => events.filter((e) => e.timestamp >= since.getTime() && e.timestamp < until.getTime());
    const groups = {
      access: range(accessLines.map((message) => ({ timestamp: Number((JSON.parse(message) as { requestTime: string }).requestTime), message }))),
      webhook: range(eventLines.map((message) => ({ timestamp: Date.parse((JSON.parse(message) as { restoredAt: string }).restoredAt), message }))),
    };
    const local = buildReport(localRows(accessLines, eventLines, since, until), since, until);
    expect(deployedReport(groups, since, until)).toEqual(JSON.parse(JSON.stringify(local)));
    // And the CLI's figures are those of the snapshot, but for lines written after it read the files.
    expect(local.statuses['402']).toBe(3);
    expect(local.recoveries).toEqual(report.recoveries);

    const operatorUrl = /operator page \(402s, recoveries, live\): (\S+)/.exec(npm.started().output())?.[1];
    expect(operatorUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/operator$/);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 1600 } });
      await page.goto(operatorUrl!);
      await page.waitForSelector('body[data-loaded="true"]');
      expect(await page.textContent('[data-figure="402"]')).toBe('3');
      expect(await page.textContent('[data-figure="recoveries"]')).toBe('1');
      expect(await page.textContent('#customer-rows')).toContain(CUSTOMER);
      expect(await page.textContent('#recovery-rows')).toContain('no_subscription');
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS, 'operator-page-npm-start.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  }, 120_000);
});
