import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { stageFlushes } from '../shared/aws/flush-coordinator';
import { sweepPendingReservations } from '../shared/customers/pending-sweep';
import type { Observability } from '../shared/observability';
import type { AuthorizerCacheFlusher, FlushClock } from '../shared/ports';
import type { ClockSettings } from '../shared/settings';
import { makeClockHandler } from './handler';

/** What the clock talks to; the local run gives its own. */
export interface ClockClients {
  readonly dynamodb: DynamoDBClient;
  /** The management API's flush (counted). */
  readonly flusher: AuthorizerCacheFlusher;
  readonly observability?: Observability;
  /** The stage flusher's clock and waits. @default the system clock and timers */
  readonly flushClock?: FlushClock;
}

export type ClockHandler = ReturnType<typeof makeClockHandler>;

/** The clock, wired once: index.ts and the local run build it here. */
export function composeClock(settings: ClockSettings, clients: ClockClients): ClockHandler {
  return makeClockHandler({
    flushes: stageFlushes(settings.flush, { dynamodb: clients.dynamodb, flusher: clients.flusher, ...(clients.flushClock === undefined ? {} : { clock: clients.flushClock }) }),
    target: { restApiId: settings.restApiId, stage: settings.stageName },
    reservations: { sweep: (now) => sweepPendingReservations(clients.dynamodb, settings.customersTable, now) },
    observability: clients.observability,
  });
}
