import { DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoCustomerReader } from '../../lambda/authorizer/customer-store';
import { makeAuthorizerHandler } from '../../lambda/authorizer/handler';
import { evaluatePolicy } from '../../lambda/authorizer/policy';
import { issueApiKey } from '../../lambda/shared/customers/api-key';
import { PAYMENT_PROBLEMS, type PaymentReason } from '../../lambda/shared/problems';
import { createApiKey, revokeApiKey, rotateApiKey } from '../../lambda/shared/customers/keys';
import { freshTables, setCustomerAttributes, type TestTables } from '../support/dynamodb';
import { quietObservability } from '../support/observability';
import { countRequests } from '../../bench/lib/request-counter';
import { authorizerEvent, BASE, bearer, itemOf, oneSubscription, settingsFor, type OneSubscription } from './support';
import { tamperLastCharacter } from '../support/keys';
import { createObservability } from '../../lambda/shared/observability';

const NOW = new Date('2026-08-01T12:00:00Z');
const T = NOW.getTime() / 1000;
const GRACE = 72 * 3600;
const INVOICE_URL = 'https://invoice.stripe.com/i/acct_1/test_inv';

let tables: TestTables;
let documents: DynamoDBDocumentClient;
let seq = 0;

beforeAll(async () => {
  tables = await freshTables('authorizer');
  documents = DynamoDBDocumentClient.from(tables.client);
});
afterAll(() => tables.client.destroy());

const store = (now = NOW) => ({ client: tables.client, tables: { customers: tables.names.customers, apiKeys: tables.names.apiKeys }, now: () => now });

/** A customer with payment state written as the webhook writes it, and a key made by key management. */
async function customerWithKey(state: OneSubscription): Promise<{ customerId: string; key: string; keyId: string }> {
  const customerId = `cus_Int${++seq}x${Math.random().toString(36).slice(2, 8)}`;
  const { key, keyId } = await createApiKey(store(), { customerId, name: 'integration' });
  const { customerId: _id, ...item } = itemOf(oneSubscription(customerId, { entitlements: ['premium-reports'], paymentUrl: INVOICE_URL, ...state }, T));
  await setCustomerAttributes(documents, tables.names.customers, customerId, item);
  return { customerId, key, keyId };
}

const handlerAt = (now = NOW, observability = quietObservability()) =>
  makeAuthorizerHandler({
    customers: new DynamoCustomerReader(tables.client, tables.names.customers),
    settings: settingsFor(tables.names.customers),
    now: () => now,
    observability,
  });

type Row = { label: string; state: OneSubscription; reason: PaymentReason | 'allow'; paymentUrl?: string };
const TABLE: Row[] = [
  { label: 'no subscription', state: {}, reason: 'no_subscription', paymentUrl: 'https://pay.example/checkout' },
  { label: 'active', state: { subscriptionStatus: 'active' }, reason: 'allow' },
  { label: 'trialing', state: { subscriptionStatus: 'trialing' }, reason: 'allow' },
  { label: 'past_due in grace', state: { subscriptionStatus: 'past_due', pastDueSince: T - 3600 }, reason: 'allow' },
  { label: 'past_due after grace', state: { subscriptionStatus: 'past_due', pastDueSince: T - GRACE }, reason: 'payment_failed', paymentUrl: INVOICE_URL },
  {
    label: 'past_due after grace needing action',
    state: { subscriptionStatus: 'past_due', pastDueSince: T - GRACE, paymentActionRequired: true },
    reason: 'payment_action_required',
    paymentUrl: INVOICE_URL,
  },
  { label: 'unpaid', state: { subscriptionStatus: 'unpaid' }, reason: 'payment_failed', paymentUrl: INVOICE_URL },
  { label: 'canceled', state: { subscriptionStatus: 'canceled' }, reason: 'subscription_canceled', paymentUrl: 'https://pay.example/checkout' },
  { label: 'canceled at period end, period running', state: { subscriptionStatus: 'canceled', cancelAtPeriodEnd: true, currentPeriodEnd: T + 60 }, reason: 'allow' },
  { label: 'incomplete_expired', state: { subscriptionStatus: 'incomplete_expired' }, reason: 'subscription_canceled' },
  { label: 'incomplete', state: { subscriptionStatus: 'incomplete' }, reason: 'payment_action_required', paymentUrl: INVOICE_URL },
  { label: 'paused', state: { subscriptionStatus: 'paused' }, reason: 'trial_ended', paymentUrl: 'https://billing.example/portal' },
  { label: 'active without the entitlement', state: { subscriptionStatus: 'active', entitlements: [] }, reason: 'upgrade_required' },
  { label: 'active, credits used up', state: { subscriptionStatus: 'active', usageBlock: 'credits_exhausted' }, reason: 'credits_exhausted' },
  { label: 'active, quota used up', state: { subscriptionStatus: 'active', usageBlock: 'quota_exceeded' }, reason: 'quota_exceeded' },
];

