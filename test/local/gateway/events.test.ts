import { createLocalGateway, localInvocationUri } from '../../../lib/local/gateway';
import { statedAuthorizerEvent, statedProxyEvent, type ApiCoordinates } from '../../../lib/local/gateway/events';
import { documentWith } from './support';

/** The events the tests and the bench state by hand are the events the local gateway sends for the same call. */
const API: ApiCoordinates = { stage: 'prod', restApiId: 'api123', region: 'us-east-1', accountId: '000000000000', domainName: '127.0.0.1' };

async function sentByTheGateway(path: string, headers: Record<string, string>): Promise<{ authorizer: any; backend: any }> {
  const seen: { authorizer?: unknown; backend?: unknown } = {};
  const gateway = createLocalGateway({
    document: documentWith({ '/v1/reports/{reportId}': { get: { 'x-amazon-apigateway-integration': { type: 'aws_proxy', httpMethod: 'POST', uri: localInvocationUri('backend') } } } }),
    functions: {
      authorizer: (event: unknown) => {
        seen.authorizer = event;
        return Promise.resolve({ principalId: 'cus_1', policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: '*' }] }, context: {} });
      },
      backend: (event: unknown) => {
        seen.backend = event;
        return Promise.resolve({ statusCode: 200, body: 'ok' });
      },
    },
    stage: API.stage,
    restApiId: API.restApiId,
  });
  const answer = await gateway.handle({ method: 'GET', path: `/prod${path}`, headers, sourceIp: '203.0.113.7' });
  expect(answer.statusCode).toBe(200);
  return seen as { authorizer: any; backend: any };
}

/** What differs between two sends of one call: its id and its time. */
const timeless = (event: any): unknown => {
  const { requestId: _id, extendedRequestId: _ext, requestTime: _time, requestTimeEpoch: _epoch, authorizer: _authorizer, ...context } = event.requestContext;
  return { ...event, requestContext: context };
};

describe('stated events', () => {
  const call = { method: 'GET', resource: '/v1/reports/{reportId}', path: '/v1/reports/annual%202026', pathParameters: { reportId: 'annual 2026' }, query: { format: 'csv' } };
  const headers = { Authorization: 'Bearer k', 'User-Agent': 'jest' };

  it('are the authorizer event and the proxy event the local gateway sends for the same call', async () => {
    const sent = await sentByTheGateway('/v1/reports/annual%202026?format=csv', headers);
    expect(timeless(statedAuthorizerEvent(API, { ...call, headers }))).toEqual(timeless(sent.authorizer));
    expect(timeless(statedProxyEvent(API, { ...call, headers }))).toEqual(timeless(sent.backend));
  });

  it('take any header or query name, __proto__ included, as its own entry', () => {
    const event = statedProxyEvent(API, { method: 'POST', resource: '/webhooks/stripe', headers: JSON.parse('{"__proto__":"x","Stripe-Signature":"t=1"}'), query: JSON.parse('{"__proto__":"y"}') });
    expect(Object.entries(event.headers)).toEqual([
      ['__proto__', 'x'],
      ['Stripe-Signature', 't=1'],
    ]);
    expect(Object.entries(event.multiValueQueryStringParameters ?? {})).toEqual([['__proto__', ['y']]]);
  });
});
