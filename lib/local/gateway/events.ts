import type { MethodRequest } from './request';
import type { RouteMatch } from './routes';

/** The Lambda event fields API Gateway (REST, payload v1) sends both to an authorizer and to a proxy integration. */

export interface ApiCoordinates {
  readonly stage: string;
  readonly restApiId: string;
  readonly region: string;
  readonly accountId: string;
  readonly domainName: string;
}

export function methodArn(api: ApiCoordinates, request: MethodRequest): string {
  return `arn:aws:execute-api:${api.region}:${api.accountId}:${api.restApiId}/${api.stage}/${request.method}/${request.resourceSegments.join('/')}`;
}

export function requestContext(api: ApiCoordinates, request: MethodRequest, route: RouteMatch) {
  return {
    accountId: api.accountId,
    apiId: api.restApiId,
    domainName: api.domainName,
    domainPrefix: api.domainName.split('.')[0] ?? api.domainName,
    extendedRequestId: request.requestId,
    httpMethod: request.method,
    identity: {
      sourceIp: request.sourceIp,
      userAgent: request.headers.get('user-agent') ?? null,
      accessKey: null,
      accountId: null,
      apiKey: null,
      apiKeyId: null,
      caller: null,
      clientCert: null,
      cognitoAuthenticationProvider: null,
      cognitoAuthenticationType: null,
      cognitoIdentityId: null,
      cognitoIdentityPoolId: null,
      principalOrgId: null,
      user: null,
      userArn: null,
    },
    path: request.path,
    protocol: 'HTTP/1.1',
    requestId: request.requestId,
    requestTime: new Date(request.startedAt).toUTCString(),
    requestTimeEpoch: request.startedAt,
    resourceId: route.operation.template,
    resourcePath: route.operation.template,
    stage: api.stage,
  };
}

export function requestShape(request: MethodRequest, route: RouteMatch) {
  return {
    resource: route.operation.template,
    path: `/${request.resourceSegments.join('/')}`,
    httpMethod: request.method,
    headers: request.headers.single,
    multiValueHeaders: request.headers.multi,
    queryStringParameters: request.query.single,
    multiValueQueryStringParameters: request.query.multi,
    pathParameters: Object.keys(route.params).length === 0 ? null : route.params,
    stageVariables: null,
  };
}
