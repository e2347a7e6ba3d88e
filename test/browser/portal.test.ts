import { AxeBuilder } from '@axe-core/playwright';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { parseApiKey } from '../../lambda/shared/customers/api-key';
import { withClientReference } from '../../lambda/shared/portal-paths';
import { PAYMENT_REASONS } from '../../lambda/shared/problems';
import { killGroup, npmStart, ROOT, type NpmStart } from '../support/npm-start';
import { openedResources } from '../support/opened';

/**
 * The portal in a real browser (Chromium from the distribution, driven by playwright-core) on
 * `npm start`: a page on another origin meets a 402, follows its paymentUrl into the portal, pays
 * through the local test checkout, and its key then answers 200; a new customer signs up and sees
 * its key once; rotating in the portal turns the old key away; a Payment Link-style checkout lands on
 * the 402's customer. Screenshots of each step go to test-artifacts/browser/ (git-ignored); axe checks
 * every portal page for serious or critical violations; no page of the stack logs a console error or
 * throws (the client app's page on another origin may: its 402s are what it is shown handling).
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'browser');

let started: NpmStart | undefined;
let stateDir: string;
let browser: Browser;
let other: Server;
let otherOrigin: string;
let step = 0;
const opened = openedResources();

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  stateDir = mkdtempSync(path.join(tmpdir(), 'tollgate-browser-'));
  opened.defer(() => rmSync(stateDir, { recursive: true, force: true }));
  other = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end('<!doctype html><html lang="en"><head><title>Another origin</title></head><body><main><h1>A client app on another origin</h1><pre id="out"></pre></main></body></html>');
  });
  await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
  opened.defer(() => new Promise<void>((resolve) => other.close(() => resolve())));
  otherOrigin = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
  // Either may open while the other fails: each is closed in afterAll once it has opened.
  [started, browser] = await Promise.all([
    opened.open(npmStart({ stateDir, args: ['--in-memory'] }), (s) => killGroup(s.pgid)),
    opened.open(chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] }), (b) => b.close()),
  ]);
}, 180_000);

afterAll(() => opened.closeAll());

/** Console errors and uncaught exceptions of the stack's own pages, by the page's URL. */
const pageErrors: string[] = [];
beforeEach(() => {
  pageErrors.length = 0;
});
afterEach(() => {
  expect(pageErrors).toEqual([]);
});

/** A browser context whose pages on the stack are watched for console errors. */
async function newContext(): Promise<BrowserContext> {
  const context = await browser.newContext();
  const ours = (page: Page | null): boolean => page !== null && page.url().startsWith(started!.apiUrl);
  context.on('console', (message) => {
    if (message.type() === 'error' && ours(message.page())) pageErrors.push(`${message.page()!.url()}: ${message.text()}`);
  });
  context.on('weberror', (error) => {
    if (ours(error.page())) pageErrors.push(`${error.page()!.url()}: ${error.error().message}`);
  });
  return context;
}

const demoKey = (name: 'paying' | 'free' | 'metered' | 'payg'): string => new RegExp(`^  ${name}\\s+(tg_test_\\S+)`, 'm').exec(started!.output())![1]!;

async function shot(page: Page, name: string): Promise<void> {
  step += 1;
  await page.screenshot({ path: path.join(ARTIFACTS, `${String(step).padStart(2, '0')}-${name}.png`), fullPage: true });
}

async function accessible(page: Page): Promise<void> {
  const { violations } = await new AxeBuilder({ page }).analyze();
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
  expect(serious).toEqual([]);
}

/** A key of a fresh customer with no subscription, issued by the CLI against this run. */
async function keyOfNewCustomer(customerId: string): Promise<string> {
  const { runCli } = await import('../../lib/cli');
  let out = '';
  await runCli(['keys', 'create', '--customer', customerId, '--json'], { stdout: (t) => (out += t), stderr: () => undefined, env: { ...process.env, TOLLGATE_STATE_DIR: stateDir }, root: ROOT });
  return (JSON.parse(out) as { key: string }).key;
}

/** `npx tollgate credits grant <customer> <args…>` on the running stack; its exit code. */
async function grantCredits(customerId: string, args: readonly string[]): Promise<number> {
  const { runCli } = await import('../../lib/cli');
  return runCli(['credits', 'grant', customerId, ...args], { stdout: () => undefined, stderr: () => undefined, env: { ...process.env, TOLLGATE_STATE_DIR: stateDir }, root: ROOT });
}

