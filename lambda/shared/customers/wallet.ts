import { ConditionalCheckFailedException, GetItemCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { convertToAttr } from '@aws-sdk/util-dynamodb';
import { randomBase62 } from '../random';
import type { BudgetRecord } from '../budgets';
import { decodeGrants, drawClauses, GRANTS, planDraw, spendable, type CreditGrant, type DrawPlan, type WalletFunds } from '../credit-grants';
import type { CustomerRecord } from './record';
import { BUDGET_WALLET_ATTRIBUTES, budgetReservationPart, decodeWalletBudgets } from './budgets-reservation';
import { sweepMarkPart, SWEEP_WALLET_ATTRIBUTES } from './sweep-mark';

/**
 * The prepaid balance, on a small item of its own: the customer's wallet. It lives in the customers
 * table under the key `<customerId>#wallet`, beside the customer item and apart from it:
 *
 *   customerId   `<customerId>#wallet`
 *   balance      prepaid units (absent: the customer never had credits). The customer item's
 *                `credits` attribute held it before layout 2; the deploy's migration moves it
 *                here (layout.ts), and nothing reads it there any more
 *   p_<id>       a strict reservation not yet settled: [units, epoch s of the reservation], and
 *                once the wallet has grants, { grant id: units } (where the units came from: a refund
 *                goes back there)
 *   budget, budget_<keyId>, budgetLeft, budgetLeft_<keyId>
 *                the spend caps the customer set and the units left in their windows (../budgets.ts):
 *                a reservation takes its cost from them in the same write
 *   grants       the credit grants: per grant id its units, what is left, category, priority and
 *                expiry; draws take from them in order in the same write (../credit-grants.ts)
 *
 * Why its own item: a strict reservation on the customer item (1–2 KB with subscriptions, invoices
 * and keys) cost 1–2 write units, and every metering transaction on that item made concurrent
 * reservations fail with TransactionConflict (a 503). The wallet is a few hundred bytes: a reservation
 * costs 1 write unit, and metering's usage transactions never touch it (only a log-metered credit
 * draw does, and a reservation that meets one retries).
 *
 * Why the pending entries: a reservation is a non-idempotent draw. Recording it under its id in the
 * same write makes it idempotent (a retry finds its own entry and is the same reservation, never a
 * second draw), and leaves a record the settlement removes exactly once: metering removes it when an
 * access-log line names it (giving the units back when the call did not succeed); an entry no line
 * names within PENDING_BOUND_SECONDS (the authorizer answered 503 after its write landed) is given
 * back by whichever settles the wallet next: metering, or the clock's sweep of wallets whose
 * reservations nobody settled (pending-sweep.ts; the reservation marks its wallet for it in the same
 * write). A removal is conditional on the entry, so two settlements of one reservation (a duplicated
 * batch, the sweep racing metering) give back at most once.
 */

export const WALLET_SUFFIX = '#wallet';
export const BALANCE = 'balance';
export const PENDING_PREFIX = 'p_';
/** Reservation ids the wallet records (older authorizers wrote bare 22-character ids, refunded by the event ledger). */
const WALLET_RESERVATION = /^w_[0-9A-Za-z]{22}$/;

/** How long a pending reservation waits for an access-log line to name it before it is given back. */
export const PENDING_BOUND_SECONDS = 15 * 60;

export const walletKey = (customerId: string): string => `${customerId}${WALLET_SUFFIX}`;
export const newReservationId = (): string => `w_${randomBase62(22)}`;
export const isWalletReservation = (reservation: string): boolean => WALLET_RESERVATION.test(reservation);

export function pendingAttribute(reservation: string): string {
  if (!isWalletReservation(reservation)) throw new RangeError(`"${reservation}" is not a wallet reservation id`);
  return PENDING_PREFIX + reservation;
}

/**
 * Every attribute a wallet write names. The stack grants the authorizer's UpdateItem on these alone, on
 * wallet items alone (`dynamodb:LeadingKeys` `*#wallet`): it cannot write a customer item at all.
 */
export const WALLET_ATTRIBUTES = ['customerId', BALANCE, `${PENDING_PREFIX}*`, ...BUDGET_WALLET_ATTRIBUTES, GRANTS, ...SWEEP_WALLET_ATTRIBUTES] as const;
export const WALLET_LEADING_KEYS = [`*${WALLET_SUFFIX}`] as const;

export interface PendingReservation {
  readonly units: number;
  /** Epoch s. */
  readonly at: number;
  /** Units taken from each grant (absent: drawn from a wallet without grants). */
  readonly draws?: ReadonlyMap<string, number>;
}

export interface Wallet {
  /** Absent: no balance written yet (the customer never had credits). */
  readonly balance?: number;
  readonly pending: ReadonlyMap<string, PendingReservation>;
  /** The customer's budgets and what is left of them (empty: none set). */
  readonly budget: BudgetRecord;
  /** The credit grants, in draw order (absent: the wallet has no `grants` map). */
  readonly grants?: readonly CreditGrant[];
}

export const numberOf = (value: AttributeValue | undefined): number | undefined => {
  const n = value?.N === undefined ? NaN : Number(value.N);
  return Number.isFinite(n) ? n : undefined;
};

/** A wallet item as DynamoDB returns it (an entry that is not [units, at] is left out: it settles nothing). */
export function decodeWallet(item: Record<string, AttributeValue> | undefined): Wallet | undefined {
  if (item === undefined) return undefined;
  const pending = new Map<string, PendingReservation>();
  for (const [name, value] of Object.entries(item)) {
    if (!name.startsWith(PENDING_PREFIX)) continue;
    const [units, at] = (value.L ?? []).map(numberOf);
    const draws = drawsOf(value.L?.[2]);
    if (units !== undefined && at !== undefined) pending.set(name.slice(PENDING_PREFIX.length), { units, at, ...(draws === undefined ? {} : { draws }) });
  }
  const balance = numberOf(item[BALANCE]);
  const budget = decodeWalletBudgets(item);
  const grants = decodeGrants(item);
  return { ...(balance === undefined ? {} : { balance }), pending, budget, ...(grants === undefined ? {} : { grants }) };
}

/** A pending entry's record of the grants it drew from. */
function drawsOf(value: AttributeValue | undefined): ReadonlyMap<string, number> | undefined {
  if (value?.M === undefined) return undefined;
  const draws = new Map<string, number>();
  for (const [id, n] of Object.entries(value.M)) {
    const units = numberOf(n);
    if (units !== undefined && units > 0) draws.set(id, units);
  }
  return draws;
}

/** What a draw on this wallet is planned from. */
export const fundsOf = (wallet: Wallet | undefined): WalletFunds => ({
  ...(wallet?.balance === undefined ? {} : { balance: wallet.balance }),
  ...(wallet?.grants === undefined ? {} : { grants: wallet.grants }),
});

/**
 * The record as decisions see it: `credits` is what the wallet's balance may spend at `now` (less what
 * expired grants hold), never the customer item's own attribute (the layout before 2, which the deploy's
 * migration moved to the wallet: layout.ts).
 */
export function withWalletBalance<T extends { readonly credits?: number }>(record: T, wallet: Wallet | undefined, now = new Date()): T {
  const { credits: _item, ...rest } = record;
  const credits = spendable(fundsOf(wallet), now);
  return (credits === undefined ? rest : { ...rest, credits }) as T;
}

/** The customer as decisions see it: the wallet's balance, budgets and grants. */
export function withWallet(record: CustomerRecord, wallet: Wallet | undefined, now = new Date()): CustomerRecord {
  const balanced = withWalletBalance(record, wallet, now);
  const budget = wallet?.budget.budgets === undefined ? undefined : wallet.budget;
  const grants = wallet?.grants === undefined ? undefined : { grants: wallet.grants, walletBalance: wallet.balance ?? 0 };
  if (budget === undefined && grants === undefined) return balanced;
  return { ...balanced, ...budget, ...grants };
}

/** What a draw on the customer's wallet is planned from, as a reader merged it (withWallet). */
export const fundsOfRecord = (record: Pick<CustomerRecord, 'credits' | 'grants' | 'walletBalance'>): WalletFunds =>
  record.grants === undefined ? (record.credits === undefined ? {} : { balance: record.credits }) : { balance: record.walletBalance ?? 0, grants: record.grants };

export interface WalletReservation {
  readonly customerId: string;
  /** newReservationId(): the write is idempotent by it. */
  readonly reservation: string;
  readonly cost: number;
  readonly now: Date;
  /** The presented key: the call spends its budget too (absent: the customer's budget alone). */
  readonly keyId?: string;
  /** The wallet as read before (its balance and grants): the draw is planned from it (absent: a wallet without grants). */
  readonly funds?: WalletFunds;
}

/** A value of a draw's clauses for the raw client. */
const rawValue = (v: number | Record<string, unknown>): AttributeValue => convertToAttr(v);

/**
 * A strict route's reservation: one UpdateItem on the wallet (1 write unit), `balance -= cost`, the
 * pending entry and the cost taken from the customer's and the key's budgets, when the balance and each
 * budget cover the cost and this reservation is not recorded yet. With grants, the same write takes the
 * cost from them in draw order (`plan`, ../credit-grants.ts planDraw) and the pending entry records
 * which grants gave what.
 */
export function walletReservationUpdate(table: string, r: WalletReservation, plan: DrawPlan = { units: r.cost, balanceDelta: -r.cost }): UpdateItemCommand {
  const budget = budgetReservationPart(r.keyId, r.now);
  const draw = drawClauses(plan, rawValue);
  const drawn = plan.map === undefined ? [] : [{ M: Object.fromEntries([...plan.map.draws].map(([id, n]) => [id, { N: String(n) }])) }];
  const at = Math.floor(r.now.getTime() / 1000);
  // The wallet's mark for the sweep of entries nobody settles (pending-sweep.ts): no request added.
  const mark = sweepMarkPart(r.customerId, at + PENDING_BOUND_SECONDS + 1);
  return new UpdateItemCommand({
    TableName: table,
    Key: { customerId: { S: walletKey(r.customerId) } },
    UpdateExpression: `SET ${['#b = #b - :cost', '#p = :entry', ...draw.set, mark.set].join(', ')} ADD ${budget.add}, ${mark.add}`,
    ConditionExpression: ['attribute_not_exists(#p) AND #b >= :cost', ...draw.conditions, budget.condition].join(' AND '),
    ExpressionAttributeNames: Object.assign({ '#b': BALANCE, '#p': pendingAttribute(r.reservation) }, draw.names, budget.names, mark.names),
    ExpressionAttributeValues: Object.assign(
      {
        ':cost': { N: String(r.cost) },
        ':minus': { N: String(-r.cost) },
        ':entry': { L: [{ N: String(r.cost) }, { N: String(at) }, ...drawn] },
      },
      draw.values,
      budget.values,
      mark.values,
    ),
    ReturnValues: 'UPDATED_NEW',
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
  });
}

export type WalletReservationResult =
  | { readonly reserved: true; readonly balance: number }
  /**
   * The balance or a budget does not cover the cost: what the balance holds (undefined: never had
   * credits) and the budgets as the refused write found them.
   */
  | { readonly reserved: false; readonly balance?: number; readonly budget?: BudgetRecord };

/** Errors after which the write was not applied, or may have been: with the reservation id, a retry is safe either way. */
const RETRYABLE = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TransactionConflictException',
  'InternalServerError',
  'ServiceUnavailable',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);

