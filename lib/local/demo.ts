import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { parseApiKey } from '../../lambda/shared/customers/api-key';
import { PAYMENT_STATE_PROJECTION } from '../../lambda/shared/customers/item';
import { readCustomer } from '../../lambda/shared/customers/store';
import type { TableNames } from '../../lambda/shared/tables';
import { createApiKey, listApiKeys, revokeApiKey } from '../../lambda/shared/customers/keys';
import { buildStripeEvent, serializeEvent, signPayload } from '../stripe-events/event';
import { specOverrides, type EventSpec } from '../stripe-events/spec';
import type { LocalGateway } from './gateway';

/**
 * The demo customers of `npm start`: one paying (active, with the premium-reports entitlement) and one
 * without a subscription. Seeded through the real webhook path (signed events into the gateway), once:
 * a restart keeps whatever state they reached, and their keys.
 */

export const DEMO_CUSTOMERS = {
  paying: 'cus_tollgate_demo_paying',
  free: 'cus_tollgate_demo_free',
  /** On the sample's usage plan: 20 units of GET /v1/search per period, 402 quota_exceeded past them. */
  metered: 'cus_tollgate_demo_metered',
  /** No subscription, a few prepaid credits: pay-as-you-go until 402 credits_exhausted. */
  payg: 'cus_tollgate_demo_payg',
} as const;
/** The metered demo customer's plan (the sample's price lookup key) and the pay-as-you-go customer's first credits. */
export const DEMO_USAGE_PLAN = 'sample_metered';
export const DEMO_PAYG_CREDITS = 5;
export const DEMO_KEY_NAME = 'demo (npm start)';
export const DEMO_KEYS_FILE = 'demo-keys.json';

/** The paying demo customer's plan (its price's lookup key) and entitlement, as the banner names them. */
export const DEMO_PLAN = 'pro';
export const DEMO_ENTITLEMENT = 'premium-reports';

export class DemoSeedError extends Error {
  override readonly name = 'DemoSeedError';
}

/** Posts one signed event through the gateway, as Stripe would; returns the webhook's status. */
export async function deliverEvent(gateway: LocalGateway, spec: EventSpec, secret: string): Promise<{ statusCode: number; body: string }> {
  const payload = serializeEvent(buildStripeEvent(spec.type, specOverrides(spec)));
  const response = await gateway.handle({
    method: 'POST',
    path: `/${gateway.stage}/webhooks/stripe`,
    headers: { 'Content-Type': 'application/json; charset=utf-8', 'Stripe-Signature': signPayload(payload, secret), 'User-Agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)' },
    body: Buffer.from(payload, 'utf8'),
  });
  return { statusCode: response.statusCode, body: response.body.toString('utf8') };
}

/** Seeds the demo customers unless the paying one already exists; true when it seeded. */
export async function seedDemoCustomers(
  gateway: LocalGateway,
  options: { stage: string; webhookSecret: string; dynamodb: DynamoDBClient; tables: TableNames },
): Promise<boolean> {
  const exists = async (customerId: string): Promise<boolean> => (await readCustomer(options.dynamodb, options.tables.customers, customerId, PAYMENT_STATE_PROJECTION)) !== undefined;
  // A minute in the past: events sent by hand afterwards are newer, whatever second they land in.
  const created = Math.floor(Date.now() / 1000) - 60;
  // The usage demo customers joined later: seeded on their own, so data kept from an older run gains them.
  const usageEvents: EventSpec[] = [
    ...(await exists(DEMO_CUSTOMERS.metered)
      ? []
      : [{ type: 'customer.subscription.created', customerId: DEMO_CUSTOMERS.metered, status: 'active', plan: DEMO_USAGE_PLAN, created, id: 'evt_tollgate_demo_metered' } as const]),
    ...(await exists(DEMO_CUSTOMERS.payg)
      ? []
      : [{ type: 'checkout.session.completed', customerId: DEMO_CUSTOMERS.payg, credits: DEMO_PAYG_CREDITS, created, id: 'evt_tollgate_demo_payg_credits' } as const]),
  ];
  for (const event of usageEvents) {
    const result = await deliverEvent(gateway, event, options.webhookSecret);
    if (result.statusCode !== 200) {
      throw new DemoSeedError(`the webhook refused the demo event ${event.type} with ${result.statusCode}: ${result.body}`);
    }
  }
  if (await exists(DEMO_CUSTOMERS.paying)) return false;
  const events: EventSpec[] = [
    { type: 'customer.subscription.created', customerId: DEMO_CUSTOMERS.paying, status: 'active', plan: DEMO_PLAN, created, id: 'evt_tollgate_demo_subscription' },
    {
      type: 'entitlements.active_entitlement_summary.updated',
      customerId: DEMO_CUSTOMERS.paying,
      entitlements: [DEMO_ENTITLEMENT],
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

interface StoredDemoKey {
  readonly keyId: string;
  readonly key: string;
}
export type DemoKeys = Record<keyof typeof DEMO_CUSTOMERS, string>;

function readStoredKeys(file: string): Partial<Record<string, StoredDemoKey>> {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return typeof parsed === 'object' && parsed !== null ? parsed : {};
  } catch {
    return {};
  }
}

/**
 * One active demo key per demo customer, kept across restarts: the keys are stored as hashes only, so
 * their text is kept in `file` (mode 0600, in the private state folder) and re-used while the key is
 * still active. A key is issued only when there is none (first start, in-memory data, revoked by
 * hand), so restarts never add keys; any other active demo key is revoked.
 */
export async function issueDemoKeys(store: { client: DynamoDBClient; tables: TableNames }, file: string): Promise<DemoKeys & { reused: boolean }> {
  const keyStore = { client: store.client, tables: { customers: store.tables.customers, apiKeys: store.tables.apiKeys } };
  const stored = readStoredKeys(file);
  const issued: Record<string, StoredDemoKey> = {};
  let reused = true;
  for (const [role, customerId] of Object.entries(DEMO_CUSTOMERS)) {
    const keys = await listApiKeys(keyStore, customerId);
    const kept = stored[role];
    const active = kept !== undefined && typeof kept.key === 'string' && keys.some((k) => k.keyId === kept.keyId && k.state === 'active');
    if (active && parseApiKey(kept.key)?.keyId === kept.keyId) {
      issued[role] = kept;
    } else {
      const created = await createApiKey(keyStore, { customerId, name: DEMO_KEY_NAME });
      issued[role] = { keyId: created.keyId, key: created.key };
      reused = false;
    }
    for (const key of keys) {
      if (key.name === DEMO_KEY_NAME && key.state === 'active' && key.keyId !== issued[role].keyId) await revokeApiKey(keyStore, key.keyId);
    }
  }
  if (!reused) {
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, `${JSON.stringify(issued, null, 2)}\n`, { mode: 0o600 });
    renameSync(temp, file);
  }
  return { paying: issued.paying!.key, free: issued.free!.key, metered: issued.metered!.key, payg: issued.payg!.key, reused };
}