async function signIn(page: Page, key: string): Promise<void> {
  await page.goto(`${started!.apiUrl}tollgate/portal/sign-in`);
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Your account' }).waitFor();
}

/** From the account page, Pro through the local test checkout, as the signed-in customer. */
async function subscribeToPro(page: Page, check = false): Promise<void> {
  await page.getByRole('link', { name: 'Plans' }).last().click();
  await page.getByRole('button', { name: 'Subscribe to Pro' }).click();
  await page.locator('main', { hasText: 'LOCAL TEST CHECKOUT' }).waitFor();
  if (check) {
    await shot(page, 'test-checkout');
    await accessible(page);
  }
  await page.getByRole('button', { name: 'Pay (test)' }).click();
  await page.locator('main', { hasText: 'existing API keys now have access' }).waitFor();
}

/** The API called from a page on another origin (CORS), as a browser client app would. */
async function callFromOtherOrigin(page: Page, route: string, key: string): Promise<{ status: number; body: any }> {
  if (!page.url().startsWith(otherOrigin)) await page.goto(otherOrigin);
  const answer = await page.evaluate(
    async ({ url, key }) => {
      const response = await fetch(url, { headers: { Authorization: `Bearer ${key}` } });
      const text = await response.text();
      (globalThis as unknown as { document: { getElementById(id: string): { textContent: string } } }).document.getElementById('out').textContent = `${response.status} ${text}`;
      return { status: response.status, text };
    },
    { url: `${started!.apiUrl}${route}`, key },
  );
  return { status: answer.status, body: answer.text === '' ? undefined : JSON.parse(answer.text) };
}

