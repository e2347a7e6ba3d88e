import type { ConfigError} from '../../lib/config/tollgate-config';
import { DEFAULT_CONFIG, loadConfig } from '../../lib/config/tollgate-config';

const load = (context: Record<string, unknown>) => loadConfig((key) => context[key]);

describe('configuration for scale', () => {
  it('defaults: standing routes cached 300 s, routes sold by use 1 s, one flush a second at most, reservations sized from the stage rate', () => {
    const config = load({});
    expect(config).toMatchObject({ authorizerCacheTtlSeconds: 300, meteredCacheTtlSeconds: 1, cacheFlushIntervalSeconds: 1, accountThrottleRateLimit: 10_000, accountThrottleBurstLimit: 5_000 });
    expect(config.reservedConcurrency).toEqual({ authorizer: 10, webhook: 10, metering: 5, clock: 1, mcp: 10 });
    expect(DEFAULT_CONFIG.reservedConcurrency).toEqual(config.reservedConcurrency);
  });

  it('follows the account quota instead of a constant: a stage above 10,000 requests/s once the account rate is raised', () => {
    expect(() => load({ 'tollgate:throttleRateLimit': 20_000 })).toThrow(/throttleRateLimit is 20000: use a whole number of requests per second \(at most the account rate, tollgate:accountThrottleRateLimit\) from 1 to 10000/);
    const raised = load({ 'tollgate:accountThrottleRateLimit': 30_000, 'tollgate:throttleRateLimit': 20_000 });
    expect(raised.throttleRateLimit).toBe(20_000);
    // The authorizer's reservation follows the stage's rate: every request held 50 ms at once.
    expect(raised.reservedConcurrency?.authorizer).toBe(1_000);
  });

  it('reserves what it is told, or nothing with "off", and says what is wrong otherwise', () => {
    expect(load({ 'tollgate:reservedConcurrency': 'off' }).reservedConcurrency).toBeUndefined();
    expect(load({ 'tollgate:reservedConcurrency': '{"authorizer": 50}' }).reservedConcurrency).toEqual({ authorizer: 50, webhook: 10, metering: 5, clock: 1, mcp: 10 });
    expect(load({ 'tollgate:reservedConcurrency': '{"mcp": 40}' }).reservedConcurrency?.mcp).toBe(40);
    const error = (() => {
      try {
        load({ 'tollgate:reservedConcurrency': { authorizer: 0, backend: 3 }, 'tollgate:meteredCacheTtlSeconds': 61, 'tollgate:cacheFlushIntervalSeconds': 0 });
      } catch (err) {
        return err as ConfigError;
      }
      throw new Error('loadConfig accepted a bad configuration');
    })();
    expect(error.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/reservedConcurrency\.authorizer is 0: use a whole number of concurrent executions from 1 to 10000/),
        expect.stringMatching(/reservedConcurrency names "backend": reserve for authorizer, webhook, metering, clock, mcp/),
        expect.stringMatching(/meteredCacheTtlSeconds is 61: use a whole number of seconds from 0 to 60/),
        expect.stringMatching(/cacheFlushIntervalSeconds is 0: use a whole number of seconds from 1 to 60/),
      ]),
    );
  });
});
