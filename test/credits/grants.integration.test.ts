import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { grantCredits } from '../../lambda/shared/customers/metered-usage';
import { readCustomer } from '../../lambda/shared/customers/store';
import { walletKey } from '../../lambda/shared/customers/wallet';
import { usageAnswer } from '../../lambda/usage/handler';
import { seedCustomer } from '../metering/support';
import { run, startLocalStack, type LocalStack } from '../cli/support';
import { readPage, shellBlocks, words } from '../docs/markdown';

// Credit grants (#26 item 2) on the wallet item: each grant is an entry of its grants map with its units, what is left,
// its category, priority and expiry, written with the balance in one transaction, and listed in draw order.

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

const NOW = new Date('2026-08-01T12:00:00Z');
const T = NOW.getTime() / 1000;
const DAY = 86_400;

let stack: LocalStack;
beforeAll(async () => {
  stack = await startLocalStack('credit-grants');
});
afterAll(() => stack.stop());

const tables = () => ({ customers: stack.tables.names.customers, events: stack.tables.names.events });
const wallet = async (customerId: string): Promise<Record<string, unknown>> =>
  (await DynamoDBDocumentClient.from(stack.tables.client).send(new GetCommand({ TableName: stack.tables.names.customers, Key: { customerId: walletKey(customerId) }, ConsistentRead: true }))).Item ?? {};

