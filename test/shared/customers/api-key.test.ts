import fc from 'fast-check';
import { describeKey, hashApiKey, issueApiKey, keyMatchesHash, MAX_KEY_LENGTH, parseApiKey } from '../../../lambda/shared/customers/api-key';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const base62 = (length: number): fc.Arbitrary<string> =>
  fc.array(fc.constantFrom(...BASE62), { minLength: length, maxLength: length }).map((chars) => chars.join(''));
const customerIds = fc
  .tuple(fc.array(fc.constantFrom(...BASE62, '_'), { minLength: 1, maxLength: 64 }))
  .map(([chars]) => `cus_${chars.join('')}`);

describe('issueApiKey', () => {
  it('issues keys that parse back to their customer, key id and environment', () => {
    fc.assert(
      fc.property(customerIds, fc.constantFrom('live' as const, 'test' as const), (customerId, environment) => {
        const issued = issueApiKey(customerId, environment);
        expect(issued.key.startsWith(`tg_${environment}_${customerId}_`)).toBe(true);
        expect(issued.key.length).toBeLessThanOrEqual(MAX_KEY_LENGTH);
        expect(parseApiKey(issued.key)).toEqual({ environment, customerId, keyId: issued.keyId });
        expect(issued.hash).toBe(hashApiKey(issued.key));
        expect(issued.hash).not.toContain(issued.key.slice(-28, -6));
      }),
      { numRuns: 300 },
    );
  });

  it('draws a different secret every time (no repeats in 2000 keys)', () => {
    const secrets = new Set(Array.from({ length: 2000 }, () => issueApiKey('cus_A').key.slice(-28, -6)));
    expect(secrets.size).toBe(2000);
  });

  it('uses every base62 character in the secret part, roughly uniformly', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 3000; i++) for (const c of issueApiKey('cus_A').key.slice(-28, -6)) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(62);
    // 66 000 draws: about 1065 per character; a modulo bias or a stuck character would fall far outside.
    for (const count of counts.values()) expect(count).toBeGreaterThan(850);
    for (const count of counts.values()) expect(count).toBeLessThan(1300);
  });

  it('refuses a customer id that is not a Stripe customer id', () => {
    expect(() => issueApiKey('acct_123')).toThrow(/invalid customer id "acct_123"/);
    expect(() => issueApiKey('cus_')).toThrow(/invalid customer id/);
  });
});

describe('parseApiKey', () => {
  it('rejects random strings', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (text) => expect(parseApiKey(text)).toBeUndefined()), { numRuns: 2000 });
  });

  it('rejects well-shaped keys with a random checksum or body', () => {
    fc.assert(
      fc.property(customerIds, base62(36), (customerId, body) => {
        expect(parseApiKey(`tg_test_${customerId}_${body}`)).toBeUndefined();
      }),
      { numRuns: 2000 },
    );
  });

  it('rejects every single-character typo of an issued key', () => {
    fc.assert(
      fc.property(fc.nat(), fc.constantFrom(...BASE62), (position, replacement) => {
        const { key } = issueApiKey('cus_NffrFeUfNV2Hib');
        const at = position % key.length;
        fc.pre(key[at] !== replacement);
        expect(parseApiKey(key.slice(0, at) + replacement + key.slice(at + 1))).toBeUndefined();
      }),
      { numRuns: 1000 },
    );
  });

  it('rejects swapped adjacent characters, truncation, extension, case changes and whitespace', () => {
    const { key } = issueApiKey('cus_NffrFeUfNV2Hib', 'live');
    const swapAt = key.length - 10;
    const swapped = key.slice(0, swapAt) + key[swapAt + 1] + key[swapAt] + key.slice(swapAt + 2);
    const variants = [key.slice(0, -1), `${key}A`, key.toUpperCase(), ` ${key}`, `${key}\n`, key.replace('live', 'test')];
    if (swapped !== key) variants.push(swapped);
    for (const variant of variants) expect(parseApiKey(variant)).toBeUndefined();
  });

  it('rejects 10 KB and unicode garbage without parsing it', () => {
    expect(parseApiKey('tg_test_cus_A_'.padEnd(10_240, 'x'))).toBeUndefined();
    expect(parseApiKey('tg_test_cus_Ä_😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀')).toBeUndefined();
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 120 }), (text) => expect(parseApiKey(text)).toBeUndefined()));
  });
});

describe('keyMatchesHash', () => {
  it('matches only the key the hash was made from', () => {
    const a = issueApiKey('cus_A');
    const b = issueApiKey('cus_A');
    expect(keyMatchesHash(a.key, a.hash)).toBe(true);
    expect(keyMatchesHash(b.key, a.hash)).toBe(false);
    expect(keyMatchesHash(a.key, 'not hex')).toBe(false);
    expect(keyMatchesHash(a.key, a.hash.slice(0, 62))).toBe(false);
  });
});

describe('describeKey', () => {
  it('names the key without its secret or customer id', () => {
    const issued = issueApiKey('cus_NffrFeUfNV2Hib');
    const label = describeKey(issued);
    expect(label).toBe(`tg_test_…_${issued.keyId}`);
    expect(label).not.toContain(issued.key.slice(-28, -6));
  });
});
