import { TransactionCanceledException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { CUSTOMER_ID, issueApiKey, KEY_ID, type KeyEnvironment } from '../api-key';
import { keyAttributeName, toCustomerRecord } from '../customer-item';
import type { ApiKeyRecord } from '../model';

/**
 * API key management (create, list, revoke, rotate) for the CLI, the local run and the tests. The
 * customer's item holds each key as `key_<keyId>` (what the authorizer reads); the apiKeys table is an
 * index keyId → customerId for managing a key by its id alone. The plaintext key is returned once by
 * create and rotate and is stored, logged and echoed nowhere.
 */

export interface ApiKeyStore {
  readonly client: DynamoDBClient;
  readonly tables: { readonly customers: string; readonly apiKeys: string };
  /** @default () => new Date() */
  readonly now?: () => Date;
}

export type ApiKeyState = 'active' | 'revoked' | 'expired';

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
/** The key changed between read and write (a concurrent revoke or rotate): read it again and retry. */
export class KeyConflictError extends Error {
  override readonly name = 'KeyConflictError';
}

interface IndexRow {
  readonly keyId: string;
  readonly customerId: string;
  readonly environment?: KeyEnvironment;
}

const documents = (store: ApiKeyStore): DynamoDBDocumentClient => DynamoDBDocumentClient.from(store.client);
const clock = (store: ApiKeyStore): Date => (store.now ?? ((): Date => new Date()))();

export function keyState(record: ApiKeyRecord, now: Date): ApiKeyState {
  if (record.revokedAt !== undefined) return 'revoked';
  if (record.expiresAt !== undefined && Date.parse(record.expiresAt) <= now.getTime()) return 'expired';
  return 'active';
}

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

async function readKeyRecord(store: ApiKeyStore, row: IndexRow): Promise<ApiKeyRecord> {
  const { Item } = await documents(store).send(
    new GetCommand({ TableName: store.tables.customers, Key: { customerId: row.customerId }, ConsistentRead: true }),
  );
  const record = Item === undefined ? undefined : toCustomerRecord(Item).apiKeys?.[row.keyId];
  if (record === undefined) throw new KeyNotFoundError(`no API key "${row.keyId}" on customer ${row.customerId}: check the id with keys list`);
  return record;
}

/** Writes the new key's attribute on the customer item and its index row in one transaction. */
async function writeNewKey(
  store: ApiKeyStore,
  options: { customerId: string; environment: KeyEnvironment; name?: string; expiresAt?: Date },
  now: Date,
  extra?: { oldKeyId: string; oldRecord: ApiKeyRecord; oldExpiresAt: string },
): Promise<CreatedApiKey> {
  for (let attempt = 1; ; attempt++) {
    const issued = issueApiKey(options.customerId, options.environment);
    const record: ApiKeyRecord = {
      hash: issued.hash,
      createdAt: now.toISOString(),
      ...(options.name === undefined ? {} : { name: options.name }),
      ...(options.expiresAt === undefined ? {} : { expiresAt: options.expiresAt.toISOString() }),
    };
    const names: Record<string, string> = { '#new': keyAttributeName(issued.keyId), '#deleted': 'deleted' };
    const values: Record<string, unknown> = { ':record': record, ':true': true };
    let update = 'SET #new = :record';
    let condition = 'attribute_not_exists(#new) AND (attribute_not_exists(#deleted) OR #deleted <> :true)';
    if (extra !== undefined) {
      names['#old'] = keyAttributeName(extra.oldKeyId);
      values[':oldExpiresAt'] = extra.oldExpiresAt;
      values[':newKeyId'] = issued.keyId;
      values[':oldCreatedAt'] = extra.oldRecord.createdAt;
      update += ', #old.expiresAt = :oldExpiresAt, #old.replacedBy = :newKeyId';
      // Optimistic: the old key is still the one read (same creation, not revoked, not rotated since).
      condition += ' AND #old.createdAt = :oldCreatedAt AND attribute_not_exists(#old.revokedAt) AND attribute_not_exists(#old.replacedBy)';
    }
    try {
      await documents(store).send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: store.tables.customers,
                Key: { customerId: options.customerId },
                UpdateExpression: update,
                ConditionExpression: condition,
                ExpressionAttributeNames: names,
                ExpressionAttributeValues: values,
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
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
                  ...(options.name === undefined ? {} : { name: options.name }),
                },
                ConditionExpression: 'attribute_not_exists(keyId)',
              },
            },
          ],
        }),
      );
      return { ...summary(options.customerId, issued.keyId, record, now), key: issued.key };
    } catch (err) {
      if (conditionFailed(err, 0)) {
        const old = (err as TransactionCanceledException).CancellationReasons?.[0]?.Item;
        if (old?.deleted?.BOOL === true) {
          throw new CustomerDeletedError(`customer ${options.customerId} was deleted in Stripe: it cannot get API keys`);
        }
        if (extra !== undefined) {
          throw new KeyConflictError(`API key ${extra.oldKeyId} changed while it was being rotated: check it with keys list and retry`);
        }
      }
      // A key id collision (47 random bits): draw another key.
      if ((conditionFailed(err, 0) || conditionFailed(err, 1)) && attempt < 3) continue;
      throw err;
    }
  }
}

