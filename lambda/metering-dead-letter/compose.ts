import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { makeDeadLetterHandler } from '../metering/dead-letter';
import type { DeadLetterSettings } from '../metering/settings';
import { DynamoMeteringStore } from '../metering/store';
import type { Observability } from '../shared/observability';

/** What the dead-letter function talks to. */
export interface DeadLetterClients {
  readonly dynamodb: DynamoDBClient;
  readonly observability?: Observability;
  /** @default the system clock */
  readonly now?: () => Date;
}

export type DeadLetterHandler = ReturnType<typeof makeDeadLetterHandler>;

/** Metering's dead letters, wired once. */
export function composeMeteringDeadLetter(settings: DeadLetterSettings, clients: DeadLetterClients): DeadLetterHandler {
  return makeDeadLetterHandler({
    // Parking writes the events table only; the customers table is never touched here.
    store: new DynamoMeteringStore(clients.dynamodb, { customers: '', events: settings.eventsTable }),
    observability: clients.observability,
    now: clients.now,
  });
}
