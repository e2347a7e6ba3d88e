import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Observability } from '../shared/observability';
import type { AuthorizerCacheFlusher } from '../shared/ports';
import type { ClockSettings } from '../shared/settings';
import { makeClockHandler } from './handler';
import { DynamoBoundaryReader } from './store';

/** What the clock talks to; the local run gives its own. */
export interface ClockClients {
  readonly dynamodb: DynamoDBClient;
  readonly flusher: AuthorizerCacheFlusher;
  readonly observability?: Observability;
  /** @default the system clock */
  readonly now?: () => Date;
  /** How a run waits for a boundary. @default a timer */
  readonly sleep?: (ms: number) => Promise<void>;
}

export type ClockHandler = ReturnType<typeof makeClockHandler>;

/** The clock, wired once: index.ts and the local run build it here. */
export function composeClock(settings: ClockSettings, clients: ClockClients): ClockHandler {
  return makeClockHandler({
    boundaries: new DynamoBoundaryReader(clients.dynamodb, settings.boundariesTable),
    flusher: clients.flusher,
    target: { restApiId: settings.restApiId, stage: settings.stageName },
    gracePeriodSeconds: settings.gracePeriodSeconds,
    now: clients.now,
    sleep: clients.sleep,
    observability: clients.observability,
  });
}
