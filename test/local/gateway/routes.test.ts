import { readApiDefinition } from '../../../lib/local/gateway/document';
import { parseMethodRequest } from '../../../lib/local/gateway/request';
import { matchRoute } from '../../../lib/local/gateway/routes';
import { documentWith } from './support';

const { operations } = readApiDefinition(
  documentWith({
    '/v1/reports/latest': { get: {} },
    '/v1/reports/{reportId}': { get: {}, 'x-amazon-apigateway-any-method': {} },
    '/v1/{proxy+}': { 'x-amazon-apigateway-any-method': {} },
    '/v1/files/{proxy+}': { get: {} },
  }),
);

const withoutCatchAll = operations.filter((o) => o.template !== '/v1/{proxy+}');

function route(method: string, path: string, among = operations) {
  const request = parseMethodRequest({ method, path }, 'r', 0);
  const match = matchRoute(among, request.method, request.resourceSegments);
  return match === undefined ? undefined : { route: `${match.operation.method} ${match.operation.template}`, params: match.params, segments: match.paramSegments };
}

describe('matchRoute', () => {
  it.each([
    ['a literal over a parameter', 'GET', '/prod/v1/reports/latest', 'GET /v1/reports/latest'],
    ['a parameter over a greedy path', 'GET', '/prod/v1/reports/r1', 'GET /v1/reports/{reportId}'],
    ['a declared method over ANY', 'GET', '/prod/v1/reports/r1', 'GET /v1/reports/{reportId}'],
    ['ANY when no method is declared', 'DELETE', '/prod/v1/reports/r1', 'ANY /v1/reports/{reportId}'],
    ['the greedy path for deeper paths', 'POST', '/prod/v1/a/b/c', 'ANY /v1/{proxy+}'],
  ])('prefers %s', (_label, method, path, expected) => {
    expect(route(method, path)?.route).toBe(expected);
  });

  it.each([
    ['an empty parameter', 'GET', '/prod/v1/reports/'],
    ['an empty greedy value', 'GET', '/prod/v1/files/'],
    ['a path outside every template', 'GET', '/prod/v2/x'],
    ['a method no operation declares', 'DELETE', '/prod/v1/files/x'],
  ])('matches nothing for %s', (_label, method, path) => {
    expect(route(method, path, withoutCatchAll)).toBeUndefined();
  });

  it('keeps an encoded slash inside its segment of a greedy value', () => {
    expect(route('GET', '/prod/v1/files/..%2F..%2Fadmin%2Fexport/x')).toEqual({
      route: 'GET /v1/files/{proxy+}',
      params: { proxy: '../../admin/export/x' },
      segments: { proxy: ['../../admin/export', 'x'] },
    });
  });

  it('matches the path a literal or encoded dot segment resolves to', () => {
    expect(route('GET', '/prod/v1/files/../reports/%2e%2e/reports/latest')?.route).toBe('GET /v1/reports/latest');
  });
});
