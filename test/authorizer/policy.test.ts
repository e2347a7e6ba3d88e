import fc from 'fast-check';
import { decide, type Decision } from '../../lambda/shared/customers/standing';
import { baseArn, buildPolicy, evaluatePolicy, PolicyConflictError, routeResource } from '../../lambda/authorizer/policy';
import { SUBSCRIPTION_STATUSES, type CustomerRecord } from '../../lambda/shared/customers/record';
import type { RouteRule } from '../../lambda/shared/requirements';
import { oneSubscription } from './support';

const BASE = 'arn:aws:execute-api:eu-west-1:123456789012:abc123def4/prod';
const ROUTES: RouteRule[] = [
  { method: 'GET', path: '/v1/ping', requires: { kind: 'key' } },
  { method: 'GET', path: '/v1/quotes', requires: { kind: 'subscription' } },
  { method: 'POST', path: '/v1/quotes', requires: { kind: 'entitlement', lookupKey: 'write' } },
  { method: 'GET', path: '/v1/reports/{reportId}', requires: { kind: 'entitlement', lookupKey: 'premium-reports' } },
  { method: 'GET', path: '/v1/files/{proxy+}', requires: { kind: 'subscription' } },
  { method: 'GET', path: '/', requires: { kind: 'key' } },
];
/** A concrete request for each route, as API Gateway puts it in methodArn. */
const REQUESTS: Record<string, string> = {
  'GET /v1/ping': `${BASE}/GET/v1/ping`,
  'GET /v1/quotes': `${BASE}/GET/v1/quotes`,
  'POST /v1/quotes': `${BASE}/POST/v1/quotes`,
  'GET /v1/reports/{reportId}': `${BASE}/GET/v1/reports/r_42`,
  'GET /v1/files/{proxy+}': `${BASE}/GET/v1/files/a/b/c.txt`,
  'GET /': `${BASE}/GET/`,
};
const NOW = new Date('2026-08-01T00:00:00Z');
const NOW_S = NOW.getTime() / 1000;

const customers: fc.Arbitrary<CustomerRecord> = fc
  .record({
    subscriptionStatus: fc.option(fc.constantFrom(...SUBSCRIPTION_STATUSES), { nil: undefined }),
    entitlements: fc.subarray(['write', 'premium-reports', 'other']),
    usageBlock: fc.option(fc.constantFrom('credits_exhausted' as const, 'quota_exceeded' as const), { nil: undefined }),
    pastDueSince: fc.option(fc.integer({ min: 1_780_000_000, max: 1_790_000_000 }), { nil: undefined }),
    cancelAtPeriodEnd: fc.boolean(),
    currentPeriodEnd: fc.option(fc.integer({ min: 1_780_000_000, max: 1_790_000_000 }), { nil: undefined }),
  })
  .map((fields) => oneSubscription('cus_P0licy', fields, NOW_S));

const decisionFor = (customer: CustomerRecord, routes = ROUTES): Decision => decide(customer, routes, NOW, { gracePeriodSeconds: 3 * 86400 });