export async function createApiKey(store: ApiKeyStore, options: CreateApiKeyOptions): Promise<CreatedApiKey> {
  checkCustomerId(options.customerId);
  const now = clock(store);
  if (options.expiresAt !== undefined && !(options.expiresAt.getTime() > now.getTime())) {
    throw new RangeError(`expiry ${options.expiresAt.toISOString()} is not in the future: give a later time`);
  }
  return writeNewKey(store, { ...options, environment: options.environment ?? 'test' }, now);
}

/** The customer's keys, oldest first; never their hashes. */
export async function listApiKeys(store: ApiKeyStore, customerId: string): Promise<ApiKeySummary[]> {
  checkCustomerId(customerId);
  const now = clock(store);
  const { Item } = await documents(store).send(new GetCommand({ TableName: store.tables.customers, Key: { customerId }, ConsistentRead: true }));
  if (Item === undefined) return [];
  const keys = toCustomerRecord(Item).apiKeys ?? {};
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
      UpdateExpression: 'SET #key.revokedAt = if_not_exists(#key.revokedAt, :now)',
      ConditionExpression: 'attribute_exists(#key)',
      ExpressionAttributeNames: { '#key': keyAttributeName(keyId) },
      ExpressionAttributeValues: { ':now': now.toISOString() },
      ReturnValues: 'ALL_OLD',
    }),
  ).catch((err: unknown) => {
    if (err instanceof Error && err.name === 'ConditionalCheckFailedException') {
      throw new KeyNotFoundError(`no API key "${keyId}" on customer ${row.customerId}: check the id with keys list`);
    }
    throw err;
  });
  // The item before the update tells whether this call revoked the key.
  const before = toCustomerRecord(Attributes ?? {}).apiKeys?.[keyId];
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
  const row = await readIndexRow(store, keyId);
  const old = await readKeyRecord(store, row);
  const now = clock(store);
  if (keyState(old, now) !== 'active') {
    throw new KeyNotActiveError(`API key ${keyId} is ${keyState(old, now)}: create a new key instead of rotating it`);
  }
  if (old.replacedBy !== undefined) {
    throw new KeyNotActiveError(`API key ${keyId} was already rotated to ${old.replacedBy}: rotate that key instead`);
  }
  const overlapEnd = now.getTime() + overlapSeconds * 1000;
  const oldExpiresAt = new Date(old.expiresAt === undefined ? overlapEnd : Math.min(overlapEnd, Date.parse(old.expiresAt)));
  const created = await writeNewKey(
    store,
    {
      customerId: row.customerId,
      environment: row.environment ?? 'test',
      ...(options.name ?? old.name ? { name: options.name ?? old.name } : {}),
    },
    now,
    { oldKeyId: keyId, oldRecord: old, oldExpiresAt: oldExpiresAt.toISOString() },
  );
  const previous = summary(row.customerId, keyId, { ...old, expiresAt: oldExpiresAt.toISOString(), replacedBy: created.keyId }, now);
  return { created, previous };
}
