import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { batchId, decodeSubscriptionEvent } from '../../lambda/metering/logs-event';
import { DynamoMeteringStore, ledgerId, parkedBatchId } from '../../lambda/metering/store';
import { accessLine, delivery, logEvents, seedCustomer, usageOf } from '../metering/support';
import { run, startLocalStack, type LocalStack } from './support';

// As npm start runs them: metrics off, only warnings and errors logged.
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

const PERIOD_END = 1_950_000_000;
let stack: LocalStack;
beforeAll(async () => {
  stack = await startLocalStack('cli-usage');
});
afterAll(() => stack.stop());

describe('tollgate usage show', () => {
  it("shows the plan, period, used, limit, remaining, credits and reset of a customer, as the usage route answers", async () => {
    await seedCustomer(stack.tables, 'cus_cli_usage1', { plan: 'sample_metered', periodEnd: PERIOD_END, periodUsed: 7, usagePeriodEnd: PERIOD_END, credits: 5 });
    const json = await run(['usage', 'show', 'cus_cli_usage1', '--json'], stack.env, { now: () => new Date(1_940_000_000_000) });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({
      customerId: 'cus_cli_usage1',
      plan: { key: 'sample_metered', name: 'Metered' },
      period: { start: null, end: '2031-10-17T10:40:00.000Z' },
      used: 7,
      limit: 20,
      remaining: 13,
      overage: 'block',
      credits: 5,
      resetsAt: '2031-10-17T10:40:00.000Z',
      // Credits from before grants (the legacy attribute) are in no grant.
      grants: [],
    });
    const human = await run(['usage', 'show', 'cus_cli_usage1'], stack.env, { now: () => new Date(1_940_000_000_000) });
    expect(human.stdout.split('\n').slice(0, 8)).toEqual([
      'customer   cus_cli_usage1',
      'plan       Metered (sample_metered), past the quota: block',
      'period     ends 2031-10-17T10:40:00.000Z',
      'used       7',
      'limit      20',
      'remaining  13',
      'credits    5',
      'resets at  2031-10-17T10:40:00.000Z',
    ]);
  });

  it('says a customer with no plan has none, not that it is unlimited; an unlimited plan is unlimited', async () => {
    await seedCustomer(stack.tables, 'cus_cli_noplan1', { credits: 3 });
    const none = await run(['usage', 'show', 'cus_cli_noplan1'], stack.env);
    expect(none.stdout.split('\n').slice(1, 7)).toEqual(['plan       none', 'period     none', 'used       0', 'limit      none: no plan (credits only)', 'remaining  none: no plan (credits only)', 'credits    3']);
    await seedCustomer(stack.tables, 'cus_cli_unlimited1', { plan: 'pro', periodEnd: PERIOD_END });
    const unlimited = await run(['usage', 'show', 'cus_cli_unlimited1'], stack.env, { now: () => new Date(1_940_000_000_000) });
    expect(unlimited.stdout.split('\n').slice(4, 6)).toEqual(['limit      unlimited', 'remaining  unlimited']);
  });

  it('says in one line when the customer does not exist, and refuses a bad id as a usage error', async () => {
    const missing = await run(['usage', 'show', 'cus_cli_nobody'], stack.env);
    expect(missing).toMatchObject({ code: 1, stdout: '' });
    expect(missing.stderr).toBe('tollgate: no customer cus_cli_nobody: create an API key for it or send its Stripe events first\n');
    expect((await run(['usage', 'show', 'nobody'], stack.env)).code).toBe(2);
  });
});

describe('tollgate credits grant', () => {
  it('adds the units and records the grant with its reason, once per --id', async () => {
    await seedCustomer(stack.tables, 'cus_cli_grant1', { credits: 5 });
    const first = await run(['credits', 'grant', 'cus_cli_grant1', '100', '--reason', 'goodwill after the outage', '--id', 'grant-1', '--json'], stack.env, { now: () => new Date(0) });
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ customerId: 'cus_cli_grant1', units: 100, outcome: 'granted', grantId: 'grant-1' });
    const again = await run(['credits', 'grant', 'cus_cli_grant1', '100', '--reason', 'goodwill after the outage', '--id', 'grant-1'], stack.env);
    expect(again.stdout).toBe('cus_cli_grant1: grant grant-1 was applied before; nothing added\n');
    expect((await usageOf(stack.tables, 'cus_cli_grant1')).credits).toBe(105);
    const recorded = await DynamoDBDocumentClient.from(stack.tables.client).send(new GetCommand({ TableName: stack.tables.names.events, Key: { eventId: 'credits-grant#grant-1' } }));
    expect(recorded.Item).toMatchObject({ customerId: 'cus_cli_grant1', units: 100, reason: 'goodwill after the outage', recordedAt: '1970-01-01T00:00:00.000Z' });
  });

  it('refuses bad units, a missing reason and an unknown customer, adding nothing', async () => {
    const negative = await run(['credits', 'grant', 'cus_cli_grant1', '-5', '--reason', 'x'], stack.env);
    expect(negative).toMatchObject({ code: 2 });
    expect(negative.stderr).toContain('"-5" is not a number of units: give a whole number > 0 such as 100');
    expect(negative.stderr).not.toContain('unknown option');
    expect(await run(['credits', 'grant', 'cus_cli_grant1', '1.5', '--reason', 'x'], stack.env)).toMatchObject({ code: 2 });
    const noReason = await run(['credits', 'grant', 'cus_cli_grant1', '10'], stack.env);
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toContain('missing --reason');
    const unknown = await run(['credits', 'grant', 'cus_cli_nobody', '10', '--reason', 'x'], stack.env);
    expect(unknown).toMatchObject({ code: 1 });
    expect(unknown.stderr).toContain('no customer cus_cli_nobody');
    expect((await usageOf(stack.tables, 'cus_cli_grant1')).credits).toBe(105);
  });
});

