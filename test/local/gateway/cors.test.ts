import { createLocalGateway, type LocalResponse } from '../../../lib/local/gateway';
import { allowing, documentWith, httpProxy } from './support';

/** CORS comes only from the document: preflights from their mock integration, errors from gateway responses. */

const accessControl = (res: LocalResponse) => Object.fromEntries(Object.entries(res.headers).filter(([name]) => name.startsWith('access-control-')));

const preflight = (headers: Record<string, string>) => ({
  'x-amazon-apigateway-integration': {
    type: 'mock',
    requestTemplates: { 'application/json': '{"statusCode": 204}' },
    responses: { default: { statusCode: '204', responseParameters: Object.fromEntries(Object.entries(headers).map(([k, v]) => [`method.response.header.${k}`, `'${v}'`])) } },
  },
  security: [],
});

const CUSTOM = {
  'Access-Control-Allow-Origin': 'https://app.example',
  'Access-Control-Allow-Methods': 'GET,PUT,OPTIONS',
  'Access-Control-Allow-Headers': 'Authorization,Content-Type,X-Api-Version,Idempotency-Key',
  'Access-Control-Max-Age': '7200',
};

function gateway(gatewayResponses: Record<string, unknown> | undefined, preflightHeaders: Record<string, string>) {
  const document = documentWith(
    { '/v1/items': { get: { 'x-amazon-apigateway-integration': httpProxy('https://backend.example/v1/items') }, options: preflight(preflightHeaders) } },
    gatewayResponses === undefined ? {} : { 'x-amazon-apigateway-gateway-responses': gatewayResponses },
  );
  if (gatewayResponses === undefined) delete document['x-amazon-apigateway-gateway-responses'];
  return createLocalGateway({ document, functions: { authorizer: allowing([]) } });
}

describe('CORS from the document', () => {
  it('answers a preflight with exactly the headers its mock integration declares', async () => {
    const res = await gateway({}, CUSTOM).handle({ method: 'OPTIONS', path: '/prod/v1/items' });
    expect(res.statusCode).toBe(204);
    expect(accessControl(res)).toEqual(Object.fromEntries(Object.entries(CUSTOM).map(([k, v]) => [k.toLowerCase(), v])));
    expect(res.body.length).toBe(0);
  });

  it('adds no CORS header to a preflight that declares none', async () => {
    const res = await gateway({}, {}).handle({ method: 'OPTIONS', path: '/prod/v1/items' });
    expect(res.statusCode).toBe(204);
    expect(accessControl(res)).toEqual({});
  });

  it('gives a gateway response exactly the CORS headers it declares', async () => {
    const declared = {
      ACCESS_DENIED: {
        statusCode: '402',
        responseParameters: { 'gatewayresponse.header.Access-Control-Allow-Origin': "'https://app.example'", 'gatewayresponse.header.Access-Control-Expose-Headers': "'Retry-After'" },
        responseTemplates: { 'application/json': '{"reason":"$context.authorizer.reason"}' },
      },
      DEFAULT_4XX: { responseTemplates: { 'application/json': '{"message":$context.error.messageString}' } },
    };
    const gw = gateway(declared, CUSTOM);
    const denied = await gw.handle({ method: 'GET', path: '/prod/v1/items', headers: { Authorization: 'Bearer k' } });
    expect(denied.statusCode).toBe(402);
    expect(accessControl(denied)).toEqual({ 'access-control-allow-origin': 'https://app.example', 'access-control-expose-headers': 'Retry-After' });

    // DEFAULT_4XX declares none: the missing-token answer carries none either.
    const missing = await gw.handle({ method: 'GET', path: '/prod/v1/nothing' });
    expect(missing.statusCode).toBe(403);
    expect(accessControl(missing)).toEqual({});
  });

  it("answers with API Gateway's plain message and no CORS header when the document declares no gateway responses", async () => {
    const res = await gateway(undefined, CUSTOM).handle({ method: 'GET', path: '/prod/v1/nothing' });
    expect(res.statusCode).toBe(403);
    expect(res.body.toString()).toBe('{"message":"Missing Authentication Token"}');
    expect(res.headers['content-type']).toBe('application/json');
    expect(accessControl(res)).toEqual({});
  });
});
