import { readApiDefinition } from '../../../lib/local/gateway/document';
import { compileRequestParameters, resolveMappings, type MappingInput } from '../../../lib/local/gateway/integrations/request-parameters';
import { contextVariables, parseMethodRequest } from '../../../lib/local/gateway/request';
import { matchRoute } from '../../../lib/local/gateway/routes';
import { documentWith, httpProxy } from './support';

const WHERE = 'GET /v1/files/{proxy+}';

function input(path: string, headers: Record<string, string> = {}, authorization?: MappingInput['authorization']): MappingInput {
  const { operations } = readApiDefinition(documentWith({ '/v1/files/{proxy+}': { get: { 'x-amazon-apigateway-integration': httpProxy('http://b/{proxy}') } } }));
  const request = parseMethodRequest({ method: 'GET', path, headers }, 'req-1', Date.parse('2026-08-01T00:00:00Z'));
  const route = matchRoute(operations, 'GET', request.resourceSegments)!;
  const context = contextVariables(request, { stage: 'prod', restApiId: 'local', accountId: '000000000000', domainName: '127.0.0.1' });
  return { request, route, context, authorization };
}

const resolve = (parameters: Record<string, string>, at: MappingInput) =>
  Object.fromEntries(resolveMappings(compileRequestParameters(parameters, WHERE), at).map(({ target, value }) => [`${target.location}.${target.name}`, value]));

describe('compileRequestParameters', () => {
  it.each([
    ['a body source', { 'integration.request.header.X-Body': 'method.request.body' }, /maps from "method\.request\.body", which the local gateway does not emulate/],
    ['a stage variable', { 'integration.request.header.X-Stage': 'stageVariables.flag' }, /does not emulate: use method\.request/],
    ['an unknown target', { 'integration.response.header.X': "'x'" }, /target "integration\.response\.header\.X" is not one the local gateway emulates/],
    ['an invalid header name', { 'integration.request.header.X Bad': "'x'" }, /"X Bad" in "integration\.request\.header\.X Bad" is not a valid header name/],
  ])('refuses %s with a message naming it', (_label, parameters, message) => {
    expect(() => compileRequestParameters(parameters, WHERE)).toThrow(message);
    expect(() => compileRequestParameters(parameters, WHERE)).toThrow(/^GET \/v1\/files\/\{proxy\+\}: /);
  });

  it('refuses requestParameters that are not an object of strings', () => {
    expect(() => compileRequestParameters(['x'], WHERE)).toThrow(/must be an object/);
    expect(() => compileRequestParameters({ 'integration.request.header.X': 1 }, WHERE)).toThrow(/must map from a string expression/);
  });

  it('accepts no requestParameters at all', () => {
    expect(compileRequestParameters(undefined, WHERE)).toEqual([]);
  });
});

describe('resolveMappings', () => {
  const authorization = { principalId: 'cus_1', context: { customerId: 'cus_1', credits: 12, trial: false, principalId: 'cus_1' } };

  it('reads every supported source', () => {
    const at = input('/prod/v1/files/a%2Fb/c?limit=5&limit=7', { 'X-Client': 'web', 'User-Agent': 'jest' }, authorization);
    expect(
      resolve(
        {
          'integration.request.header.X-Static': "'fixed value'",
          'integration.request.header.X-Customer': 'context.authorizer.customerId',
          'integration.request.header.X-Credits': 'context.authorizer.credits',
          'integration.request.header.X-Trial': 'context.authorizer.trial',
          'integration.request.header.X-Principal': 'context.authorizer.principalId',
          'integration.request.header.X-Request-Id': 'context.requestId',
          'integration.request.header.X-Agent': 'context.identity.userAgent',
          'integration.request.header.X-From-Header': 'method.request.header.x-client',
          'integration.request.querystring.limit': 'method.request.querystring.limit',
          'integration.request.path.proxy': 'method.request.path.proxy',
        },
        at,
      ),
    ).toEqual({
      'header.X-Static': { text: 'fixed value', segments: ['fixed value'] },
      'header.X-Customer': { text: 'cus_1', segments: ['cus_1'] },
      'header.X-Credits': { text: '12', segments: ['12'] },
      'header.X-Trial': { text: 'false', segments: ['false'] },
      'header.X-Principal': { text: 'cus_1', segments: ['cus_1'] },
      'header.X-Request-Id': { text: 'req-1', segments: ['req-1'] },
      'header.X-Agent': { text: 'jest', segments: ['jest'] },
      'header.X-From-Header': { text: 'web', segments: ['web'] },
      'querystring.limit': { text: '7', segments: ['7'] },
      // The client's encoded slash stays inside its segment.
      'path.proxy': { text: 'a/b/c', segments: ['a/b', 'c'] },
    });
  });

  it('gives no value when the source has none in this request', () => {
    const at = input('/prod/v1/files/x');
    expect(
      resolve(
        {
          'integration.request.header.X-Customer': 'context.authorizer.customerId',
          'integration.request.header.X-Missing': 'method.request.header.x-missing',
          'integration.request.querystring.q': 'method.request.querystring.q',
          'integration.request.header.X-Unknown': 'context.nothing.here',
        },
        at,
      ),
    ).toEqual({ 'header.X-Customer': undefined, 'header.X-Missing': undefined, 'querystring.q': undefined, 'header.X-Unknown': undefined });
  });
});
