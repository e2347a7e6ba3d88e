import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import Stripe from 'stripe';
import { once, readSecretString } from './secrets';

/**
 * A Stripe client on the API key a secret holds, read at first use and once per instance (a cold start
 * that never talks to Stripe never reads it). A failed read is not kept: the next call reads again.
 * `options` are the caller's (timeouts, and whose retries: the SDK's or its own).
 */
export function lazyStripe(secretsManager: SecretsManagerClient, secretId: string, options: Stripe.StripeConfig): () => Promise<Stripe> {
  return once(async () => new Stripe(await readSecretString(secretsManager, secretId), options));
}
