import { run } from '../cli/support';
import { eventually, npmStartForFile } from '../support/npm-start';
import { answeredWithin } from '../support/poll';

/**
 * Selling by use on npm start, as the banner shows it: the metered demo customer's quota runs out
 * (402 quota_exceeded), a renewal restores it; the pay-as-you-go customer's credits run out
 * (402 credits_exhausted), a top-up restores them. Backend errors cost nothing: the counter ends equal
 * to the successful calls, counted from the access log by the metering handler.
 */

const npm = npmStartForFile('usage-e2e');
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function bannerKey(role: 'metered' | 'payg'): string {
  const key = new RegExp(`^  ${role} +(tg_test_\\S+)`, 'm').exec(npm.started().output())?.[1];
  if (key === undefined) throw new Error(`no ${role} key in the banner`);
  return key;
}

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

async function search(key: string, query = '?q=tollgate'): Promise<Answer> {
  const res = await fetch(`${npm.started().apiUrl}v1/search${query}`, { headers: { Authorization: `Bearer ${key}` } });
  const text = await res.text();
  return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

/** Calls until the first 402 (at most `limit` calls, a short pause between them); the 200s before it. */
async function untilDenied(key: string, limit: number): Promise<{ served: number; denied: Answer }> {
  let served = 0;
  for (let i = 0; i < limit; i++) {
    const answer = await search(key);
    if (answer.status === 402) return { served, denied: answer };
    expect(answer.status).toBe(200);
    served++;
    await pause(50);
  }
  throw new Error(`no 402 after ${limit} calls; npm start said:\n${npm.started().output().slice(-3000)}`);
}

const env = () => ({ TOLLGATE_STATE_DIR: npm.stateDir() });

async function usageOf(customer: string): Promise<{ used: number; limit: number | null; credits: number }> {
  const shown = await run(['usage', 'show', customer, '--json'], env());
  expect(shown.code).toBe(0);
  return JSON.parse(shown.stdout) as { used: number; limit: number | null; credits: number };
}

describe('selling by use on npm start', () => {
  it('runs a quota out (402 quota_exceeded), counts only the 2xx calls, and a renewal restores access', async () => {
    const key = bannerKey('metered');
    // Backend errors (400: no q) cost nothing.
    for (let i = 0; i < 5; i++) expect((await search(key, '')).status).toBe(400);
    const { served, denied } = await untilDenied(key, 600);
    expect(served).toBeGreaterThanOrEqual(20);
    expect(denied.body).toMatchObject({ reason: 'quota_exceeded', limit: 20 });
    expect(denied.body.used as number).toBeGreaterThanOrEqual(20);
    expect(typeof denied.body.resetsAt).toBe('string');
    // Every successful call counted, no failed one: the counter settles at the 2xx calls exactly.
    const usage = await eventually(async () => {
      const shown = await usageOf('cus_tollgate_demo_metered');
      return shown.used === served ? shown : undefined;
    }, 30_000);
    expect(usage).toMatchObject({ used: served, limit: 20 });

    const renewal = await run(
      ['events', 'send', 'customer.subscription.updated', '--customer', 'cus_tollgate_demo_metered', '--plan', 'sample_metered', '--period-end', String(Math.floor(Date.now() / 1000) + 60 * 86_400)],
      env(),
    );
    expect(renewal.code).toBe(0);
    expect((await answeredWithin(() => search(key), (a) => a.status === 200)).status).toBe(200);
  }, 120_000);

  it('runs prepaid credits out (402 credits_exhausted), and a top-up restores access', async () => {
    const key = bannerKey('payg');
    expect((await usageOf('cus_tollgate_demo_payg')).credits).toBe(5);
    const { served, denied } = await untilDenied(key, 600);
    expect(served).toBeGreaterThanOrEqual(5);
    expect(denied.body).toMatchObject({ reason: 'credits_exhausted', balance: 0 });
    expect(String(denied.body.paymentUrl)).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);

    const topUp = await run(['events', 'send', 'checkout.session.completed', '--customer', 'cus_tollgate_demo_payg', '--credits', '100'], env());
    expect(topUp.code).toBe(0);
    expect((await answeredWithin(() => search(key), (a) => a.status === 200)).status).toBe(200);
    await eventually(async () => ((await usageOf('cus_tollgate_demo_payg')).credits > 0 ? true : undefined), 30_000);
  }, 120_000);
});
