import AxeBuilder from '@axe-core/playwright';
import { request } from 'node:http';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { renderAccessLogLine } from '../../lambda/shared/access-log';
import { accessLogPath, eventsLogPath } from '../../lib/local/coordinates';
import { OPERATOR_CSP, OPERATOR_PATH } from '../../lib/local/operator/page';
import { startAdminServer, type RunningServer } from '../../lib/local/server';
import { buildLocalDocument, createLocalApi } from '../../lib/local/stack';
import { loadProjectConfig } from '../../lib/config/tollgate-config';
import { launchChromium } from '../support/browser';
import { freshTables } from '../support/dynamodb';

/** Where the page's screenshots are kept (git-ignored). */
export const ARTIFACTS = path.join(__dirname, '..', '..', 'test-artifacts');
const ROOT = path.join(__dirname, '..', '..');

let stateDir: string;
let admin: RunningServer;
let browser: Browser;
let destroy: () => void;

beforeAll(async () => {
  stateDir = mkdtempSync(path.join(tmpdir(), 'tollgate-operator-'));
  const now = Date.now();
  const request = (agoSeconds: number, status: number, customerId?: string, reason?: string, responseType?: string): string =>
    renderAccessLogLine({
      'context.requestId': `req-${agoSeconds}-${status}`,
      'context.requestTimeEpoch': now - agoSeconds * 1000,
      'context.httpMethod': 'GET',
      'context.resourcePath': '/v1/quotes',
      'context.status': status,
      'context.authorizer.customerId': customerId,
      'context.authorizer.reason': reason,
      'context.error.responseType': responseType,
    });
  writeFileSync(
    accessLogPath(stateDir),
    [
      request(1500, 402, 'cus_OpA', 'payment_failed', 'ACCESS_DENIED'),
      request(1400, 402, 'cus_OpA', 'payment_failed', 'ACCESS_DENIED'),
      request(1300, 402, 'cus_OpB', 'no_subscription', 'ACCESS_DENIED'),
      request(1200, 200, 'cus_OpC'),
      request(900, 401, undefined, undefined, 'UNAUTHORIZED'),
      request(600, 200, 'cus_OpA'),
      request(300, 503, undefined, undefined, 'AUTHORIZER_FAILURE'),
    ].join('\n') + '\n',
  );
  writeFileSync(
    eventsLogPath(stateDir),
    [
      { message: 'access restored', customerId: 'cus_OpA', reason: 'payment_failed', restoredAt: new Date(now - 1200 * 1000).toISOString(), eventId: 'evt_op', type: 'invoice.paid' },
      // The MCP endpoint's tool-call lines (lambda/mcp/call.ts).
      { message: 'tool call', tool: 'search', status: 200, outcome: 'allowed', customerId: 'cus_OpC', calledAt: new Date(now - 700 * 1000).toISOString() },
      { message: 'tool call', tool: 'search', status: 402, outcome: 'denied', reason: 'quota_exceeded', customerId: 'cus_OpC', calledAt: new Date(now - 650 * 1000).toISOString() },
      // The purchase function's lines (lambda/purchase/record.ts): a challenge, an MPP payment 50 s before cus_OpC's 2xx, a refused x402 payment.
      { message: 'agent purchase', protocol: 'mpp', outcome: 'payment-required', offer: 'credits_100', purchasedAt: new Date(now - 1260 * 1000).toISOString() },
      { message: 'agent purchase', protocol: 'mpp', outcome: 'paid', offer: 'credits_100', customerId: 'cus_OpC', reference: 'pi_op', newKey: true, purchasedAt: new Date(now - 1250 * 1000).toISOString() },
      { message: 'agent purchase', protocol: 'x402', outcome: 'verification-failed', offer: 'credits_100', purchasedAt: new Date(now - 800 * 1000).toISOString() },
    ]
      .map((line) => JSON.stringify(line))
      .join('\n') + '\n',
  );
  const config = loadProjectConfig(ROOT);
  const tables = await freshTables('operator');
  const api = createLocalApi({ config, built: buildLocalDocument(config, ROOT), dynamodbEndpoint: tables.endpoint, tables: tables.names, webhookSecret: 'whsec_operator_page_test_0123456789' });
  destroy = () => api.destroy();
  admin = await startAdminServer(api.gateway, { port: 0, operatorStateDir: stateDir });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await admin?.close();
  destroy?.();
  rmSync(stateDir, { recursive: true, force: true });
});

