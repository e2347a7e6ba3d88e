import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { Agent } from 'node:https';

/**
 * The authorizer's DynamoDB client. Decision time budget (uncached, in-region):
 *
 *   3 attempts × 250 ms request timeout + jittered backoff, cut off by a 900 ms deadline on the whole
 *   read (DynamoCustomerReader) → a decision answers, or throws (503), in under 1 s.
 *
 * `throwOnRequestTimeout`: without it the SDK only logs a warning when requestTimeout passes and keeps
 * waiting for the socket. Keep-alive spares a TLS handshake per decision on a warm function.
 */
export const AUTHORIZER_REQUEST_TIMEOUT_MS = 250;
export const AUTHORIZER_MAX_ATTEMPTS = 3;
export const AUTHORIZER_READ_DEADLINE_MS = 900;

export function authorizerDynamoClient(overrides: DynamoDBClientConfig = {}): DynamoDBClient {
  return new DynamoDBClient({
    maxAttempts: AUTHORIZER_MAX_ATTEMPTS,
    retryMode: 'standard',
    requestHandler: {
      requestTimeout: AUTHORIZER_REQUEST_TIMEOUT_MS,
      connectionTimeout: AUTHORIZER_REQUEST_TIMEOUT_MS,
      throwOnRequestTimeout: true,
      httpsAgent: new Agent({ keepAlive: true, maxSockets: 50 }),
    },
    ...overrides,
  });
}
