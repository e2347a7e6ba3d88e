import { cachedSigningSecrets, parseSigningSecrets, SecretFormatError } from '../../../lambda/shared/aws/secrets';
import { fakeSecretsManager } from './support';

const A = 'whsec_AAAAAAAAAAAAAAAAAAAA';
const B = 'whsec_BBBBBBBBBBBBBBBBBBBB';

describe('parseSigningSecrets', () => {
  it.each([
    [A, [A]],
    [`${A},${B}`, [A, B]],
    [` ${A} , ${B}\n`, [A, B]],
    [`${A}\n${B}`, [A, B]],
    [JSON.stringify([A, B]), [A, B]],
  ])('reads %j', (value, expected) => {
    expect(parseSigningSecrets(value)).toEqual(expected);
  });

  it.each([
    ['', /holds 0 values/],
    [`${A},${B},${A}`, /holds 3 values/],
    ['sk_live_123456789', /not a stripe signing secret/],
    ['[not json', /does not parse/],
    ['[1]', /not a stripe signing secret/],
  ])('rejects %j without echoing it', (value, message) => {
    expect(() => parseSigningSecrets(value)).toThrow(SecretFormatError);
    expect(() => parseSigningSecrets(value)).toThrow(message);
    try {
      parseSigningSecrets(value);
    } catch (err) {
      if (value.length > 3) expect((err as Error).message).not.toContain(value);
    }
  });
});

describe('cachedSigningSecrets', () => {
  const fakeClient = (values: Array<string | Error>) => fakeSecretsManager('tollgate/stripe-webhook', values);

  it('reads the secret once and caches it', async () => {
    const { client, send } = fakeClient([A]);
    const secrets = cachedSigningSecrets(client, 'tollgate/stripe-webhook');
    expect(await secrets()).toEqual([A]);
    expect(await secrets()).toEqual([A]);
    expect(send).toHaveBeenCalledTimes(1);
  });

  it('reads again after a failed read', async () => {
    const { client, send } = fakeClient([new Error('throttled'), A]);
    const secrets = cachedSigningSecrets(client, 'tollgate/stripe-webhook');
    await expect(secrets()).rejects.toThrow('throttled');
    expect(await secrets()).toEqual([A]);
    expect(send).toHaveBeenCalledTimes(2);
  });

  it('refreshes at most once per interval', async () => {
    let now = 0;
    const { client, send } = fakeClient([A, `${B},${A}`, B]);
    const secrets = cachedSigningSecrets(client, 'tollgate/stripe-webhook', { now: () => now, minRefreshIntervalMs: 60_000 });
    expect(await secrets()).toEqual([A]);
    expect(await secrets.refresh()).toBe(false);
    now = 60_000;
    expect(await secrets.refresh()).toBe(true);
    expect(await secrets()).toEqual([B, A]);
    expect(send).toHaveBeenCalledTimes(2);
  });
});