describe('buildPolicy', () => {
  it('names one resource per route, path parameters as *', () => {
    expect(ROUTES.map((r) => routeResource(BASE, r))).toEqual([
      `${BASE}/GET/v1/ping`,
      `${BASE}/GET/v1/quotes`,
      `${BASE}/POST/v1/quotes`,
      `${BASE}/GET/v1/reports/*`,
      `${BASE}/GET/v1/files/*`,
      `${BASE}/GET/`,
    ]);
  });

  it('covers every route, and a policy cached for route A is right for every route B', () => {
    fc.assert(
      fc.property(customers, fc.constantFrom(...Object.values(REQUESTS)), (customer, askedFor) => {
        const decision = decisionFor(customer);
        const policy = buildPolicy(decision, askedFor, customer.customerId);
        const statements = policy.policyDocument.Statement as Array<{ Effect: string; Resource: string[] }>;
        const resources = statements.flatMap((s) => s.Resource);
        for (const verdict of decision.verdicts) {
          const key = `${verdict.route.method} ${verdict.route.path}`;
          expect(resources).toContain(routeResource(BASE, verdict.route));
          expect(evaluatePolicy(policy.policyDocument, REQUESTS[key]!)).toBe(verdict.allow ? 'Allow' : 'Deny');
        }
        expect(policy.principalId).toBe('cus_P0licy');
        expect(policy.context).toEqual(decision.context);
      }),
      { numRuns: 400 },
    );
  });

  it('answers Allow and Deny statements with execute-api:Invoke on the whole stage only', () => {
    const policy = buildPolicy(decisionFor(oneSubscription('cus_P0licy', { subscriptionStatus: 'active', entitlements: ['write'] }, NOW_S)), REQUESTS['GET /v1/ping']!, 'cus_P0licy');
    expect(policy.policyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Action: 'execute-api:Invoke',
          Effect: 'Allow',
          Resource: [
            `${BASE}/GET/v1/ping`,
            `${BASE}/GET/v1/ping/`,
            `${BASE}/GET/v1/quotes`,
            `${BASE}/GET/v1/quotes/`,
            `${BASE}/POST/v1/quotes`,
            `${BASE}/POST/v1/quotes/`,
            `${BASE}/GET/v1/files/*`,
            `${BASE}/GET/`,
          ],
        },
        { Action: 'execute-api:Invoke', Effect: 'Deny', Resource: [`${BASE}/GET/v1/reports/*`] },
      ],
    });
  });

  it('gives a request path with a trailing slash the verdict of its route, never an unknown route', () => {
    fc.assert(
      fc.property(customers, (customer) => {
        const decision = decisionFor(customer);
        const policy = buildPolicy(decision, `${REQUESTS['GET /v1/quotes']!}/`, customer.customerId);
        for (const verdict of decision.verdicts) {
          const request = REQUESTS[`${verdict.route.method} ${verdict.route.path}`]!;
          const slashed = request.endsWith('/') ? request : `${request}/`;
          expect(evaluatePolicy(policy.policyDocument, slashed)).toBe(verdict.allow ? 'Allow' : 'Deny');
        }
      }),
      { numRuns: 200, seed: 20260801 },
    );
  });

  it('leaves out a Deny that would shadow an allowed static route under a denied parameter route', () => {
    const routes: RouteRule[] = [
      { method: 'GET', path: '/v1/{id}', requires: { kind: 'subscription' } },
      { method: 'GET', path: '/v1/ping', requires: { kind: 'key' } },
    ];
    const policy = buildPolicy(decisionFor(oneSubscription('cus_P0licy', {}, NOW_S), routes), `${BASE}/GET/v1/ping`, 'cus_P0licy');
    expect(evaluatePolicy(policy.policyDocument, `${BASE}/GET/v1/ping`)).toBe('Allow');
    expect(evaluatePolicy(policy.policyDocument, `${BASE}/GET/v1/other`)).toBe('Deny');
  });

  it('keeps the Deny of a static route under an allowed parameter route (explicit Deny wins)', () => {
    const routes: RouteRule[] = [
      { method: 'GET', path: '/v1/{id}', requires: { kind: 'key' } },
      { method: 'GET', path: '/v1/quotes', requires: { kind: 'subscription' } },
    ];
    const policy = buildPolicy(decisionFor(oneSubscription('cus_P0licy', {}, NOW_S), routes), `${BASE}/GET/v1/x`, 'cus_P0licy');
    expect(evaluatePolicy(policy.policyDocument, `${BASE}/GET/v1/quotes`)).toBe('Deny');
    expect(evaluatePolicy(policy.policyDocument, `${BASE}/GET/v1/x`)).toBe('Allow');
  });

  it('throws PolicyConflictError when overlapping routes cannot be told apart by one policy', () => {
    const routes: RouteRule[] = [
      { method: 'GET', path: '/{proxy+}', requires: { kind: 'key' } },
      { method: 'GET', path: '/v1/{id}', requires: { kind: 'subscription' } },
      { method: 'GET', path: '/v1/ping', requires: { kind: 'key' } },
    ];
    // Every time: a conflicting policy is never cached.
    for (let i = 0; i < 2; i++) {
      expect(() => buildPolicy(decisionFor(oneSubscription('cus_P0licy', {}, NOW_S), routes), `${BASE}/GET/v1/ping`, 'cus_P0licy')).toThrow(PolicyConflictError);
    }
  });

  it('shares one frozen policy between decisions with the same verdicts, and keeps contexts apart', () => {
    const first = buildPolicy(decisionFor(oneSubscription('cus_One', { subscriptionStatus: 'active' }, NOW_S)), REQUESTS['GET /v1/ping']!, 'cus_One');
    const second = buildPolicy(decisionFor(oneSubscription('cus_Two', { subscriptionStatus: 'trialing' }, NOW_S)), REQUESTS['GET /']!, 'cus_Two');
    expect(second.policyDocument).toBe(first.policyDocument);
    expect(Object.isFrozen(first.policyDocument.Statement)).toBe(true);
    expect(first.context).toMatchObject({ customerId: 'cus_One' });
    expect(second.context).toMatchObject({ customerId: 'cus_Two' });
    const otherStage = buildPolicy(decisionFor(oneSubscription('cus_One', { subscriptionStatus: 'active' }, NOW_S)), `${BASE.replace('/prod', '/beta')}/GET/v1/ping`, 'cus_One');
    expect(JSON.stringify(otherStage.policyDocument)).toContain('/beta/GET/v1/ping');
    expect(JSON.stringify(otherStage.policyDocument)).not.toContain('/prod/');
  });

  it('denies the whole stage when there are no routes', () => {
    const policy = buildPolicy(decisionFor(oneSubscription('cus_P0licy', {}, NOW_S), []), `${BASE}/GET/x`, 'cus_P0licy');
    expect(evaluatePolicy(policy.policyDocument, `${BASE}/GET/x`)).toBe('Deny');
  });
});

describe('baseArn', () => {
  it.each([
    [`${BASE}/GET/v1/ping`, BASE],
    [`${BASE}/GET/`, BASE],
    ['arn:aws-cn:execute-api:cn-north-1:123456789012:api/dev/POST/a/b', 'arn:aws-cn:execute-api:cn-north-1:123456789012:api/dev'],
  ])('takes the api and stage of %s', (methodArn, expected) => {
    expect(baseArn(methodArn)).toBe(expected);
  });

  it('throws on a methodArn that is not an execute-api ARN', () => {
    expect(() => baseArn('arn:aws:s3:::bucket')).toThrow(/unexpected methodArn/);
  });
});
