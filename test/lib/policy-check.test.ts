import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { buildApiDocument, OpenApiError, readRoutes } from '../../lib/openapi/build';
import { findPolicyConflict, type VerdictScenario } from '../../lib/openapi/policy-check';
import type { Requirement, RouteRule } from '../../lambda/shared/requirements';

const sample = (): any => JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'api', 'openapi.json'), 'utf8'));
const documentOf = (routes: Record<string, string>): any => ({
  openapi: '3.0.1',
  info: { title: 't', version: '1' },
  paths: Object.fromEntries(Object.entries(routes).map(([p, requires]) => [p, { get: { 'x-tollgate': { requires } } }])),
});

describe('a document the authorizer cannot answer for', () => {
  const overlapping = { '/{proxy+}': 'key', '/v1/reports/{id}': 'subscription', '/v1/reports/sample': 'key' };

  it('fails the build, naming the routes, who is affected and how to fix the document', () => {
    const build = () =>
      buildApiDocument({
        document: documentOf(overlapping),
        authorizerUri: 'a',
        webhookUri: 'w',
        backend: { type: 'lambda', invocationUri: 'b' },
        authorizerCacheTtlSeconds: 300,
        corsAllowOrigin: '*',
        docsBaseUrl: 'https://docs.example',
      });
    expect(build).toThrow(OpenApiError);
    expect(build).toThrow(
      'GET /v1/reports/{id} (subscription) overlaps GET /{proxy+} (key) and GET /v1/reports/sample (key): ' +
        'for a customer without a subscription in good standing, one cached policy cannot refuse the first and admit the others, ' +
        'so every such caller would get 503 on every route; fix the document: give routes with different requirements distinct static path prefixes',
    );
    expect(() => readRoutes(documentOf(overlapping))).toThrow(OpenApiError);
  });

  it('names the entitlement whose absence the policy cannot express', () => {
    const document = documentOf({ '/v1/{proxy+}': 'entitlement:basic', '/v1/reports/{id}': 'entitlement:premium', '/v1/reports/free': 'subscription' });
    expect(() => readRoutes(document)).toThrow(/GET \/v1\/reports\/\{id\} \(entitlement:premium\) overlaps .* for a subscriber whose plan lacks "premium"/);
  });

  it.each([
    ['the sample document', sample()],
    ['a free static route under a paid parameter route', documentOf({ '/v1/{id}': 'subscription', '/v1/ping': 'key' })],
    ['a paid static route under a free parameter route', documentOf({ '/v1/{id}': 'key', '/v1/quotes': 'subscription' })],
    ['a greedy route with one requirement everywhere', documentOf({ '/{proxy+}': 'subscription', '/v1/reports/{id}': 'subscription' })],
  ])('passes %s', (_name, document) => {
    expect(() => readRoutes(document)).not.toThrow();
  });
});

describe('the verdict combinations checked', () => {
  // Every verdict combination the requirements allow: no good standing, or good standing with any entitlement set.
  const everyCombination = (routes: readonly RouteRule[]): VerdictScenario[] => {
    const keys = [...new Set(routes.flatMap((r) => (r.requires.kind === 'entitlement' ? [r.requires.lookupKey] : [])))];
    const subsets = Array.from({ length: 2 ** keys.length }, (_, mask) => keys.filter((_k, i) => (mask >> i) & 1));
    return [
      { caller: 'none', allows: (r: RouteRule) => r.requires.kind === 'key' },
      ...subsets.map((held) => ({
        caller: held.join(','),
        allows: (r: RouteRule) => r.requires.kind !== 'entitlement' || held.includes(r.requires.lookupKey),
      })),
    ];
  };
  const requirement: fc.Arbitrary<Requirement> = fc.oneof(
    fc.constant({ kind: 'key' } as const),
    fc.constant({ kind: 'subscription' } as const),
    fc.constantFrom('a', 'b', 'c').map((lookupKey) => ({ kind: 'entitlement', lookupKey }) as const),
  );
  const segment = fc.constantFrom('v1', 'reports', 'x', '{id}', 'sample');
  const routePath = fc.oneof(
    fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => `/${s.join('/')}`),
    fc.array(segment, { minLength: 0, maxLength: 2 }).map((s) => `/${[...s, '{proxy+}'].join('/')}`),
  );
  const routes = fc.uniqueArray(fc.record({ method: fc.constantFrom('GET', 'POST'), path: routePath, requires: requirement }), {
    minLength: 1,
    maxLength: 6,
    selector: (r) => `${r.method} ${r.path}`,
  });

  it('finds a conflict exactly when some combination of verdicts has one', () => {
    let conflicts = 0;
    fc.assert(
      fc.property(routes, (rules) => {
        const reduced = findPolicyConflict(rules) !== undefined;
        const exhaustive = findPolicyConflict(rules, everyCombination(rules)) !== undefined;
        if (exhaustive) conflicts++;
        expect(reduced).toBe(exhaustive);
      }),
      // A fixed seed: the same 500 documents every run, so the count below cannot flake.
      { numRuns: 500, seed: 20260801 },
    );
    // The generator reaches both outcomes, so the comparison means something.
    expect(conflicts).toBeGreaterThan(0);
  });
});
