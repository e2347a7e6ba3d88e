import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { localClient } from '../../lib/local/dynamodb-local';
import { readCoordinates } from '../../lib/local/coordinates';
import { run, startLocalStack, type LocalStack } from './support';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

describe('tollgate events parked and replay (local stack)', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack('cli-parked');
  });
  afterAll(() => stack.stop());

  /** Sets (or removes) the customer's `subscriptions` attribute by hand, as an operator would in the console. */
  async function setSubscriptions(customerId: string, value: string | undefined): Promise<void> {
    const coordinates = readCoordinates(stack.env.TOLLGATE_STATE_DIR!)!;
    const client = localClient(coordinates.dynamodbEndpoint);
    try {
      await client.send(
        new UpdateItemCommand({
          TableName: coordinates.tables.customers,
          Key: { customerId: { S: customerId } },
          UpdateExpression: value === undefined ? 'REMOVE subscriptions' : 'SET subscriptions = :bad',
          ...(value === undefined ? {} : { ExpressionAttributeValues: { ':bad': { S: value } } }),
        }),
      );
    } finally {
      client.destroy();
    }
  }

  it('parks an event the customer item cannot take, lists it, and applies its replay once the item is fixed', async () => {
    const customer = 'cus_cli_parked_a';
    const key = JSON.parse((await run(['keys', 'create', '--customer', customer, '--json'], stack.env)).stdout).key as string;
    await setSubscriptions(customer, 'not a map');

    const sent = await run(['events', 'send', 'customer.subscription.created', '--customer', customer, '--status', 'active', '--json'], stack.env);
    expect(sent.code).toBe(0);
    const delivered = JSON.parse(sent.stdout);
    expect(JSON.parse(delivered.response)).toMatchObject({ outcome: 'parked', cause: 'corrupt_record' });
    const eventId = delivered.eventId as string;

    const listed = await run(['events', 'parked'], stack.env);
    expect(listed.code).toBe(0);
    const [header, ...rows] = listed.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^EVENT ID +TYPE +CUSTOMER +PARKED +CAUSE +REASON$/);
    expect(rows).toEqual([expect.stringMatching(new RegExp(`^${eventId} +customer\\.subscription\\.created +${customer} +\\d{4}-\\d\\d-\\d\\dT[\\d:]+Z +corrupt_record +customer ${customer}: attribute subscriptions`))]);
    const json = JSON.parse((await run(['events', 'parked', '--customer', customer, '--json'], stack.env)).stdout);
    expect(json).toEqual([expect.objectContaining({ eventId, type: 'customer.subscription.created', customerId: customer, cause: 'corrupt_record' })]);
    expect(JSON.parse((await run(['events', 'parked', '--customer', 'cus_cli_parked_other', '--json'], stack.env)).stdout)).toEqual([]);
    expect((await stack.get('v1/quotes', key)).status).toBe(503);

    // Still broken: the replay fails again, says why, and the event stays parked.
    const again = await run(['events', 'replay', eventId], stack.env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(new RegExp(`^tollgate: ${eventId} failed again and stays parked \\(corrupt_record\\): customer ${customer}: attribute subscriptions .*: fix it, then replay it again\\n$`));
    expect(JSON.parse((await run(['events', 'parked', '--json'], stack.env)).stdout).map((p: { eventId: string }) => p.eventId)).toContain(eventId);

    await setSubscriptions(customer, undefined);
    const replayed = await run(['events', 'replay', eventId, '--json'], stack.env);
    expect(replayed).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(replayed.stdout)).toMatchObject({ eventId, type: 'customer.subscription.created', status: 200, outcome: 'applied' });
    expect((await stack.get('v1/quotes', key)).status).toBe(200);
    expect(JSON.parse((await run(['events', 'parked', '--json'], stack.env)).stdout).map((p: { eventId: string }) => p.eventId)).not.toContain(eventId);

    const twice = await run(['events', 'replay', eventId], stack.env);
    expect(twice).toEqual({ code: 1, stdout: '', stderr: `tollgate: event ${eventId} is not parked (its ledger entry says applied): there is nothing to replay\n` });
  });

  it('says when nothing is parked under a customer, and when an event is not in the ledger', async () => {
    expect(await run(['events', 'parked', '--customer', 'cus_cli_parked_none'], stack.env)).toEqual({ code: 0, stderr: '', stdout: 'no parked events\n' });
    expect(await run(['events', 'replay', 'evt_cli_unknown'], stack.env)).toEqual({
      code: 1,
      stdout: '',
      stderr: 'tollgate: no event evt_cli_unknown in the ledger of the local stack: see tollgate events parked\n',
    });
  });
});

describe('tollgate events parked and replay: usage', () => {
  const emptyState = mkdtempSync(path.join(tmpdir(), 'tollgate-cli-parked-'));
  const env = { TOLLGATE_STATE_DIR: emptyState };
  afterAll(() => rmSync(emptyState, { recursive: true, force: true }));

  it.each([
    [['events', 'replay'], 'missing the event id <evt_id>: see tollgate events parked', 'usage: tollgate events replay <evt_id> [--secret-id <id>]'],
    [['events', 'replay', 'cus_123'], '"cus_123" is not a Stripe event id: expected evt_ followed by letters and digits', 'usage: tollgate events replay <evt_id> [--secret-id <id>]'],
    [['events', 'parked', 'evt_1'], 'unexpected argument "evt_1"', 'usage: tollgate events parked [--customer <cus_id>]'],
    [['events', 'parked', '--customer', 'bob'], '"bob" is not a Stripe customer id: expected cus_ followed by letters and digits', 'usage: tollgate events parked [--customer <cus_id>]'],
    [['events', 'parkd'], 'unknown events command "parkd": did you mean parked?', 'usage: tollgate events <send|parked|replay> [options]'],
  ])('%j: one line that says what is wrong, then the usage, and exit 2', async (argv, error, usage) => {
    expect(await run(argv, env)).toEqual({ code: 2, stdout: '', stderr: `tollgate: ${error}\n${usage}\n` });
  });

  it('lists both commands in the help, with every option', async () => {
    const root = (await run(['--help'], env)).stdout.split('\n');
    expect(root).toEqual(expect.arrayContaining(['  events parked [--customer <cus_id>]', '  events replay <evt_id> [--secret-id <id>]']));
    const own = (await run(['events', 'replay', '--help'], env)).stdout;
    expect(own).toMatch(/^ {2}<evt_id> +the parked event \(the first column of tollgate events parked\)$/m);
    expect(own).toMatch(/^ {2}--secret-id <id> +deployed: the Secrets Manager secret holding the signing secret$/m);
  });

  it('needs a running stack to list parked events', async () => {
    const result = await run(['events', 'parked'], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^tollgate: no local stack is running/);
  });
});
