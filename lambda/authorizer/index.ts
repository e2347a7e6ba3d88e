import { createObservability } from '../shared/observability';
import { loadAuthorizerSettings } from '../shared/settings';
import { DynamoCustomerReader } from './customer-store';
import { authorizerDynamoClient } from './dynamo-client';
import { makeAuthorizerHandler } from './handler';
import { tokenAuthenticatorFromEnv } from './token-auth';

// Validated once at init: a bad environment fails the cold start with its own message.
const settings = loadAuthorizerSettings(process.env);
const observability = createObservability(process.env.POWERTOOLS_SERVICE_NAME ?? 'tollgate-authorizer');
const client = authorizerDynamoClient();
// Strict reservations are not retried by the SDK (customer-store.ts: a retried ADD could charge twice).
const reservationClient = authorizerDynamoClient({ maxAttempts: 1 });

export const handler = makeAuthorizerHandler({
  customers: new DynamoCustomerReader(client, settings.customersTable, { reservationClient }),
  settings,
  tokens: tokenAuthenticatorFromEnv(process.env, client, settings.customersTable),
  observability,
});
