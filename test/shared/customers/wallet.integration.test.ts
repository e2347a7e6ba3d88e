import { TransactionConflictException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { DynamoCustomerReader } from '../../../lambda/authorizer/customer-store';
import { readCustomer } from '../../../lambda/shared/customers/store';
import {
  newReservationId,
  PENDING_BOUND_SECONDS,
  reserveInWallet,
  settleWallet,
  walletKey,
  walletReservationUpdate,
} from '../../../lambda/shared/customers/wallet';
import { localClient } from '../../../lib/local/dynamodb-local';
import { freshTables, type TestTables } from '../../support/dynamodb';

/**
 * The wallet (lambda/shared/customers/wallet.ts) against DynamoDB Local: a reservation retried after a
 * conflict or a lost answer draws once, a reservation whose answer came too late is given back, a
 * pending reservation is settled exactly once however often it is named, and under random concurrent
 * reservations, settlements, duplicates and expiries the balance is never negative and always equals
 * what the calls kept.
 */

const NOW = new Date('2026-12-01T12:00:00Z');
let tables: TestTables;
let documents: DynamoDBDocumentClient;
let seq = 0;

beforeAll(async () => {
  tables = await freshTables('wallet');
  documents = DynamoDBDocumentClient.from(tables.client);
});
afterAll(() => tables.client.destroy());

/** A customer item and, with credits, its wallet holding them (layout 2). */
async function customerWith(credits: number | undefined): Promise<string> {
  const customerId = `cus_Wal${++seq}x${Math.random().toString(36).slice(2, 8)}`;
  await documents.send(new PutCommand({ TableName: tables.names.customers, Item: { customerId, subscriptions: {}, invoices: {}, pastDue: {} } }));
  if (credits !== undefined) await documents.send(new PutCommand({ TableName: tables.names.customers, Item: { customerId: walletKey(customerId), balance: credits } }));
  return customerId;
}

const walletItem = async (customerId: string): Promise<Record<string, unknown> | undefined> =>
  (await documents.send(new GetCommand({ TableName: tables.names.customers, Key: { customerId: walletKey(customerId) }, ConsistentRead: true }))).Item;
const balanceOf = async (customerId: string): Promise<number | undefined> => (await readCustomer(tables.client, tables.names.customers, customerId))?.credits;
const pendingOf = async (customerId: string): Promise<string[]> => Object.keys((await walletItem(customerId)) ?? {}).filter((k) => k.startsWith('p_'));

/**
 * A client whose first `failures` matching sends fail with `make()`, after (`landed`) or before reaching
 * DynamoDB. `only`: the sends it may fail (default: all).
 */
function flakyClient(
  failures: number,
  make: () => Error,
  landed: boolean | ((input: { UpdateExpression?: string }) => boolean),
  only: (input: { UpdateExpression?: string }) => boolean = () => true,
  hangMs = 0,
): DynamoDBClient {
  const client = localClient(tables.endpoint);
  let left = failures;
  client.middlewareStack.add(
    (next) => async (args) => {
      if (left > 0 && only(args.input as { UpdateExpression?: string })) {
        left -= 1;
        const lands = landed === true || (typeof landed === 'function' && landed(args.input as { UpdateExpression?: string }));
        if (lands) await next(args);
        // An answer that comes after the decision's deadline (the write applied meanwhile).
        if (lands && hangMs > 0) await new Promise((resolve) => setTimeout(resolve, hangMs));
        throw make();
      }
      return next(args);
    },
    { step: 'initialize', name: 'flaky' },
  );
  return client;
}

const timeout = (): Error => Object.assign(new Error('request timed out'), { name: 'TimeoutError' });

const reservation = (customerId: string, cost: number) => ({ customerId, reservation: newReservationId(), cost, now: NOW });
const far = () => ({ deadlineAt: Date.now() + 60_000 });

describe('a reservation on the wallet', () => {
  it('costs one write unit', async () => {
    const customerId = await customerWith(12);
    const out = await tables.client.send(walletReservationUpdate(tables.names.customers, reservation(customerId, 5)));
    expect(out.Attributes?.balance?.N).toBe('7');
    const measured = walletReservationUpdate(tables.names.customers, reservation(customerId, 5));
    measured.input.ReturnConsumedCapacity = 'TOTAL';
    const second = await tables.client.send(measured);
    expect(second.ConsumedCapacity?.CapacityUnits).toBe(1);
    expect(await balanceOf(customerId)).toBe(2);
  });

  it('is retried after a TransactionConflict (a metering transaction on the wallet) instead of failing, and draws once', async () => {
    const customerId = await customerWith(10);
    const client = flakyClient(2, () => new TransactionConflictException({ message: 'Transaction is ongoing for the item', $metadata: {} }), false);
    try {
      expect(await reserveInWallet(client, tables.names.customers, reservation(customerId, 3), far())).toEqual({ reserved: true, balance: 7 });
    } finally {
      client.destroy();
    }
    expect(await balanceOf(customerId)).toBe(7);
  });

  it('is the same reservation when an attempt landed but its answer was lost: one draw, not two', async () => {
    const customerId = await customerWith(10);
    const client = flakyClient(1, () => Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }), true);
    try {
      expect(await reserveInWallet(client, tables.names.customers, reservation(customerId, 4), far())).toEqual({ reserved: true, balance: 6 });
    } finally {
      client.destroy();
    }
    expect(await balanceOf(customerId)).toBe(6);
    expect(await pendingOf(customerId)).toHaveLength(1);
  });

  it('refuses a balance that does not cover the cost, and says what it holds', async () => {
    const customerId = await customerWith(2);
    expect(await reserveInWallet(tables.client, tables.names.customers, reservation(customerId, 5), far())).toEqual({ reserved: false, balance: 2, budget: {} });
    expect(await walletItem(customerId)).toEqual({ customerId: walletKey(customerId), balance: 2 });
    // No wallet: never had credits.
    expect(await reserveInWallet(tables.client, tables.names.customers, reservation(await customerWith(undefined), 1), far())).toEqual({ reserved: false });
  });

  it('gives back a reservation whose answer came after the deadline (the call was answered 503), at once', async () => {
    const customerId = await customerWith(20);
    // Every reservation attempt lands and its answer is lost: the deadline passes with the write applied.
    const client = flakyClient(1_000, timeout, true, (input) => input.UpdateExpression?.startsWith('SET') === true, 1_000);
    const reader = new DynamoCustomerReader(client, tables.names.customers, { deadlineMs: 300 });
    try {
      await expect(reader.reserve(reservation(customerId, 5))).rejects.toThrow();
    } finally {
      client.destroy();
    }
    expect(await balanceOf(customerId)).toBe(20);
    expect(await pendingOf(customerId)).toEqual([]);
  });

  it('leaves it pending when the cancel fails too, and the first settlement past the bound gives it back, once', async () => {
    const customerId = await customerWith(20);
    // The reservation lands (its answer lost), and the authorizer's cancel never reaches the table.
    const client = flakyClient(1_000, timeout, (input) => input.UpdateExpression?.startsWith('SET') === true, () => true, 1_000);
    const reader = new DynamoCustomerReader(client, tables.names.customers, { deadlineMs: 300 });
    const r = reservation(customerId, 5);
    try {
      await expect(reader.reserve(r)).rejects.toThrow();
    } finally {
      client.destroy();
    }
    expect(await pendingOf(customerId)).toEqual([`p_${r.reservation}`]);
    expect(await balanceOf(customerId)).toBe(15);
    // Within the bound a line may still name it: nothing given back yet.
    expect(await settleWallet(tables.client, tables.names.customers, { customerId, kept: [], refunds: new Map(), now: NOW })).toMatchObject({ expired: 0 });
    const late = new Date(NOW.getTime() + (PENDING_BOUND_SECONDS + 1) * 1000);
    const sweeps = await Promise.all([1, 2].map(() => settleWallet(tables.client, tables.names.customers, { customerId, kept: [], refunds: new Map(), now: late })));
    expect(sweeps.reduce((n, s) => n + s.expired, 0)).toBe(1);
    expect(await balanceOf(customerId)).toBe(20);
  });
});