describe('tollgate metering replay', () => {
  it('applies a parked batch once, removes it, and reports what is still owed to Stripe without a key', async () => {
    await seedCustomer(stack.tables, 'cus_cli_replay1', { plan: 'sample_metered', periodEnd: PERIOD_END });
    const batch = delivery(logEvents(Array.from({ length: 3 }, () => accessLine({ customerId: 'cus_cli_replay1', periodEnd: PERIOD_END, path: '/v1/search' }))));
    const id = batchId(decodeSubscriptionEvent(batch));
    const store = new DynamoMeteringStore(stack.tables.client, { customers: stack.tables.names.customers, events: stack.tables.names.events });
    await store.park({ batchId: id, data: batch.awslogs.data, reason: 'ThrottlingException: rate exceeded', parkedAt: new Date(0).toISOString() });
    const replayed = await run(['metering', 'replay', '--json'], stack.env);
    expect(replayed.code).toBe(0);
    expect(JSON.parse(replayed.stdout).batches).toEqual(expect.arrayContaining([{ batchId: id, outcome: 'applied', applied: 1, duplicates: 0 }]));
    expect((await usageOf(stack.tables, 'cus_cli_replay1')).periodUsed).toBe(3);
    expect(await store.entry(ledgerId(id, 'cus_cli_replay1', 0))).toBeDefined();
    const parked = await DynamoDBDocumentClient.from(stack.tables.client).send(new GetCommand({ TableName: stack.tables.names.events, Key: { eventId: parkedBatchId(id) } }));
    expect(parked.Item).toBeUndefined();
    const again = await run(['metering', 'replay'], stack.env);
    expect(again.stdout.split('\n')[0]).toBe('parked batches: 0 found, 0 applied');
    expect((await usageOf(stack.tables, 'cus_cli_replay1')).periodUsed).toBe(3);
  });
});

describe('tollgate events send, the usage events', () => {
  it('tops up credits with a paid credits checkout, and renews with a later period end (a fresh counter)', async () => {
    await seedCustomer(stack.tables, 'cus_cli_topup1', { credits: 0 });
    const topUp = await run(['events', 'send', 'checkout.session.completed', '--customer', 'cus_cli_topup1', '--credits', '100'], stack.env);
    expect(topUp.code).toBe(0);
    expect((await usageOf(stack.tables, 'cus_cli_topup1')).credits).toBe(100);
    expect((await run(['events', 'send', 'invoice.paid', '--customer', 'cus_cli_topup1', '--credits', '100'], stack.env)).code).toBe(2);

    const created = Math.floor(Date.now() / 1000) - 120;
    const first = created + 30 * 86_400;
    const subscribe = ['events', 'send', 'customer.subscription.created', '--customer', 'cus_cli_renew1', '--plan', 'sample_metered', '--created', String(created), '--period-end', String(first)];
    expect((await run(subscribe, stack.env)).code).toBe(0);
    await seedUsage(stack, 'cus_cli_renew1', first, 20);
    expect(JSON.parse((await run(['usage', 'show', 'cus_cli_renew1', '--json'], stack.env)).stdout)).toMatchObject({ used: 20, remaining: 0 });
    const renew = ['events', 'send', 'customer.subscription.updated', '--customer', 'cus_cli_renew1', '--plan', 'sample_metered', '--period-end', String(first + 30 * 86_400)];
    expect((await run(renew, stack.env)).code).toBe(0);
    expect(JSON.parse((await run(['usage', 'show', 'cus_cli_renew1', '--json'], stack.env)).stdout)).toMatchObject({ used: 0, remaining: 20 });
  });
});

async function seedUsage(local: LocalStack, customerId: string, periodEnd: number, used: number): Promise<void> {
  const { UpdateCommand } = await import('@aws-sdk/lib-dynamodb');
  await DynamoDBDocumentClient.from(local.tables.client).send(
    new UpdateCommand({ TableName: local.tables.names.customers, Key: { customerId }, UpdateExpression: 'SET usagePeriodEnd = :pe, periodUsed = :used', ExpressionAttributeValues: { ':pe': periodEnd, ':used': used } }),
  );
}
