import { CorruptRecordError, decisionProjection, keyAttributeName, toCustomerRecord } from '../../lambda/shared/customer-item';

const HASH = 'ab'.repeat(32);
const KEY = { hash: HASH, createdAt: '2026-08-01T00:00:00.000Z', name: 'ci' };

describe('toCustomerRecord', () => {
  it('decodes payment fields and key attributes, ignoring unknown attributes', () => {
    const record = toCustomerRecord({
      customerId: 'cus_1',
      subscriptionStatus: 'past_due',
      pastDueSince: 1_785_000_000,
      entitlements: ['a', 'b'],
      cancelAtPeriodEnd: false,
      paymentUrl: 'https://invoice.stripe.com/i/x',
      usageBlock: null,
      watermark_sub: { created: 1, id: 'evt_1' },
      key_abcdEFGH: KEY,
    });
    expect(record).toEqual({
      customerId: 'cus_1',
      subscriptionStatus: 'past_due',
      pastDueSince: 1_785_000_000,
      entitlements: ['a', 'b'],
      cancelAtPeriodEnd: false,
      paymentUrl: 'https://invoice.stripe.com/i/x',
      apiKeys: { abcdEFGH: KEY },
    });
  });

  it('accepts entitlements stored as a string set', () => {
    expect(toCustomerRecord({ customerId: 'cus_1', entitlements: new Set(['x']) }).entitlements).toEqual(['x']);
  });

  it.each([
    [{ subscriptionStatus: 'on_fire' }, /subscriptionStatus is not a Stripe subscription status/],
    [{ pastDueSince: '1785000000' }, /pastDueSince is not a number/],
    [{ currentPeriodEnd: Number.NaN }, /currentPeriodEnd is not a number/],
    [{ cancelAtPeriodEnd: 'yes' }, /cancelAtPeriodEnd is not a boolean/],
    [{ entitlements: 'premium' }, /entitlements is not a list of strings/],
    [{ entitlements: ['a', 1] }, /entitlements is not a list of strings/],
    [{ usageBlock: 'broke' }, /usageBlock is not/],
    [{ deleted: 1 }, /deleted is not a boolean/],
    [{ key_abcdEFGH: 'hash' }, /key_abcdEFGH is not a map/],
    [{ key_abcdEFGH: { ...KEY, hash: 'short' } }, /key_abcdEFGH.hash is not a SHA-256/],
    [{ key_abcdEFGH: { hash: HASH } }, /key_abcdEFGH.createdAt is not an ISO-8601 time/],
    [{ key_abcdEFGH: { ...KEY, expiresAt: 'soon' } }, /expiresAt is not an ISO-8601 time/],
    [{ key_abc: KEY }, /key_abc is not named key_/],
  ])('throws CorruptRecordError on %j', (fields, message) => {
    expect(() => toCustomerRecord({ customerId: 'cus_1', ...fields })).toThrow(CorruptRecordError);
    expect(() => toCustomerRecord({ customerId: 'cus_1', ...fields })).toThrow(message);
  });

  it('throws CorruptRecordError on an item without a customer id', () => {
    expect(() => toCustomerRecord({ subscriptionStatus: 'active' })).toThrow(CorruptRecordError);
  });
});

describe('decisionProjection', () => {
  it('projects the payment attributes and only the presented key, through placeholders', () => {
    const { ProjectionExpression, ExpressionAttributeNames } = decisionProjection('abcdEFGH');
    const names = ProjectionExpression.split(',').map((p) => ExpressionAttributeNames[p]);
    expect(names).toContain('subscriptionStatus');
    expect(names).toContain('entitlements');
    expect(names).toContain('key_abcdEFGH');
    expect(names.filter((n) => n!.startsWith('key_'))).toEqual(['key_abcdEFGH']);
  });

  it('refuses a key id that could inject into the expression', () => {
    expect(() => keyAttributeName('abc, #x')).toThrow(/invalid key id/);
  });
});
