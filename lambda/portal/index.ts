import { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as path from 'node:path';
import { ApiGatewayCacheFlusher } from '../shared/aws/api-gateway-flusher';
import { once, readSecretString } from '../shared/aws/secrets';
import { lazyStripe } from '../shared/aws/stripe';
import { countedFlusher } from '../shared/metrics';
import { createObservability } from '../shared/observability';
import { ASSETS_DIR, folderAssets } from './assets';
import { composePortal } from './compose';
import { loadPortalSettings } from './settings';

// Validated once at init: a bad environment fails the cold start with its own message.
const settings = loadPortalSettings(process.env);
const secretsManager = new SecretsManagerClient({});
const { stripeApiKeySecretId } = settings;
const observability = createObservability('tollgate-portal');

// Each secret is read at first use, once per instance; a failed read is not kept (the next request reads again).
export const handler = composePortal(settings, {
  dynamodb: new DynamoDBClient({}),
  stripe: stripeApiKeySecretId === undefined ? () => Promise.resolve(undefined) : lazyStripe(secretsManager, stripeApiKeySecretId, { maxNetworkRetries: 2, timeout: 5000 }),
  sessionSecret: once(() => readSecretString(secretsManager, settings.sessionSecretId)),
  flusher: countedFlusher(new ApiGatewayCacheFlusher(new APIGatewayClient({})), observability),
  assets: folderAssets(path.join(__dirname, ASSETS_DIR)),
  observability,
});
