import { ScanCommand, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { makeAuthorizerHandler } from '../../lambda/authorizer/handler';
import { DynamoCustomerReader } from '../../lambda/authorizer/customer-store';
import { evaluatePolicy } from '../../lambda/authorizer/policy';
import { issueApiKey } from '../../lambda/shared/customers/api-key';
import { keyAttributeName } from '../../lambda/shared/customers/item';
import { quietObservability } from '../support/observability';
import type { RouteRule } from '../../lambda/shared/requirements';
import { makeWebhookHandler, type WebhookDeps } from '../../lambda/webhook/handler';
import { DynamoPaymentStateStore } from '../../lambda/webhook/store';
import { serializeEvent, signPayload } from '../../lib/stripe-events';
import type { TestTables } from '../support/dynamodb';
import { statedAuthorizerEvent, statedProxyEvent } from '../../lib/local/gateway/events';
import { TEST_API } from '../support/events';
import { RecordingFlusher } from '../support/flusher';
import { testFlushes } from '../support/flushes';
import type { FlushCoordinatorOptions } from '../../lambda/shared/aws/flush-coordinator';

export const SECRET = 'whsec_testsecretA1b2C3d4E5f6G7h8I9j0';
export const OTHER_SECRET = 'whsec_othersecretZ9y8X7w6V5u4T3s2R1';
export const API_ID = TEST_API.restApiId;
export const STAGE = TEST_API.stage;

/** A Lambda proxy event as API Gateway delivers a Stripe webhook (a base64 body passed as such). */
export function proxyEvent(body: string | null, headers: Record<string, string> = {}, isBase64Encoded = false): APIGatewayProxyEvent {
  const event = statedProxyEvent(TEST_API, { method: 'POST', resource: '/webhooks/stripe', headers, ...(body === null ? {} : { body }) });
  return isBase64Encoded ? { ...event, body, isBase64Encoded } : event;
}

/** A signed delivery of an event object, as Stripe sends it. */
export function signedDelivery(event: Record<string, unknown>, secret = SECRET, timestamp?: number): APIGatewayProxyEvent {
  const body = serializeEvent(event);
  return proxyEvent(body, { 'Stripe-Signature': signPayload(body, secret, timestamp) });
}

export { RecordingFlusher };

/** The webhook on the test tables, its flushes through the stage's one flusher (the coordinator) into a recorder. */
export function webhookFor(
  tables: TestTables,
  overrides: Partial<WebhookDeps> = {},
  flushOptions: Partial<FlushCoordinatorOptions> = {},
): { handler: ReturnType<typeof makeWebhookHandler>; flusher: RecordingFlusher; store: DynamoPaymentStateStore } {
  const flusher = new RecordingFlusher();
  const store = new DynamoPaymentStateStore(tables.client, { customersTable: tables.names.customers, eventsTable: tables.names.events });
  const handler = makeWebhookHandler({
    store,
    signingSecrets: () => Promise.resolve([SECRET]),
    flushes: testFlushes(tables, flusher, flushOptions),
    gracePeriodSeconds: 72 * 3600,
    observability: quietObservability(),
    ...overrides,
  });
  return { handler, flusher, store };
}

/** Every item of both tables the webhook writes, sorted: compare before/after for "nothing written". */
export async function snapshotTables(tables: TestTables): Promise<string> {
  const out: Record<string, Record<string, AttributeValue>[]> = {};
  for (const name of [tables.names.customers, tables.names.events]) {
    const { Items = [] } = await tables.client.send(new ScanCommand({ TableName: name, ConsistentRead: true }));
    out[name] = Items.map((item) => Object.fromEntries(Object.entries(item).sort(([a], [b]) => a.localeCompare(b)))).sort((a, b) =>
      JSON.stringify(a).localeCompare(JSON.stringify(b)),
    );
  }
  return JSON.stringify(out);
}

export const ROUTES: readonly RouteRule[] = [
  { method: 'GET', path: '/v1/free', requires: { kind: 'key' } },
  { method: 'GET', path: '/v1/reports', requires: { kind: 'subscription' } },
  { method: 'GET', path: '/v1/exports', requires: { kind: 'entitlement', lookupKey: 'exports' } },
];

/** Issues an API key for a customer, stored the way key management stores it. */
export async function seedApiKey(tables: TestTables, customerId: string): Promise<string> {
  const issued = issueApiKey(customerId);
  await tables.client.send(
    new UpdateItemCommand({
      TableName: tables.names.customers,
      Key: { customerId: { S: customerId } },
      UpdateExpression: 'SET #k = :k',
      ExpressionAttributeNames: { '#k': keyAttributeName(issued.keyId) },
      ExpressionAttributeValues: { ':k': { M: { hash: { S: issued.hash }, createdAt: { S: new Date().toISOString() } } } },
    }),
  );
  return issued.key;
}

export interface AuthorizerAnswer {
  readonly effect: 'Allow' | 'Deny' | 'Unauthorized';
  readonly reason?: string;
  readonly paymentUrl?: string;
}

/**
 * The API as the authorizer sees it here: no domain name, so its answers carry only the payment URLs
 * the customer's record holds, not the stack's own portal pages (what these tests follow).
 */
const RECORD_URLS_ONLY = { ...TEST_API, domainName: '' };

/** What the real authorizer decides for a key on a route (the ground truth of these tests). */
export async function authorize(tables: TestTables, key: string, path: string, now = new Date(), routes: readonly RouteRule[] = ROUTES): Promise<AuthorizerAnswer> {
  const handler = makeAuthorizerHandler({
    customers: new DynamoCustomerReader(tables.client, tables.names.customers),
    settings: { customersTable: tables.names.customers, routes, gracePeriodSeconds: 3 * 24 * 3600, checkoutUrl: 'https://example.com/checkout' },
    now: () => now,
    observability: quietObservability(),
  });
  const event = statedAuthorizerEvent(RECORD_URLS_ONLY, { method: 'GET', resource: path, headers: { Authorization: `Bearer ${key}` } });
  try {
    const result = await handler(event);
    const effect = evaluatePolicy(result.policyDocument, event.methodArn);
    const context = result.context ?? {};
    return {
      effect,
      ...(effect === 'Deny' ? { reason: String(context.reason) } : {}),
      ...(context.paymentUrl === undefined ? {} : { paymentUrl: String(context.paymentUrl) }),
    };
  } catch (err) {
    if (err instanceof Error && err.message === 'Unauthorized') return { effect: 'Unauthorized' };
    throw err;
  }
}
