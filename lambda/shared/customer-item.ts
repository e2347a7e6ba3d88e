import { KEY_ID } from './api-key';
import { isSubscriptionStatus, type ApiKeyRecord, type CustomerRecord } from './model';

/**
 * The customers-table item ↔ CustomerRecord mapping. Payment fields are stored under their
 * CustomerRecord names (the webhook updates them with UpdateItem); each API key is one top-level
 * attribute `key_<keyId>` holding an ApiKeyRecord map, so key management upserts a key with one
 * UpdateItem (no parent map to create first) and payment updates never touch keys.
 */

export const KEY_ATTRIBUTE_PREFIX = 'key_';

/** The attributes an authorizer decision needs besides the presented key's attribute. */
export const PAYMENT_STATE_ATTRIBUTES = [
  'customerId',
  'subscriptionId',
  'subscriptionStatus',
  'plan',
  'cancelAtPeriodEnd',
  'currentPeriodEnd',
  'pastDueSince',
  'paymentActionRequired',
  'paymentUrl',
  'entitlements',
  'usageBlock',
  'deleted',
  'updatedAt',
] as const satisfies ReadonlyArray<keyof CustomerRecord>;

/** A stored customer item fails validation: the authorizer answers 503, never Allow or 402. */
export class CorruptRecordError extends Error {
  override readonly name = 'CorruptRecordError';
}

/** `key_<keyId>`; throws on a key id that is not 8 base62 characters. */
export function keyAttributeName(keyId: string): string {
  if (!KEY_ID.test(keyId)) throw new RangeError(`invalid key id "${keyId}": expected 8 letters or digits`);
  return KEY_ATTRIBUTE_PREFIX + keyId;
}

/** ProjectionExpression (with placeholder names: several are DynamoDB reserved words) for one key's decision. */
export function decisionProjection(keyId: string): { ProjectionExpression: string; ExpressionAttributeNames: Record<string, string> } {
  const names = [...PAYMENT_STATE_ATTRIBUTES, keyAttributeName(keyId)];
  return {
    ProjectionExpression: names.map((_, i) => `#a${i}`).join(','),
    ExpressionAttributeNames: Object.fromEntries(names.map((name, i) => [`#a${i}`, name])),
  };
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Set);

const SHA256_HEX = /^[0-9a-f]{64}$/;

function fail(customerId: string, attribute: string, expected: string): never {
  throw new CorruptRecordError(`customer ${customerId}: attribute ${attribute} is not ${expected}: fix or remove it in the customers table`);
}

/** NULL and absent both mean "not set" (an UpdateItem may SET an attribute to null to clear it). */
function optionalString(item: Record<string, unknown>, name: string, id: string): string | undefined {
  const value = item[name];
  if (value === undefined || value === null) return undefined;
  return typeof value === 'string' ? value : fail(id, name, 'a string');
}

function optionalNumber(item: Record<string, unknown>, name: string, id: string): number | undefined {
  const value = item[name];
  if (value === undefined || value === null) return undefined;
  return typeof value === 'number' && Number.isFinite(value) ? value : fail(id, name, 'a number');
}

function optionalBoolean(item: Record<string, unknown>, name: string, id: string): boolean | undefined {
  const value = item[name];
  if (value === undefined || value === null) return undefined;
  return typeof value === 'boolean' ? value : fail(id, name, 'a boolean');
}

function optionalTime(item: Record<string, unknown>, name: string, id: string): string | undefined {
  const value = optionalString(item, name, id);
  if (value !== undefined && Number.isNaN(Date.parse(value))) fail(id, name, 'an ISO-8601 time');
  return value;
}

function toApiKeyRecord(value: unknown, attribute: string, id: string): ApiKeyRecord {
  if (!isObject(value)) fail(id, attribute, 'a map');
  const hash = value.hash;
  if (typeof hash !== 'string' || !SHA256_HEX.test(hash)) fail(id, `${attribute}.hash`, 'a SHA-256 hex digest');
  const createdAt = optionalTime(value, 'createdAt', id);
  if (createdAt === undefined) fail(id, `${attribute}.createdAt`, 'an ISO-8601 time');
  const record: ApiKeyRecord = {
    hash,
    createdAt,
    name: optionalString(value, 'name', id),
    expiresAt: optionalTime(value, 'expiresAt', id),
    revokedAt: optionalTime(value, 'revokedAt', id),
    replacedBy: optionalString(value, 'replacedBy', id),
  };
  return withoutUndefined(record);
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/**
 * Validates a customers-table item (as the DynamoDB document client unmarshalls it) and decodes it.
 * Unknown attributes (the webhook's ordering watermarks) are ignored; a known attribute of the wrong
 * type throws CorruptRecordError.
 */
export function toCustomerRecord(item: Record<string, unknown>): CustomerRecord {
  const customerId = item.customerId;
  if (typeof customerId !== 'string' || customerId === '') {
    throw new CorruptRecordError('a customers-table item has no customerId string: fix or remove it');
  }
  const status = item.subscriptionStatus;
  if (status !== undefined && status !== null && !isSubscriptionStatus(status)) {
    fail(customerId, 'subscriptionStatus', 'a Stripe subscription status');
  }
  const usageBlock = item.usageBlock;
  if (usageBlock !== undefined && usageBlock !== null && usageBlock !== 'credits_exhausted' && usageBlock !== 'quota_exceeded') {
    fail(customerId, 'usageBlock', '"credits_exhausted" or "quota_exceeded"');
  }
  let entitlements: string[] | undefined;
  const rawEntitlements = item.entitlements;
  if (rawEntitlements !== undefined && rawEntitlements !== null) {
    // A list is what the webhook writes; a string set is accepted too (hand edits, other tools).
    const values: unknown[] = Array.isArray(rawEntitlements)
      ? rawEntitlements
      : rawEntitlements instanceof Set
        ? [...(rawEntitlements as Set<unknown>)]
        : fail(customerId, 'entitlements', 'a list of strings');
    if (!values.every((v): v is string => typeof v === 'string')) fail(customerId, 'entitlements', 'a list of strings');
    entitlements = values;
  }

  const apiKeys: Record<string, ApiKeyRecord> = {};
  for (const [name, value] of Object.entries(item)) {
    if (!name.startsWith(KEY_ATTRIBUTE_PREFIX)) continue;
    const keyId = name.slice(KEY_ATTRIBUTE_PREFIX.length);
    if (!KEY_ID.test(keyId)) fail(customerId, name, 'named key_<8 letters or digits>');
    apiKeys[keyId] = toApiKeyRecord(value, name, customerId);
  }

  return withoutUndefined<CustomerRecord>({
    customerId,
    subscriptionId: optionalString(item, 'subscriptionId', customerId),
    subscriptionStatus: status ?? undefined,
    plan: optionalString(item, 'plan', customerId),
    cancelAtPeriodEnd: optionalBoolean(item, 'cancelAtPeriodEnd', customerId),
    currentPeriodEnd: optionalNumber(item, 'currentPeriodEnd', customerId),
    pastDueSince: optionalNumber(item, 'pastDueSince', customerId),
    paymentActionRequired: optionalBoolean(item, 'paymentActionRequired', customerId),
    paymentUrl: optionalString(item, 'paymentUrl', customerId),
    entitlements,
    usageBlock: usageBlock ?? undefined,
    deleted: optionalBoolean(item, 'deleted', customerId),
    apiKeys,
    updatedAt: optionalString(item, 'updatedAt', customerId),
  });
}
