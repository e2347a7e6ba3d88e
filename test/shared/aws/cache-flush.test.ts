import { APIGatewayClient, FlushStageAuthorizersCacheCommand } from '@aws-sdk/client-api-gateway';
import { ApiGatewayCacheFlusher } from '../../../lambda/shared/aws/api-gateway-flusher';
import { CoalescingFlusher } from '../../../lambda/shared/aws/cache-flush';
import type { FlushTarget } from '../../../lambda/shared/ports';

const PROD: FlushTarget = { restApiId: 'api1', stage: 'prod' };
const DEV: FlushTarget = { restApiId: 'api1', stage: 'dev' };

/** A manual clock and an inner flusher whose flushes finish when the test says so. */
function rig(minIntervalMs = 2000) {
  let now = 0;
  const sleeps: Array<{ until: number; resolve: () => void }> = [];
  const started: Array<{ target: FlushTarget; at: number; finish: (err?: Error) => void }> = [];
  const inner = {
    flush: (target: FlushTarget) =>
      new Promise<void>((resolve, reject) => started.push({ target, at: now, finish: (err) => (err ? reject(err) : resolve()) })),
  };
  const flusher = new CoalescingFlusher(inner, {
    minIntervalMs,
    now: () => now,
    sleep: (ms) => new Promise<void>((resolve) => sleeps.push({ until: now + ms, resolve })),
  });
  const settle = () => new Promise((r) => setImmediate(r));
  const advance = async (ms: number) => {
    now += ms;
    const due = sleeps.filter((s) => s.until <= now);
    sleeps.splice(0, sleeps.length, ...sleeps.filter((s) => s.until > now));
    for (const s of due) s.resolve();
    await settle();
  };
  return { flusher, started, advance, settle };
}

describe('CoalescingFlusher', () => {
  it('flushes at once when the stage is idle', async () => {
    const { flusher, started } = rig();
    const done = flusher.flush(PROD);
    expect(started).toHaveLength(1);
    started[0]!.finish();
    await expect(done).resolves.toBeUndefined();
  });

  it('coalesces a burst into one trailing flush that starts after every caller arrived', async () => {
    const { flusher, started, advance, settle } = rig();
    const first = flusher.flush(PROD);
    started[0]!.finish();
    await first;
    let resolved = 0;
    const burst = Array.from({ length: 20 }, () => flusher.flush(PROD).then(() => resolved++));
    await settle();
    expect(started).toHaveLength(1);
    await advance(1999);
    expect(started).toHaveLength(1);
    await advance(1);
    expect(started).toHaveLength(2);
    expect(started[1]!.at).toBe(2000);
    expect(resolved).toBe(0);
    started[1]!.finish();
    await Promise.all(burst);
    expect(resolved).toBe(20);
  });

  it('queues a new flush for a caller that arrives while one is running', async () => {
    const { flusher, started, advance, settle } = rig();
    const first = flusher.flush(PROD);
    const during = flusher.flush(PROD);
    await settle();
    expect(started).toHaveLength(1);
    await advance(5000);
    // The running flush may have started before the caller's write: it does not count for it.
    expect(started).toHaveLength(1);
    started[0]!.finish();
    await first;
    await settle();
    expect(started).toHaveLength(2);
    started[1]!.finish();
    await expect(during).resolves.toBeUndefined();
  });

  it('keeps stages apart', () => {
    const { flusher, started } = rig();
    void flusher.flush(PROD);
    void flusher.flush(DEV);
    expect(started.map((s) => s.target.stage)).toEqual(['prod', 'dev']);
    for (const s of started) s.finish();
  });

  it('rejects the callers of a failed flush and flushes afresh for the next caller', async () => {
    const { flusher, started, advance } = rig();
    const failed = flusher.flush(PROD);
    started[0]!.finish(new Error('throttled'));
    await expect(failed).rejects.toThrow('throttled');
    const retry = flusher.flush(PROD);
    await advance(2000);
    expect(started).toHaveLength(2);
    started[1]!.finish();
    await expect(retry).resolves.toBeUndefined();
  });
});

describe('ApiGatewayCacheFlusher', () => {
  it('sends FlushStageAuthorizersCache for the stage', async () => {
    const client = new APIGatewayClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
    const send = jest.fn((_command: unknown) => Promise.resolve({}));
    client.send = send;
    await new ApiGatewayCacheFlusher(client).flush(PROD);
    expect(send).toHaveBeenCalledTimes(1);
    const command = send.mock.calls[0]![0] as FlushStageAuthorizersCacheCommand;
    expect(command).toBeInstanceOf(FlushStageAuthorizersCacheCommand);
    expect(command.input).toEqual({ restApiId: 'api1', stageName: 'prod' });
  });
});
