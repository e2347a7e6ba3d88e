import { TransactionCanceledException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { CUSTOMER_ID, issueApiKey, KEY_ID, type KeyEnvironment } from './api-key';
import { attr, decodeCustomerItem, fieldOf, ITEM_LIMITS, keyAttributeName } from './item';
import { keyState, type ApiKeyRecord, type ApiKeyState, type CustomerRecord } from './record';
import { readCustomer } from './store';

/**
 * API key management (create, list, revoke, rotate) for the CLI, the local run and the tests. The
 * customer's item holds each key as `key_<keyId>` (what the authorizer reads); the apiKeys table is an
 * index keyId → customerId for managing a key by its id alone. The plaintext key is returned once by
 * create and rotate and is stored, logged and echoed nowhere.
 *
 * The item stays bounded: every key write removes the keys that can never authenticate again (revoked
 * or expired), and a customer holds at most ITEM_LIMITS.liveKeys live keys. Every key write bumps
 * `keysVersion`, and a new key is written only if the version is still the one its checks were made on.
 */

export interface ApiKeyStore {
  readonly client: DynamoDBClient;
  readonly tables: { readonly customers: string; readonly apiKeys: string };
  /** @default () => new Date() */
  readonly now?: () => Date;
}

export type { ApiKeyState };

export interface ApiKeySummary {
  readonly keyId: string;
  readonly customerId: string;
  readonly name?: string;
  readonly createdAt: string;
  readonly expiresAt?: string;
  readonly revokedAt?: string;
  readonly replacedBy?: string;
  readonly state: ApiKeyState;
}

export interface CreatedApiKey extends ApiKeySummary {
  /** The key itself: show it once, it cannot be recovered. */
  readonly key: string;
}

export interface CreateApiKeyOptions {
  readonly customerId: string;
  readonly name?: string;
  /** @default 'test' */
  readonly environment?: KeyEnvironment;
  /** @default - never expires */
  readonly expiresAt?: Date;
}

export interface RotateApiKeyOptions {
  /** How long the old key keeps working. @default DEFAULT_ROTATION_OVERLAP_SECONDS (24 h) */
  readonly overlapSeconds?: number;
  /** @default - the old key's name */
  readonly name?: string;
}

export const DEFAULT_ROTATION_OVERLAP_SECONDS = 24 * 60 * 60;

export class KeyNotFoundError extends Error {
  override readonly name = 'KeyNotFoundError';
}
/** The key is revoked or expired: it cannot be rotated. */
export class KeyNotActiveError extends Error {
  override readonly name = 'KeyNotActiveError';
}
export class CustomerDeletedError extends Error {
  override readonly name = 'CustomerDeletedError';
}
/** The customer's keys kept changing while a key was being written: retry. */
export class KeyConflictError extends Error {
  override readonly name = 'KeyConflictError';
}
/** The customer already holds the most live keys allowed. */
export class KeyLimitError extends Error {
  override readonly name = 'KeyLimitError';
}

/** The fields of a key attribute that key writes name. */
const KEY_FIELD = {
  expiresAt: fieldOf<ApiKeyRecord>('expiresAt'),
  replacedBy: fieldOf<ApiKeyRecord>('replacedBy'),
  revokedAt: fieldOf<ApiKeyRecord>('revokedAt'),
};

interface IndexRow {
  readonly keyId: string;
  readonly customerId: string;
  readonly environment?: KeyEnvironment;
}

const documents = (store: ApiKeyStore): DynamoDBDocumentClient => DynamoDBDocumentClient.from(store.client);
const clock = (store: ApiKeyStore): Date => (store.now ?? ((): Date => new Date()))();

function summary(customerId: string, keyId: string, record: ApiKeyRecord, now: Date): ApiKeySummary {
  const { hash: _hash, ...visible } = record;
  return { keyId, customerId, ...visible, state: keyState(record, now) };
}

function checkCustomerId(customerId: string): void {
  if (!CUSTOMER_ID.test(customerId)) {
    throw new RangeError(`invalid customer id "${customerId}": expected a Stripe customer id such as cus_NffrFeUfNV2Hib`);
  }
}

function checkKeyId(keyId: string): void {
  if (!KEY_ID.test(keyId)) throw new KeyNotFoundError(`no API key "${keyId}": key ids are 8 letters or digits (see keys list)`);
}

const conditionFailed = (err: unknown, index: number): boolean =>
  err instanceof TransactionCanceledException && err.CancellationReasons?.[index]?.Code === 'ConditionalCheckFailed';

async function readIndexRow(store: ApiKeyStore, keyId: string): Promise<IndexRow> {
  checkKeyId(keyId);
  const { Item } = await documents(store).send(new GetCommand({ TableName: store.tables.apiKeys, Key: { keyId }, ConsistentRead: true }));
  if (Item === undefined || typeof Item.customerId !== 'string') {
    throw new KeyNotFoundError(`no API key "${keyId}": check the id with keys list`);
  }
  return { keyId, customerId: Item.customerId, environment: Item.environment === 'live' ? 'live' : 'test' };
}

function checkName(name: string | undefined): void {
  if (name !== undefined && name.length > ITEM_LIMITS.keyNameLength) {
    throw new RangeError(`key name of ${name.length} characters is too long: give at most ${ITEM_LIMITS.keyNameLength}`);
  }
}

interface Rotation {
  readonly oldKeyId: string;
  readonly overlapSeconds: number;
}

/** What a new key's write depends on, checked on a fresh read: the customer, its live keys, the rotated key. */
function planWrite(customerId: string, current: CustomerRecord | undefined, now: Date, rotation: Rotation | undefined) {
  if (current?.deleted === true) throw new CustomerDeletedError(`customer ${customerId} was deleted in Stripe: it cannot get API keys`);
  const keys = current?.apiKeys ?? {};
  let old: { keyId: string; record: ApiKeyRecord; expiresAt: string } | undefined;
  if (rotation !== undefined) {
    const record = keys[rotation.oldKeyId];
    if (record === undefined) throw new KeyNotFoundError(`no API key "${rotation.oldKeyId}" on customer ${customerId}: check the id with keys list`);
    const state = keyState(record, now);
    if (state !== 'active') throw new KeyNotActiveError(`API key ${rotation.oldKeyId} is ${state}: create a new key instead of rotating it`);
    if (record.replacedBy !== undefined) {
      throw new KeyNotActiveError(`API key ${rotation.oldKeyId} was already rotated to ${record.replacedBy}: rotate that key instead`);
    }
    const overlapEnd = now.getTime() + rotation.overlapSeconds * 1000;
    const expiresAt = new Date(record.expiresAt === undefined ? overlapEnd : Math.min(overlapEnd, Date.parse(record.expiresAt))).toISOString();
    old = { keyId: rotation.oldKeyId, record, expiresAt };
  }
  const prunable = Object.keys(keys).filter((keyId) => keyState(keys[keyId]!, now) !== 'active');
  const live = Object.keys(keys).length - prunable.length;
  if (live >= ITEM_LIMITS.liveKeys) {
    throw new KeyLimitError(
      `customer ${customerId} has ${live} live API keys, the most one customer may hold: revoke one it no longer uses (keys revoke <keyId>) and retry`,
    );
  }
  return { old, prunable, version: current?.keysVersion };
}

/** Writes the new key's attribute on the customer item and its index row in one transaction. */
async function writeNewKey(
  store: ApiKeyStore,
  options: { customerId: string; environment: KeyEnvironment; name?: string; expiresAt?: Date },
  now: Date,
  rotation?: Rotation,
): Promise<{ created: CreatedApiKey; previous?: ApiKeySummary }> {
  for (let attempt = 1; ; attempt++) {
    const current = await readCustomer(store.client, store.tables.customers, options.customerId);
    const { old, prunable, version } = planWrite(options.customerId, current, now, rotation);
    const name = options.name ?? old?.record.name;
    const issued = issueApiKey(options.customerId, options.environment);
    const record: ApiKeyRecord = {
      hash: issued.hash,
      createdAt: now.toISOString(),
      ...(name === undefined ? {} : { name }),
      ...(options.expiresAt === undefined ? {} : { expiresAt: options.expiresAt.toISOString() }),
    };
    const names: Record<string, string> = { '#new': keyAttributeName(issued.keyId), '#version': attr('keysVersion') };
    const values: Record<string, unknown> = { ':record': record, ':next': (version ?? 0) + 1 };
    const sets = ['#new = :record', '#version = :next'];
    if (old !== undefined) {
      names['#old'] = keyAttributeName(old.keyId);
      values[':oldExpiresAt'] = old.expiresAt;
      values[':newKeyId'] = issued.keyId;
      sets.push(`#old.${KEY_FIELD.expiresAt} = :oldExpiresAt`, `#old.${KEY_FIELD.replacedBy} = :newKeyId`);
    }
    prunable.forEach((keyId, i) => (names[`#p${i}`] = keyAttributeName(keyId)));
    const removes = prunable.map((_, i) => `#p${i}`);
    if (version !== undefined) values[':version'] = version;
    // Nothing of the customer's keys (nor its deletion) changed since the read the checks above were made on.
    const condition = `attribute_not_exists(#new) AND ${version === undefined ? 'attribute_not_exists(#version)' : '#version = :version'}`;
    try {
      await documents(store).send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: store.tables.customers,
                Key: { customerId: options.customerId },
                UpdateExpression: `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}`,
                ConditionExpression: condition,
                ExpressionAttributeNames: names,
                ExpressionAttributeValues: values,
              },
            },
            {
              Put: {
                TableName: store.tables.apiKeys,
                Item: {
                  keyId: issued.keyId,
                  customerId: options.customerId,
                  environment: options.environment,
                  createdAt: record.createdAt,
                  ...(name === undefined ? {} : { name }),
                },
                ConditionExpression: 'attribute_not_exists(keyId)',
              },
            },
          ],
        }),
      );
      const created = { ...summary(options.customerId, issued.keyId, record, now), key: issued.key };
      if (old === undefined) return { created };
      return { created, previous: summary(options.customerId, old.keyId, { ...old.record, expiresAt: old.expiresAt, replacedBy: issued.keyId }, now) };
    } catch (err) {
      // A concurrent key write (or deletion) since the read, or a key id collision (47 random bits): read again.
      if (!(conditionFailed(err, 0) || conditionFailed(err, 1))) throw err;
      if (attempt >= 3) {
        throw new KeyConflictError(`the API keys of customer ${options.customerId} kept changing while a key was being written: retry`);
      }
    }
  }
}

