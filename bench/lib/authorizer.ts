import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { composeAuthorizer, type AuthorizerHandler } from '../../lambda/authorizer/compose';
import { authorizerDynamoClient } from '../../lambda/authorizer/dynamo-client';
import { issueApiKey } from '../../lambda/shared/customers/api-key';
import { loadWebhookSettings, webhookEnvironment, type AuthorizerSettings, type WebhookSettings } from '../../lambda/shared/settings';
import { TABLES, type TableNames } from '../../lambda/shared/tables';
import { loadApiDocument } from '../../lib/openapi/load';
import { createApiKey } from '../../lambda/shared/customers/keys';
import { DEFAULT_CONFIG } from '../../lib/config/tollgate-config';
import { createTables, LOCAL_CREDENTIALS, LOCAL_REGION, localClient, tableNames } from '../../lib/local/dynamodb-local';
import { readRoutes } from '../../lib/openapi/build';
import { statedAuthorizerEvent } from '../../lib/local/gateway/events';
import { BENCH_API } from './gateway';

/** The authorizer's own client settings (lambda/authorizer/dynamo-client.ts), pointed at DynamoDB Local. */
export function benchAuthorizerClient(endpoint: string): DynamoDBClient {
  return authorizerDynamoClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
}

/** Fresh tables under a unique prefix on the run's DynamoDB Local. */
export async function freshBenchTables(endpoint: string, label: string): Promise<TableNames> {
  const admin = localClient(endpoint);
  try {
    const names = tableNames(`bench-${label}-${randomUUID().slice(0, 8)}`);
    await createTables(admin, names);
    return names;
  } finally {
    admin.destroy();
  }
}

/** The settings the stack deploys with: the sample API's routes, the default grace period and URLs. */
export function benchAuthorizerSettings(root: string, customersTable: string): AuthorizerSettings {
  return {
    customersTable,
    routes: readRoutes(loadApiDocument(DEFAULT_CONFIG.openApiDocument, root)),
    gracePeriodSeconds: DEFAULT_CONFIG.gracePeriodHours * 3600,
    checkoutUrl: 'https://billing.example/checkout',
    portalUrl: 'https://billing.example/portal',
  };
}

/** The webhook's settings as the stack deploys it with the default configuration, on these tables. */
export function benchWebhookSettings(names: TableNames): WebhookSettings {
  return loadWebhookSettings({
    [TABLES.customers.envVar]: names.customers,
    [TABLES.events.envVar]: names.events,
    ...webhookEnvironment(DEFAULT_CONFIG),
  });
}

export interface Credential {
  readonly customerId: string;
  readonly key: string;
}

export interface SeededCustomers {
  /** Active subscription with the premium entitlement: Allow. */
  readonly allow: readonly Credential[];
  /** Canceled, or past due beyond the grace period: 402. */
  readonly deny: readonly Credential[];
  /** Well-formed keys (valid checksum) that no item holds: 401 after one read. */
  readonly unknown: readonly Credential[];
}

const DAY = 24 * 60 * 60;

/** Customer items shaped as the webhook writes them, each with one key written by key management. */
export async function seedCustomers(client: DynamoDBClient, names: TableNames, perKind: number): Promise<SeededCustomers> {
  const documents = DynamoDBDocumentClient.from(client);
  const now = Math.floor(Date.now() / 1000);
  const allow: Credential[] = [];
  const deny: Credential[] = [];
  const unknown: Credential[] = [];
  const put = async (customerId: string, subscription: Record<string, unknown>, extra: Record<string, unknown>, into: Credential[]): Promise<void> => {
    const subscriptionId = `sub_bench${customerId.slice(-12)}`;
    const watermark = `${String(now).padStart(11, '0')}:3:evt_seed`;
    await documents.send(
      new PutCommand({
        TableName: names.customers,
        Item: {
          customerId,
          subscriptions: { [subscriptionId]: { plan: 'pro-monthly', cancelAtPeriodEnd: false, currentPeriodEnd: now + 20 * DAY, watermark, ...subscription } },
          invoices: {},
          pastDue: {},
          updatedAt: new Date().toISOString(),
          ...extra,
        },
      }),
    );
    const created = await createApiKey({ client, tables: { customers: names.customers, apiKeys: names.apiKeys } }, { customerId, name: 'bench' });
    into.push({ customerId, key: created.key });
  };
  for (let i = 0; i < perKind; i++) {
    const suffix = `${i}${randomUUID().replace(/-/g, '').slice(0, 10)}`;
    await put(`cus_allow${suffix}`, { status: 'active' }, { entitlements: ['premium-reports'] }, allow);
    const denied = `cus_deny${suffix}`;
    const deniedSubscription = `sub_bench${denied.slice(-12)}`;
    await put(
      denied,
      i % 2 === 0 ? { status: 'canceled' } : { status: 'past_due' },
      i % 2 === 0
        ? {}
        : {
            pastDue: { [deniedSubscription]: now - 10 * DAY },
            invoices: { [deniedSubscription]: { invoiceId: 'in_bench', watermark: `${String(now).padStart(11, '0')}:1:evt_seed`, paymentUrl: 'https://invoice.stripe.com/i/acct_bench/test_bench' } },
          },
      deny,
    );
    // Half on a known customer (the item exists, the key does not), half on no customer at all.
    const owner = i % 2 === 0 ? allow[i]!.customerId : `cus_nobody${suffix}`;
    unknown.push({ customerId: owner, key: issueApiKey(owner).key });
  }
  return { allow, deny, unknown };
}

/**
 * A REQUEST authorizer event as API Gateway sends it for `GET /v1/quotes` from a browser-like client
 * behind CloudFront (headers, multi-value headers, request context), with the key as a bearer token.
 */
export function authorizerEvent(key: string, route: { method: string; resource: string; path: string } = { method: 'GET', resource: '/v1/quotes', path: '/v1/quotes' }): APIGatewayRequestAuthorizerEvent {
  const headers: Record<string, string> = {
    Accept: 'application/json',
    'Accept-Encoding': 'gzip, deflate, br',
    'Accept-Language': 'en-GB,en;q=0.9',
    Authorization: `Bearer ${key}`,
    'CloudFront-Forwarded-Proto': 'https',
    'CloudFront-Is-Desktop-Viewer': 'true',
    'CloudFront-Is-Mobile-Viewer': 'false',
    'CloudFront-Viewer-Country': 'DE',
    Host: BENCH_API.domainName,
    'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36',
    Via: '2.0 7f3e9d1c.cloudfront.net (CloudFront)',
    'X-Amz-Cf-Id': 'kXfWx3ObGt1Cj3yS9b0J6Q2lV7sE1nU4oR8mA5pT2cD0hZ6yB9wK1g==',
    'X-Amzn-Trace-Id': 'Root=1-67d1a2b3-1a2b3c4d5e6f7a8b9c0d1e2f',
    'X-Forwarded-For': '203.0.113.7, 130.176.88.12',
    'X-Forwarded-Port': '443',
    'X-Forwarded-Proto': 'https',
  };
  return statedAuthorizerEvent(BENCH_API, { ...route, headers, query: { limit: '20' }, sourceIp: '203.0.113.7' });
}

/** The authorizer handler as its index.ts wires it, on a given client. */
export function benchAuthorizer(client: DynamoDBClient, settings: AuthorizerSettings): AuthorizerHandler {
  return composeAuthorizer(settings, { dynamodb: client });
}
