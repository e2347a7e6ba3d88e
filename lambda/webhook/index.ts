import { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import Stripe from 'stripe';
import { countedFlusher } from '../shared/metrics';
import { createObservability } from '../shared/observability';
import { loadWebhookSettings } from '../shared/settings';
import { ApiGatewayCacheFlusher } from './api-gateway-flusher';
import { CoalescingFlusher } from './cache-flush';
import { checkoutLinker, dynamoCheckoutLinkStore } from './checkout-link';
import { makeWebhookHandler } from './handler';
import { recoveryOptionsFrom } from './recovery';
import { cachedSigningSecrets, readSecretString } from './secrets';
import { DynamoPaymentStateStore } from './store';

const settings = loadWebhookSettings(process.env);
const observability = createObservability('tollgate-webhook');
const secretsManager = new SecretsManagerClient({});
const dynamodb = new DynamoDBClient({});
const recovery = recoveryOptionsFrom(process.env);
const flusher = new CoalescingFlusher(countedFlusher(new ApiGatewayCacheFlusher(new APIGatewayClient({})), observability));
const signingSecrets = cachedSigningSecrets(secretsManager, settings.webhookSecretId);
// Optional: with a Stripe API key the webhook re-fetches same-second subscriptions and pages
// entitlements. A failed read is not cached: the invocation fails (Stripe retries) and the next one reads again.
let stripe: Promise<Stripe> | undefined;
const stripeClient = (secretId: string): Promise<Stripe> =>
  (stripe ??= readSecretString(secretsManager, secretId)
    .then((key) => new Stripe(key, { maxNetworkRetries: 2, timeout: 3000 }))
    .catch((err: unknown) => {
      stripe = undefined;
      throw err;
    }));

let handle: ReturnType<typeof makeWebhookHandler> | undefined;

export const handler: ReturnType<typeof makeWebhookHandler> = async (event) => {
  handle ??= makeWebhookHandler({
    store: new DynamoPaymentStateStore(dynamodb, {
      customersTable: settings.customersTable,
      eventsTable: settings.eventsTable,
      boundariesTable: settings.boundariesTable,
    }),
    signingSecrets,
    flusher,
    checkoutLinks: checkoutLinker(dynamoCheckoutLinkStore(dynamodb, { customers: settings.customersTable, events: settings.eventsTable })),
    stripe: settings.stripeApiKeySecretId === undefined ? undefined : await stripeClient(settings.stripeApiKeySecretId),
    observability,
    ...(settings.plans === undefined ? {} : { plans: settings.plans }),
    recovery,
  });
  return handle(event);
};
