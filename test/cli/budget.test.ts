import { createApiKey } from '../../lambda/shared/customers/keys';
import { seedCustomer } from '../metering/support';
import { run, startLocalStack, type LocalStack } from './support';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

const NOW = new Date('2026-08-01T12:00:00Z');
let stack: LocalStack;
beforeAll(async () => {
  stack = await startLocalStack('cli-budget');
});
afterAll(() => stack.stop());

describe('tollgate budget', () => {
  it("sets, raises, shows and removes a customer's and a key's budget", async () => {
    await seedCustomer(stack.tables, 'cus_cli_budget1', { credits: 5 });
    const { keyId } = await createApiKey({ client: stack.tables.client, tables: { customers: stack.tables.names.customers, apiKeys: stack.tables.names.apiKeys }, now: () => NOW }, { customerId: 'cus_cli_budget1' });
    const at = { now: () => NOW };
    const set = await run(['budget', 'set', 'cus_cli_budget1', '500'], stack.env, at);
    expect(set).toMatchObject({ code: 0, stdout: 'cus_cli_budget1 customer: 0 of 500 units used this day, resets 2026-08-02T00:00:00.000Z\n' });
    const key = await run(['budget', 'set', 'cus_cli_budget1', '50', '--per', 'period', '--key', keyId, '--json'], stack.env, at);
    expect(JSON.parse(key.stdout)).toEqual({ customerId: 'cus_cli_budget1', scope: 'key', keyId, limit: 50, window: 'period', used: 0, left: 50, resetsAt: '2026-09-01T00:00:00.000Z' });
    const shown = await run(['budget', 'show', 'cus_cli_budget1'], stack.env, at);
    expect(shown.stdout.split('\n')).toEqual([
      'cus_cli_budget1 customer: 0 of 500 units used this day, resets 2026-08-02T00:00:00.000Z',
      `cus_cli_budget1 key ${keyId}: 0 of 50 units used this billing period, resets 2026-09-01T00:00:00.000Z`,
      '',
    ]);
    expect((await run(['budget', 'remove', 'cus_cli_budget1', '--key', keyId], stack.env, at)).stdout).toBe(`cus_cli_budget1: budget of key ${keyId} removed\n`);
    expect((await run(['budget', 'remove', 'cus_cli_budget1', '--key', keyId], stack.env, at)).stdout).toBe(`cus_cli_budget1: no budget of key ${keyId} to remove\n`);
  });

  it('refuses bad input in one line: a non-number, a bad window, an unknown customer or key', async () => {
    expect(await run(['budget', 'set', 'cus_cli_budget1', 'lots'], stack.env)).toMatchObject({ code: 2 });
    const window = await run(['budget', 'set', 'cus_cli_budget1', '5', '--per', 'week'], stack.env);
    expect(window.stderr.split('\n')[0]).toBe('tollgate: --per "week" is not a window: give day or period');
    const missing = await run(['budget', 'set', 'cus_cli_nobody', '5'], stack.env);
    expect(missing).toMatchObject({ code: 1, stderr: 'tollgate: no customer cus_cli_nobody: create an API key for it or send its Stripe events first\n' });
    const zero = await run(['budget', 'set', 'cus_cli_budget1', '0'], stack.env);
    expect(zero).toMatchObject({ code: 1, stderr: 'tollgate: a budget is a whole number of units from 1 to 1000000000000\n' });
    const key = await run(['budget', 'set', 'cus_cli_budget1', '5', '--key', 'zzzzzzzz'], stack.env);
    expect(key.stderr).toBe('tollgate: customer cus_cli_budget1 has no key zzzzzzzz: list its keys with npx tollgate keys list\n');
  });
});
