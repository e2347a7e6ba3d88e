import { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as path from 'node:path';
import Stripe from 'stripe';
import { createObservability } from '../shared/observability';
import { ApiGatewayCacheFlusher } from '../webhook/api-gateway-flusher';
import { CoalescingFlusher } from '../webhook/cache-flush';
import { readSecretString } from '../webhook/secrets';
import { ASSETS_DIR, folderAssets } from './assets';
import { makePortalHandler } from './handler';
import { loadPortalSettings } from './settings';

const settings = loadPortalSettings(process.env);
const secretsManager = new SecretsManagerClient({});

/** A secret read once per instance; a failed read is not kept (the next request reads again). */
function once<T>(read: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () =>
    (pending ??= read().catch((err: unknown) => {
      pending = undefined;
      throw err;
    }));
}

const stripeApiKeySecretId = settings.stripeApiKeySecretId;
export const handler = makePortalHandler({
  settings,
  dynamodb: new DynamoDBClient({}),
  stripe:
    stripeApiKeySecretId === undefined
      ? () => Promise.resolve(undefined)
      : once(async () => new Stripe(await readSecretString(secretsManager, stripeApiKeySecretId), { maxNetworkRetries: 2, timeout: 5000 })),
  sessionSecret: once(() => readSecretString(secretsManager, settings.sessionSecretId)),
  flusher: new CoalescingFlusher(new ApiGatewayCacheFlusher(new APIGatewayClient({}))),
  assets: folderAssets(path.join(__dirname, ASSETS_DIR)),
  observability: createObservability('tollgate-portal'),
});
