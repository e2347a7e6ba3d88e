import { DynamoDBDocumentClient, GetCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { hashApiKey, parseApiKey } from '../../../lambda/shared/customers/api-key';
import {
  createApiKey,
  CustomerDeletedError,
  KeyLimitError,
  KeyNotActiveError,
  KeyNotFoundError,
  listApiKeys,
  revokeApiKey,
  rotateApiKey,
  type ApiKeyStore,
} from '../../../lambda/shared/customers/keys';
import { ITEM_LIMITS } from '../../../lambda/shared/customers/item';
import { freshTables, type TestTables } from '../../support/dynamodb';

const NOW = new Date('2026-08-01T12:00:00Z');
let tables: TestTables;
let documents: DynamoDBDocumentClient;
let seq = 0;
const nextCustomer = (): string => `cus_Keys${++seq}`;

beforeAll(async () => {
  tables = await freshTables('apikeys');
  documents = DynamoDBDocumentClient.from(tables.client);
});
afterAll(() => tables.client.destroy());

const store = (now = NOW): ApiKeyStore => ({
  client: tables.client,
  tables: { customers: tables.names.customers, apiKeys: tables.names.apiKeys },
  now: () => now,
});

async function allStoredText(): Promise<string> {
  const customers = await documents.send(new ScanCommand({ TableName: tables.names.customers }));
  const index = await documents.send(new ScanCommand({ TableName: tables.names.apiKeys }));
  return JSON.stringify([customers.Items, index.Items]);
}

describe('createApiKey', () => {
  it('returns the key once and stores only its SHA-256, on the customer item and in the index', async () => {
    const customerId = nextCustomer();
    const created = await createApiKey(store(), { customerId, name: 'ci', environment: 'live' });
    expect(parseApiKey(created.key)).toEqual({ environment: 'live', customerId, keyId: created.keyId });
    expect(created).toMatchObject({ customerId, name: 'ci', state: 'active', createdAt: NOW.toISOString() });

    const { Item } = await documents.send(new GetCommand({ TableName: tables.names.customers, Key: { customerId } }));
    expect(Item![`key_${created.keyId}`]).toEqual({ hash: hashApiKey(created.key), name: 'ci', createdAt: NOW.toISOString() });
    const row = await documents.send(new GetCommand({ TableName: tables.names.apiKeys, Key: { keyId: created.keyId } }));
    expect(row.Item).toMatchObject({ keyId: created.keyId, customerId, environment: 'live' });

    const stored = await allStoredText();
    expect(stored).not.toContain(created.key);
    expect(stored).not.toContain(created.key.slice(-28, -6));
  });

  it('does not touch the payment fields the webhook wrote', async () => {
    const customerId = nextCustomer();
    await documents.send(
      new UpdateCommand({
        TableName: tables.names.customers,
        Key: { customerId },
        UpdateExpression: 'SET subscriptionStatus = :s, entitlements = :e',
        ExpressionAttributeValues: { ':s': 'active', ':e': ['pro'] },
      }),
    );
    await createApiKey(store(), { customerId });
    const { Item } = await documents.send(new GetCommand({ TableName: tables.names.customers, Key: { customerId } }));
    expect(Item).toMatchObject({ subscriptionStatus: 'active', entitlements: ['pro'] });
  });

  it('refuses a deleted customer, an invalid customer id and an expiry in the past', async () => {
    const customerId = nextCustomer();
    await documents.send(
      new UpdateCommand({ TableName: tables.names.customers, Key: { customerId }, UpdateExpression: 'SET deleted = :t', ExpressionAttributeValues: { ':t': true } }),
    );
    await expect(createApiKey(store(), { customerId })).rejects.toThrow(CustomerDeletedError);
    await expect(createApiKey(store(), { customerId: 'acct_1' })).rejects.toThrow(/invalid customer id "acct_1"/);
    await expect(createApiKey(store(), { customerId: nextCustomer(), expiresAt: NOW })).rejects.toThrow(/not in the future/);
  });
});

describe('listApiKeys', () => {
  it('lists keys oldest first with their state and never their hash', async () => {
    const customerId = nextCustomer();
    const first = await createApiKey(store(new Date(NOW.getTime() - 2000)), { customerId, name: 'first' });
    const second = await createApiKey(store(new Date(NOW.getTime() - 1000)), { customerId, expiresAt: new Date(NOW.getTime() - 500) });
    // Created while the second key still worked: a key write prunes the keys that can no longer authenticate.
    const third = await createApiKey(store(new Date(NOW.getTime() - 700)), { customerId });
    await revokeApiKey(store(), first.keyId);
    const keys = await listApiKeys(store(), customerId);
    expect(keys.map((k) => [k.keyId, k.state])).toEqual([
      [first.keyId, 'revoked'],
      [second.keyId, 'expired'],
      [third.keyId, 'active'],
    ]);
    expect(JSON.stringify(keys)).not.toContain(hashApiKey(third.key));
    expect(keys[0]).not.toHaveProperty('hash');
  });

  it('returns nothing for an unknown customer', async () => {
    await expect(listApiKeys(store(), 'cus_Unknown')).resolves.toEqual([]);
  });
});

describe('revokeApiKey', () => {
  it('revokes at once and keeps the first revocation time when revoked again', async () => {
    const { keyId } = await createApiKey(store(), { customerId: nextCustomer() });
    const revoked = await revokeApiKey(store(), keyId);
    expect(revoked).toMatchObject({ keyId, state: 'revoked', revokedAt: NOW.toISOString() });
    const again = await revokeApiKey(store(new Date(NOW.getTime() + 5000)), keyId);
    expect(again.revokedAt).toBe(NOW.toISOString());
  });

  it('says whether this call revoked the key or it was already revoked', async () => {
    const { keyId } = await createApiKey(store(), { customerId: nextCustomer() });
    expect(await revokeApiKey(store(), keyId)).toMatchObject({ alreadyRevoked: false, revokedAt: NOW.toISOString() });
    expect(await revokeApiKey(store(new Date(NOW.getTime() + 5000)), keyId)).toMatchObject({ alreadyRevoked: true, revokedAt: NOW.toISOString() });
  });

  it('throws KeyNotFoundError for an unknown or malformed key id', async () => {
    await expect(revokeApiKey(store(), 'Zz9Zz9Zz')).rejects.toThrow(KeyNotFoundError);
    await expect(revokeApiKey(store(), 'no such key')).rejects.toThrow(KeyNotFoundError);
  });
});

describe('rotateApiKey', () => {
  it('issues a new key and expires the old one when the overlap ends (24 h by default)', async () => {
    const customerId = nextCustomer();
    const old = await createApiKey(store(), { customerId, name: 'mobile' });
    const { created, previous } = await rotateApiKey(store(), old.keyId);
    expect(created).toMatchObject({ customerId, name: 'mobile', state: 'active' });
    expect(created.key).not.toBe(old.key);
    expect(previous).toMatchObject({ keyId: old.keyId, replacedBy: created.keyId, state: 'active', expiresAt: new Date(NOW.getTime() + 86_400_000).toISOString() });
    const later = await listApiKeys(store(new Date(NOW.getTime() + 86_400_000)), customerId);
    expect(later.map((k) => [k.keyId, k.state])).toEqual(
      expect.arrayContaining([
        [old.keyId, 'expired'],
        [created.keyId, 'active'],
      ]),
    );
  });

  it('keeps an earlier expiry of the old key', async () => {
    const old = await createApiKey(store(), { customerId: nextCustomer(), expiresAt: new Date(NOW.getTime() + 60_000) });
    const { previous } = await rotateApiKey(store(), old.keyId, { overlapSeconds: 3600 });
    expect(previous.expiresAt).toBe(new Date(NOW.getTime() + 60_000).toISOString());
  });

  it('refuses to rotate a revoked, expired or already rotated key', async () => {
    const revoked = await createApiKey(store(), { customerId: nextCustomer() });
    await revokeApiKey(store(), revoked.keyId);
    await expect(rotateApiKey(store(), revoked.keyId)).rejects.toThrow(KeyNotActiveError);
    const rotated = await createApiKey(store(), { customerId: nextCustomer() });
    await rotateApiKey(store(), rotated.keyId);
    await expect(rotateApiKey(store(), rotated.keyId)).rejects.toThrow(/already rotated/);
    await expect(rotateApiKey(store(), 'Zz9Zz9Zz')).rejects.toThrow(KeyNotFoundError);
    await expect(rotateApiKey(store(), rotated.keyId, { overlapSeconds: -1 })).rejects.toThrow(/overlap -1 s is invalid/);
  });
});

describe('bounded keys', () => {
  it('removes revoked and expired keys from the item when a key is written, and keeps live ones', async () => {
    const customerId = nextCustomer();
    const revoked = await createApiKey(store(), { customerId });
    const expiring = await createApiKey(store(), { customerId, expiresAt: new Date(NOW.getTime() + 1000) });
    const live = await createApiKey(store(), { customerId });
    await revokeApiKey(store(), revoked.keyId);
    const later = new Date(NOW.getTime() + 1000);
    const created = await createApiKey(store(later), { customerId });
    const { Item } = await documents.send(new GetCommand({ TableName: tables.names.customers, Key: { customerId } }));
    expect(Object.keys(Item!).filter((name) => name.startsWith('key_')).sort()).toEqual([`key_${created.keyId}`, `key_${live.keyId}`].sort());
    expect(Item).not.toHaveProperty(`key_${expiring.keyId}`);
    await expect(revokeApiKey(store(later), revoked.keyId)).rejects.toThrow(KeyNotFoundError);
  });

  it(`refuses a key beyond ${ITEM_LIMITS.liveKeys} live ones with an error that says what to do, and accepts it once one is revoked`, async () => {
    const customerId = nextCustomer();
    const keys = [];
    for (let i = 0; i < ITEM_LIMITS.liveKeys; i++) keys.push(await createApiKey(store(), { customerId }));
    await expect(createApiKey(store(), { customerId })).rejects.toThrow(KeyLimitError);
    await expect(createApiKey(store(), { customerId })).rejects.toThrow(/has 20 live API keys.*revoke one/);
    await expect(rotateApiKey(store(), keys[0]!.keyId)).rejects.toThrow(KeyLimitError);
    await revokeApiKey(store(), keys[0]!.keyId);
    await expect(createApiKey(store(), { customerId })).resolves.toMatchObject({ state: 'active' });
    expect(await listApiKeys(store(), customerId)).toHaveLength(ITEM_LIMITS.liveKeys);
  });

  it('cannot be raced past the cap by concurrent creations', async () => {
    const customerId = nextCustomer();
    for (let i = 0; i < ITEM_LIMITS.liveKeys - 2; i++) await createApiKey(store(), { customerId });
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => createApiKey(store(), { customerId })));
    const live = (await listApiKeys(store(), customerId)).filter((k) => k.state === 'active');
    expect(live.length).toBeLessThanOrEqual(ITEM_LIMITS.liveKeys);
    expect(results.filter((r) => r.status === 'fulfilled').length).toBe(live.length - (ITEM_LIMITS.liveKeys - 2));
  });

  it('refuses a key name longer than the item keeps', async () => {
    await expect(createApiKey(store(), { customerId: nextCustomer(), name: 'x'.repeat(65) })).rejects.toThrow(/key name of 65 characters is too long/);
  });
});
