import type { APIGatewayProxyEvent, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { parseMethodRequest, type MethodRequest } from './request';
import type { RouteMatch } from './routes';

/**
 * The Lambda events API Gateway (REST, payload v1) sends to an authorizer and to a proxy integration:
 * the one builder of them, for the local gateway and (from a call stated by hand) for the tests and the bench.
 */

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

function requestContext(api: ApiCoordinates, request: MethodRequest, route: RouteMatch) {
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

function requestShape(request: MethodRequest, route: RouteMatch) {
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

/** A REQUEST authorizer's event. */
export function authorizerEvent(api: ApiCoordinates, request: MethodRequest, route: RouteMatch): APIGatewayRequestAuthorizerEvent {
  return { type: 'REQUEST', methodArn: methodArn(api, request), ...requestShape(request, route), requestContext: { ...requestContext(api, request, route), authorizer: undefined } };
}

/** A proxy integration's event, with the authorizer's context as REST APIs pass it on (every value a string). */
export function proxyEvent(
  api: ApiCoordinates,
  request: MethodRequest,
  route: RouteMatch,
  options: { readonly binary: boolean; readonly authorization?: { readonly principalId: string; readonly context: Readonly<Record<string, unknown>> } },
): APIGatewayProxyEvent {
  const { authorization } = options;
  return {
    ...requestShape(request, route),
    requestContext: {
      ...requestContext(api, request, route),
      authorizer:
        authorization === undefined
          ? undefined
          : { ...Object.fromEntries(Object.entries(authorization.context).map(([k, v]) => [k, String(v)])), principalId: authorization.principalId, integrationLatency: 0 },
    },
    body: request.body.length === 0 ? null : options.binary ? request.body.toString('base64') : request.body.toString('utf8'),
    isBase64Encoded: options.binary,
  };
}

/** A call as a test or the bench states it, instead of sending it through the local gateway. */
export interface StatedCall {
  readonly method: string;
  /** The resource it matched: `/v1/reports/{reportId}`. */
  readonly resource: string;
  /** The path called, without the stage; the resource when it has no parameters. */
  readonly path?: string;
  readonly pathParameters?: Readonly<Record<string, string>>;
  readonly headers?: Readonly<Record<string, string>>;
  readonly query?: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly sourceIp?: string;
}

/** The request and route of a stated call, parsed as the local gateway parses what it receives. */
function statedCall(api: ApiCoordinates, call: StatedCall): [MethodRequest, RouteMatch] {
  const query = call.query === undefined ? '' : `?${new URLSearchParams(call.query as Record<string, string>).toString()}`;
  const request = parseMethodRequest(
    { method: call.method, path: `/${api.stage}${call.path ?? call.resource}${query}`, headers: call.headers ?? {}, body: call.body ?? '', sourceIp: call.sourceIp ?? '203.0.113.7' },
    randomUUID(),
    Date.now(),
  );
  const operation = { method: call.method, template: call.resource, segments: call.resource.split('/').filter((s) => s !== ''), authorizer: undefined, integration: undefined };
  const params = call.pathParameters ?? {};
  return [request, { operation, params, paramSegments: Object.fromEntries(Object.entries(params).map(([name, value]) => [name, value.split('/')])) }];
}

/** The authorizer's event for a stated call. */
export const statedAuthorizerEvent = (api: ApiCoordinates, call: StatedCall): APIGatewayRequestAuthorizerEvent => authorizerEvent(api, ...statedCall(api, call));

/** A proxy integration's event for a stated call: a text body, no authorizer context. */
export const statedProxyEvent = (api: ApiCoordinates, call: StatedCall): APIGatewayProxyEvent => proxyEvent(api, ...statedCall(api, call), { binary: false });
