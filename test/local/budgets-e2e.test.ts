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
    let served = 0;
    let denied: { status: number; body: Record<string, unknown> } | undefined;
    for (let i = 0; i < 200 && denied === undefined; i++) {
      const answer = await call(search, key);
      if (answer.status === 402) denied = answer;
      else {
        expect(answer.status).toBe(200);
        served++;
        await pause(50);
      }
    }
    expect(denied?.body).toMatchObject({ reason: 'budget_exceeded', limit: 3 });
    expect(denied!.body.used as number).toBeGreaterThanOrEqual(3);
    expect(served).toBeGreaterThanOrEqual(3);
    const raised = await call(url!, key, { method: 'PUT', body: JSON.stringify({ limit: 1000, per: 'day' }), headers: { 'Content-Type': 'application/json' } });
    expect(raised).toMatchObject({ status: 200, body: { limit: 1000 } });
    const after = await answeredWithin(() => call(search, key), (a) => a.status === 200);
    expect(after).toMatchObject({ status: 200 });
  }, 120_000);
});
