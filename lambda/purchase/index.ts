import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { once, readSecretString } from '../shared/aws/secrets';
import { lazyStripe } from '../shared/aws/stripe';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { AGENT_SECONDS_TO_PAY_METRIC } from '../shared/agents/first-call';
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
  // 402 → paid: AgentSecondsToPay{protocol}; paid → first 2xx is metering's (shared/agents/first-call.ts).
  timeToPay: (protocol, seconds) => {
    const metric = metrics.singleMetric();
    metric.addDimension('protocol', protocol);
    metric.addMetric(AGENT_SECONDS_TO_PAY_METRIC, MetricUnit.Seconds, seconds);
  },
});
