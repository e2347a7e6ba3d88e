import { issueApiKey, parseApiKey } from '../../../lambda/shared/customers/api-key';
import { authenticateKey, keyRefusal } from '../../../lambda/shared/customers/authenticate';
import type { ApiKeyRecord, CustomerRecord } from '../../../lambda/shared/customers/record';

const AT = new Date('2026-08-01T12:00:00.000Z');
const issued = issueApiKey('cus_Auth');
const parsed = parseApiKey(issued.key)!;
const other = issueApiKey('cus_Auth');

const customer = (key: Partial<ApiKeyRecord> = {}, patch: Partial<CustomerRecord> = {}): CustomerRecord => ({
  customerId: 'cus_Auth',
  subscriptions: {},
  invoices: {},
  pastDue: {},
  apiKeys: { [issued.keyId]: { hash: issued.hash, createdAt: '2026-07-01T00:00:00.000Z', ...key } },
  ...patch,
});

describe('authenticateKey', () => {
  it.each([
    ['an active key of a live customer', customer(), undefined],
    ['no customer item', undefined, 'unknown_key'],
    ['no such key on the customer', { ...customer(), apiKeys: {} }, 'unknown_key'],
    ['another key stored under this key id', customer({ hash: other.hash }), 'unknown_key'],
    ['a revoked key', customer({ revokedAt: '2026-07-31T00:00:00.000Z' }), 'revoked_key'],
    ['a key that expired', customer({ expiresAt: '2026-08-01T12:00:00.000Z' }), 'expired_key'],
    ['a key that expires later', customer({ expiresAt: '2026-08-01T12:00:01.000Z' }), undefined],
    ['a customer deleted in Stripe', customer({}, { deleted: true }), 'deleted_customer'],
    ['a revoked key of a deleted customer', customer({ revokedAt: '2026-07-31T00:00:00.000Z' }, { deleted: true }), 'revoked_key'],
  ] as const)('answers %s with %s', (_, record, refusal) => {
    expect(authenticateKey(record, issued.key, parsed, AT)).toBe(refusal);
  });

  it('refuses a presented key whose hash is not the stored one, even under the right key id', () => {
    const forged = issued.key.slice(0, -1) + (issued.key.endsWith('a') ? 'b' : 'a');
    expect(authenticateKey(customer(), forged, parsed, AT)).toBe('unknown_key');
  });
});

describe('keyRefusal', () => {
  it.each([
    ['an active key', customer(), undefined],
    ['a key no longer stored', { ...customer(), apiKeys: {} }, 'unknown_key'],
    ['a revoked key', customer({ revokedAt: '2026-07-31T00:00:00.000Z' }), 'revoked_key'],
    ['an expired key', customer({ expiresAt: '2026-07-31T00:00:00.000Z' }), 'expired_key'],
    ['a deleted customer', customer({}, { deleted: true }), 'deleted_customer'],
  ] as const)('answers a session on %s with %s', (_, record, refusal) => {
    expect(keyRefusal(record, issued.keyId, AT)).toBe(refusal);
  });
});