describe('settling a wallet', () => {
  it('keeps a 2xx call\'s units and gives back a failed one\'s, each exactly once however often a line names it', async () => {
    const customerId = await customerWith(30);
    const ok = reservation(customerId, 5);
    const failed = reservation(customerId, 7);
    await reserveInWallet(tables.client, tables.names.customers, ok, far());
    await reserveInWallet(tables.client, tables.names.customers, failed, far());
    expect(await balanceOf(customerId)).toBe(18);
    const settlement = { customerId, kept: [ok.reservation], refunds: new Map([[failed.reservation, 7]]), now: NOW };
    const results = await Promise.all([1, 2, 3].map(() => settleWallet(tables.client, tables.names.customers, settlement)));
    expect(results.reduce((n, r) => n + r.refunded, 0)).toBe(1);
    expect(results.reduce((n, r) => n + r.kept, 0)).toBe(1);
    expect(await balanceOf(customerId)).toBe(25);
    expect(await pendingOf(customerId)).toEqual([]);
  });
});

describe('wallet properties (random concurrent reservations, settlements, duplicates and expiries)', () => {
  it('never draws twice, never goes negative, and gives each failed or unnamed reservation back exactly once', async () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('call' as const), cost: fc.integer({ min: 1, max: 6 }), ok: fc.boolean(), lost: fc.boolean(), named: fc.boolean(), deliveries: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ kind: fc.constant('sweep' as const) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 40 }), fc.array(op, { minLength: 1, maxLength: 14 }), async (start, ops) => {
        const customerId = await customerWith(start);
        const late = new Date(NOW.getTime() + (PENDING_BOUND_SECONDS + 1) * 1000);
        // Each call: a reservation (its answer maybe lost once, then retried), in parallel.
        const calls = await Promise.all(
          ops.map(async (o) => {
            if (o.kind !== 'call') return undefined;
            const r = reservation(customerId, o.cost);
            const client = o.lost ? flakyClient(1, timeout, true) : tables.client;
            try {
              const result = await reserveInWallet(client, tables.names.customers, r, far());
              return { ...o, reservation: r.reservation, reserved: result.reserved };
            } finally {
              if (client !== tables.client) client.destroy();
            }
          }),
        );
        const reserved = calls.filter((c): c is NonNullable<typeof c> => c !== undefined && c.reserved);
        // Within the bound: each named call's line delivered 1–3 times, concurrently with sweeps (which give nothing back yet).
        const named = reserved.filter((c) => c.named);
        const sweep = (now: Date) => settleWallet(tables.client, tables.names.customers, { customerId, kept: [], refunds: new Map(), now });
        await Promise.all([
          ...named.flatMap((c) =>
            Array.from({ length: c.deliveries }, () =>
              settleWallet(tables.client, tables.names.customers, { customerId, kept: c.ok ? [c.reservation] : [], refunds: c.ok ? new Map() : new Map([[c.reservation, c.cost]]), now: NOW }),
            ),
          ),
          ...ops.filter((o) => o.kind === 'sweep').map(() => sweep(NOW)),
        ]);
        // Past the bound: concurrent sweeps give back what no line named, once; a line arriving now finds nothing to settle.
        await Promise.all([sweep(late), sweep(late), ...named.filter((c) => !c.ok).map((c) => settleWallet(tables.client, tables.names.customers, { customerId, kept: [], refunds: new Map([[c.reservation, c.cost]]), now: late }))]);
        // What the calls kept: the 2xx calls a line named. Everything else came back, once.
        const kept = named.filter((c) => c.ok).reduce((sum, c) => sum + c.cost, 0);
        expect(kept).toBeLessThanOrEqual(start);
        expect(await balanceOf(customerId)).toBe(start - kept);
        expect(await pendingOf(customerId)).toEqual([]);
      }),
      { numRuns: 15 },
    );
  });

});