describe('credit grants on the wallet (DynamoDB Local)', () => {
  it('records each grant in the wallet’s grants map with its units, category, priority and expiry, in the same write as the balance, once per id', async () => {
    await seedCustomer(stack.tables, 'cus_grants1', {});
    const grant = { customerId: 'cus_grants1', units: 40, reason: 'launch promotion', grantId: 'promo-1', now: NOW, category: 'promotional' as const, priority: 10, expiresAt: T + 7 * DAY };
    expect(await grantCredits(stack.tables.client, tables(), grant)).toBe('granted');
    expect(await grantCredits(stack.tables.client, tables(), grant)).toBe('duplicate');
    expect(await grantCredits(stack.tables.client, tables(), { customerId: 'cus_grants1', units: 100, reason: 'invoice 42', grantId: 'paid-1', now: NOW })).toBe('granted');
    const item = await wallet('cus_grants1');
    expect(item.balance).toBe(140);
    const grants = item.grants as Record<string, unknown>;
    expect(grants['promo-1']).toEqual({ units: 40, left: 40, category: 'promotional', priority: 10, grantedAt: T, expiresAt: T + 7 * DAY });
    // Without options: paid, Stripe's default priority, no expiry.
    expect(grants['paid-1']).toEqual({ units: 100, left: 100, category: 'paid', priority: 50, grantedAt: T });
  });

  it('refuses an expiry in the past and a priority outside 0 to 100, writing nothing', async () => {
    await seedCustomer(stack.tables, 'cus_grants2', {});
    const base = { customerId: 'cus_grants2', units: 5, reason: 'test', now: NOW };
    await expect(grantCredits(stack.tables.client, tables(), { ...base, grantId: 'late', expiresAt: T })).rejects.toThrow('an expiry must be in the future');
    await expect(grantCredits(stack.tables.client, tables(), { ...base, grantId: 'prio', priority: 101 })).rejects.toThrow('a priority is a whole number from 0 to 100');
    expect(await wallet('cus_grants2')).toEqual({});
  });

  it('the usage answer lists the grants in draw order: promotional first, then priority, then soonest expiry; expired ones with nothing left', async () => {
    await seedCustomer(stack.tables, 'cus_grants3', {});
    const grant = (grantId: string, extra: object) => grantCredits(stack.tables.client, tables(), { customerId: 'cus_grants3', units: 10, reason: 'test', grantId, now: NOW, ...extra });
    await grant('paid-late', { priority: 50, expiresAt: T + 30 * DAY });
    await grant('paid-soon', { priority: 50, expiresAt: T + 3 * DAY });
    await grant('paid-first', { priority: 5 });
    await grant('promo-low', { category: 'promotional', priority: 90 });
    await grant('promo-old', { category: 'promotional', expiresAt: T + 60 });
    const later = new Date(NOW.getTime() + 120_000);
    const record = (await readCustomer(stack.tables.client, stack.tables.names.customers, 'cus_grants3'))!;
    const answer = usageAnswer(record, { customersTable: stack.tables.names.customers, gracePeriodSeconds: 0, plans: {} }, later);
    // 50 granted, 10 of them expired: they count for nothing.
    expect(answer.credits).toBe(40);
    expect(answer.grants.map((g) => [g.id, g.left, g.expired])).toEqual([
      ['promo-old', 0, true],
      ['promo-low', 10, false],
      ['paid-first', 10, false],
      ['paid-soon', 10, false],
      ['paid-late', 10, false],
    ]);
  });

  it("runs docs/selling-by-use.md's Credit grants commands as written", async () => {
    const section = readPage('docs/selling-by-use.md').split('### Credit grants')[1]!.split('\n### ')[0]!;
    const lines = shellBlocks(section).flat();
    expect(lines.length).toBeGreaterThanOrEqual(4);
    await seedCustomer(stack.tables, 'cus_123', {});
    for (const line of lines) {
      const { argv } = words(line);
      expect(argv.slice(0, 2)).toEqual(['npx', 'tollgate']);
      const out = await run(argv.slice(2), stack.env, { now: () => NOW });
      expect({ line, code: out.code, stderr: out.stderr }).toEqual({ line, code: 0, stderr: '' });
    }
    const shown = await run(['usage', 'show', 'cus_123', '--json'], stack.env, { now: () => NOW });
    expect((JSON.parse(shown.stdout) as { grants: Array<{ category: string; left: number }> }).grants.map((g) => [g.category, g.left])).toEqual([
      ['promotional', 25],
      ['paid', 100],
    ]);
  });

  it('credits grant --expires-in --promotional --priority, and usage show lists the grant', async () => {
    await seedCustomer(stack.tables, 'cus_grants4', {});
    const at = { now: () => NOW };
    const granted = await run(['credits', 'grant', 'cus_grants4', '25', '--reason', 'welcome', '--id', 'welcome-1', '--expires-in', '7d', '--promotional', '--priority', '20', '--json'], stack.env, at);
    expect(granted.code).toBe(0);
    expect(JSON.parse(granted.stdout)).toMatchObject({ customerId: 'cus_grants4', units: 25, grantId: 'welcome-1', category: 'promotional', priority: 20, expiresAt: '2026-08-08T12:00:00.000Z', outcome: 'granted' });
    const shown = await run(['usage', 'show', 'cus_grants4'], stack.env, at);
    expect(shown.stdout).toContain('grant      welcome-1 promotional, priority 20: 25 of 25 units left, expires 2026-08-08T12:00:00.000Z');
    const report = await run(['report', '--customer', 'cus_grants4'], stack.env, at);
    expect(report.code).toBe(0);
    expect(report.stdout).toContain('credit grants of cus_grants4 (in draw order):\n  welcome-1  promotional, priority 20: 25 of 25 units left, expires 2026-08-08T12:00:00.000Z');
    const unknown = await run(['report', '--customer', 'cus_nobody'], stack.env, at);
    expect(unknown.stderr.split('\n')[0]).toBe('tollgate: no customer cus_nobody: check the id (customers list shows them)');
    const bad = await run(['credits', 'grant', 'cus_grants4', '5', '--reason', 'x', '--expires-in', 'soon'], stack.env, at);
    expect(bad.stderr.split('\n')[0]).toBe('tollgate: --expires-in "soon" is not a duration: give a number of days, hours or minutes such as 30d, 12h or 90m');
  });
});