export const isRetryable = (err: unknown): boolean =>
  err instanceof Error && (RETRYABLE.has(err.name) || (err as { $retryable?: unknown }).$retryable !== undefined || ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? 0) >= 500);

/** A reservation's answer, from a successful write or from the wallet as a refused one found it. */
function reservationResult(r: WalletReservation, wallet: Wallet | undefined): WalletReservationResult {
  const balance = spendable(fundsOf(wallet), r.now);
  // Our own entry: an earlier attempt of this reservation landed (its answer was lost).
  if (wallet?.pending.has(r.reservation) === true) return { reserved: true, balance: balance ?? 0 };
  const budget = wallet === undefined ? {} : { budget: wallet.budget };
  return balance === undefined ? { reserved: false, ...budget } : { reserved: false, balance, ...budget };
}

export interface RetryOptions {
  /** Epoch ms after which no attempt starts. */
  readonly deadlineAt: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly clock?: () => number;
  /** Told each plan before it is sent: a cancel gives the units back to the grants of the last one. */
  readonly onPlan?: (plan: DrawPlan) => void;
}

/** Plans a wallet changed under the write may need, at most: each replan follows a write that another writer beat. */
const MAX_REPLANS = 4;

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends the reservation until it is answered: a throttle, a conflict with a metering transaction or a
 * lost answer is retried with the same id (a short jittered backoff) until `deadlineAt`, then thrown.
 */
