import { lazyStripe } from '../../../lambda/shared/aws/stripe';
import { fakeSecretsManager } from './support';

describe('lazyStripe', () => {
  const fakeClient = (values: Array<string | Error>) => fakeSecretsManager('tollgate/stripe-api-key', values);

  it('reads nothing until first used, then once: every caller shares one client', async () => {
    const { client, send } = fakeClient(['sk_test_lazy']);
    const stripe = lazyStripe(client, 'tollgate/stripe-api-key', { maxNetworkRetries: 0, timeout: 5000 });
    expect(send).not.toHaveBeenCalled();
    const [a, b] = await Promise.all([stripe(), stripe()]);
    // The caller's options reach the client.
    expect(a.getApiField('timeout')).toBe(5000);
    expect(a.getMaxNetworkRetries()).toBe(0);
    expect(b).toBe(a);
    expect(await stripe()).toBe(a);
    expect(send).toHaveBeenCalledTimes(1);
  });

  it('does not keep a failed read: the next call reads again', async () => {
    const { client, send } = fakeClient([new Error('throttled'), 'sk_test_lazy']);
    const stripe = lazyStripe(client, 'tollgate/stripe-api-key', { maxNetworkRetries: 2, timeout: 3000 });
    await expect(stripe()).rejects.toThrow('throttled');
    expect((await stripe()).getApiField('timeout')).toBe(3000);
    expect(send).toHaveBeenCalledTimes(2);
  });
});
