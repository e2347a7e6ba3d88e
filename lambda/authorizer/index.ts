import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { once, readSecretString } from '../shared/aws/secrets';
import { createObservability } from '../shared/observability';
import { loadAuthorizerSettings } from '../shared/settings';
import { composeAuthorizer } from './compose';
import { authorizerDynamoClient } from './dynamo-client';
import { tokenAuthenticatorFromEnv } from './token-auth';

// Validated once at init: a bad environment fails the cold start with its own message.
const settings = loadAuthorizerSettings(process.env);
const client = authorizerDynamoClient();

export const handler = composeAuthorizer(settings, {
  dynamodb: client,
  // Strict reservations are not retried by the SDK (customer-store.ts: a retried ADD could charge twice).
  reservations: authorizerDynamoClient({ maxAttempts: 1 }),
  tokens: tokenAuthenticatorFromEnv(process.env, client, settings.customersTable),
  observability: createObservability(process.env.POWERTOOLS_SERVICE_NAME ?? 'tollgate-authorizer'),
  // Read on the first Deny that offers something, then kept: an Allow never waits for it.
  ...(settings.agentSecretId === undefined ? {} : { agentSecret: once(((id: string) => () => readSecretString(new SecretsManagerClient({}), id))(settings.agentSecretId)) }),
});