export async function reserveInWallet(client: DynamoDBClient, table: string, r: WalletReservation, options: RetryOptions): Promise<WalletReservationResult> {
  const clock = options.clock ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  let funds = r.funds ?? {};
  // Not read: the write alone decides, as for a wallet without grants (one that has some answers with them, and the draw is planned again).
  let plan = r.funds === undefined ? { units: r.cost, balanceDelta: -r.cost } : planDraw(funds, r.cost, r.now);
  // The wallet as read cannot cover the cost (expired grants count for nothing): refused without a write.
  if (plan === undefined) return reservationResult(r, { ...funds, pending: new Map(), budget: {} });
  let command = walletReservationUpdate(table, r, plan);
  options.onPlan?.(plan);
  let replans = 0;
  for (let attempt = 1; ; attempt += 1) {
    try {
      const out = await client.send(command);
      const stored = numberOf(out.Attributes?.[BALANCE]) ?? 0;
      return { reserved: true, balance: spendable({ ...funds, balance: stored }, r.now) ?? stored };
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) {
        const wallet = decodeWallet(err.Item);
        const found = fundsOf(wallet);
        const replanned = wallet?.pending.has(r.reservation) === true ? undefined : planDraw(found, r.cost, r.now);
        // The grants moved under the write (another draw, a refund, a grant): the draw again, from the wallet it found.
        if (replanned !== undefined && replans < MAX_REPLANS && JSON.stringify(drawClauses(replanned, rawValue)) !== JSON.stringify(drawClauses(plan, rawValue))) {
          replans += 1;
          funds = found;
          plan = replanned;
          command = walletReservationUpdate(table, r, plan);
          options.onPlan?.(plan);
          continue;
        }
        return reservationResult(r, wallet);
      }
      const wait = Math.min(100, 5 * 2 ** attempt) * (0.5 + Math.random() / 2);
      if (!isRetryable(err) || clock() + wait >= options.deadlineAt) throw err;
      await sleep(wait);
    }
  }
}

