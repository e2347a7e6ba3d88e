import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { TooManyRequestsException } from '@aws-sdk/client-api-gateway';
import { buildApiDocument } from '../../lib/openapi/build';
import { createLocalGateway, localInvocationUri, type LocalFunction } from '../../lib/local/gateway';
import { createManagementApi, MANAGEMENT_API_THROTTLE } from '../../lib/local/gateway/management';
import { createTokenBucket } from '../../lib/local/gateway/token-bucket';

const sample: unknown = JSON.parse(readFileSync(path.join(__dirname, '../../api/openapi.json'), 'utf8'));

describe('createTokenBucket', () => {
  it('lets a full burst through, then refuses until it refills at the rate', () => {
    let t = 0;
    const bucket = createTokenBucket({ rateLimit: 10, burstLimit: 3 }, () => t);
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false]);
    expect(bucket.waitMs()).toBe(100);
    t = 99;
    expect(bucket.take()).toBe(false);
    t = 100;
    expect(bucket.take()).toBe(true);
    t = 10_000;
    // Never more than the burst, however long it rested.
    expect(Array.from({ length: 5 }, () => bucket.take()).filter(Boolean)).toHaveLength(3);
  });

  it('refuses settings that could never let a request through', () => {
    expect(() => createTokenBucket({ rateLimit: 0, burstLimit: 1 }, () => 0)).toThrow(/rate above 0/);
    expect(() => createTokenBucket({ rateLimit: 1, burstLimit: 0 }, () => 0)).toThrow(/burst of at least 1/);
  });
});

describe('createManagementApi', () => {
  it('answers 40 calls at once and 10 per second after, refusing the rest with the SDK exception', () => {
    let t = 0;
    const api = createManagementApi(() => t);
    const outcomes = Array.from({ length: 45 }, () => {
      try {
        api.call('FlushStageAuthorizersCache');
        return 'ok';
      } catch (err) {
        return err;
      }
    });
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(MANAGEMENT_API_THROTTLE.burstLimit);
    const refused = outcomes.find((o) => o !== 'ok');
    expect(refused).toBeInstanceOf(TooManyRequestsException);
    expect((refused as TooManyRequestsException).$metadata.httpStatusCode).toBe(429);
    t = 1000;
    let accepted = 0;
    for (let i = 0; i < 20; i += 1) {
      try {
        api.call('FlushStageAuthorizersCache');
        accepted += 1;
      } catch {
        // counted below
      }
    }
    expect(accepted).toBe(MANAGEMENT_API_THROTTLE.rateLimit);
    expect(api.calls).toMatchObject({ accepted: 50, throttled: 15 });
  });
});

describe('local gateway throttling', () => {
  const allow = ((event: { methodArn: string }) =>
    Promise.resolve({
      principalId: 'cus_1',
      policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: event.methodArn.replace(/\/prod\/.*/, '/prod/*') }] },
      context: {},
    })) as unknown as LocalFunction;
  const backend = (() => Promise.resolve({ statusCode: 200, body: '{}' })) as LocalFunction;
  const webhook = (() => Promise.resolve({ statusCode: 200, body: '{"received":true}' })) as LocalFunction;

  const gatewayAt = (clock: { t: number }, calls: { authorizer: number }) =>
    createLocalGateway({
      document: buildApiDocument({
        document: sample,
        authorizerUri: localInvocationUri('authorizer'),
        webhookUri: localInvocationUri('webhook'),
        backend: { type: 'lambda', invocationUri: localInvocationUri('backend') },
        authorizerCacheTtlSeconds: 0,
        corsAllowOrigin: '*',
        docsBaseUrl: 'https://docs.example/problems',
      }).document,
      functions: {
        authorizer: ((event: never) => {
          calls.authorizer += 1;
          return (allow as (e: never) => unknown)(event);
        }),
        backend,
        webhook,
      },
      now: () => clock.t,
      throttling: { rateLimit: 2, burstLimit: 2, methods: { 'POST /webhooks/stripe': { rateLimit: 1, burstLimit: 1 } } },
    });

  it('answers the THROTTLED gateway response (429 problem, Retry-After) beyond the stage bucket, before the authorizer runs', async () => {
    const clock = { t: 0 };
    const calls = { authorizer: 0 };
    const gateway = gatewayAt(clock, calls);
    const get = () => gateway.handle({ method: 'GET', path: '/prod/v1/quotes', headers: { Authorization: 'Bearer k' } });
    const statuses = [(await get()).statusCode, (await get()).statusCode];
    const throttled = await get();
    expect(statuses).toEqual([200, 200]);
    expect(throttled.statusCode).toBe(429);
    expect(throttled.headers['retry-after']).toBeDefined();
    expect(throttled.headers['x-amzn-errortype']).toBe('TooManyRequestsException');
    expect(JSON.parse(throttled.body.toString()).title).toBe('Too many requests');
    expect(throttled.diagnostics.responseType).toBe('THROTTLED');
    expect(calls.authorizer).toBe(2);
    clock.t = 500;
    expect((await get()).statusCode).toBe(200);
  });

  it('gives a method with its own settings its own bucket: a flood on the public routes does not throttle the webhook', async () => {
    const clock = { t: 0 };
    const gateway = gatewayAt(clock, { authorizer: 0 });
    const post = () => gateway.handle({ method: 'POST', path: '/prod/webhooks/stripe', body: '{}' });
    for (let i = 0; i < 3; i += 1) await gateway.handle({ method: 'GET', path: '/prod/v1/quotes', headers: { Authorization: 'Bearer k' } });
    expect((await post()).statusCode).toBe(200);
    expect((await post()).statusCode).toBe(429);
    clock.t = 1000;
    expect((await post()).statusCode).toBe(200);
  });

  it('spends the management budget on each flush and refuses the 41st flush at once', async () => {
    const clock = { t: 0 };
    const gateway = gatewayAt(clock, { authorizer: 0 });
    const target = { restApiId: gateway.restApiId, stage: gateway.stage };
    for (let i = 0; i < 40; i += 1) await gateway.flusher.flush(target);
    await expect(gateway.flusher.flush(target)).rejects.toBeInstanceOf(TooManyRequestsException);
    expect(gateway.management.calls).toMatchObject({ accepted: 40, throttled: 1 });
  });
});
