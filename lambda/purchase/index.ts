import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { once, readSecretString } from '../shared/aws/secrets';
import { lazyStripe } from '../shared/aws/stripe';
import { countOne, createObservability } from '../shared/observability';
import { composePurchase } from './compose';
import { AGENT_PURCHASES_METRIC } from './record';
import { loadPurchaseSettings } from './settings';

// Validated once at init: a bad environment fails the cold start with its own message.
const settings = loadPurchaseSettings(process.env);
const secretsManager = new SecretsManagerClient({});
const { stripeApiKeySecretId } = settings;
const { logger, metrics } = createObservability('tollgate-purchase');

// Each secret is read at first use, once per instance; a failed read is not kept (the next request reads again).
export const handler = composePurchase(settings, {
  dynamodb: new DynamoDBClient({}),
  // The SDK's retries reuse the idempotency key: a retried charge is answered, not repeated.
  stripe: stripeApiKeySecretId === undefined ? () => Promise.resolve(undefined) : lazyStripe(secretsManager, stripeApiKeySecretId, { maxNetworkRetries: 2, timeout: 8000 }),
  secret: once(() => readSecretString(secretsManager, settings.agentSecretId)),
  log: (message, fields) => logger.info(message, { ...fields }),
  // Payments by protocol and outcome: AgentPurchases{protocol, outcome} in the Tollgate namespace.
  count: (dimensions) => countOne(metrics, AGENT_PURCHASES_METRIC, dimensions),
});
