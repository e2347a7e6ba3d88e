import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runCli } from '../../lib/cli/index';
import { ROOT, run, startLocalStack, type LocalStack } from './support';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

describe('runCli usage', () => {
  const emptyState = mkdtempSync(path.join(tmpdir(), 'tollgate-cli-empty-'));
  const env = { TOLLGATE_STATE_DIR: emptyState };
  afterAll(() => rmSync(emptyState, { recursive: true, force: true }));

  it.each([
    [['--help']],
    [['keys', '--help']],
    [['keys', 'create', '--help']],
    [['keys', 'list', '-h']],
    [['keys', 'revoke', '--help']],
    [['keys', 'rotate', '--help']],
    [['customers', 'show', '--help']],
    [['customers', 'set-usage', '--help']],
    [['events', 'send', '--help']],
  ])('prints help and exits 0 when asked with %j', async (argv) => {
    const result = await run(argv, env);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^usage: tollgate/);
    expect(result.stderr).toBe('');
  });

  it.each([
    [[], /missing a command/],
    [['nope'], /unknown command "nope"/],
    [['keys'], /missing a keys command/],
    [['keys', 'delete'], /unknown keys command "delete"/],
    [['keys', 'create'], /missing the customer/],
    [['keys', 'create', '--customer', 'acme'], /"acme" is not a Stripe customer id/],
    [['keys', 'create', '--customer', 'cus_a', '--expires', 'tomorrow'], /--expires "tomorrow" is neither an ISO-8601 time nor a duration/],
    [['keys', 'list', '--bogus'], /unknown option '--bogus'/],
    [['keys', 'revoke'], /missing the key id <keyId>: see tollgate keys list/],
    [['keys', 'revoke', 'a', 'b'], /unexpected argument "b"/],
    [['keys', 'rotate', 'abcdefgh', '--overlap=-5'], /--overlap "-5" is invalid/],
    [['customers', 'set-usage', 'cus_a'], /missing --block/],
    [['customers', 'set-usage', 'cus_a', '--block', 'broke'], /unknown block "broke"/],
    [['events', 'send', 'charge.refunded', '--customer', 'cus_a'], /unknown event type "charge.refunded"/],
    [['events', 'send', 'invoice.paid', '--customer', 'cus_a', '--status', 'active'], /--status applies to customer.subscription.\* events/],
    [['events', 'send', 'customer.subscription.updated', '--customer', 'cus_a', '--status', 'broke'], /unknown subscription status "broke"/],
  ])('exits 2 with a clear message when the usage is %j', async (argv, message) => {
    const result = await run(argv, env);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain('usage:');
  });

  it('reports the usage error as JSON when --json is given', async () => {
    const result = await run(['keys', 'create', '--json'], env);
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stderr)).toEqual({ error: expect.stringMatching(/missing the customer/) });
  });

  it('exits 1 and says how to start one when no local stack runs', async () => {
    const result = await run(['keys', 'list'], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no local stack is running .*start it with npm start, or pass --outputs/);
  });

  it.each([
    ['a missing file', undefined, /cannot read the stack outputs .*cdk deploy --outputs-file/],
    ['outputs of another stack', { Other: { Foo: 'bar' } }, /has no outputs of the Tollgate stack/],
    ['incomplete outputs', { Tollgate: { ApiUrl: 'https://x.execute-api.eu-west-1.amazonaws.com/prod/' } }, /lacks the outputs StripeWebhookUrl, CustomersTableName/],
  ])('exits 1 when --outputs names %s', async (_label, content, message) => {
    const file = path.join(emptyState, `outputs-${Math.random().toString(36).slice(2)}.json`);
    if (content !== undefined) writeFileSync(file, JSON.stringify(content));
    const result = await run(['keys', 'list', '--outputs', file], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
  });
});