describe('the developer portal in a browser', () => {
  it('takes a caller from a 402 on another origin through the portal and the test checkout to a 200 with the same key', async () => {
    const page = await (await newContext()).newPage();
    const key = demoKey('free');
    const denied = await callFromOtherOrigin(page, 'v1/quotes', key);
    expect(denied.status).toBe(402);
    expect(denied.body).toMatchObject({ reason: 'no_subscription', paymentUrl: `${started!.apiUrl}tollgate/portal` });
    await shot(page, 'other-origin-402');

    // The 402's type explains itself.
    await page.goto(denied.body.type);
    expect(await page.title()).toBe('Subscription required');
    await shot(page, 'problem-page');
    await accessible(page);

    await page.goto(denied.body.paymentUrl);
    await page.getByRole('heading', { level: 1, name: 'Plans' }).waitFor();
    // Each plan with its price as the (fake) Stripe API has it, read by lookup key.
    expect(await page.locator('.plans li').filter({ hasText: 'Subscribe to Pro' }).locator('[data-price]').textContent()).toBe('$20.00 per month');
    expect(await page.locator('.plans li').filter({ hasText: 'Subscribe to Metered' }).locator('[data-price]').textContent()).toBe('$5.00 per month');
    await shot(page, 'portal-plans');
    await accessible(page);
    await page.getByRole('link', { name: 'Sign in' }).first().click();
    await page.getByLabel('API key').fill(key);
    await shot(page, 'sign-in');
    await accessible(page);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Your account' }).waitFor();
    await page.locator('main', { hasText: 'no_subscription' }).waitFor();
    await shot(page, 'account-before');
    await accessible(page);

    await subscribeToPro(page, true);
    await shot(page, 'subscribed');

    const allowed = await callFromOtherOrigin(page, 'v1/quotes', key);
    expect(allowed.status).toBe(200);
    await shot(page, 'other-origin-200');
    await page.context().close();
    // Five pages, each checked by axe: close to a minute on a loaded two-core machine.
  }, 150_000);

  it('signs a new customer up: the key is shown once, answers 200, and rotating it in the portal makes the old one 401', async () => {
    const context = await newContext();
    const page = await context.newPage();
    await page.goto(`${started!.apiUrl}tollgate/portal`);
    await page.getByRole('button', { name: 'Subscribe to Metered' }).click();
    await page.getByRole('button', { name: 'Pay (test)' }).click();
    await page.getByRole('heading', { level: 1, name: 'Your API key' }).waitFor();
    const key = await page.getByLabel('API key').inputValue();
    expect(key).toMatch(/^tg_test_cus_/);
    expect(page.url()).not.toContain(key);
    await shot(page, 'key-shown-once');
    await accessible(page);
    // Copy puts the key on the clipboard.
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(started!.apiUrl).origin });
    await page.getByRole('button', { name: 'Copy' }).click();
    await page.locator('[data-copy-result]', { hasText: 'Copied.' }).waitFor();
    expect(await page.evaluate(() => (globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }).navigator.clipboard.readText())).toBe(key);
    // The portal's own script (the client helper) tries the key.
    await page.getByRole('button', { name: 'Try it' }).click();
    await page.locator('[data-try-result]', { hasText: '200: your key works.' }).waitFor();

    // Reloaded, the page shows no key again: the payer lands on the account (no 409 in the console).
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Your account' }).waitFor();
    expect(await page.content()).not.toContain(key);
    await shot(page, 'key-not-shown-again');

    const api = await context.newPage();
    expect((await callFromOtherOrigin(api, 'v1/quotes', key)).status).toBe(200);

    await page.goto(`${started!.apiUrl}tollgate/portal/account`);
    await page.locator('main', { hasText: 'Metered' }).waitFor();
    await page.getByRole('button', { name: 'Rotate the key you signed in with' }).click();
    await page.getByRole('heading', { level: 1, name: 'Your new API key' }).waitFor();
    const rotated = await page.getByLabel('API key').inputValue();
    await shot(page, 'rotated');
    expect((await callFromOtherOrigin(api, 'v1/quotes', key)).status).toBe(401);
    expect((await callFromOtherOrigin(api, 'v1/quotes', rotated)).status).toBe(200);
    await shot(api, 'old-key-401');
    await context.close();
  });

  it('lands a Payment Link-style checkout (a new Stripe customer, client_reference_id) on the customer of the 402', async () => {
    const page = await (await newContext()).newPage();
    // A customer with a key and no subscription yet.
    const key = await keyOfNewCustomer('cus_browserLink1');
    const denied = await callFromOtherOrigin(page, 'v1/quotes', key);
    expect(denied.status).toBe(402);
    // What the 402 carries when tollgate:checkoutUrl is a Payment Link: the link with the customer.
    const link = withClientReference(`${started!.apiUrl}tollgate/portal/test-checkout/plink_pro`, 'cus_browserLink1');
    await page.goto(link);
    await page.locator('main', { hasText: 'For customer cus_browserLink1' }).waitFor();
    await page.getByRole('button', { name: 'Pay (test)' }).click();
    await page.getByRole('heading', { level: 1, name: 'Payment received' }).waitFor();
    await shot(page, 'payment-link-paid');
    expect((await callFromOtherOrigin(page, 'v1/quotes', key)).status).toBe(200);
    await page.context().close();
  });

  it('buys a credit pack by bank debit: the success page says the payment is processing, and claims the key with its credits once it settles', async () => {
    const context = await newContext();
    const page = await context.newPage();
    await page.goto(`${started!.apiUrl}tollgate/portal`);
    await page.getByRole('button', { name: 'Buy 100 credits' }).click();
    await page.getByRole('button', { name: 'Pay by bank debit (test: settles later)' }).click();
    await page.getByRole('heading', { level: 1, name: 'Payment processing' }).waitFor();
    expect(await page.getByRole('status').textContent()).toContain('Your payment is processing');
    expect(await page.getByLabel('API key').count()).toBe(0);
    await shot(page, 'pack-payment-processing');
    await accessible(page);
    const processingUrl = page.url();
    const session = /cs_[A-Za-z0-9_]+/.exec(decodeURIComponent(processingUrl))?.[0];
    expect(session).toBeDefined();

    // Days later at Stripe: the bank debit settles and Stripe sends checkout.session.async_payment_succeeded.
    await page.goto(`${started!.apiUrl}tollgate/portal/test-checkout/${session}`);
    await page.getByRole('button', { name: 'Settle the bank payment (test)' }).click();
    await page.getByRole('heading', { level: 1, name: 'Your API key' }).waitFor();
    const key = await page.getByLabel('API key').inputValue();
    expect(key).toMatch(/^tg_test_cus_/);
    await shot(page, 'pack-settled-key');
    const api = await context.newPage();
    expect((await callFromOtherOrigin(api, 'v1/search?q=x', key)).status).toBe(200);
    // The key is claimed once: the processing page's URL, opened again, no longer shows it.
    await page.goto(processingUrl);
    await page.getByRole('heading', { level: 1 }).waitFor();
    expect(await page.content()).not.toContain(key);
    await context.close();
  });

  it("shows a signed-in customer its usage: the metered plan's period and the pay-as-you-go credits", async () => {
    const page = await (await newContext()).newPage();
    await signIn(page, demoKey('metered'));
    expect(await page.locator('[data-usage]').textContent()).toMatch(/^\d+ units used of 20, \d+ left$/);
    await page.getByText('Period resets').waitFor();
    await shot(page, 'account-metered-usage');
    await accessible(page);
    await signIn(page, demoKey('payg'));
    expect(await page.locator('[data-credits]').textContent()).toMatch(/^-?\d+ units prepaid$/);
    await shot(page, 'account-payg-credits');
    await page.context().close();
  });

  it('lists the credit grants on the account page in draw order, with what is left and when each expires (#26)', async () => {
    const key = await keyOfNewCustomer('cus_browserGrants1');
    const grant = (args: string[]) => grantCredits('cus_browserGrants1', args);
    expect(await grant(['40', '--reason', 'invoice 7', '--id', 'browser-paid-1'])).toBe(0);
    expect(await grant(['25', '--reason', 'welcome', '--id', 'browser-promo-1', '--promotional', '--expires-in', '30d'])).toBe(0);
    const page = await (await newContext()).newPage();
    await signIn(page, key);
    const table = page.getByRole('table', { name: 'Credit grants' });
    const rows = await table.locator('tbody tr').allTextContents();
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/^browser-promo-1promotional5025 of 25 units\d{4}-\d\d-\d\dT/);
    expect(rows[1]).toBe('browser-paid-1paid5040 of 40 unitsnever');
    await shot(page, 'account-credit-grants');
    await accessible(page);
    await page.context().close();
  });

  it('cancels a subscription in the local test billing portal: the next call is 402', async () => {
    const context = await newContext();
    const page = await context.newPage();
    const key = await keyOfNewCustomer('cus_browserCancel1');
    await signIn(page, key);
    await subscribeToPro(page);
    const api = await context.newPage();
    expect((await callFromOtherOrigin(api, 'v1/quotes', key)).status).toBe(200);

    await page.goto(`${started!.apiUrl}tollgate/portal/account`);
    await page.getByRole('button', { name: /^Billing/ }).click();
    await page.locator('main', { hasText: 'LOCAL TEST BILLING PORTAL' }).waitFor();
    await page.getByRole('heading', { level: 3, name: 'Pro' }).waitFor();
    await shot(page, 'test-billing-portal');
    await accessible(page);
    await page.getByRole('button', { name: 'Cancel Pro now' }).click();
    // It asks first.
    await page.getByRole('heading', { level: 1, name: 'Cancel Pro?' }).waitFor();
    await shot(page, 'test-billing-portal-confirm-cancel');
    await accessible(page);
    expect((await callFromOtherOrigin(api, 'v1/quotes', key)).status).toBe(200);
    await page.getByRole('button', { name: 'Yes, cancel Pro now' }).click();
    await page.locator('main', { hasText: 'No active subscription.' }).waitFor();
    await shot(page, 'test-billing-portal-canceled');
    const denied = await callFromOtherOrigin(api, 'v1/quotes', key);
    expect(denied.status).toBe(402);
    expect(denied.body).toMatchObject({ reason: 'subscription_canceled' });
    await shot(api, 'canceled-402');
    await context.close();
  });

  it('sets, shows, raises and removes budgets on the account page, and says what is wrong with a bad cap', async () => {
    const page = await (await newContext()).newPage();
    const key = await keyOfNewCustomer('cus_browserBudget1');
    const { keyId } = parseApiKey(key)!;
    await signIn(page, key);
    const section = page.getByRole('region', { name: 'Budget' });
    await section.getByText('No cap is set').waitFor();
    const capField = page.getByLabel('Cap, in units', { exact: true });
    const setBudget = page.getByRole('button', { name: 'Set budget' });
    const rowOf = (scope: string) => section.locator(`tr[data-budget="${scope}"]`);

    // A cap that is not a whole number: the page again, the error said and the field marked, nothing set.
    await capField.fill('ten');
    await setBudget.click();
    await section.getByRole('alert').filter({ hasText: 'Nothing was changed: a budget is a whole number of units' }).waitFor();
    expect(await capField.getAttribute('aria-invalid')).toBe('true');
    expect(await capField.inputValue()).toBe('ten');
    expect(await section.getByText('No cap is set').count()).toBe(1);
    await shot(page, 'budget-refused');
    await accessible(page);

    // Set 500 a day on the whole account: shown in words.
    await capField.fill('500');
    await page.getByLabel('Per', { exact: true }).selectOption('day');
    await setBudget.click();
    await section.locator('[data-budget-notice]', { hasText: 'Budget saved.' }).waitFor();
    expect(await rowOf('customer').textContent()).toMatch(/^Whole account \(every key\)500 units a day \(UTC\)0 units500 units\d{1,2} \w+ \d{4} at 00:00 UTC/);
    expect(await section.getByRole('alert').count()).toBe(0);
    await shot(page, 'budget-set');
    await accessible(page);

    // Raise it, and cap this session's key per billing period beside it.
    await capField.fill('2000');
    await setBudget.click();
    await section.locator('[data-budget-notice]').waitFor();
    await page.getByLabel('Applies to', { exact: true }).selectOption(keyId);
    await capField.fill('50');
    await page.getByLabel('Per', { exact: true }).selectOption('period');
    await setBudget.click();
    await rowOf(keyId).waitFor();
    expect(await rowOf('customer').textContent()).toContain('2,000 units a day (UTC)');
    expect(await rowOf(keyId).textContent()).toMatch(new RegExp(`^Key ${keyId}.*, this session50 units per billing period0 units50 units`));
    await shot(page, 'budget-raised-and-key');
    await accessible(page);

    // Remove the account's cap: the key's stays.
    await section.getByRole('button', { name: 'Remove the whole-account cap' }).click();
    await section.locator('[data-budget-notice]', { hasText: 'Budget removed' }).waitFor();
    expect(await rowOf('customer').count()).toBe(0);
    expect(await rowOf(keyId).count()).toBe(1);
    await section.getByRole('button', { name: `Remove the cap on key ${keyId}` }).click();
    await section.getByText('No cap is set').waitFor();
    await shot(page, 'budget-removed');
    await page.context().close();
  });

  it('saves a card through the test checkout and turns auto top-up on: credits below the threshold buy the pack at once (#26)', async () => {
    const key = await keyOfNewCustomer('cus_browserTopUp1');
    expect(await grantCredits('cus_browserTopUp1', ['3', '--reason', 'start'])).toBe(0);
    const page = await (await newContext()).newPage();
    await signIn(page, key);
    const section = page.getByRole('region', { name: 'Auto top-up' });
    expect(await section.locator('[data-top-up-state]').textContent()).toBe('Off.');
    await section.getByRole('button', { name: 'Save a card' }).click();
    await page.locator('main', { hasText: 'LOCAL TEST CHECKOUT' }).waitFor();
    await shot(page, 'top-up-save-card');
    await accessible(page);
    await page.getByRole('button', { name: /^Save a card that pays/ }).click();
    await section.locator('[data-top-up-notice]', { hasText: 'Card saved.' }).waitFor();
    expect(await section.locator('[data-top-up] dd').first().textContent()).toBe('visa …4242');

    // A threshold the pack cannot lift the credits past: refused, said, and the field marked.
    const below = page.getByLabel('When credits fall below, in units');
    await below.fill('500');
    await section.getByRole('button', { name: 'Turn on auto top-up' }).click();
    await section.getByRole('alert').filter({ hasText: "choose a threshold below the pack's 100 credits" }).waitFor();
    expect(await below.getAttribute('aria-invalid')).toBe('true');
    await accessible(page);

    // 3 credits, below 10: saving it buys the pack at once; the grant lands when Stripe's event reaches the webhook.
    await below.fill('10');
    await section.getByRole('button', { name: 'Turn on auto top-up' }).click();
    await section.locator('[data-top-up-notice]', { hasText: 'the pack was bought with your card' }).waitFor();
    const grants = page.getByRole('table', { name: 'Credit grants' });
    for (let i = 0; i < 50 && (await grants.locator('tbody tr', { hasText: '100 of 100 units' }).count()) === 0; i++) {
      await page.waitForTimeout(200);
      await page.reload();
    }
    expect(await grants.locator('tbody tr', { hasText: '100 of 100 units' }).count()).toBe(1);
    expect(await section.locator('[data-top-up-state]').textContent()).toBe('On: when your credits fall below 10 units, your card buys 100 credits.');
    await shot(page, 'top-up-on');
    await accessible(page);
    await page.context().close();
  }, 120_000);

  it('a declined card pauses auto top-up, and once the credits are gone the 402 says top_up_failed (#26)', async () => {
    const key = await keyOfNewCustomer('cus_browserTopUp2');
    expect(await grantCredits('cus_browserTopUp2', ['1', '--reason', 'start'])).toBe(0);
    const page = await (await newContext()).newPage();
    await signIn(page, key);
    const section = page.getByRole('region', { name: 'Auto top-up' });
    await section.getByRole('button', { name: 'Save a card' }).click();
    await page.getByRole('button', { name: /^Save a card that is declined/ }).click();
    await section.locator('[data-top-up-notice]', { hasText: 'Card saved.' }).waitFor();
    await page.getByLabel('When credits fall below, in units').fill('5');
    await section.getByRole('button', { name: 'Turn on auto top-up' }).click();
    await section.locator('[data-top-up-notice]', { hasText: 'charging your card failed' }).waitFor();
    expect(await section.locator('[data-top-up-state]').textContent()).toBe('Paused: the last charge failed (the card was declined) and nothing was added. Save another card to turn it on again.');
    await shot(page, 'top-up-paused');
    await accessible(page);
    // The last credit is spent; metering's count of it (each second, plus a second of cache) turns the route to 402.
    expect((await callFromOtherOrigin(page, 'v1/search?q=a', key)).status).toBe(200);
    let answer = await callFromOtherOrigin(page, 'v1/search?q=a', key);
    for (let i = 0; i < 60 && answer.status === 200; i++) {
      await page.waitForTimeout(250);
      answer = await callFromOtherOrigin(page, 'v1/search?q=a', key);
    }
    expect(answer.status).toBe(402);
    expect(answer.body).toMatchObject({ reason: 'top_up_failed', title: 'Auto top-up failed' });
    expect(answer.body.paymentUrl).toMatch(new RegExp(`^${started!.apiUrl}tollgate/portal`));
    await page.context().close();
  }, 120_000);

  it("runs one fake of Stripe's API: the one metering reports to also sells the portal's prices", async () => {
    const fake = /reports: local fake of Stripe's API (http:\/\/127\.0\.0\.1:\d+) /.exec(started!.output())![1]!;
    const prices = await fetch(`${fake}/v1/prices?lookup_keys[]=pro&active=true`, { headers: { Authorization: 'Bearer sk_test_tollgate_local_fake' } });
    expect(prices.status).toBe(200);
    expect(((await prices.json()) as { data: Array<{ lookup_key: string }> }).data.map((p) => p.lookup_key)).toEqual(['pro']);
  });

  it('serves the API reference with the explorer from the stack, and a page for every 402 reason', async () => {
    const page = await (await newContext()).newPage();
    const blocked: string[] = [];
    // A page without a declared icon makes the browser ask the API's origin for /favicon.ico: a 403.
    const failed: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy|Refused to/.test(message.text())) blocked.push(message.text());
      if (message.type() === 'error' && /Failed to load resource/.test(message.text())) failed.push(`${page.url()}: ${message.text()}`);
    });
    const external: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(started!.apiUrl.replace(/\/prod\/$/, ''))) external.push(request.url());
    });
    await page.goto(`${started!.apiUrl}tollgate/docs`);
    await page.getByText('Any active subscription.').first().waitFor({ timeout: 60_000 });
    await page.getByText('Requires:').first().waitFor();
    await shot(page, 'api-reference');
    // Nothing that talks to a third party: no AI agent (it uploads the API description), no MCP, no SDK generator.
    for (const feature of [/Ask AI/i, /MCP/, /Generate SDK/i, /Developer Tools/i]) expect({ feature: String(feature), shown: await page.getByText(feature).count() }).toEqual({ feature: String(feature), shown: 0 });
    expect(blocked).toEqual([]);
    expect(external).toEqual([]);
    // The reference leads to the plans and to sign-in.
    expect(await page.getByRole('link', { name: 'Sign in' }).getAttribute('href')).toBe(`${new URL(started!.apiUrl).pathname}tollgate/portal/sign-in`);
    await page.getByRole('link', { name: 'Plans and pricing' }).click();
    await page.getByRole('heading', { level: 1, name: 'Plans' }).waitFor();
    for (const reason of PAYMENT_REASONS) {
      const response = await page.goto(`${started!.apiUrl}tollgate/problems/${reason}`);
      expect(response?.status()).toBe(200);
      await page.locator('main', { hasText: 'What to do' }).waitFor();
    }
    await page.goto(`${started!.apiUrl}tollgate/portal`);
    await page.locator('main').first().waitFor();
    expect(blocked).toEqual([]);
    expect(failed).toEqual([]);
    await page.context().close();
  });
});
