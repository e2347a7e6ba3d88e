import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoCustomerReader } from '../../../lambda/authorizer/customer-store';
import { sweepPendingReservations, visitWallet } from '../../../lambda/shared/customers/pending-sweep';
import { SWEEP_SHARDS, sweepShardOf } from '../../../lambda/shared/customers/sweep-mark';
import { newReservationId, PENDING_BOUND_SECONDS, reserveInWallet, settleWallet, walletKey, walletReservationUpdate } from '../../../lambda/shared/customers/wallet';
import { localClient } from '../../../lib/local/dynamodb-local';
import { freshTables, type TestTables } from '../../support/dynamodb';

/**
 * The sweep of reservations nobody settles (lambda/shared/customers/pending-sweep.ts) against DynamoDB
 * Local: a customer whose reservation landed after the authorizer answered 503, whose cancel failed too,
 * and who never calls again, gets the units back from the clock's sweep once no line can name them;
 * exactly once beside metering and other visits; and a reservation made during a visit keeps its wallet
 * marked. Each test has its own tables: the sweep reads the whole index.
 */

const NOW = new Date('2026-12-01T12:00:00Z');
const at = (seconds: number): Date => new Date(NOW.getTime() + seconds * 1000);
/** Just past the bound: no access-log line can name a reservation made at NOW any more. */
const LATE = at(PENDING_BOUND_SECONDS + 1);

let tables: TestTables;
let documents: DynamoDBDocumentClient;
beforeEach(async () => {
  tables = await freshTables('sweep');
  documents = DynamoDBDocumentClient.from(tables.client);
});
afterEach(() => tables.client.destroy());

async function walletWith(customerId: string, balance: number): Promise<void> {
  await documents.send(new PutCommand({ TableName: tables.names.customers, Item: { customerId, subscriptions: {}, invoices: {}, pastDue: {} } }));
  await documents.send(new PutCommand({ TableName: tables.names.customers, Item: { customerId: walletKey(customerId), balance } }));
}
const wallet = async (customerId: string): Promise<Record<string, unknown>> =>
  (await documents.send(new GetCommand({ TableName: tables.names.customers, Key: { customerId: walletKey(customerId) }, ConsistentRead: true }))).Item!;
const pendingOf = async (customerId: string): Promise<string[]> => Object.keys(await wallet(customerId)).filter((k) => k.startsWith('p_'));
const reserve = (customerId: string, cost: number, now = NOW) =>
  reserveInWallet(tables.client, tables.names.customers, { customerId, reservation: newReservationId(), cost, now }, { deadlineAt: Date.now() + 60_000 });
const sweep = (now: Date) => sweepPendingReservations(tables.client, tables.names.customers, now);

/** A client on which the reservation lands but the connection drops before its answer, and every other write (the cancel) never arrives. */
function answerLostCancelFailing(): DynamoDBClient {
  const client = localClient(tables.endpoint);
  client.middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as { UpdateExpression?: string };
      if (input.UpdateExpression?.startsWith('SET') === true) await next(args);
      throw new Error('socket hang up');
    },
    { step: 'initialize', name: 'lost' },
  );
  return client;
}

