import {
  ConditionalCheckFailedException,
  GetItemCommand,
  ScanCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { attr } from './item';
import { BALANCE, isRetryable, numberOf, WALLET_SUFFIX, walletKey } from './wallet';

/**
 * The customers table's data layout has a version, recorded in one item of the table:
 *
 *   customerId   `tollgate#layout`
 *   version      the layout the table holds (absent item: 1, the first layout)
 *   target       while a migration runs: the version it moves to
 *   progress     while a migration runs: per scan segment, the last key done (S), not started (NULL) or done (BOOL)
 *   migrated     while a migration runs: customers changed so far
 *
 * A change of layout ships as a step here and runs once, at deploy (lambda/migrate, before the new
 * functions serve) and at `npm start`, never on the request path: the functions read only the current
 * layout. A step is idempotent and safe while the previous version's functions keep serving: each
 * item is moved by conditional writes that land only on the state the step read. A run stops when its
 * budget is spent and the next run resumes from the recorded progress; a run on a table already at
 * the version reads one item and changes nothing.
 *
 * Layouts:
 *   1  the prepaid balance on the customer item (`credits`)
 *   2  the prepaid balance on the wallet item `<customerId>#wallet` (wallet.ts)
 */
export const LAYOUT_VERSION = 2;
export const LAYOUT_KEY = 'tollgate#layout';

/**
 * Every attribute the migration writes: the layout item's, and the moved ones (the customer item's
 * `credits`, the wallet's balance). The stack grants its UpdateItem on these alone.
 */
export const LAYOUT_WRITE_ATTRIBUTES = [attr('customerId'), attr('credits'), BALANCE, 'version', 'target', 'progress', 'migrated', 'request', 'runs'] as const;

/** Scan segments a run starts with (recorded: a resumed run keeps the count it started with). */
export const DEFAULT_SEGMENTS = 4;
/** Items a Scan page reads at most: with 1 KB items, a page of 250 costs 31 read units (eventually 62 consistent). */
export const DEFAULT_PAGE_SIZE = 250;
/** Customers a segment moves at once. */
const CONCURRENCY = 8;

export interface MigrationOptions {
  /** Scan segments, read in parallel. @default DEFAULT_SEGMENTS */
  readonly segments?: number;
  /** Items per Scan page. @default DEFAULT_PAGE_SIZE */
  readonly pageSize?: number;
  /** Pages this run reads at most, all segments together; the next run resumes. @default unlimited */
  readonly pageBudget?: number;
  /** Asked before each page: true stops the run there (the Lambda's remaining time). */
  readonly shouldStop?: () => boolean;
}

export interface MigrationResult {
  /** The table is at LAYOUT_VERSION. */
  readonly done: boolean;
  /** The version the table was at before this run. */
  readonly from: number;
  /** Customers this run changed. */
  readonly migrated: number;
  /** Scan pages this run read. */
  readonly pages: number;
}

/** One change of layout: the items it reads (a filter on the scan) and how one of them moves. */
interface LayoutStep {
  readonly to: number;
  /** Placeholder → attribute name, for the projection and the filter. */
  readonly names: Readonly<Record<string, string>>;
  readonly filter: string;
  /** Moves one item; true when it changed something. */
  readonly migrate: (client: DynamoDBClient, table: string, item: Record<string, AttributeValue>) => Promise<boolean>;
}

const CREDITS = attr('credits');
const KEY = attr('customerId');

/** 1 → 2: the customer item's `credits` becomes its wallet's `balance`. */
const WALLET_STEP: LayoutStep = {
  to: 2,
  names: { '#k': KEY, '#c': CREDITS },
  filter: 'attribute_exists(#c)',
  migrate: (client, table, item) => {
    const customerId = item[KEY]?.S;
    const credits = numberOf(item[CREDITS]);
    if (customerId === undefined || credits === undefined || customerId.endsWith(WALLET_SUFFIX) || customerId === LAYOUT_KEY) return Promise.resolve(false);
    return moveCreditsToWallet(client, table, customerId, credits);
  },
};

const STEPS: readonly LayoutStep[] = [WALLET_STEP];

/**
 * Moves one customer's legacy `credits` to its wallet, never losing a unit while the previous
 * functions serve: in one transaction, the wallet's balance is created from `credits` only if the
 * wallet has none, and `credits` removed only if unchanged. A wallet that has a balance already
 * superseded `credits` (the previous functions start the wallet from it on its first write), so then
 * `credits` is only removed, again only if unchanged. A changed `credits` is read again and retried.
 */
export async function moveCreditsToWallet(client: DynamoDBClient, table: string, customerId: string, credits: number, attempts = 10): Promise<boolean> {
  let seen: number | undefined = credits;
  for (let attempt = 1; seen !== undefined; attempt += 1) {
    const removeCredits = {
      TableName: table,
      Key: { [KEY]: { S: customerId } },
      UpdateExpression: 'REMOVE #c',
      ConditionExpression: '#c = :c',
      ExpressionAttributeNames: { '#c': CREDITS },
      ExpressionAttributeValues: { ':c': { N: String(seen) } },
    };
    try {
      await client.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            {
              Update: {
                TableName: table,
                Key: { [KEY]: { S: walletKey(customerId) } },
                UpdateExpression: 'SET #b = :c',
                ConditionExpression: 'attribute_not_exists(#b)',
                ExpressionAttributeNames: { '#b': BALANCE },
                ExpressionAttributeValues: { ':c': { N: String(seen) } },
              },
            },
            { Update: removeCredits },
          ],
        }),
      );
      return true;
    } catch (err) {
      if (attempt >= attempts) throw err;
      if (err instanceof TransactionCanceledException) {
        const [wallet, customer] = err.CancellationReasons ?? [];
        if (customer?.Code === 'ConditionalCheckFailed') {
          seen = await readCredits(client, table, customerId);
          continue;
        }
        if (wallet?.Code === 'ConditionalCheckFailed') {
          try {
            await client.send(new UpdateItemCommand(removeCredits));
            return true;
          } catch (removeErr) {
            if (!(removeErr instanceof ConditionalCheckFailedException)) throw removeErr;
            seen = await readCredits(client, table, customerId);
            continue;
          }
        }
      } else if (!isRetryable(err)) throw err;
      await new Promise((resolve) => setTimeout(resolve, Math.min(200, 10 * 2 ** attempt) * Math.random()));
    }
  }
  return false;
}