export async function createApiKey(store: ApiKeyStore, options: CreateApiKeyOptions): Promise<CreatedApiKey> {
  checkCustomerId(options.customerId);
  const now = clock(store);
  if (options.expiresAt !== undefined && !(options.expiresAt.getTime() > now.getTime())) {
    throw new RangeError(`expiry ${options.expiresAt.toISOString()} is not in the future: give a later time`);
  }
  checkName(options.name);
  return (await writeNewKey(store, { ...options, environment: options.environment ?? 'test' }, now)).created;
}

/** The customer's keys, oldest first; never their hashes. */
export async function listApiKeys(store: ApiKeyStore, customerId: string): Promise<ApiKeySummary[]> {
  checkCustomerId(customerId);
  const now = clock(store);
  const keys = (await readCustomer(store.client, store.tables.customers, customerId))?.apiKeys ?? {};
  return Object.entries(keys)
    .map(([keyId, record]) => summary(customerId, keyId, record, now))
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.keyId.localeCompare(b.keyId));
}

export interface RevokedApiKey extends ApiKeySummary {
  /** It was revoked before this call, at `revokedAt`; nothing changed. */
  readonly alreadyRevoked: boolean;
}

/** Revokes a key at once. Revoking a revoked key keeps its first revocation time and says so. */
export async function revokeApiKey(store: ApiKeyStore, keyId: string): Promise<RevokedApiKey> {
  const row = await readIndexRow(store, keyId);
  const now = clock(store);
  const { Attributes } = await documents(store).send(
    new UpdateCommand({
      TableName: store.tables.customers,
      Key: { customerId: row.customerId },
      UpdateExpression: `SET #key.${KEY_FIELD.revokedAt} = if_not_exists(#key.${KEY_FIELD.revokedAt}, :now) ADD ${attr('keysVersion')} :one`,
      ConditionExpression: 'attribute_exists(#key)',
      ExpressionAttributeNames: { '#key': keyAttributeName(keyId) },
      ExpressionAttributeValues: { ':now': now.toISOString(), ':one': 1 },
      ReturnValues: 'ALL_OLD',
    }),
  ).catch((err: unknown) => {
    if (err instanceof Error && err.name === 'ConditionalCheckFailedException') {
      throw new KeyNotFoundError(`no API key "${keyId}" on customer ${row.customerId}: check the id with keys list`);
    }
    throw err;
  });
  // The item before the update tells whether this call revoked the key.
  const before = decodeCustomerItem(Attributes ?? {}).apiKeys?.[keyId];
  if (before === undefined) throw new KeyNotFoundError(`no API key "${keyId}" on customer ${row.customerId}`);
  const alreadyRevoked = before.revokedAt !== undefined;
  const record = alreadyRevoked ? before : { ...before, revokedAt: now.toISOString() };
  return { ...summary(row.customerId, keyId, record, now), alreadyRevoked };
}

/**
 * Issues a replacement key; the old one keeps working until the overlap ends (or its own earlier
 * expiry), so a client can switch without downtime.
 */
export async function rotateApiKey(
  store: ApiKeyStore,
  keyId: string,
  options: RotateApiKeyOptions = {},
): Promise<{ readonly created: CreatedApiKey; readonly previous: ApiKeySummary }> {
  const overlapSeconds = options.overlapSeconds ?? DEFAULT_ROTATION_OVERLAP_SECONDS;
  if (!Number.isFinite(overlapSeconds) || overlapSeconds < 0) {
    throw new RangeError(`overlap ${overlapSeconds} s is invalid: give a number of seconds ≥ 0`);
  }
  checkName(options.name);
  const row = await readIndexRow(store, keyId);
  const { created, previous } = await writeNewKey(
    store,
    { customerId: row.customerId, environment: row.environment ?? 'test', ...(options.name === undefined ? {} : { name: options.name }) },
    clock(store),
    { oldKeyId: keyId, overlapSeconds },
  );
  return { created, previous: previous! };
}
