import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Observability } from '../shared/observability';
import { makeMeteringHandler } from './handler';
import type { MeteringSettings } from './settings';
import { DynamoMeteringStore } from './store';
import { DynamoWindowStore } from './window-store';
import type { MeterReporter } from './stripe-meter';
import { DynamoAlertStore } from './alerts';

/** What metering talks to; the local run, the CLI's replay and the bench give their own. */
export interface MeteringClients {
  readonly dynamodb: DynamoDBClient;
  /** Where billed units are reported (Stripe's meters). @default - none: reporting off, reports stay owed */
  readonly reporter?: MeterReporter;
  readonly observability?: Observability;
  /** @default the system clock */
  readonly now?: () => Date;
}

export type MeteringHandler = ReturnType<typeof makeMeteringHandler>;

/** Metering, wired once: index.ts, the local run, `tollgate metering replay` and the bench all build it here. */
export function composeMetering(settings: MeteringSettings, clients: MeteringClients): MeteringHandler {
  return makeMeteringHandler({
    store: new DynamoMeteringStore(clients.dynamodb, { customers: settings.customersTable, events: settings.eventsTable }),
    rules: settings.rules,
    windows: new DynamoWindowStore(clients.dynamodb, settings.usageTable),
    window: settings.window,
    reporter: clients.reporter,
    now: clients.now,
    observability: clients.observability,
    ...(settings.alertRules === undefined ? {} : { alerts: { rules: settings.alertRules, store: new DynamoAlertStore(clients.dynamodb, { customers: settings.customersTable, events: settings.eventsTable }) } }),
  });
}
