import { authorize, parseAuthorizerResult } from '../../../lib/local/gateway/authorizer';
import { createAuthorizerCache } from '../../../lib/local/gateway/authorizer-cache';
import type { Authorizer } from '../../../lib/local/gateway/document';
import { parseMethodRequest } from '../../../lib/local/gateway/request';
import { ARN_PREFIX } from './support';

const ARN = `${ARN_PREFIX}/GET/v1/quotes`;
const authorizer = (ttlSeconds: number, identitySources = ['method.request.header.Authorization']): Authorizer => ({ name: 'key', functionName: 'auth', identitySources, ttlSeconds });
const policy = (effect: 'Allow' | 'Deny') => ({ principalId: 'cus_1', policyDocument: { Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: ARN }] }, context: { reason: 'x', credits: 3 } });

function setup(answer: () => Promise<unknown>) {
  let clock = 0;
  const cache = createAuthorizerCache(() => clock);
  const calls: unknown[] = [];
  const invoke = (_name: string, event: unknown) => {
    calls.push(event);
    return answer();
  };
  const run = (auth: Authorizer, path = '/prod/v1/quotes', headers: Record<string, string> = { Authorization: 'Bearer k' }) =>
    authorize({ cache, invoke }, { authorizer: auth, request: parseMethodRequest({ method: 'GET', path, headers }, 'r', clock), methodArn: ARN, event: () => ({ methodArn: ARN }) });
  return { run, calls, cache, advance: (ms: number) => (clock += ms) };
}

describe('authorize', () => {
  it('allows with the context and principalId when the policy allows the method ARN', async () => {
    const { run } = setup(() => Promise.resolve(policy('Allow')));
    expect(await run(authorizer(300))).toEqual({
      outcome: { kind: 'allow', authorization: { principalId: 'cus_1', context: { reason: 'x', credits: 3, principalId: 'cus_1' } } },
      source: 'invoked',
    });
  });

  it('denies explicitly when a Deny statement matches', async () => {
    const { run } = setup(() => Promise.resolve(policy('Deny')));
    expect((await run(authorizer(300))).outcome).toMatchObject({ kind: 'deny', explicit: true });
  });

  it.each([
    ['the header is missing', {}, ['method.request.header.Authorization']],
    ['a query-string source is empty', { Authorization: 'k' }, ['method.request.header.Authorization', 'method.request.querystring.tenant']],
  ])('refuses with 401 without calling the authorizer when %s', async (_label, headers, sources) => {
    const { run, calls } = setup(() => Promise.resolve(policy('Allow')));
    expect(await run(authorizer(300, sources), '/prod/v1/quotes?tenant=', headers)).toEqual({ outcome: { kind: 'refuse', type: 'UNAUTHORIZED' }, source: 'skipped' });
    expect(calls).toHaveLength(0);
  });

  it.each([
    ['throws "Unauthorized"', () => Promise.reject(new Error('Unauthorized')), 'UNAUTHORIZED'],
    ['throws anything else', () => Promise.reject(new Error('Unauthorized!')), 'AUTHORIZER_FAILURE'],
    ['returns a nested context', () => Promise.resolve({ ...policy('Allow'), context: { a: { b: 1 } } }), 'AUTHORIZER_CONFIGURATION_ERROR'],
  ])('refuses when the authorizer %s', async (_label, answer, type) => {
    const { run } = setup(answer);
    expect((await run(authorizer(300))).outcome).toEqual({ kind: 'refuse', type });
  });

  it('serves the cached result per identity until the TTL passes', async () => {
    const { run, calls, advance } = setup(() => Promise.resolve(policy('Allow')));
    await run(authorizer(60));
    advance(59_999);
    expect((await run(authorizer(60))).source).toBe('cache');
    expect((await run(authorizer(60), '/prod/v1/quotes', { Authorization: 'Bearer other' })).source).toBe('invoked');
    advance(1);
    expect((await run(authorizer(60))).source).toBe('invoked');
    expect(calls).toHaveLength(3);
  });

  it('calls again after a flush, and every time when the TTL is 0', async () => {
    const { run, calls, cache } = setup(() => Promise.resolve(policy('Allow')));
    await run(authorizer(300));
    cache.clear();
    expect((await run(authorizer(300))).source).toBe('invoked');
    await run(authorizer(0));
    expect((await run(authorizer(0))).source).toBe('invoked');
    expect(calls).toHaveLength(4);
  });
});

describe('parseAuthorizerResult', () => {
  it('keeps the policy, the principal and a flat context', () => {
    expect(parseAuthorizerResult(policy('Allow'))).toEqual({
      principalId: 'cus_1',
      policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'execute-api:Invoke', Resource: ARN }] },
      context: { reason: 'x', credits: 3 },
    });
  });
});