async function readCredits(client: DynamoDBClient, table: string, customerId: string): Promise<number | undefined> {
  const { Item } = await client.send(
    new GetItemCommand({ TableName: table, Key: { [KEY]: { S: customerId } }, ConsistentRead: true, ProjectionExpression: '#c', ExpressionAttributeNames: { '#c': CREDITS } }),
  );
  return numberOf(Item?.[CREDITS]);
}

interface LayoutState {
  readonly version: number;
  /** The running migration's target and per-segment progress, when one is under way. */
  readonly run?: { readonly target: number; readonly progress: readonly SegmentProgress[] };
}

/** A segment done, or where it resumes (`after` the last key it finished; absent: not started). */
type SegmentProgress = { readonly done: true } | { readonly done?: false; readonly after?: string };

export async function readLayout(client: DynamoDBClient, table: string): Promise<LayoutState> {
  const { Item } = await client.send(new GetItemCommand({ TableName: table, Key: { [KEY]: { S: LAYOUT_KEY } }, ConsistentRead: true }));
  const version = numberOf(Item?.version) ?? 1;
  const target = numberOf(Item?.target);
  const progress = Item?.progress?.L?.map((p): SegmentProgress => (p.BOOL === true ? { done: true } : p.S === undefined ? {} : { after: p.S }));
  return target === undefined || progress === undefined ? { version } : { version, run: { target, progress } };
}

/**
 * Brings the table to LAYOUT_VERSION, step by step, within the run's budget; resumes a run an earlier
 * one left. Safe to call from several places at once: progress is recorded per segment and every move
 * is conditional, so a segment read twice moves nothing twice.
 */
export async function migrateLayout(client: DynamoDBClient, table: string, options: MigrationOptions = {}): Promise<MigrationResult> {
  let state = await readLayout(client, table);
  const from = state.version;
  let migrated = 0;
  let pages = 0;
  const budget = { left: options.pageBudget ?? Infinity };
  for (const step of STEPS) {
    if (state.version >= step.to) continue;
    if (state.run?.target !== step.to) state = await startStep(client, table, step.to, options.segments ?? DEFAULT_SEGMENTS);
    const progress = state.run!.progress;
    const results = await Promise.all(progress.map((at, segment) => runSegment(client, table, step, { segment, total: progress.length, at, pageSize: options.pageSize ?? DEFAULT_PAGE_SIZE, budget, ...(options.shouldStop === undefined ? {} : { shouldStop: options.shouldStop }) })));
    migrated += results.reduce((sum, r) => sum + r.migrated, 0);
    pages += results.reduce((sum, r) => sum + r.pages, 0);
    if (!results.every((r) => r.done)) return { done: false, from, migrated, pages };
    await finishStep(client, table, step.to);
    state = { version: step.to };
  }
  return { done: true, from, migrated, pages };
}

/** Records the step's start, every segment not started; a run already started by someone else is read back. */
async function startStep(client: DynamoDBClient, table: string, to: number, segments: number): Promise<LayoutState> {
  try {
    await client.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { [KEY]: { S: LAYOUT_KEY } },
        UpdateExpression: 'SET #t = :to, #p = :progress, #m = :zero',
        ConditionExpression: '(attribute_not_exists(#v) OR #v < :to) AND (attribute_not_exists(#t) OR #t <> :to)',
        ExpressionAttributeNames: { '#v': 'version', '#t': 'target', '#p': 'progress', '#m': 'migrated' },
        ExpressionAttributeValues: { ':to': { N: String(to) }, ':progress': { L: Array.from({ length: segments }, () => ({ NULL: true })) }, ':zero': { N: '0' } },
      }),
    );
  } catch (err) {
    if (!(err instanceof ConditionalCheckFailedException)) throw err;
  }
  const state = await readLayout(client, table);
  if (state.run?.target !== to) throw new Error(`the layout item (${LAYOUT_KEY}) records no run to version ${to}: another migration finished or changed it; run the migration again`);
  return state;
}

