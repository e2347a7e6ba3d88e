import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runCli } from '../../lib/cli/index';
import { DEMO_CUSTOMERS } from '../../lib/local/demo';
import { alive } from '../support/processes';
import { killGroup, npmStart, ROOT, type NpmStart } from '../support/npm-start';
import { openedResources } from '../support/opened';

/**
 * The first hour with a document and backend of one's own: `npm start -c tollgate:openApiDocument=…
 * -c tollgate:backendUrl=…`. What the terminal prints and what the CLI shows come from that stack's
 * configuration, `-c` overrides included; the sample's demo customers are not there; every call the
 * banner suggests answers as it says.
 */

const DOCUMENT = 'test/fixtures/own-api.json';
const PLANS = '{"shelf":{"name":"Shelf","quota":30}}';

let started: NpmStart;
let stateDir: string;
let backendUrl: string;
const opened = openedResources();

beforeAll(async () => {
  stateDir = mkdtempSync(path.join(tmpdir(), 'tollgate-own-api-'));
  opened.defer(() => rmSync(stateDir, { recursive: true, force: true }));
  const backend: Server = createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ backend: 'bookshop', method: req.method, url: req.url }));
  });
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  opened.defer(() => new Promise<void>((resolve) => backend.close(() => resolve())));
  backendUrl = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;
  started = await opened.open(
    npmStart({ stateDir, args: ['--in-memory', '-c', `tollgate:openApiDocument=${DOCUMENT}`, '-c', `tollgate:backendUrl=${backendUrl}`, '-c', `tollgate:plans=${PLANS}`] }),
    async (run) => {
      if (alive(run.pgid)) {
        process.kill(-run.pgid, 'SIGINT');
        await run.exited;
      }
      killGroup(run.pgid);
    },
  );
}, 120_000);
afterAll(() => opened.closeAll());

const cli = async (...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env: { ...process.env, TOLLGATE_STATE_DIR: stateDir }, root: ROOT });
  return { code, stdout, stderr };
};

/** The banner's lines that start with `prefix` (indented two spaces), without their comments. */
const bannerLines = (prefix: string): Array<{ command: string; comment: string }> =>
  [...started.output().matchAll(new RegExp(`^  (${prefix}.*?)\\s+# (.*)$`, 'gm'))].map((m) => ({ command: m[1]!, comment: m[2]! }));

/** Runs a banner curl line with fetch (`curl -i "<url>" [-X M] [-H "Authorization: Bearer $KEY"]`). */
async function curl(command: string, key: string): Promise<Response> {
  const [, url, method, withKey] = /^curl -i "(\S+)"(?: -X (\w+))?( -H "Authorization: Bearer \$KEY")?$/.exec(command)!;
  return fetch(url!, { method: method ?? 'GET', headers: withKey === undefined ? {} : { Authorization: `Bearer ${key}` } });
}

describe('npm start with a document and backend of ones own', () => {
  it('prints that API, its routes with what they require and cost, and its plans: nothing of the sample', () => {
    const output = started.output();
    expect(output).toContain(`your API        ${DOCUMENT} (4 routes) → ${backendUrl}`);
    expect(output).toMatch(/^ {2}GET \/health\s+public$/m);
    expect(output).toMatch(/^ {2}GET \/books\/\{isbn\}\s+key$/m);
    expect(output).toMatch(/^ {2}POST \/orders\s+subscription$/m);
    expect(output).toMatch(/^ {2}GET \/lookup\s+subscription, 3 units per 2xx call$/m);
    expect(output).toContain('plans: shelf (Shelf: 30 units a period, then 402 quota_exceeded)');
    expect(output).toContain('sold by use: GET /lookup costs 3 units per 2xx call');
    for (const sample of ['/v1/quotes', '/v1/search', 'cus_tollgate_demo', 'demo API keys', 'sample_metered']) expect({ sample, shown: output.includes(sample) }).toEqual({ sample, shown: false });
  });

  it('answers every call the banner suggests as the banner says', async () => {
    const [create] = bannerLines('npx tollgate keys create');
    expect(create).toBeDefined();
    const created = await cli(...create!.command.split(' ').slice(2), '--json');
    expect(created.code).toBe(0);
    const { key } = JSON.parse(created.stdout) as { key: string };
    const curls = bannerLines('curl -i');
    expect(curls.map((c) => c.comment.slice(0, 3))).toEqual(['GET', '401', '402', 'wha']);
    const [publicCall, noKey, unpaid, anyKey] = curls.map((c) => c.command) as [string, string, string, string];
    const health = await curl(publicCall, key);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ backend: 'bookshop', url: '/health' });
    expect((await curl(noKey, key)).status).toBe(401);
    const denied = await curl(unpaid, key);
    expect(denied.status).toBe(402);
    expect(await denied.json()).toMatchObject({ reason: 'no_subscription' });
    const book = await curl(anyKey, key);
    expect(book.status).toBe(200);
    expect(await book.json()).toMatchObject({ url: '/books/9780262033848' });

    const [subscribe] = bannerLines('npx tollgate events send');
    expect(subscribe!.command).toBe('npx tollgate events send customer.subscription.created --customer cus_test_1 --plan shelf');
    expect((await cli(...subscribe!.command.split(' ').slice(2))).code).toBe(0);
    expect((await curl(unpaid, key)).status).toBe(200);
  });

  it('shows this stack in the CLI: its routes, its plans, no demo customers', async () => {
    const shown = await cli('customers', 'show', 'cus_test_1');
    expect(shown.code).toBe(0);
    for (const route of ['GET /health', 'GET /books/{isbn}', 'POST /orders', 'GET /lookup']) expect(shown.stdout).toContain(route);
    expect(shown.stdout).not.toContain('/v1/');
    const usage = await cli('usage', 'show', 'cus_test_1', '--json');
    expect(JSON.parse(usage.stdout)).toMatchObject({ plan: { key: 'shelf', name: 'Shelf' }, limit: 30 });
    const demo = await cli('customers', 'show', DEMO_CUSTOMERS.paying);
    expect(demo.code).toBe(1);
    expect(demo.stderr).toContain(`no customer ${DEMO_CUSTOMERS.paying}`);
  });
});
