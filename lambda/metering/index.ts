import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { lazyStripe } from '../shared/aws/stripe';
import { createObservability } from '../shared/observability';
import { composeMetering, type MeteringHandler } from './compose';
import { loadMeteringSettings } from './settings';
import { StreamMeterReporter } from './meter-event-stream';

// Validated once at init: a bad environment fails the cold start with its own message.
const settings = loadMeteringSettings(process.env);
const clients = {
  dynamodb: new DynamoDBClient({}),
  observability: createObservability('tollgate-metering'),
};
// The key is read once per instance; a failed read is not kept (the invocation fails and is retried).
// Retries are the reporter's own (one backoff loop per request), not the SDK's; its session lives as long as the instance.
const stripe =
  settings.stripeApiKeySecretId === undefined ? undefined : lazyStripe(new SecretsManagerClient({}), settings.stripeApiKeySecretId, { maxNetworkRetries: 0, timeout: 5000 });

let handle: MeteringHandler | undefined;

export const handler: MeteringHandler = async (event) => {
  if (handle === undefined) {
    const client = stripe === undefined ? undefined : await stripe();
    handle = composeMetering(settings, { ...clients, ...(client === undefined ? {} : { reporter: new StreamMeterReporter(client), stripe: client }) });
  }
  return handle(event);
};