async function finishStep(client: DynamoDBClient, table: string, to: number): Promise<void> {
  try {
    await client.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { [KEY]: { S: LAYOUT_KEY } },
        UpdateExpression: 'SET #v = :to REMOVE #t, #p, #m',
        ConditionExpression: '#t = :to',
        ExpressionAttributeNames: { '#v': 'version', '#t': 'target', '#p': 'progress', '#m': 'migrated' },
        ExpressionAttributeValues: { ':to': { N: String(to) } },
      }),
    );
  } catch (err) {
    // A run beside this one finished the step first.
    if (!(err instanceof ConditionalCheckFailedException) || (await readLayout(client, table)).version < to) throw err;
  }
}

interface SegmentRun {
  readonly segment: number;
  readonly total: number;
  readonly at: SegmentProgress;
  readonly pageSize: number;
  /** Shared by the segments of a run. */
  readonly budget: { left: number };
  readonly shouldStop?: () => boolean;
}

/** Scans one segment from where it stopped, moving each page's items, and records the page done before reading the next. */
async function runSegment(client: DynamoDBClient, table: string, step: LayoutStep, run: SegmentRun): Promise<{ done: boolean; migrated: number; pages: number }> {
  if (run.at.done === true) return { done: true, migrated: 0, pages: 0 };
  let start = run.at.after === undefined ? undefined : { [KEY]: { S: run.at.after } };
  let migrated = 0;
  let pages = 0;
  for (;;) {
    if (run.budget.left <= 0 || run.shouldStop?.() === true) return { done: false, migrated, pages };
    run.budget.left -= 1;
    const page = await client.send(
      new ScanCommand({
        TableName: table,
        Segment: run.segment,
        TotalSegments: run.total,
        Limit: run.pageSize,
        ConsistentRead: true,
        ProjectionExpression: Object.keys(step.names).join(', '),
        FilterExpression: step.filter,
        ExpressionAttributeNames: step.names,
        ...(start === undefined ? {} : { ExclusiveStartKey: start }),
      }),
    );
    pages += 1;
    const items = page.Items ?? [];
    let moved = 0;
    for (let i = 0; i < items.length; i += CONCURRENCY) {
      moved += (await Promise.all(items.slice(i, i + CONCURRENCY).map((item) => step.migrate(client, table, item)))).filter(Boolean).length;
    }
    migrated += moved;
    const last = page.LastEvaluatedKey?.[KEY]?.S;
    await recordProgress(client, table, step.to, run.segment, last, moved);
    if (last === undefined) return { done: true, migrated, pages };
    start = { [KEY]: { S: last } };
  }
}

/** The segment's page is done: where it resumes (or that it is done), and the customers it moved. */
async function recordProgress(client: DynamoDBClient, table: string, to: number, segment: number, last: string | undefined, moved: number): Promise<void> {
  await client.send(
    new UpdateItemCommand({
      TableName: table,
      Key: { [KEY]: { S: LAYOUT_KEY } },
      UpdateExpression: `SET #p[${segment}] = :at ADD #m :moved`,
      ConditionExpression: '#t = :to',
      ExpressionAttributeNames: { '#p': 'progress', '#t': 'target', '#m': 'migrated' },
      ExpressionAttributeValues: { ':at': last === undefined ? { BOOL: true } : { S: last }, ':to': { N: String(to) }, ':moved': { N: String(moved) } },
    }),
  );
}

/**
 * Counts the runs of one deploy's migration (its CloudFormation request id) in the layout item: the
 * Lambda's retries of that request resume the migration, and the last one allowed says it failed.
 */
export async function countRun(client: DynamoDBClient, table: string, requestId: string): Promise<number> {
  const names = { '#q': 'request', '#r': 'runs' };
  const key = { [KEY]: { S: LAYOUT_KEY } };
  try {
    const out = await client.send(
      new UpdateItemCommand({ TableName: table, Key: key, UpdateExpression: 'ADD #r :one', ConditionExpression: '#q = :q', ExpressionAttributeNames: names, ExpressionAttributeValues: { ':q': { S: requestId }, ':one': { N: '1' } }, ReturnValues: 'UPDATED_NEW' }),
    );
    return numberOf(out.Attributes?.runs) ?? 1;
  } catch (err) {
    if (!(err instanceof ConditionalCheckFailedException)) throw err;
    await client.send(new UpdateItemCommand({ TableName: table, Key: key, UpdateExpression: 'SET #q = :q, #r = :one', ExpressionAttributeNames: names, ExpressionAttributeValues: { ':q': { S: requestId }, ':one': { N: '1' } } }));
    return 1;
  }
}
