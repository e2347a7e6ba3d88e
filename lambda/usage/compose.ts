import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PAYMENT_STATE_PROJECTION } from '../shared/customers/item';
import { readCustomer } from '../shared/customers/store';
import type { UsageSettings } from '../shared/settings';
import { makeUsageHandler } from './handler';
import { makeBudgetHandler } from './budget';
import { BUDGET_PATH } from '../shared/portal-paths';

/** What the usage route talks to; the local run gives its own. */
export interface UsageClients {
  readonly dynamodb: DynamoDBClient;
  /** @default the system clock */
  readonly now?: () => Date;
}

export type UsageHandler = ReturnType<typeof makeUsageHandler>;

/** The usage route, wired once: index.ts and the local run build it here. */
export function composeUsage(settings: UsageSettings, clients: UsageClients): UsageHandler {
  const { dynamodb } = clients;
  // The budget route shares the function: the caller's own account, by its key.
  const budget = makeBudgetHandler({ dynamodb, customersTable: settings.customersTable, now: clients.now, corsAllowOrigin: settings.corsAllowOrigin });
  const usage = makeUsageHandler({
    // Payment state and usage only: the projection never includes a key hash.
    customers: { read: (customerId) => readCustomer(dynamodb, settings.customersTable, customerId, PAYMENT_STATE_PROJECTION) },
    settings,
    now: clients.now,
    corsAllowOrigin: settings.corsAllowOrigin,
  });
  return (event) => (event.resource === BUDGET_PATH ? budget(event) : usage(event));
}
