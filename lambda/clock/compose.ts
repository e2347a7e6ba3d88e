import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { stageFlushes } from '../shared/aws/flush-coordinator';
import type { Observability } from '../shared/observability';
import type { AuthorizerCacheFlusher } from '../shared/ports';
import type { ClockSettings } from '../shared/settings';
import { makeClockHandler } from './handler';

/** What the clock talks to; the local run gives its own. */
export interface ClockClients {
  readonly dynamodb: DynamoDBClient;
  /** The management API's flush (counted). */
  readonly flusher: AuthorizerCacheFlusher;
  readonly observability?: Observability;
  /** @default the system clock */
  readonly now?: () => Date;
  /** How the stage's flusher waits (between flushes, after a throttle). @default a timer */
  readonly sleep?: (ms: number) => Promise<void>;
}

export type ClockHandler = ReturnType<typeof makeClockHandler>;

/** The clock, wired once: index.ts and the local run build it here. */
export function composeClock(settings: ClockSettings, clients: ClockClients): ClockHandler {
  const now = clients.now;
  return makeClockHandler({
    flushes: stageFlushes(settings.flush, {
      dynamodb: clients.dynamodb,
      flusher: clients.flusher,
      ...(now === undefined ? {} : { now: () => now().getTime() }),
      ...(clients.sleep === undefined ? {} : { sleep: clients.sleep }),
    }),
    target: { restApiId: settings.restApiId, stage: settings.stageName },
    observability: clients.observability,
  });
}