/** A settlement of one wallet: reservations whose calls succeeded (kept) and failed (given back). */
export interface WalletSettlement {
  readonly customerId: string;
  /** Reservation ids of 2xx calls: their entries are removed, their units stay drawn. */
  readonly kept: readonly string[];
  /** Reservation id → units, of calls that did not succeed: removed and given back. */
  readonly refunds: ReadonlyMap<string, number>;
  /** Also give back entries older than PENDING_BOUND_SECONDS that no line named. */
  readonly now?: Date;
}

export interface SettlementOutcome {
  readonly kept: number;
  readonly refunded: number;
  /** Entries given back because no line named them within the bound. */
  readonly expired: number;
  /** Named reservations already settled (a duplicated batch) or expired: nothing done for them. */
  readonly settledBefore: number;
}

/** At most this many entries per UpdateItem (an expression takes 4 KB). */
const MAX_ENTRIES_PER_WRITE = 100;

/** More clauses for a settlement's one write (the sweep's mark: pending-sweep.ts). */
export interface SettlementClauses {
  readonly set?: readonly string[];
  readonly remove?: readonly string[];
  readonly conditions?: readonly string[];
  readonly names?: Readonly<Record<string, string>>;
  readonly values?: Readonly<Record<string, AttributeValue>>;
}

