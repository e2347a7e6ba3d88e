import { encodeSubscriptionEvent, type LogEvent } from '../../lambda/metering/logs-event';

/**
 * The local stand-in for the access-log group's subscription filter: the lines the local stage writes
 * are gathered and delivered to the metering handler in batches, encoded as CloudWatch Logs delivers
 * them (gzip + base64 `awslogs.data`), at most one batch at a time. A batch goes when `maxLines` lines
 * are waiting or `intervalMs` after its first line, whichever comes first; `drain()` delivers what is
 * waiting now (tests, shutdown).
 */

export interface MeteringFeedOptions {
  readonly deliver: (event: { awslogs: { data: string } }) => Promise<unknown>;
  /** @default 1000 */
  readonly intervalMs?: number;
  /** @default 500 */
  readonly maxLines?: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** How the interval is waited for; returns a cancel. @default setTimeout (unref'd) */
  readonly schedule?: (run: () => void, ms: number) => () => void;
  /** A delivery failed (the handler threw): CloudWatch would retry; locally it is reported. */
  readonly onError?: (err: unknown) => void;
  /** @default "tollgate-local" */
  readonly logStream?: string;
}

export interface MeteringFeed {
  push(line: string): void;
  /** Delivers every line pushed so far; resolves when they are delivered. */
  drain(): Promise<void>;
  /** Lines waiting for a batch. */
  readonly waiting: number;
  /** Stops taking lines; the lines still waiting are delivered by a last drain. */
  stop(): Promise<void>;
  /** Stops taking lines and the timer, delivering nothing more (the clients are going away). */
  close(): void;
}

export const LOCAL_ACCESS_LOG_GROUP = 'tollgate-local/ApiAccessLogs';

const defaultSchedule = (run: () => void, ms: number): (() => void) => {
  const timer = setTimeout(run, ms);
  timer.unref();
  return () => clearTimeout(timer);
};

export function createMeteringFeed(options: MeteringFeedOptions): MeteringFeed {
  const intervalMs = options.intervalMs ?? 1000;
  const maxLines = options.maxLines ?? 500;
  const now = options.now ?? Date.now;
  const schedule = options.schedule ?? defaultSchedule;
  const logStream = options.logStream ?? 'tollgate-local';
  // Log event ids unique across runs (a restarted run must not look like a redelivery).
  const runId = `${now()}${Math.floor(Math.random() * 1e6)}`;
  let sequence = 0;
  let waiting: LogEvent[] = [];
  let cancel: (() => void) | undefined;
  let chain: Promise<void> = Promise.resolve();
  let stopped = false;

  const send = (): Promise<void> => {
    cancel?.();
    cancel = undefined;
    if (waiting.length === 0) return chain;
    const logEvents = waiting;
    waiting = [];
    const event = encodeSubscriptionEvent({ messageType: 'DATA_MESSAGE', logGroup: LOCAL_ACCESS_LOG_GROUP, logStream, logEvents });
    chain = chain.then(() =>
      options.deliver(event).then(
        () => undefined,
        (err: unknown) => options.onError?.(err),
      ),
    );
    return chain;
  };

  return {
    push(line) {
      if (stopped) return;
      waiting.push({ id: `${runId}${String(sequence++).padStart(12, '0')}`, timestamp: now(), message: line });
      if (waiting.length >= maxLines) void send();
      else if (cancel === undefined) cancel = schedule(() => void send(), intervalMs);
    },
    drain: () => send(),
    get waiting() {
      return waiting.length;
    },
    async stop() {
      stopped = true;
      await send();
    },
    close() {
      stopped = true;
      cancel?.();
      cancel = undefined;
    },
  };
}
