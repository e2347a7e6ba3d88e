import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { once, readSecretString } from '../shared/aws/secrets';
import { lazyStripe } from '../shared/aws/stripe';
import { createObservability } from '../shared/observability';
import { DynamoAlertOutbox, EventBridgePublisher, HttpWebhookSender, SesMailer, StripeContacts } from './channels';
import { makeAlertsHandler } from './handler';
import { loadAlertsSettings } from './settings';

// Validated once at init: a bad environment fails the cold start with its own message.
const settings = loadAlertsSettings(process.env);
const secrets = new SecretsManagerClient({});

export const handler = makeAlertsHandler({
  outbox: new DynamoAlertOutbox(new DynamoDBClient({}), settings.eventsTable),
  events: new EventBridgePublisher(new EventBridgeClient({}), settings.busName),
  ...(settings.webhook === undefined ? {} : { webhook: new HttpWebhookSender({ url: settings.webhook.url, secret: once(() => readSecretString(secrets, settings.webhook!.secretId)) }) }),
  ...(settings.email === undefined
    ? {}
    : {
        email: {
          mailer: new SesMailer(new SESv2Client({}), settings.email.from, settings.email.identityArn),
          contacts: new StripeContacts(lazyStripe(secrets, settings.email.stripeApiKeySecretId, { maxNetworkRetries: 2, timeout: 5000 })),
          ...(settings.accountUrl === undefined ? {} : { accountUrl: settings.accountUrl }),
        },
      }),
  observability: createObservability('tollgate-alerts'),
});
