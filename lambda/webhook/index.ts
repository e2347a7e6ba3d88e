import { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ApiGatewayCacheFlusher } from '../shared/aws/api-gateway-flusher';
import { cachedSigningSecrets } from '../shared/aws/secrets';
import { lazyStripe } from '../shared/aws/stripe';
import { countedFlusher } from '../shared/metrics';
import { createObservability } from '../shared/observability';
import { loadWebhookSettings } from '../shared/settings';
import { composeWebhook, type WebhookHandler } from './compose';

// Validated once at init: a bad environment fails the cold start with its own message.
const settings = loadWebhookSettings(process.env);
const observability = createObservability('tollgate-webhook');
const secretsManager = new SecretsManagerClient({});
const clients = {
  dynamodb: new DynamoDBClient({}),
  signingSecrets: cachedSigningSecrets(secretsManager, settings.webhookSecretId),
  flusher: countedFlusher(new ApiGatewayCacheFlusher(new APIGatewayClient({})), observability),
  observability,
};
// Optional: with a Stripe API key the webhook re-fetches same-second subscriptions and pages
// entitlements. A failed read is not kept: the invocation fails (Stripe retries) and the next one reads again.
const stripe = settings.stripeApiKeySecretId === undefined ? undefined : lazyStripe(secretsManager, settings.stripeApiKeySecretId, { maxNetworkRetries: 2, timeout: 3000 });

let handle: WebhookHandler | undefined;

export const handler: WebhookHandler = async (event) => (handle ??= composeWebhook(settings, { ...clients, stripe: await stripe?.() }))(event);