describe('the sweep of reservations nobody settles', () => {
  it('gives back a 503 reservation whose cancel failed, for a customer who never calls again, once the bound has passed, and unmarks the wallet', async () => {
    const customerId = 'cus_SweepGone';
    await walletWith(customerId, 20);
    const client = answerLostCancelFailing();
    const reader = new DynamoCustomerReader(client, tables.names.customers, { deadlineMs: 5_000 });
    try {
      await expect(reader.reserve({ customerId, reservation: newReservationId(), cost: 5, now: NOW })).rejects.toThrow();
    } finally {
      client.destroy();
    }
    expect(await wallet(customerId)).toMatchObject({ balance: 15, sweepAt: Math.floor(NOW.getTime() / 1000) + PENDING_BOUND_SECONDS + 1, sweepShard: sweepShardOf(customerId), reservations: 1 });
    expect(await pendingOf(customerId)).toHaveLength(1);

    // Within the bound a line may still name it: the wallet is not due yet.
    expect(await sweep(at(PENDING_BOUND_SECONDS))).toEqual({ wallets: 0, expired: 0, units: 0, more: false });
    expect(await sweep(LATE)).toEqual({ wallets: 1, expired: 1, units: 5, more: false });
    const after = await wallet(customerId);
    expect(after.balance).toBe(20);
    expect(Object.keys(after).sort()).toEqual(['balance', 'budgetLeft', 'customerId', 'reservations']);
    // Unmarked: the next run visits nothing.
    expect(await sweep(at(2 * PENDING_BOUND_SECONDS))).toEqual({ wallets: 0, expired: 0, units: 0, more: false });
  });

  it('keeps a wallet marked while a younger reservation is pending, and visits it again when that one is due', async () => {
    const customerId = 'cus_SweepBusy';
    await walletWith(customerId, 30);
    await reserve(customerId, 4, NOW);
    await reserve(customerId, 6, at(600));
    // The first reservation set the mark; the second found it (one mark per visit cycle).
    expect((await wallet(customerId)).sweepAt).toBe(Math.floor(NOW.getTime() / 1000) + PENDING_BOUND_SECONDS + 1);
    expect(await sweep(LATE)).toEqual({ wallets: 1, expired: 1, units: 4, more: false });
    expect(await wallet(customerId)).toMatchObject({ balance: 24, sweepAt: Math.floor(at(600).getTime() / 1000) + PENDING_BOUND_SECONDS + 1 });
    expect(await pendingOf(customerId)).toHaveLength(1);
    expect(await sweep(at(600 + PENDING_BOUND_SECONDS + 1))).toEqual({ wallets: 1, expired: 1, units: 6, more: false });
    expect((await wallet(customerId)).balance).toBe(30);
    expect(await pendingOf(customerId)).toEqual([]);
  });

  it('moves the mark without giving anything back when the due entry was settled and a younger one is pending', async () => {
    const customerId = 'cus_SweepMoved';
    await walletWith(customerId, 30);
    await reserve(customerId, 4, NOW);
    const [first] = await pendingOf(customerId);
    await reserve(customerId, 6, at(600));
    // Metering settled the first (its call succeeded): the mark is due, nothing in the wallet is.
    await settleWallet(tables.client, tables.names.customers, { customerId, kept: [first!.slice(2)], refunds: new Map(), now: at(60) });
    expect(await visitWallet(tables.client, tables.names.customers, customerId, LATE)).toEqual({ expired: 0, units: 0, mark: 'moved' });
    expect(await wallet(customerId)).toMatchObject({ balance: 20, sweepAt: Math.floor(at(600).getTime() / 1000) + PENDING_BOUND_SECONDS + 1 });
    expect(await pendingOf(customerId)).toHaveLength(1);
  });

  it('never unmarks a wallet a reservation reached during its visit: the visit reads again and moves the mark instead', async () => {
    const customerId = 'cus_SweepRace';
    await walletWith(customerId, 30);
    await reserve(customerId, 5, NOW);
    // Between the visit's read and its write, a new call reserves (at LATE: within its own bound).
    const client = localClient(tables.endpoint);
    let raced = false;
    client.middlewareStack.add(
      (next) => async (args) => {
        if (!raced && args.input instanceof Object && String((args.input as { UpdateExpression?: string }).UpdateExpression).includes('#sweepShard')) {
          raced = true;
          await tables.client.send(walletReservationUpdate(tables.names.customers, { customerId, reservation: newReservationId(), cost: 2, now: LATE }));
        }
        return next(args);
      },
      { step: 'initialize', name: 'race' },
    );
    try {
      expect(await visitWallet(client, tables.names.customers, customerId, LATE)).toEqual({ expired: 1, units: 5, mark: 'moved' });
    } finally {
      client.destroy();
    }
    expect(raced).toBe(true);
    // The new reservation is pending and its wallet still marked, for its own due time.
    expect(await wallet(customerId)).toMatchObject({ balance: 28, sweepAt: Math.floor(LATE.getTime() / 1000) + PENDING_BOUND_SECONDS + 1 });
    expect(await pendingOf(customerId)).toHaveLength(1);
  });

  it('gives back once when visits and metering\'s settlement race for the same expired entry', async () => {
    const customerId = 'cus_SweepTwice';
    await walletWith(customerId, 12);
    await reserve(customerId, 7, NOW);
    const results = await Promise.all([
      visitWallet(tables.client, tables.names.customers, customerId, LATE),
      visitWallet(tables.client, tables.names.customers, customerId, LATE),
      settleWallet(tables.client, tables.names.customers, { customerId, kept: [], refunds: new Map(), now: LATE }),
    ]);
    const expired = (results[0].expired + results[1].expired) + results[2].expired;
    expect(expired).toBe(1);
    expect((await wallet(customerId)).balance).toBe(12);
    expect(await pendingOf(customerId)).toEqual([]);
  });

  it('visits every due wallet across the shards, and leaves the rest for the next run past its per-shard budget', async () => {
    const customers = Array.from({ length: 24 }, (_, i) => `cus_SweepMany${i}`);
    for (const customerId of customers) {
      await walletWith(customerId, 10);
      await reserve(customerId, 1, NOW);
    }
    const shards = new Set(customers.map(sweepShardOf));
    expect(shards.size).toBeGreaterThan(SWEEP_SHARDS / 2);
    const first = await sweepPendingReservations(tables.client, tables.names.customers, LATE, { perShard: 1 });
    expect(first).toEqual({ wallets: shards.size, expired: shards.size, units: shards.size, more: true });
    const rest = await sweep(LATE);
    expect(rest).toEqual({ wallets: 24 - shards.size, expired: 24 - shards.size, units: 24 - shards.size, more: false });
    for (const customerId of customers) expect((await wallet(customerId)).balance).toBe(10);
  });

  it('leaves a wallet whose entries a settlement already took: the visit costs one read and one write, and unmarks it', async () => {
    const customerId = 'cus_SweepSettled';
    await walletWith(customerId, 10);
    const { reserved } = await reserve(customerId, 3, NOW);
    expect(reserved).toBe(true);
    const [entry] = await pendingOf(customerId);
    await settleWallet(tables.client, tables.names.customers, { customerId, kept: [entry!.slice(2)], refunds: new Map(), now: NOW });
    expect(await visitWallet(tables.client, tables.names.customers, customerId, LATE)).toEqual({ expired: 0, units: 0, mark: 'removed' });
    expect(await wallet(customerId)).toEqual({ customerId: walletKey(customerId), balance: 7, budgetLeft: -3, reservations: 1 });
  });

  it('costs a reservation one write unit once its wallet is marked: the index is written when the mark enters it, not per call', async () => {
    const customerId = 'cus_SweepCost';
    await walletWith(customerId, 10);
    const measured = async (now: Date) => {
      const command = walletReservationUpdate(tables.names.customers, { customerId, reservation: newReservationId(), cost: 1, now });
      command.input.ReturnConsumedCapacity = 'INDEXES';
      return (await tables.client.send(command)).ConsumedCapacity;
    };
    // The first reservation since the last visit: the wallet enters the index (1 unit there).
    expect(await measured(NOW)).toMatchObject({ CapacityUnits: 2, Table: { CapacityUnits: 1 }, GlobalSecondaryIndexes: { pendingSweep: { CapacityUnits: 1 } } });
    // Every later one finds the mark: the table's one unit, nothing in the index.
    for (const seconds of [5, 60, 600]) {
      const consumed = await measured(at(seconds));
      expect(consumed?.CapacityUnits).toBe(1);
      expect(consumed?.GlobalSecondaryIndexes ?? {}).toEqual({});
    }
  });
});
