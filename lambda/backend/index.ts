import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { ENV } from '../shared/settings';

const allowOrigin = process.env[ENV.corsAllowOrigin] ?? '*';

/**
 * The sample backend: what tollgate protects out of the box. It answers JSON naming the route and
 * the caller as the authorizer identified them (context values arrive as strings).
 */
export const handler = (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
  const headers = { 'Content-Type': 'application/json', 'Access-Control-Allow-Origin': allowOrigin };
  const query = event.queryStringParameters?.q;
  if (event.resource === '/v1/search' && (query === undefined || query === null || query.trim() === '')) {
    // A backend error: the call does not succeed, so it costs nothing.
    return Promise.resolve({
      statusCode: 400,
      headers,
      body: JSON.stringify({ error: 'missing_query', message: 'add ?q=<what to search for>' }),
    });
  }
  const authorizer = event.requestContext.authorizer ?? {};
  const body = {
    route: `${event.httpMethod} ${event.resource}`,
    pathParameters: event.pathParameters ?? {},
    customerId: typeof authorizer.customerId === 'string' ? authorizer.customerId : null,
    principalId: typeof authorizer.principalId === 'string' ? authorizer.principalId : null,
    plan: typeof authorizer.plan === 'string' && authorizer.plan !== '' ? authorizer.plan : null,
    paymentWarning:
      typeof authorizer.paymentWarning === 'string' && authorizer.paymentWarning !== '' ? authorizer.paymentWarning : null,
    requestId: event.requestContext.requestId,
    ...(event.resource === '/v1/search' ? { query, results: [] } : {}),
  };
  return Promise.resolve({
    statusCode: 200,
    headers,
    body: JSON.stringify(body),
  });
};
