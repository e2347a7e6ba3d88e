import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { TableNames } from '../../lambda/shared/tables';
import { createApiKey, listApiKeys, revokeApiKey } from '../../lambda/shared/customers/keys';
import { buildStripeEvent, serializeStripeEvent, signStripePayload, type EventSpec } from '../fixtures/customer-events';
import type { LocalGateway } from './gateway';

/**
 * The demo customers of `npm start`: one paying (active, with the premium-reports entitlement) and one
 * without a subscription. Seeded through the real webhook path (signed events into the gateway), once:
 * a restart keeps whatever state they reached. Keys are stored as hashes only, so each start issues
 * fresh demo keys and revokes the previous ones.
 */

export const DEMO_CUSTOMERS = { paying: 'cus_tollgate_demo_paying', free: 'cus_tollgate_demo_free' } as const;
export const DEMO_KEY_NAME = 'demo (npm start)';

export class DemoSeedError extends Error {
  override readonly name = 'DemoSeedError';
}

/** Posts one signed event through the gateway, as Stripe would; returns the webhook's status. */
export async function deliverEvent(gateway: LocalGateway, spec: EventSpec, secret: string): Promise<{ statusCode: number; body: string }> {
  const payload = serializeStripeEvent(buildStripeEvent(spec));
  const response = await gateway.handle({
    method: 'POST',
    path: `/${gateway.stage}/webhooks/stripe`,
    headers: { 'Content-Type': 'application/json; charset=utf-8', 'Stripe-Signature': signStripePayload(payload, secret), 'User-Agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)' },
    body: Buffer.from(payload, 'utf8'),
  });
  return { statusCode: response.statusCode, body: response.body.toString('utf8') };
}

/** Seeds the demo customers unless the paying one already exists; true when it seeded. */
export async function seedDemoCustomers(
  gateway: LocalGateway,
  options: { stage: string; webhookSecret: string; dynamodb: DynamoDBClient; tables: TableNames },
): Promise<boolean> {
  const existing = await options.dynamodb.send(
    new GetItemCommand({ TableName: options.tables.customers, Key: { customerId: { S: DEMO_CUSTOMERS.paying } }, ConsistentRead: true }),
  );
  if (existing.Item !== undefined) return false;
  // A minute in the past: events sent by hand afterwards are newer, whatever second they land in.
  const created = Math.floor(Date.now() / 1000) - 60;
  const events: EventSpec[] = [
    { type: 'customer.subscription.created', customerId: DEMO_CUSTOMERS.paying, status: 'active', plan: 'pro', created, id: 'evt_tollgate_demo_subscription' },
    {
      type: 'entitlements.active_entitlement_summary.updated',
      customerId: DEMO_CUSTOMERS.paying,
      entitlements: ['premium-reports'],
      created,
      id: 'evt_tollgate_demo_entitlements',
    },
  ];
  for (const event of events) {
    const result = await deliverEvent(gateway, event, options.webhookSecret);
    if (result.statusCode !== 200) {
      throw new DemoSeedError(`the webhook refused the demo event ${event.type} with ${result.statusCode}: ${result.body}`);
    }
  }
  return true;
}

/** Revokes the previous demo keys and issues one fresh key per demo customer. */
export async function issueDemoKeys(store: { client: DynamoDBClient; tables: TableNames }): Promise<{ paying: string; free: string }> {
  const keyStore = { client: store.client, tables: { customers: store.tables.customers, apiKeys: store.tables.apiKeys } };
  const issued: Record<string, string> = {};
  for (const [role, customerId] of Object.entries(DEMO_CUSTOMERS)) {
    for (const key of await listApiKeys(keyStore, customerId)) {
      if (key.name === DEMO_KEY_NAME && key.state === 'active') await revokeApiKey(keyStore, key.keyId);
    }
    issued[role] = (await createApiKey(keyStore, { customerId, name: DEMO_KEY_NAME })).key;
  }
  return { paying: issued.paying!, free: issued.free! };
}
