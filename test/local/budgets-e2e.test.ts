import { npmStartForFile } from '../support/npm-start';
import { answeredWithin } from '../support/poll';

/**
 * A budget on npm start, as the banner shows it: the metered demo key caps itself with PUT
 * /tollgate/budget, its calls run into 402 budget_exceeded (metering spends them from the log), a higher
 * limit opens the route again at once.
 */

const npm = npmStartForFile('budgets-e2e');
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function bannerLine(pattern: RegExp): RegExpExecArray {
  const found = pattern.exec(npm.started().output());
  if (found === null) throw new Error(`the banner has no line like ${pattern}`);
  return found;
}

async function call(url: string, key: string, init: RequestInit = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { ...init, headers: { Authorization: `Bearer ${key}`, ...(init.headers ?? {}) } });
  const text = await res.text();
  return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

describe('budgets on npm start', () => {
  it("sets a budget with the key, runs into 402 budget_exceeded, and a raise gives 200 again", async () => {
    const key = bannerLine(/^ {2}metered +(tg_test_\S+)/m)[1]!;
    const [, url, body] = bannerLine(/^ {2}curl -i -X PUT (\S+tollgate\/budget) -H "Authorization: Bearer \S+" -d '([^']+)'/m);
    const set = await call(url!, key, { method: 'PUT', body, headers: { 'Content-Type': 'application/json' } });
    expect(set).toMatchObject({ status: 200, body: { scope: 'customer', limit: 3, per: 'day', used: 0 } });
    const search = `${npm.started().apiUrl}v1/search?q=tollgate`;
    // Each call is counted before the next (the usage route's `used` says so): on a loaded machine, calls made
    // faster than metering counts them would run the plan's 20-unit quota out too, and the 402 after the raise
    // would be quota_exceeded. Paced like this, the budget's 3 units are all the calls that get through.
    const usage = `${npm.started().apiUrl}tollgate/usage`;
    const usedNow = async (): Promise<number> => (await call(usage, key)).body.used as number;
    const before = await usedNow();
    let served = 0;
    let denied: { status: number; body: Record<string, unknown> } | undefined;
    for (let i = 0; i < 20 && denied === undefined; i++) {
      const answer = await call(search, key);
      if (answer.status === 402) denied = answer;
      else {
        expect(answer.status).toBe(200);
        served++;
        expect(await answeredWithin(usedNow, (used) => used >= before + served, 30_000)).toBe(before + served);
        // A second of cache on routes sold by use: the next call meets the decision the count makes.
        await pause(1100);
      }
    }
    expect(denied?.body).toMatchObject({ reason: 'budget_exceeded', limit: 3, used: 3 });
    expect(served).toBe(3);
    const raised = await call(url!, key, { method: 'PUT', body: JSON.stringify({ limit: 1000, per: 'day' }), headers: { 'Content-Type': 'application/json' } });
    expect(raised).toMatchObject({ status: 200, body: { limit: 1000 } });
    const after = await answeredWithin(() => call(search, key), (a) => a.status === 200);
    expect(after).toMatchObject({ status: 200 });
  }, 120_000);
});