/**
 * One conditional UpdateItem removing these entries (each must still be there) and giving back `refund`
 * units: to the balance, and of those, `toGrants` to the grants they were drawn from (each must still be
 * there). Units given back to no grant are ungranted: the next draw folds them into the legacy entry.
 */
export function walletSettlementUpdate(
  table: string,
  customerId: string,
  entries: readonly string[],
  refund: number,
  toGrants: ReadonlyMap<string, number> = new Map(),
  extra: SettlementClauses = {},
): UpdateItemCommand {
  const names: Record<string, string> = { ...extra.names };
  const values: Record<string, AttributeValue> = { ...extra.values };
  const remove = entries.map((reservation, i) => {
    names[`#p${i}`] = pendingAttribute(reservation);
    return `#p${i}`;
  });
  const conditions = [...remove.map((p) => `attribute_exists(${p})`), ...(extra.conditions ?? [])];
  remove.push(...(extra.remove ?? []));
  const set = [...(extra.set ?? [])];
  [...toGrants].forEach(([id, units], i) => {
    names['#g'] = GRANTS;
    names['#left'] = 'left';
    names[`#r${i}`] = id;
    values[`:r${i}`] = { N: String(units) };
    set.push(`#g.#r${i}.#left = #g.#r${i}.#left + :r${i}`);
    conditions.push(`attribute_exists(#g.#r${i})`);
  });
  if (refund > 0) {
    names['#b'] = BALANCE;
    values[':refund'] = { N: String(refund) };
  }
  const clauses = [...(set.length > 0 ? [`SET ${set.join(', ')}`] : []), ...(remove.length > 0 ? [`REMOVE ${remove.join(', ')}`] : []), ...(refund > 0 ? ['ADD #b :refund'] : [])];
  return new UpdateItemCommand({
    TableName: table,
    Key: { customerId: { S: walletKey(customerId) } },
    UpdateExpression: clauses.join(' '),
    ...(conditions.length > 0 ? { ConditionExpression: conditions.join(' AND ') } : {}),
    ExpressionAttributeNames: names,
    ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
  });
}

/** What given-back entries return to each grant they drew from, of the grants the wallet still holds. */
export function refundsToGrants(entries: Iterable<PendingReservation>, grants: readonly CreditGrant[] | undefined): Map<string, number> {
  const held = new Set((grants ?? []).map((g) => g.id));
  const out = new Map<string, number>();
  for (const entry of entries) {
    for (const [id, units] of entry.draws ?? []) if (held.has(id)) out.set(id, (out.get(id) ?? 0) + units);
  }
  return out;
}

/** The wallet item as DynamoDB returns it (strongly consistent), for a writer that conditions on what it read. */
export async function readWalletItem(client: DynamoDBClient, table: string, customerId: string): Promise<Record<string, AttributeValue> | undefined> {
  const { Item } = await client.send(new GetItemCommand({ TableName: table, Key: { customerId: { S: walletKey(customerId) } }, ConsistentRead: true }));
  return Item;
}

export async function readWallet(client: DynamoDBClient, table: string, customerId: string): Promise<Wallet | undefined> {
  return decodeWallet(await readWalletItem(client, table, customerId));
}

/**
 * Reads, then writes what the read allows, again after a condition failed (another writer moved the
 * wallet since the read) or a retryable error, with a short jittered backoff, at most `attempts` times.
 */
export async function rereadOnConflict<R, T>(read: () => Promise<R>, write: (found: R) => Promise<T>, attempts = 8): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    const found = await read();
    try {
      return await write(found);
    } catch (err) {
      if (attempt >= attempts || !(err instanceof ConditionalCheckFailedException || isRetryable(err))) throw err;
      await defaultSleep(Math.min(200, 10 * 2 ** attempt) * Math.random());
    }
  }
}

/**
 * Settles the named reservations (and, with `now`, the expired ones) exactly once: each removal is
 * conditional on its entry, and an entry another settlement removed first is dropped and the rest
 * written again. Reads the wallet once first, so that a duplicated batch costs a read, not a write.
 */
