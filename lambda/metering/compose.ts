import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type Stripe from 'stripe';
import type { AgentFirstCallRecord } from '../shared/agents/first-call';
import { createObservability, type Observability } from '../shared/observability';
import { makeFirstCallRecorder } from './first-call';
import { makeMeteringHandler } from './handler';
import type { MeteringSettings } from './settings';
import { DynamoMeteringStore } from './store';
import { DynamoWindowStore } from './window-store';
import type { MeterReporter } from './stripe-meter';
import { DynamoAlertStore } from './alerts';
import { makeMeteringTopUp } from './top-up';
import { makeRecoveryRecorder } from './recovered';

/** What metering talks to; the local run, the CLI's replay and the bench give their own. */
export interface MeteringClients {
  readonly dynamodb: DynamoDBClient;
  /** Where billed units are reported (Stripe's meters). @default - none: reporting off, reports stay owed */
  readonly reporter?: MeterReporter;
  /** Charges auto top-ups (shared/auto-top-up.ts). @default - none: top-ups are not charged */
  readonly stripe?: Stripe;
  readonly observability?: Observability;
  /** @default the system clock */
  readonly now?: () => Date;
  /** Each agent's first call after its payment (first-call.ts): the local run writes it to its events log. */
  readonly onFirstCall?: (record: AgentFirstCallRecord) => void;
}

export type MeteringHandler = ReturnType<typeof makeMeteringHandler>;

/** Metering, wired once: index.ts, the local run, `tollgate metering replay` and the bench all build it here. */
export function composeMetering(settings: MeteringSettings, clients: MeteringClients): MeteringHandler {
  const observability = clients.observability ?? createObservability('tollgate-metering');
  const tables = { customers: settings.customersTable, events: settings.eventsTable };
  return makeMeteringHandler({
    store: new DynamoMeteringStore(clients.dynamodb, tables),
    rules: settings.rules,
    windows: new DynamoWindowStore(clients.dynamodb, settings.usageTable),
    window: settings.window,
    reporter: clients.reporter,
    now: clients.now,
    observability,
    firstCalls: makeFirstCallRecorder({ dynamodb: clients.dynamodb, customersTable: settings.customersTable, observability, ...(clients.onFirstCall === undefined ? {} : { onFirstCall: clients.onFirstCall }) }),
    ...(clients.stripe === undefined
      ? {}
      : { topUp: makeMeteringTopUp({ dynamodb: clients.dynamodb, tables, stripe: clients.stripe, now: clients.now ?? (() => new Date()), observability }) }),
    // Always: a marker the webhook wrote is removed at the first call after it; the alert only with the rule on.
    recoveries: makeRecoveryRecorder({ dynamodb: clients.dynamodb, tables, alert: settings.alertRules?.paymentRecovered === true, observability, ...(clients.now === undefined ? {} : { now: clients.now }) }),
    ...(settings.alertRules === undefined ? {} : { alerts: { rules: settings.alertRules, store: new DynamoAlertStore(clients.dynamodb, tables) } }),
  });
}
