import AxeBuilder from '@axe-core/playwright';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { DEMO_CUSTOMERS } from '../../lib/local/demo';
import { launchChromium } from '../support/browser';
import { eventually, npmStartForFile, ROOT } from '../support/npm-start';

/**
 * Alerts on npm start (docs/alerts.md), out of the box: the sample's cdk.json sets tollgate:alerts, and the
 * banner's own lines are run as a user pastes them. The metered demo customer's loop runs its quota out (the
 * 402 is certain: the loop stops at it), the 80 % and 100 % e-mails SES would send land once each in the
 * outbox page the banner names, which passes an axe check; the pay-as-you-go loop ends in its 402, the
 * banner's top-up and one call put the seller's payment_recovered event there.
 */

const npm = npmStartForFile('alerts-e2e');
let browser: Browser | undefined;
afterAll(async () => browser?.close());

/** The banner line with this comment (the command before it, as printed). */
function bannerCommand(comment: string): string {
  const line = npm
    .started()
    .output()
    .split('\n')
    .find((l) => l.includes(`# ${comment}`));
  if (line === undefined) throw new Error(`the banner has no line commented "${comment}"`);
  return line.slice(0, line.indexOf(`    # ${comment}`)).trim();
}

/** Runs a banner line in bash, in the project, with the run's environment (its state folder: the CLI finds the run there). */
async function run(command: string): Promise<string> {
  const { stdout } = await promisify(execFile)('bash', ['-c', command], { cwd: ROOT, env: npm.started().env, timeout: 90_000 });
  return stdout;
}

const outbox = async (url: string, text: string): Promise<string> =>
  eventually(async () => {
    const html = await (await fetch(url)).text();
    return html.includes(text) ? html : undefined;
  }, 30_000);

describe('alerts on npm start, from the banner', () => {
  it("runs the metered customer's quota out to its 402, and shows its 80 % and 100 % e-mails in the outbox page, once each", async () => {
    const statuses = (await run(bannerCommand('200s, then 402 quota_exceeded'))).trim().split(' ');
    expect(statuses.at(-1)).toBe('402');
    expect(statuses.filter((s) => s === '200').length).toBeGreaterThanOrEqual(20);
    const open = bannerCommand("alerts caught, not sent (tollgate:alerts, docs/alerts.md): the 80 % and 100 % e-mails and the seller's quota_threshold events");
    const outboxUrl = /^open (\S+)$/.exec(open)![1]!;
    const page = await outbox(outboxUrl, 'You have used your plan&#39;s quota (20 units)');
    expect(page).toContain('You have used 80% of your plan&#39;s quota');
    expect(page.match(/<article class="email">/g)).toHaveLength(2);
    expect(page.match(/<code>tollgate\.customer\.quota_threshold<\/code>/g)).toHaveLength(2);
    expect(page).toContain(DEMO_CUSTOMERS.metered);

    browser = await launchChromium();
    const tab = await (await browser.newContext()).newPage();
    await tab.goto(outboxUrl);
    await expect(tab.getByRole('heading', { level: 3, name: "You have used 80% of your plan's quota" }).count()).resolves.toBe(1);
    const { violations } = await new AxeBuilder({ page: tab }).analyze();
    expect(violations.map((v) => `${v.id}: ${v.help}`)).toEqual([]);
  }, 150_000);

  it('runs the pay-as-you-go credits out to the 402 every time, and the top-up then a call put payment_recovered in the outbox', async () => {
    const statuses = (await run(bannerCommand('200s, then 402 credits_exhausted'))).trim().split(' ');
    expect(statuses.at(-1)).toBe('402');
    expect(statuses).toContain('200');
    await run(bannerCommand('top-up: 200 again'));
    expect((await run(bannerCommand('200: the first call after the payment puts payment_recovered in the outbox'))).trim()).toBe('200');
    const outboxUrl = /^open (\S+)$/.exec(bannerCommand("alerts caught, not sent (tollgate:alerts, docs/alerts.md): the 80 % and 100 % e-mails and the seller's quota_threshold events"))![1]!;
    const page = await outbox(outboxUrl, 'tollgate.customer.payment_recovered');
    const event = /<code>tollgate\.customer\.payment_recovered<\/code>.*?<pre>([^<]*)<\/pre>/s.exec(page)![1]!;
    expect(JSON.parse(event.replace(/&#34;/g, '"'))).toMatchObject({ rule: 'recovered', customerId: DEMO_CUSTOMERS.payg, reason: 'credits_exhausted', via: 'credits' });
    // Seller-facing: no e-mail to the customer for it.
    expect(page).not.toContain(`${DEMO_CUSTOMERS.payg}@`);
  }, 150_000);
});
