import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { synth, synthInBeforeAll, type Resource } from '../support/synth';

/**
 * The MCP endpoint in the synthesized stack: /mcp behind the standing authorizer, its function with no
 * grant beyond its logs, and nothing it adds reaches a route, a table or a secret around the authorizer.
 */

const ISSUER = 'https://example.eu.auth0.com/';
const stack = synthInBeforeAll({
  'tollgate:issuers': [{ issuer: ISSUER, audience: ['https://api.example.com'], customer: 'subject' }],
  'tollgate:publicUrl': 'https://api.example.com',
});
const { ofType, logicalIdOf, statementsOf } = stack;
const bodyOf = (resources: Record<string, Resource>): any => Object.values(resources).find((r) => r.Type === 'AWS::ApiGateway::RestApi')!.Properties.Body;
const targetsMcp = (operation: any): boolean => JSON.stringify(operation?.['x-amazon-apigateway-integration']?.uri ?? '').includes('"Mcp');

describe('the MCP endpoint in the stack', () => {
  it('puts POST, GET and DELETE /mcp behind the standing authorizer, integrated with the MCP function', () => {
    const body = bodyOf(stack.resources());
    for (const method of ['post', 'get', 'delete']) {
      expect(body.paths['/mcp'][method].security).toEqual([{ tollgateApiKey: [] }]);
      expect(targetsMcp(body.paths['/mcp'][method])).toBe(true);
    }
    expect(body.paths['/mcp'].options['x-amazon-apigateway-integration'].responses.default.responseParameters['method.response.header.Access-Control-Allow-Headers']).toContain('Mcp-Session-Id');
  });

  it('adds no path around the authorizer: the MCP function serves only /mcp (secured) and the public metadata, and every other route keeps its security', () => {
    const body = bodyOf(stack.resources());
    const served = Object.entries(body.paths as Record<string, Record<string, any>>).flatMap(([p, item]) => Object.entries(item).filter(([, op]) => targetsMcp(op)).map(([m, op]) => [`${m.toUpperCase()} ${p}`, op.security] as const));
    expect(served).toEqual([
      ['POST /mcp', [{ tollgateApiKey: [] }]],
      ['GET /mcp', [{ tollgateApiKey: [] }]],
      ['DELETE /mcp', [{ tollgateApiKey: [] }]],
      ['GET /.well-known/oauth-protected-resource', undefined],
    ]);
    // The same routes and security as a document that marks nothing for MCP.
    const dir = mkdtempSync(path.join(tmpdir(), 'tollgate-mcp-doc-'));
    try {
      const document = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'api', 'openapi.json'), 'utf8'));
      for (const item of Object.values<any>(document.paths)) for (const operation of Object.values<any>(item)) delete operation['x-tollgate'].mcp;
      const file = path.join(dir, 'openapi.json');
      writeFileSync(file, JSON.stringify(document));
      const { template } = synth({ 'tollgate:openApiDocument': file, 'tollgate:issuers': [{ issuer: ISSUER, audience: ['https://api.example.com'], customer: 'subject' }] });
      const plain = bodyOf(template.toJSON().Resources as Record<string, Resource>);
      const security = (b: any) => Object.fromEntries(Object.entries(b.paths as Record<string, Record<string, any>>).filter(([p]) => p !== '/mcp' && p !== '/.well-known/oauth-protected-resource').flatMap(([p, item]) => Object.entries(item).map(([m, op]) => [`${m} ${p}`, op.security ?? null])));
      expect(security(body)).toEqual(security(plain));
      expect(plain.paths['/mcp']).toBeUndefined();
      expect(Object.keys(template.findResources('AWS::Lambda::Function')).some((id) => id.startsWith('Mcp'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('grants the MCP function nothing but its logs and traces: no table, no secret, no backend', () => {
    const actions = statementsOf('Mcp').flatMap((s) => [s.Action].flat());
    expect(actions.filter((a: string) => !a.startsWith('logs:') && !a.startsWith('xray:'))).toEqual([]);
    const fn = stack.resources()[logicalIdOf('Mcp', 'AWS::Lambda::Function')]!;
    expect(Object.keys(fn.Properties.Environment.Variables).sort()).toEqual(['POWERTOOLS_METRICS_NAMESPACE', 'POWERTOOLS_SERVICE_NAME', 'TOLLGATE_CORS_ALLOW_ORIGIN', 'TOLLGATE_MCP_AUTHORIZATION_SERVERS']);
    expect(JSON.parse(fn.Properties.Environment.Variables.TOLLGATE_MCP_AUTHORIZATION_SERVERS)).toEqual([ISSUER]);
    expect(fn.Properties.Timeout).toBe(29);
    // API Gateway may invoke it; nothing else is given a way in.
    const permissions = ofType('AWS::Lambda::Permission').filter(([, p]) => JSON.stringify(p.Properties.FunctionName).includes(logicalIdOf('Mcp', 'AWS::Lambda::Function')));
    expect(permissions.map(([, p]) => p.Properties.Principal)).toEqual(['apigateway.amazonaws.com']);
  });

  it('names the protected-resource metadata in the 401 at the public URL, and its URL on the stage in the body', () => {
    const unauthorized = bodyOf(stack.resources())['x-amazon-apigateway-gateway-responses'].UNAUTHORIZED;
    expect(unauthorized.responseParameters['gatewayresponse.header.WWW-Authenticate']).toBe(`'Bearer realm="tollgate", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource"'`);
    expect(unauthorized.responseTemplates['application/json']).toContain('"resourceMetadata":"https://$context.domainName/$context.stage/.well-known/oauth-protected-resource"');
  });
});

describe('the MCP endpoint without token issuers', () => {
  it('serves no metadata, and the 401 asks for an API key', () => {
    const body = bodyOf(synth().template.toJSON().Resources as Record<string, Resource>);
    expect(body.paths['/.well-known/oauth-protected-resource']).toBeUndefined();
    expect(body.paths['/mcp'].post.security).toEqual([{ tollgateApiKey: [] }]);
    const unauthorized = body['x-amazon-apigateway-gateway-responses'].UNAUTHORIZED;
    expect(unauthorized.responseParameters['gatewayresponse.header.WWW-Authenticate']).toBe(`'Bearer realm="tollgate"'`);
    expect(unauthorized.responseTemplates['application/json']).toContain('Send a valid API key or access token as: Authorization: Bearer <key or token>.');
  });
});

