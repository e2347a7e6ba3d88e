import { run, startLocalStack, type LocalStack } from './support';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

const NOW = new Date('2026-08-01T00:00:00Z');
const at = (date: Date) => ({ now: () => date });

describe('tollgate keys, as a user reads them', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack('cli-keys');
  });
  afterAll(() => stack.stop());

  const create = async (argv: string[]) => JSON.parse((await run(['keys', 'create', ...argv, '--json'], stack.env, at(NOW))).stdout);

  it('lists keys in aligned columns under a header row, and --json stays a plain array', async () => {
    const ci = await create(['--customer', 'cus_cli_list_a', '--name', 'ci', '--expires', '30d']);
    const old = await create(['--customer', 'cus_cli_list_b']);
    expect((await run(['keys', 'revoke', old.keyId], stack.env, at(new Date('2026-08-02T00:00:00Z')))).code).toBe(0);

    const listed = await run(['keys', 'list'], stack.env, at(NOW));
    expect(listed.code).toBe(0);
    expect(listed.stdout.split('\n')).toEqual([
      'KEY ID    CUSTOMER        STATE    CREATED               EXPIRES               REVOKED               REPLACED BY  NAME',
      `${ci.keyId}  cus_cli_list_a  active   2026-08-01T00:00:00Z  2026-08-31T00:00:00Z  -                     -            ci`,
      `${old.keyId}  cus_cli_list_b  revoked  2026-08-01T00:00:00Z  -                     2026-08-02T00:00:00Z  -            -`,
      '',
    ]);

    const json = JSON.parse((await run(['keys', 'list', '--json'], stack.env, at(NOW))).stdout);
    expect(json).toEqual([
      expect.objectContaining({ keyId: ci.keyId, customerId: 'cus_cli_list_a', state: 'active', name: 'ci', expiresAt: '2026-08-31T00:00:00.000Z' }),
      expect.objectContaining({ keyId: old.keyId, customerId: 'cus_cli_list_b', state: 'revoked', revokedAt: '2026-08-02T00:00:00.000Z' }),
    ]);
  });

  it('says a key was already revoked, and when, and exits 0 (the key is refused, as asked)', async () => {
    const key = await create(['--customer', 'cus_cli_twice']);
    const first = await run(['keys', 'revoke', key.keyId], stack.env, at(NOW));
    expect(first).toEqual({ code: 0, stderr: '', stdout: `revoked ${key.keyId} (cus_cli_twice); authorizer cache flushed: the key is refused at once\n` });

    const later = at(new Date('2026-08-03T00:00:00Z'));
    const again = await run(['keys', 'revoke', key.keyId], stack.env, later);
    expect(again).toEqual({
      code: 0,
      stderr: '',
      stdout: `API key ${key.keyId} (cus_cli_twice) was already revoked at 2026-08-01T00:00:00Z: nothing changed; authorizer cache flushed\n`,
    });
    const json = JSON.parse((await run(['keys', 'revoke', key.keyId, '--json'], stack.env, later)).stdout);
    expect(json).toMatchObject({ keyId: key.keyId, state: 'revoked', revokedAt: '2026-08-01T00:00:00.000Z', alreadyRevoked: true, cacheFlushed: true });
  });

  it('rotates with the overlap given as a duration with a unit', async () => {
    const key = await create(['--customer', 'cus_cli_overlap']);
    const rotated = await run(['keys', 'rotate', key.keyId, '--overlap', '15m', '--json'], stack.env, at(NOW));
    expect(rotated.code).toBe(0);
    expect(JSON.parse(rotated.stdout).previous).toMatchObject({ keyId: key.keyId, expiresAt: '2026-08-01T00:15:00.000Z' });
  });
});

describe('tollgate events send with STRIPE_WEBHOOK_SECRET', () => {
  // A webhook that verifies with another secret than the local default, as when npm start ran with
  // STRIPE_WEBHOOK_SECRET: the signature the webhook checks (with the Stripe SDK) shows which secret signed.
  const SECRET = 'whsec_cli_override_0123456789abcdef';
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack('cli-secret', SECRET);
  });
  afterAll(() => stack.stop());

  const send = ['events', 'send', 'customer.subscription.created', '--customer', 'cus_cli_secret'];

  it('signs with STRIPE_WEBHOOK_SECRET when it is set, over the secret the target provides', async () => {
    const sent = await run([...send, '--json'], { ...stack.env, STRIPE_WEBHOOK_SECRET: SECRET });
    expect(sent.stderr).toBe('');
    expect(sent.code).toBe(0);
    expect(JSON.parse(sent.stdout)).toMatchObject({ status: 200, type: 'customer.subscription.created' });
  });

  it('signs with the target secret without it, which this webhook refuses', async () => {
    const sent = await run(send, stack.env);
    expect(sent.code).toBe(1);
    expect(sent.stderr).toMatch(/^tollgate: the webhook answered 400 to customer\.subscription\.created evt_\w+: .*invalid_signature/);
  });
});