export async function settleWallet(client: DynamoDBClient, table: string, s: WalletSettlement, attempts = 8): Promise<SettlementOutcome> {
  const named = new Set([...s.kept, ...s.refunds.keys()]);
  const horizon = s.now === undefined ? undefined : Math.floor(s.now.getTime() / 1000) - PENDING_BOUND_SECONDS;
  // Another settlement removed an entry since the read (or a chunk landed before a later one failed): read again.
  return rereadOnConflict(
    () => readWallet(client, table, s.customerId),
    async (wallet) => {
      const pending = wallet?.pending ?? new Map<string, PendingReservation>();
      const expired = horizon === undefined ? [] : [...pending].filter(([id, p]) => p.at < horizon && !named.has(id)).map(([id]) => id);
      const kept = s.kept.filter((id) => pending.has(id));
      const refunds = [...s.refunds.keys()].filter((id) => pending.has(id));
      const entries = [...kept, ...refunds, ...expired];
      for (let i = 0; i < entries.length; i += MAX_ENTRIES_PER_WRITE) {
        const chunk = entries.slice(i, i + MAX_ENTRIES_PER_WRITE);
        const givenBack = chunk.filter((id) => s.refunds.has(id) || expired.includes(id)).map((id) => pending.get(id)!);
        const refund = givenBack.reduce((sum, p) => sum + p.units, 0);
        await client.send(walletSettlementUpdate(table, s.customerId, chunk, refund, refundsToGrants(givenBack, wallet?.grants)));
      }
      return { kept: kept.length, refunded: refunds.length, expired: expired.length, settledBefore: named.size - kept.length - refunds.length };
    },
    attempts,
  );
}

/** Gives one reservation back if it is still pending (the authorizer's own, after it answered 503), to the grants its plan drew from. */
export async function cancelReservation(client: DynamoDBClient, table: string, customerId: string, reservation: string, units: number, plan?: DrawPlan): Promise<boolean> {
  try {
    await client.send(walletSettlementUpdate(table, customerId, [reservation], units, new Map(plan?.map?.draws ?? [])));
    return true;
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return false;
    throw err;
  }
}

/** What a credit write relies on: a balance of at least, exactly, or none at all (metering's clamped draws). */
export type BalanceExpectation = { readonly atLeast: number } | { readonly equals: number } | { readonly absent: true };

/** A wallet item of a transaction (document-client values): an Update, or a ConditionCheck when nothing moves. */
export type WalletTransactItem =
  | { readonly Update: WalletWrite & { readonly UpdateExpression: string } }
  | { readonly ConditionCheck: WalletWrite & { readonly ConditionExpression: string } };

interface WalletWrite {
  readonly TableName: string;
  readonly Key: { readonly customerId: string };
  readonly ConditionExpression?: string;
  readonly ExpressionAttributeNames: Record<string, string>;
  readonly ExpressionAttributeValues?: Record<string, unknown>;
}

/**
 * `balance = if_not_exists(balance, 0) + delta`, conditioned on what the caller relied on; undefined
 * when it neither moves nor relies on anything.
 */
export function walletBalanceItem(table: string, customerId: string, delta: number, expect?: BalanceExpectation): WalletTransactItem | undefined {
  const values: Record<string, unknown> = {};
  let condition: string | undefined;
  if (expect !== undefined) {
    if ('absent' in expect) condition = 'attribute_not_exists(#b)';
    else if ('equals' in expect) {
      values[':expected'] = expect.equals;
      condition = '#b = :expected';
    } else {
      values[':needed'] = expect.atLeast;
      condition = '#b >= :needed';
    }
  }
  const base = { TableName: table, Key: { customerId: walletKey(customerId) }, ExpressionAttributeNames: { '#b': BALANCE } };
  if (delta === 0) {
    return condition === undefined ? undefined : { ConditionCheck: { ...base, ConditionExpression: condition, ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}) } };
  }
  return {
    Update: {
      ...base,
      UpdateExpression: 'SET #b = if_not_exists(#b, :zero) + :delta',
      ...(condition === undefined ? {} : { ConditionExpression: condition }),
      ExpressionAttributeValues: { ...values, ':delta': delta, ':zero': 0 },
    },
  };
}

