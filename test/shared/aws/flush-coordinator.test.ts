import { TooManyRequestsException } from '@aws-sdk/client-api-gateway';
import { DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { FlushCoordinator, outboxKey, type FlushCoordinatorOptions } from '../../../lambda/shared/aws/flush-coordinator';
import type { FlushTarget } from '../../../lambda/shared/ports';
import { freshTables, type TestTables } from '../../support/dynamodb';

const TARGET: FlushTarget = { restApiId: 'api1', stage: 'prod' };

/** A management API that records each flush's start and can refuse the first `throttle` calls. */
function recordingFlusher(throttle = 0) {
  const starts: number[] = [];
  let refused = 0;
  return {
    starts,
    refusedCount: () => refused,
    flush: async () => {
      if (refused < throttle) {
        refused += 1;
        throw new TooManyRequestsException({ message: 'Too Many Requests', $metadata: { httpStatusCode: 429 } });
      }
      starts.push(Date.now());
      await new Promise((resolve) => setTimeout(resolve, 5));
    },
  };
}


describe('FlushCoordinator', () => {
  let tables: TestTables;
  beforeAll(async () => {
    tables = await freshTables('flush');
  });
  afterAll(() => tables.client.destroy());

  const coordinator = (flusher: FlushCoordinatorOptions['flusher'], options: Partial<FlushCoordinatorOptions> = {}, target = TARGET) => {
    const failures: unknown[] = [];
    const c = new FlushCoordinator({ client: tables.client, table: tables.names.events, flusher, cacheTtlSeconds: 300, intervalMs: 200, onFailure: (_t, err) => failures.push(err), ...options });
    return { c, failures, target };
  };
  const uniqueTarget = (): FlushTarget => ({ restApiId: `api-${Math.random().toString(36).slice(2, 8)}`, stage: 'prod' });

  it('flushes once for one change, with a start after the change', async () => {
    const flusher = recordingFlusher();
    const { c } = coordinator(flusher);
    const target = uniqueTarget();
    const changedAt = Date.now();
    await expect(c.request(target)).resolves.toBe('flushed');
    expect(flusher.starts).toHaveLength(1);
    expect(flusher.starts[0]!).toBeGreaterThanOrEqual(changedAt);
  });

  it('covers 30 concurrent writers of three functions with flushes at least an interval apart, each starting after its change', async () => {
    const target = uniqueTarget();
    // Each flush is recorded by the start its coordinator claimed in the outbox (held under the lease while it runs),
    // the coordinators' own clock: wall-clock gaps between calls would stretch and shrink with the machine's load.
    const claims: number[] = [];
    const flusher = {
      flush: async () => {
        const { Item } = await DynamoDBDocumentClient.from(tables.client).send(new GetCommand({ TableName: tables.names.events, Key: { eventId: outboxKey(target) }, ConsistentRead: true }));
        claims.push(Item?.startedAt as number);
      },
    };
    // Three coordinators: three functions (or instances), one outbox.
    const writers = [coordinator(flusher).c, coordinator(flusher).c, coordinator(flusher).c];
    const changes: number[] = [];
    const began = Date.now();
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        await new Promise((resolve) => setTimeout(resolve, (i % 10) * 30));
        changes.push(Date.now());
        return writers[i % 3]!.request(target);
      }),
    );
    expect(outcomes.every((o) => o === 'flushed' || o === 'covered')).toBe(true);
    // At most one flush per interval (200 ms) of the whole run, plus the first: never one per writer.
    expect(claims.length).toBeLessThanOrEqual(1 + Math.floor((Date.now() - began) / 200));
    expect(claims.length).toBeLessThan(30);
    expect(new Set(claims).size).toBe(claims.length);
    const sorted = [...claims].sort((a, b) => a - b);
    for (let i = 1; i < sorted.length; i += 1) expect(sorted[i]! - sorted[i - 1]!).toBeGreaterThanOrEqual(200);
    // Every change has a flush that started at or after it.
    for (const changedAt of changes) expect(sorted.some((start) => start >= changedAt)).toBe(true);
  });

  it('sweeps nothing for a request older than the cache TTL: every decision cached before it has expired', async () => {
    const target = uniqueTarget();
    const refusing = recordingFlusher(Number.POSITIVE_INFINITY);
    let now = Date.now();
    const clock = () => now;
    const { c: writer } = coordinator(refusing, { cacheTtlSeconds: 60, maxWaitMs: 100, intervalMs: 20, now: clock, sleep: (ms) => { now += ms; return Promise.resolve(); } });
    await expect(writer.request(target)).resolves.toBe('deferred');
    now += 61_000;
    const flusher = recordingFlusher();
    const { c: sweeper } = coordinator(flusher, { cacheTtlSeconds: 60, now: clock });
    await expect(sweeper.sweep(target)).resolves.toBe('expired');
    expect(flusher.starts).toHaveLength(0);
  });

  it('retries a throttled flush itself, never throwing, and waits out the interval between tries', async () => {
    const flusher = recordingFlusher(2);
    const { c, failures } = coordinator(flusher, { intervalMs: 50 });
    const before = Date.now();
    await expect(c.request(uniqueTarget())).resolves.toBe('flushed');
    expect(flusher.refusedCount()).toBe(2);
    expect(failures).toHaveLength(2);
    expect(failures[0]).toBeInstanceOf(TooManyRequestsException);
    expect(flusher.starts[0]! - before).toBeGreaterThanOrEqual(100);
  });

  it('leaves a flush it cannot make to the sweep, which makes it later; a second sweep finds nothing to do', async () => {
    const target = uniqueTarget();
    const refusing = recordingFlusher(Number.POSITIVE_INFINITY);
    const { c: writer } = coordinator(refusing, { maxWaitMs: 300, intervalMs: 50 });
    await expect(writer.request(target)).resolves.toBe('deferred');
    expect(refusing.starts).toHaveLength(0);

    const flusher = recordingFlusher();
    const { c: clock } = coordinator(flusher, { intervalMs: 50 });
    await expect(clock.sweep(target)).resolves.toBe('flushed');
    expect(flusher.starts).toHaveLength(1);
    await expect(clock.sweep(target)).resolves.toBe('covered');
    expect(flusher.starts).toHaveLength(1);
  });

  it('records the request inside the writer’s own transaction, so the request exists exactly when the change does', async () => {
    const target = uniqueTarget();
    const flusher = recordingFlusher();
    const { c } = coordinator(flusher);
    const doc = DynamoDBDocumentClient.from(tables.client);
    const { write, changedAt } = c.outboxWrite(target);
    await doc.send(
      new TransactWriteCommand({
        TransactItems: [{ Put: { TableName: tables.names.events, Item: { eventId: 'evt_outbox_test', expiresAt: 1 } } }, { Update: write }],
      }),
    );
    const { Item } = await doc.send(new GetCommand({ TableName: tables.names.events, Key: { eventId: outboxKey(target) }, ConsistentRead: true }));
    expect(Item?.requestedAt).toBe(changedAt);
    await expect(c.settle(target, changedAt)).resolves.toBe('flushed');
    await expect(c.sweep(target)).resolves.toBe('covered');
  });

  it('answers deferred, not an exception, when the outbox itself cannot be written', async () => {
    const flusher = recordingFlusher();
    const failures: unknown[] = [];
    const c = new FlushCoordinator({ client: tables.client, table: 'no-such-table', flusher, cacheTtlSeconds: 300, onFailure: (_t, err) => failures.push(err) });
    await expect(c.request(uniqueTarget())).resolves.toBe('deferred');
    expect(failures).toHaveLength(1);
    expect(flusher.starts).toHaveLength(0);
  });
});