describe('the operator page in Chromium', () => {
  it('draws the figures with chart.js under a strict CSP, with no serious accessibility violation', async () => {
    // axe needs a page of its own context.
    const context = await browser.newContext({ viewport: { width: 1200, height: 1600 } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text());
    });
    page.on('pageerror', (err) => problems.push(err.message));
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));

    const response = await page.goto(`${admin.url}${OPERATOR_PATH}`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toBe(OPERATOR_CSP);
    await page.waitForSelector('body[data-loaded="true"]');

    const figure = (name: string) => page.textContent(`[data-figure="${name}"]`);
    expect(await figure('requests')).toBe('7');
    expect(await figure('402')).toBe('3');
    expect(await figure('recoveries')).toBe('1');
    // cus_OpA: first 402 1500 s ago, restored 1200 s ago.
    expect(await figure('median to recover')).toBe('5.0 min');
    expect(await page.textContent('#customer-rows')).toContain('cus_OpA2');
    expect(await page.textContent('#recovery-rows')).toContain('payment_failed');
    // MCP tool calls by tool and outcome: allowed, denied, unauthorized, failed.
    expect(await page.locator('#tool-rows tr td').allTextContents()).toEqual(['search', '1', '1', '0', '0']);
    // Agents by protocol: paid, first 2xx, median paid → first 2xx, refused by type.
    expect(await page.textContent('#agent-challenges')).toBe('1');
    expect(await page.locator('#agent-rows tr td').allTextContents()).toEqual(['mpp', '1', '1', '50 s', '-', 'x402', '0', '0', '-', 'verification-failed 1']);
    // chart.js drew into each canvas (its instance is registered on the element).
    const drawn = await page.evaluate(() => ['outcomes', 'reasons', 'recoveries'].map((id) => (globalThis as any).Chart.getChart(id)?.data.datasets.length ?? 0));
    expect(drawn).toEqual([5, 2, 1]);
    // Everything came from the admin server: chart.js is bundled from npm, no CDN.
    expect(requests.every((url) => url.startsWith(admin.url))).toBe(true);
    expect(requests.some((url) => url.endsWith('/operator/chart.umd.min.js'))).toBe(true);
    expect(problems).toEqual([]);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'operator-page.png'), fullPage: true });

    const axe = await new AxeBuilder({ page }).analyze();
    expect(axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id)).toEqual([]);
    await context.close();
  }, 60_000);

  it('refuses a script the CSP does not allow', async () => {
    const page = await browser.newPage();
    await page.goto(`${admin.url}${OPERATOR_PATH}`);
    const violation = page.evaluate(
      () =>
        new Promise<string>((resolve) => {
          const document = (globalThis as any).document;
          document.addEventListener('securitypolicyviolation', (e: any) => resolve(e.violatedDirective));
          const script = document.createElement('script');
          script.textContent = 'window.injected = true';
          document.body.appendChild(script);
        }),
    );
    expect(await violation).toMatch(/^script-src/);
    expect(await page.evaluate(() => (globalThis as any).injected)).toBeUndefined();
    await page.close();
  }, 30_000);
});

describe('the operator routes', () => {
  it('answer only to their own loopback host, read-only', async () => {
    // As a browser sends it after DNS rebinding: this server's address, another site's name.
    const rebound = await new Promise<number | undefined>((resolve, reject) => {
      const url = new URL(`${admin.url}${OPERATOR_PATH}/data`);
      request({ host: url.hostname, port: url.port, path: url.pathname, headers: { host: `attacker.example:${url.port}` } }, (res) => {
        res.resume();
        resolve(res.statusCode);
      })
        .on('error', reject)
        .end();
    });
    expect(rebound).toBe(421);
    expect((await fetch(`${admin.url}${OPERATOR_PATH}/data`, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`${admin.url}${OPERATOR_PATH}/data?minutes=0`)).status).toBe(400);
    expect((await fetch(`${admin.url}${OPERATOR_PATH}/nothing`)).status).toBe(404);
  });

  it('serve the same figures as the report, as JSON', async () => {
    const data = (await (await fetch(`${admin.url}${OPERATOR_PATH}/data?minutes=60`)).json()) as any;
    expect(data.report).toMatchObject({ requests: 7, deniedByReason: { payment_failed: 2, no_subscription: 1 }, serverErrors: { authorizer: 1 } });
    expect(data.series.buckets).toHaveLength(60);
  });

  it('leave the flush endpoint as it was', async () => {
    expect((await fetch(`${admin.url}/restapis/local/stages/prod/cache/authorizers`, { method: 'DELETE' })).status).toBe(202);
  });
});

describe('the operator page, live', () => {
  // Last in this file: it adds a line to the access log the tests above count.
  it('shows a 402 written after the page loaded, without a reload', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 1600 } });
    try {
      await page.goto(`${admin.url}${OPERATOR_PATH}`);
      await page.waitForSelector('body[data-loaded="true"]');
      expect(await page.textContent('[data-figure="402"]')).toBe('3');
      appendFileSync(
        accessLogPath(stateDir),
        `${renderAccessLogLine({
          'context.requestId': 'req-live',
          'context.requestTimeEpoch': Date.now(),
          'context.httpMethod': 'GET',
          'context.resourcePath': '/v1/quotes',
          'context.status': 402,
          'context.authorizer.customerId': 'cus_OpLive',
          'context.authorizer.reason': 'trial_ended',
          'context.error.responseType': 'ACCESS_DENIED',
        })}\n`,
      );
      // The page asks for the figures again every few seconds; waiting is bounded by the test's timeout only.
      await page.waitForFunction(() => (globalThis as any).document.querySelector('[data-figure="402"]')?.textContent === '4', undefined, { timeout: 50_000 });
      expect(await page.textContent('#customer-rows')).toContain('cus_OpLive');
      // A third reason, a third dataset in the 402-by-reason chart.
      expect(await page.evaluate(() => (globalThis as any).Chart.getChart('reasons')?.data.datasets.length ?? 0)).toBe(3);
    } finally {
      await page.close();
    }
  });
});