describe('authorizer handler against DynamoDB Local', () => {
  it.each(TABLE)('answers $label with $reason through the handler in one read', async ({ state, reason, paymentUrl }) => {
    const { customerId, key, keyId } = await customerWithKey(state);
    const requests = countRequests(tables.client);
    const policy = await handlerAt()(authorizerEvent('quotes', bearer(key)));
    expect(requests.counts.attempts).toEqual({ GetItem: 1 });

    expect(policy.principalId).toBe(customerId);
    expect(policy.context).toMatchObject({ customerId, keyId });
    const verdict = (path: string): string => evaluatePolicy(policy.policyDocument, `${BASE}/GET${path}`);
    expect(verdict('/v1/ping')).toBe('Allow');
    if (reason === 'allow') {
      expect(verdict('/v1/quotes')).toBe('Allow');
      expect(verdict('/v1/reports/r9')).toBe('Allow');
      expect(policy.context).not.toHaveProperty('reason');
    } else {
      const deniedAll = reason !== 'upgrade_required';
      expect(verdict('/v1/quotes')).toBe(deniedAll ? 'Deny' : 'Allow');
      expect(verdict('/v1/reports/r9')).toBe('Deny');
      expect(policy.context).toMatchObject({ reason, title: PAYMENT_PROBLEMS[reason].title, detail: PAYMENT_PROBLEMS[reason].detail });
      // A configured checkout URL (a Payment Link) carries the customer, so the payment can land on it.
      const expected = paymentUrl === 'https://pay.example/checkout' ? `${paymentUrl}?client_reference_id=${customerId}` : paymentUrl;
      if (expected !== undefined) expect(policy.context!.paymentUrl).toBe(expected);
    }
    for (const value of Object.values(policy.context ?? {})) expect(['string', 'number', 'boolean']).toContain(typeof value);
  });

  it('lets the free tier through for every payment state', async () => {
    for (const { state } of TABLE) {
      const { key } = await customerWithKey(state);
      const policy = await handlerAt()(authorizerEvent('ping', bearer(key)));
      expect(evaluatePolicy(policy.policyDocument, `${BASE}/GET/v1/ping`)).toBe('Allow');
    }
  });

  it('reads the Authorization header whatever its case', async () => {
    const { key } = await customerWithKey({ subscriptionStatus: 'active' });
    for (const name of ['authorization', 'AUTHORIZATION', 'aUtHoRiZaTiOn']) {
      const policy = await handlerAt()(authorizerEvent('quotes', { [name]: `bearer ${key}` }));
      expect(evaluatePolicy(policy.policyDocument, `${BASE}/GET/v1/quotes`)).toBe('Allow');
    }
  });

  it.each([
    ['no headers', null],
    ['no Authorization header', { Accept: 'application/json' }],
    ['an empty header', { Authorization: '' }],
    ['a Basic credential', { Authorization: 'Basic dXNlcjpwYXNz' }],
    ['a bare key without Bearer', { Authorization: issueApiKey('cus_Nobody').key }],
    ['a bad checksum', { Authorization: `Bearer ${tamperLastCharacter(issueApiKey('cus_Nobody').key)}` }],
    ['10 KB of garbage', { Authorization: `Bearer ${'x'.repeat(10_240)}` }],
    ['10 KB of key-shaped garbage', { Authorization: `Bearer tg_test_cus_A_${'A'.repeat(10_240)}` }],
    ['unicode garbage', { Authorization: 'Bearer tg_test_cus_Ä_😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀' }],
    ['control characters', { Authorization: 'Bearer tg_test_cus_A_\u0000\u0001\u2028' }],
  ])('throws exactly Unauthorized with zero reads for %s', async (_label, headers) => {
    const requests = countRequests(tables.client);
    await expect(handlerAt()(authorizerEvent('quotes', headers))).rejects.toThrow(/^Unauthorized$/);
    expect(requests.total()).toBe(0);
  });

  it('throws Unauthorized for a well-formed key nobody issued, and for a customer that does not exist', async () => {
    const { customerId } = await customerWithKey({ subscriptionStatus: 'active' });
    await expect(handlerAt()(authorizerEvent('quotes', bearer(issueApiKey(customerId).key)))).rejects.toThrow(/^Unauthorized$/);
    await expect(handlerAt()(authorizerEvent('quotes', bearer(issueApiKey('cus_NeverSeen').key)))).rejects.toThrow(/^Unauthorized$/);
  });

  it('throws Unauthorized for a key whose id exists but whose secret differs', async () => {
    const { customerId, keyId, key } = await customerWithKey({ subscriptionStatus: 'active' });
    const forged = issueApiKey(customerId);
    // Same customer and key id, another secret, valid checksum.
    const body = `tg_test_${customerId}_${keyId}${forged.key.slice(-28, -6)}`;
    const { crc32 } = await import('node:zlib');
    const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
    let rest = crc32(body);
    let sum = '';
    for (let i = 0; i < 6; i++) {
      sum = alphabet[rest % 62]! + sum;
      rest = Math.floor(rest / 62);
    }
    expect(body + sum).not.toBe(key);
    await expect(handlerAt()(authorizerEvent('quotes', bearer(body + sum)))).rejects.toThrow(/^Unauthorized$/);
  });

  it('throws Unauthorized for a revoked key and keeps the customer other keys working', async () => {
    const { customerId, key, keyId } = await customerWithKey({ subscriptionStatus: 'active' });
    const other = await createApiKey(store(), { customerId });
    await revokeApiKey(store(), keyId);
    await expect(handlerAt()(authorizerEvent('quotes', bearer(key)))).rejects.toThrow(/^Unauthorized$/);
    const policy = await handlerAt()(authorizerEvent('quotes', bearer(other.key)));
    expect(evaluatePolicy(policy.policyDocument, `${BASE}/GET/v1/quotes`)).toBe('Allow');
  });

  it('throws Unauthorized for an expired key from its expiry on', async () => {
    const { customerId } = await customerWithKey({ subscriptionStatus: 'active' });
    const expiring = await createApiKey(store(), { customerId, expiresAt: new Date(NOW.getTime() + 60_000) });
    await expect(handlerAt(new Date(NOW.getTime() + 59_999))(authorizerEvent('quotes', bearer(expiring.key)))).resolves.toBeDefined();
    await expect(handlerAt(new Date(NOW.getTime() + 60_000))(authorizerEvent('quotes', bearer(expiring.key)))).rejects.toThrow(/^Unauthorized$/);
  });

  it('keeps a rotated key working until the overlap ends, and the new key from the start', async () => {
    const { key, keyId } = await customerWithKey({ subscriptionStatus: 'active' });
    const { created } = await rotateApiKey(store(), keyId, { overlapSeconds: 3600 });
    const later = new Date(NOW.getTime() + 3600_000);
    await expect(handlerAt(new Date(later.getTime() - 1))(authorizerEvent('quotes', bearer(key)))).resolves.toBeDefined();
    await expect(handlerAt(later)(authorizerEvent('quotes', bearer(key)))).rejects.toThrow(/^Unauthorized$/);
    await expect(handlerAt(later)(authorizerEvent('quotes', bearer(created.key)))).resolves.toBeDefined();
  });

  it('takes this request\'s verdict from the decision and fails (503) for a route the authorizer does not know', async () => {
    const { key } = await customerWithKey({ subscriptionStatus: 'active' });
    const unknown = { ...authorizerEvent('quotes', bearer(key)), resource: '/v1/not-configured' };
    const error = await handlerAt()(unknown).catch((err: unknown) => err);
    expect((error as Error).name).toBe('AuthorizerFailure');
    expect((error as Error).message).toMatch(/unknown_route/);
  });

  it('reads the last Authorization value when a client sends the header twice, as API Gateway does', async () => {
    const { key } = await customerWithKey({ subscriptionStatus: 'active' });
    const event = { ...authorizerEvent('quotes', bearer(key)), headers: null, multiValueHeaders: { Authorization: ['Bearer tg_test_garbage', `Bearer ${key}`] } };
    const policy = await handlerAt()(event);
    expect(evaluatePolicy(policy.policyDocument, `${BASE}/GET/v1/quotes`)).toBe('Allow');
  });

  it('throws Unauthorized for the keys of a customer deleted in Stripe', async () => {
    const { key } = await customerWithKey({ subscriptionStatus: 'active', deleted: true });
    await expect(handlerAt()(authorizerEvent('quotes', bearer(key)))).rejects.toThrow(/^Unauthorized$/);
  });

  it('throws a non-Unauthorized error (503) for a corrupt record, never a policy', async () => {
    const { key } = await customerWithKey({ subscriptionStatus: 'active' });
    const { customerId } = (await import('../../lambda/shared/customers/api-key')).parseApiKey(key)!;
    await documents.send(
      new UpdateCommand({
        TableName: tables.names.customers,
        Key: { customerId },
        UpdateExpression: 'SET subscriptions = :s',
        ExpressionAttributeValues: { ':s': { sub_1: { status: 'on_fire', watermark: '01780000000:3:evt_1' } } },
      }),
    );
    const error = await handlerAt()(authorizerEvent('quotes', bearer(key))).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).not.toBe('Unauthorized');
    expect((error as Error).name).toBe('AuthorizerFailure');
    expect((error as Error).message).toMatch(/corrupt_record/);
  });

  it('never reads another key of the customer (projection holds only the presented key)', async () => {
    const { customerId, key, keyId } = await customerWithKey({ subscriptionStatus: 'active' });
    await createApiKey(store(), { customerId });
    await documents.send(new PutCommand({ TableName: tables.names.apiKeys, Item: { keyId: 'zzzzzzzz', customerId } }));
    const record = await new DynamoCustomerReader(tables.client, tables.names.customers).read(customerId, keyId);
    expect(Object.keys(record!.apiKeys!)).toEqual([keyId]);
    expect(JSON.stringify(record)).not.toContain(key);
  });

  it('writes one line per decision that is both its record (customer id, key id, reason) and its count by outcome and reason, an error also as a Logger error line, and never the key', async () => {
    const { customerId, key, keyId } = await customerWithKey({ subscriptionStatus: 'unpaid' });
    const written: string[] = [];
    const capture = (chunk: string | Uint8Array): boolean => {
      written.push(String(chunk));
      return true;
    };
    // Powertools writes errors to stderr, everything else to stdout.
    const spies = [jest.spyOn(process.stdout, 'write').mockImplementation(capture), jest.spyOn(process.stderr, 'write').mockImplementation(capture)];
    const previous = { dev: process.env.POWERTOOLS_DEV, disabled: process.env.POWERTOOLS_METRICS_DISABLED };
    delete process.env.POWERTOOLS_DEV;
    delete process.env.POWERTOOLS_METRICS_DISABLED;
    try {
      const observability = createObservability('tollgate-authorizer', { namespace: 'TollgateTest', logLevel: 'INFO' });
      const handler = handlerAt(NOW, observability);
      await handler(authorizerEvent('quotes', bearer(key)));
      await handler(authorizerEvent('ping', bearer(key)));
      await expect(handler(authorizerEvent('quotes', bearer(tamperLastCharacter(key))))).rejects.toThrow('Unauthorized');
      await expect(handler({ ...authorizerEvent('quotes', bearer(key)), resource: '/v1/nowhere' })).rejects.toThrow(/could not decide \(unknown_route\)/);
    } finally {
      for (const spy of spies) spy.mockRestore();
      if (previous.dev !== undefined) process.env.POWERTOOLS_DEV = previous.dev;
      process.env.POWERTOOLS_METRICS_DISABLED = previous.disabled ?? 'true';
    }
    const lines = written.join('').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
    const logs = lines.filter((l) => l.message === 'authorizer decision');
    const metrics = lines.filter((l) => l._aws !== undefined);
    expect(logs.map((l) => [l.outcome, l.reason, l.Decisions ?? l.level])).toEqual([
      ['deny', 'payment_failed', 1],
      ['allow', 'none', 1],
      ['unauthorized', 'malformed_key', 1],
      ['error', 'unknown_route', 'ERROR'],
    ]);
    expect(logs[0]).toMatchObject({ customerId, keyId, subscriptionStatus: 'unpaid', method: 'GET', resource: '/v1/quotes' });
    expect(logs[3]).toMatchObject({ resource: '/v1/nowhere', error: expect.stringMatching(/^UnknownRouteError: GET \/v1\/nowhere/) });
    expect(metrics.map((m) => [m.outcome, m.reason, m.Decisions])).toEqual([
      ['deny', 'payment_failed', 1],
      ['allow', 'none', 1],
      ['unauthorized', 'malformed_key', 1],
      ['error', 'unknown_route', 1],
    ]);
    // Three answers, three lines; the error's count and its Logger line are two.
    expect(lines).toHaveLength(5);
    for (const metric of metrics) {
      const dimensions = (metric._aws as { CloudWatchMetrics: Array<{ Dimensions: string[][] }> }).CloudWatchMetrics[0]!.Dimensions.flat();
      expect(dimensions).toEqual(expect.arrayContaining(['outcome', 'reason']));
      expect(dimensions).not.toContain('customerId');
      expect(dimensions).not.toContain('keyId');
    }
    const output = written.join('');
    expect(output).not.toContain(key);
    expect(output).not.toContain(key.slice(-28, -6));
    expect(output).not.toContain(tamperLastCharacter(key));
  });
});
