import { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import Stripe from 'stripe';
import { createObservability } from '../shared/observability';
import { ApiGatewayCacheFlusher } from '../webhook/api-gateway-flusher';
import { CoalescingFlusher } from '../webhook/cache-flush';
import { readSecretString } from '../webhook/secrets';
import { makeMeteringHandler } from './handler';
import { loadMeteringSettings } from './settings';
import { DynamoMeteringStore } from './store';
import { StripeMeterReporter } from './stripe-meter';

// Validated once at init: a bad environment fails the cold start with its own message.
const settings = loadMeteringSettings(process.env);
const observability = createObservability('tollgate-metering');
const dynamodb = new DynamoDBClient({});
const flusher = new CoalescingFlusher(new ApiGatewayCacheFlusher(new APIGatewayClient({})));
// The key is read once per instance; a failed read is not cached (the invocation fails and is retried).
let stripe: Promise<Stripe> | undefined;
const stripeClient = (secretId: string): Promise<Stripe> =>
  (stripe ??= readSecretString(new SecretsManagerClient({}), secretId)
    // Retries are the reporter's own (backoff with jitter on 429), not the SDK's.
    .then((key) => new Stripe(key, { maxNetworkRetries: 0, timeout: 5000 }))
    .catch((err: unknown) => {
      stripe = undefined;
      throw err;
    }));

let handle: ReturnType<typeof makeMeteringHandler> | undefined;

export const handler: ReturnType<typeof makeMeteringHandler> = async (event) => {
  handle ??= makeMeteringHandler({
    store: new DynamoMeteringStore(dynamodb, { customers: settings.customersTable, events: settings.eventsTable }),
    rules: settings.rules,
    flusher,
    target: { restApiId: settings.restApiId, stage: settings.stageName },
    reporter: settings.stripeApiKeySecretId === undefined ? undefined : new StripeMeterReporter(await stripeClient(settings.stripeApiKeySecretId)),
    observability,
  });
  return handle(event);
};
