import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runCli } from '../../lib/cli/index';
import { freePort } from '../../lib/local/dynamodb-local';
import { killGroup } from '../support/npm-start';
import { mcpClient, resultOf } from '../mcp/support';

/**
 * `npm start` as a user runs it (a child process on a free port, in memory), driven over HTTP and
 * with the CLI: payment changes reach the API at once, revocation is immediate, a store outage is a
 * 503 and never a 402, and SIGTERM leaves no process behind.
 */

const ROOT = path.join(__dirname, '..', '..');
const CUSTOMER = 'cus_e2e_walkthrough';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(condition: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await sleep(100);
  }
  return condition();
}

describe('npm start', () => {
  let child: ChildProcess;
  let output = '';
  let stateDir: string;
  let apiUrl: string;
  let env: Record<string, string | undefined>;
  let exited: Promise<number | null>;

  const cli = async (...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    let stdout = '';
    let stderr = '';
    const code = await runCli(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env, root: ROOT });
    return { code, stdout, stderr };
  };
  const get = (route: string, key?: string) => fetch(`${apiUrl}${route}`, key === undefined ? {} : { headers: { Authorization: `Bearer ${key}` } });

  beforeAll(async () => {
    stateDir = mkdtempSync(path.join(tmpdir(), 'tollgate-e2e-'));
    const port = await freePort();
    env = { ...process.env, PORT: String(port), TOLLGATE_STATE_DIR: stateDir, STRIPE_WEBHOOK_SECRET: '' };
    // Its own process group: the test can tell whether anything npm started outlives it.
    child = spawn('npm', ['start', '--', '--in-memory'], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    const ready = await waitFor(() => output.includes('tollgate is running on') && output.includes('manage it:'), 45_000);
    if (!ready) throw new Error(`npm start did not become ready:\n${output}`);
    apiUrl = /tollgate is running on (\S+)/.exec(output)![1]!;
  }, 60_000);

  afterAll(async () => {
    try {
      if (child?.pid !== undefined && alive(child.pid)) {
        process.kill(-child.pid, 'SIGKILL');
        await exited;
      }
    } finally {
      // npm may have gone while the run it started did not: the whole group goes.
      killGroup(child?.pid);
      rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it('prints the URL, the demo keys and curl lines for a 200, a 401 and a 402', async () => {
    expect(apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/prod\/$/);
    const paying = /paying {2}(tg_test_\S+)/.exec(output)![1]!;
    const free = /free {4}(tg_test_\S+)/.exec(output)![1]!;
    expect(output).toContain(`stripe listen --forward-to ${apiUrl}webhooks/stripe`);
    expect(output).toContain('whsec_tollgate_local_development_only');
    const curls = [...output.matchAll(/curl -i (\S+)(?: -H "Authorization: Bearer (\S+)")?\s+# (\d{3})/g)];
    expect(curls.map((m) => m[3])).toEqual(['200', '401', '402']);
    for (const [, url, key, status] of curls) {
      expect((await get(url!.slice(apiUrl.length), key)).status).toBe(Number(status));
    }
    expect((await get('v1/reports/r1', paying)).status).toBe(200);
    expect((await get('v1/quotes', free)).status).toBe(402);
    // The banner names the paying customer's plan as the backend receives it.
    const plan = /cus_tollgate_demo_paying \(active, plan (\S+), entitlement premium-reports\)/.exec(output)?.[1];
    expect(plan).toBeDefined();
    expect(((await (await get('v1/quotes', paying)).json()) as { plan: string }).plan).toBe(plan);
  });

  it('runs a trusted local OIDC issuer: the banner\'s token line mints a token the paywall answers as the key', async () => {
    const line = /curl -i (\S+) -H "Authorization: Bearer \$\(npx tollgate (tokens mint --customer (\S+))\)"\s+# (\d{3})/.exec(output);
    expect(line).not.toBeNull();
    const [, url, command, customer, status] = line!;
    const minted = await cli(...command!.split(' '));
    expect({ code: minted.code, stderr: minted.stderr }).toEqual({ code: 0, stderr: '' });
    const token = minted.stdout.trim();
    expect(token.split('.')).toHaveLength(3);
    expect((await get(url!.slice(apiUrl.length), token)).status).toBe(Number(status));
    expect(customer).toBe('cus_tollgate_demo_paying');
    const free = await cli('tokens', 'mint', '--customer', 'cus_tollgate_demo_free');
    const denied = await get('v1/quotes', free.stdout.trim());
    expect(denied.status).toBe(402);
    expect(((await denied.json()) as { reason: string }).reason).toBe('no_subscription');
    // The issuer serves its discovery document and JWKS on loopback, never its private key.
    const issuer = /OIDC issuer (http:\/\/127\.0\.0\.1:\d+)/.exec(output)![1]!;
    const discovery = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as { issuer: string; jwks_uri: string };
    expect(discovery.issuer).toBe(issuer);
    const jwks = (await (await fetch(discovery.jwks_uri)).json()) as { keys: Array<Record<string, unknown>> };
    expect(jwks.keys.length).toBeGreaterThan(0);
    for (const key of jwks.keys) expect(Object.keys(key).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
  });

  it("runs the banner's agent line: a stock mppx client pays the purchase route's 402 and spends the credits until 402", async () => {
    const line = /^\s+node (scripts\/mppx-buy\.mjs) (\S+) --stripe (\S+)\s+#/m.exec(output);
    expect(line).not.toBeNull();
    const [, script, url, stripeUrl] = line!;
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(ROOT, script!), url!, '--stripe', stripeUrl!], { cwd: ROOT, timeout: 90_000 });
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as { purchase: { status: number }; calls: number; final: { status: number; reason: string } };
    expect(result.purchase.status).toBe(200);
    expect(result.calls).toBeGreaterThanOrEqual(100);
    expect(result.final).toMatchObject({ status: 402, reason: 'credits_exhausted' });
  }, 120_000);

  it("runs the banner's x402 line: a stock @x402/fetch client pays the purchase route's 402 through the local facilitator and spends the credits until 402", async () => {
    const line = /^\s+node (scripts\/x402-buy\.mjs) (\S+) --offer (\S+)\s+#/m.exec(output);
    expect(line).not.toBeNull();
    const [, script, url, offer] = line!;
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(ROOT, script!), url!, '--offer', offer!], { cwd: ROOT, timeout: 90_000 });
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as { purchase: { status: number; paymentResponse: { success: boolean } }; calls: number; final: { status: number; reason: string } };
    expect(result.purchase).toMatchObject({ status: 200, paymentResponse: { success: true } });
    expect(result.calls).toBeGreaterThanOrEqual(100);
    expect(result.final).toMatchObject({ status: 402, reason: 'credits_exhausted' });
  }, 120_000);

  it("publishes discovery that agrees with its live 402s: llms.txt and x402's manifest name each offer's live x402 requirement", async () => {
    const free = /free {4}(tg_test_\S+)/.exec(output)![1]!;
    const accepts: Array<{ amount: string; asset: string; network: string; payTo: string; extra: { offer: string } }> = [];
    for (const route of ['v1/search?q=x', 'v1/quotes']) {
      const denied = await get(route, free);
      expect(denied.status).toBe(402);
      accepts.push(...(JSON.parse(Buffer.from(denied.headers.get('payment-required')!, 'base64').toString('utf8')) as { accepts: typeof accepts }).accepts);
    }
    expect(accepts.length).toBeGreaterThanOrEqual(2);
    const llms = await (await get('tollgate/llms.txt')).text();
    const manifest = (await (await get('.well-known/x402.json')).json()) as { items: Array<{ resource: { url: string }; accepts: typeof accepts }> };
    for (const r of accepts) {
      const url = `${apiUrl}tollgate/purchase?offer=${r.extra.offer}`;
      expect(llms).toContain(`- ${r.extra.offer}: POST ${url} with a payment of ${r.amount} atomic units of ${r.asset} on ${r.network} to ${r.payTo} (exact scheme)`);
      expect(manifest.items.find((i) => i.resource.url === url)?.accepts).toEqual([r]);
    }
    expect(manifest.items).toHaveLength(accepts.length);
  });

  it('serves /mcp to the official SDK client: the banner\'s key lists the tools, a tool call is billed as its route, and a 401 names the issuer\'s metadata', async () => {
    const paying = /paying {2}(tg_test_\S+)/.exec(output)![1]!;
    const free = /free {4}(tg_test_\S+)/.exec(output)![1]!;
    expect(output).toContain(`npm run mcp -- --key ${paying}`);
    const forPaying = await mcpClient(`${apiUrl}mcp`, paying);
    const forFree = await mcpClient(`${apiUrl}mcp`, free);
    try {
      expect((await forPaying.client.listTools()).tools.map((t) => t.name)).toEqual(['ping', 'list_quotes', 'getReport', 'search']);
      expect(resultOf(await forPaying.client.callTool({ name: 'getReport', arguments: { reportId: 'r1' } }))).toMatchObject({ isError: false, structured: { route: 'GET /v1/reports/{reportId}' } });
      expect(resultOf(await forFree.client.callTool({ name: 'list_quotes', arguments: {} })).structured).toMatchObject({ status: 402, reason: 'no_subscription' });
    } finally {
      await Promise.all([forPaying.close(), forFree.close()]);
    }
    // npm start names its own URL as the public one: the 401 points to the metadata, which names the local issuer.
    const unauthorized = await fetch(`${apiUrl}mcp`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    expect(unauthorized.status).toBe(401);
    const metadataUrl = /resource_metadata="([^"]+)"/.exec(unauthorized.headers.get('www-authenticate') ?? '')![1]!;
    expect(metadataUrl).toBe(`${apiUrl}.well-known/oauth-protected-resource`);
    const issuer = /OIDC issuer (http:\/\/127\.0\.0\.1:\d+)/.exec(output)![1]!;
    expect(((await (await fetch(metadataUrl)).json()) as { authorization_servers: string[] }).authorization_servers).toContain(issuer);
  });

  it('follows payment state, revocation and a store outage as the deployed API does', async () => {
    const created = await cli('keys', 'create', '--customer', CUSTOMER, '--name', 'e2e', '--json');
    expect(created.code).toBe(0);
    const { key, keyId } = JSON.parse(created.stdout) as { key: string; keyId: string };

    const noSubscription = await get('v1/quotes', key);
    expect(noSubscription.status).toBe(402);
    expect(((await noSubscription.json()) as { reason: string }).reason).toBe('no_subscription');
    expect((await get('v1/ping', key)).status).toBe(200);

    // Stripe's `created` has one-second resolution: each change is a later second, as in real life.
    const t = Math.floor(Date.now() / 1000);
    const send = (...extra: string[]) => cli('events', 'send', ...extra, '--customer', CUSTOMER, '--json');
    expect((await send('customer.subscription.created', '--status', 'active', '--created', String(t))).code).toBe(0);
    expect((await get('v1/quotes', key)).status).toBe(200);

    expect((await send('customer.subscription.updated', '--status', 'unpaid', '--created', String(t + 1))).code).toBe(0);
    const unpaid = await get('v1/quotes', key);
    expect(unpaid.status).toBe(402);
    expect(unpaid.headers.get('content-type')).toBe('application/problem+json');
    expect(unpaid.headers.get('access-control-allow-origin')).toBe('*');
    expect(unpaid.headers.get('cache-control')).toBe('no-store');
    expect(await unpaid.json()).toMatchObject({
      // The stack's own problem page, on the local server.
      type: `${apiUrl}tollgate/problems/payment_failed`,
      title: 'Payment failed',
      status: 402,
      reason: 'payment_failed',
      subscriptionStatus: 'unpaid',
    });

    expect((await send('customer.subscription.updated', '--status', 'active', '--created', String(t + 2))).code).toBe(0);
    expect((await get('v1/quotes', key)).status).toBe(200);

    const shown = await cli('customers', 'show', CUSTOMER, '--json');
    expect(shown.code).toBe(0);
    const summary = JSON.parse(shown.stdout);
    expect(summary.customer.subscriptionStatus).toBe('active');
    expect(JSON.stringify(summary)).not.toContain(key);
    expect(summary.routes).toContainEqual({ route: 'GET /v1/reports/{reportId}', requires: 'entitlement:premium-reports', status: 402, reason: 'upgrade_required' });

    // Cached as Allow a moment ago: the revocation flushes the cache, so the key is refused at once.
    expect((await cli('keys', 'revoke', keyId)).code).toBe(0);
    expect((await get('v1/quotes', key)).status).toBe(401);

    // A key never used, so nothing cached: the authorizer must read the store, which hangs.
    const fresh = JSON.parse((await cli('keys', 'create', '--customer', CUSTOMER, '--json')).stdout) as { key: string };
    const coordinates = JSON.parse(readFileSync(path.join(stateDir, 'local.json'), 'utf8')) as { dynamodbPid: number };
    process.kill(coordinates.dynamodbPid, 'SIGSTOP');
    try {
      const outage = await get('v1/quotes', fresh.key);
      expect(outage.status).toBe(503);
      expect(outage.headers.get('retry-after')).toBe('1');
    } finally {
      process.kill(coordinates.dynamodbPid, 'SIGCONT');
    }
    expect((await get('v1/quotes', fresh.key)).status).toBe(200);
  });

  it('exits cleanly on SIGTERM and leaves no process behind', async () => {
    const coordinates = JSON.parse(readFileSync(path.join(stateDir, 'local.json'), 'utf8')) as { dynamodbPid: number };
    expect(alive(coordinates.dynamodbPid)).toBe(true);
    // SIGTERM to npm alone, as a process manager sends it: the server must notice and stop java too.
    process.kill(child.pid!, 'SIGTERM');
    await exited;
    const groupGone = await waitFor(() => {
      try {
        process.kill(-child.pid!, 0);
        return false;
      } catch {
        return true;
      }
    }, 15_000);
    expect(groupGone).toBe(true);
    expect(alive(coordinates.dynamodbPid)).toBe(false);
    expect(existsSync(path.join(stateDir, 'local.json'))).toBe(false);
  });
});