describe('runCli against a local stack', () => {
  let stack: LocalStack;
  let env: Record<string, string | undefined>;

  beforeAll(async () => {
    stack = await startLocalStack('cli');
    env = stack.env;
  });
  afterAll(() => stack.stop());

  const get = (route: string, key: string) => stack.get(route, key);

  it('creates, lists, rotates and revokes keys, and the revocation applies at once', async () => {
    const created = await run(['keys', 'create', '--customer', 'cus_cli_one', '--name', 'ci', '--expires', '30d', '--json'], env);
    expect(created.code).toBe(0);
    const key = JSON.parse(created.stdout);
    expect(key).toMatchObject({ customerId: 'cus_cli_one', name: 'ci', state: 'active', key: expect.stringMatching(/^tg_test_cus_cli_one_/) });

    const human = await run(['keys', 'create', '--customer', 'cus_cli_one'], env);
    expect(human.stdout).toMatch(/shown only this once/);

    const listed = await run(['keys', 'list', '--json'], env);
    const keys = JSON.parse(listed.stdout) as { keyId: string; customerId: string }[];
    expect(keys.map((k) => k.keyId)).toContain(key.keyId);
    expect(listed.stdout).not.toContain(key.key);
    expect(listed.stdout).not.toMatch(/"hash"/);

    expect((await get('v1/ping', key.key)).status).toBe(200);
    const revoked = await run(['keys', 'revoke', key.keyId, '--json'], env);
    expect(revoked.code).toBe(0);
    expect(JSON.parse(revoked.stdout)).toMatchObject({ keyId: key.keyId, state: 'revoked', cacheFlushed: true });
    expect((await get('v1/ping', key.key)).status).toBe(401);

    const again = await run(['keys', 'rotate', key.keyId], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/is revoked: create a new key instead/);

    const other = JSON.parse((await run(['keys', 'create', '--customer', 'cus_cli_one', '--json'], env)).stdout);
    const rotated = await run(['keys', 'rotate', other.keyId, '--overlap', '60s', '--json'], env);
    expect(rotated.code).toBe(0);
    const { created: replacement, previous } = JSON.parse(rotated.stdout);
    expect(previous).toMatchObject({ keyId: other.keyId, replacedBy: replacement.keyId });
    expect((await get('v1/ping', replacement.key)).status).toBe(200);
    expect((await get('v1/ping', other.key)).status).toBe(200);
  });

  it('exits 1 with the reason when the key does not exist', async () => {
    const result = await run(['keys', 'revoke', 'Zz9Zz9Zz'], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no API key "Zz9Zz9Zz": check the id with keys list/);
  });

  it('sends signed events and shows what each route answers', async () => {
    const key = JSON.parse((await run(['keys', 'create', '--customer', 'cus_cli_two', '--json'], env)).stdout);
    const before = await run(['customers', 'show', 'cus_cli_two'], env);
    expect(before.code).toBe(0);
    expect(before.stdout).toMatch(/subscription {2}none/);
    expect(before.stdout).toMatch(/402 {2}GET \/v1\/quotes .*\(no_subscription\)/);

    const t = Math.floor(Date.now() / 1000);
    const sent = await run(['events', 'send', 'customer.subscription.created', '--customer', 'cus_cli_two', '--plan', 'team', '--created', String(t), '--json'], env);
    expect(sent.code).toBe(0);
    expect(JSON.parse(sent.stdout)).toMatchObject({ status: 200, type: 'customer.subscription.created', eventId: expect.stringMatching(/^evt_/) });
    const entitled = await run(
      ['events', 'send', 'entitlements.active_entitlement_summary.updated', '--customer', 'cus_cli_two', '--entitlement', 'premium-reports', '--created', String(t)],
      env,
    );
    expect(entitled.code).toBe(0);

    const after = JSON.parse((await run(['customers', 'show', 'cus_cli_two', '--json'], env)).stdout);
    expect(after.customer).toMatchObject({ subscriptionStatus: 'active', plan: 'team', entitlements: ['premium-reports'] });
    expect(after.routes.every((r: { status: number }) => r.status === 200)).toBe(true);
    expect(JSON.stringify(after)).not.toContain(key.key);
    expect((await get('v1/reports/r1', key.key)).status).toBe(200);
  });

  it('exits 1 when the webhook refuses the event', async () => {
    let stderr = '';
    const forged = await runCli(['events', 'send', 'invoice.paid', '--customer', 'cus_cli_two'], {
      stdout: () => undefined,
      stderr: (t) => (stderr += t),
      env,
      root: ROOT,
      // The signature is replaced on the way: the webhook verifies it and answers 400.
      fetch: ((url: string, init: RequestInit) =>
        fetch(url, { ...init, headers: { ...(init.headers as Record<string, string>), 'Stripe-Signature': 't=1,v1=00' } })) as typeof fetch,
    });
    expect(forged).toBe(1);
    expect(stderr).toMatch(/the webhook answered 400 to invoice.paid/);
  });

  it('blocks paid routes for used-up credits at once, and clears the block', async () => {
    const key = JSON.parse((await run(['keys', 'create', '--customer', 'cus_cli_metered', '--json'], env)).stdout);
    const t = Math.floor(Date.now() / 1000);
    expect((await run(['events', 'send', 'customer.subscription.created', '--customer', 'cus_cli_metered', '--created', String(t)], env)).code).toBe(0);
    expect((await get('v1/quotes', key.key)).status).toBe(200);

    const blocked = await run(['customers', 'set-usage', 'cus_cli_metered', '--block', 'credits_exhausted', '--json'], env);
    expect(blocked.code).toBe(0);
    expect(JSON.parse(blocked.stdout)).toEqual({ customerId: 'cus_cli_metered', usageBlock: 'credits_exhausted', cacheFlushed: true });
    const refused = await get('v1/quotes', key.key);
    expect(refused.status).toBe(402);
    expect(await refused.json()).toMatchObject({ reason: 'credits_exhausted', title: 'Credits exhausted' });
    expect((await get('v1/ping', key.key)).status).toBe(200);

    expect((await run(['customers', 'set-usage', 'cus_cli_metered', '--block', 'none'], env)).code).toBe(0);
    expect((await get('v1/quotes', key.key)).status).toBe(200);
  });

  it('exits 1 when setting the usage of an unknown customer', async () => {
    const result = await run(['customers', 'set-usage', 'cus_cli_nobody', '--block', 'quota_exceeded'], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no customer cus_cli_nobody: create an API key for it or send its Stripe events first/);
  });

  it('exits 1 when the customer is unknown', async () => {
    const result = await run(['customers', 'show', 'cus_cli_nobody'], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no customer cus_cli_nobody/);
  });
});
