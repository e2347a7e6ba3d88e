import type { GatewayResponse } from '../../openapi/gateway-responses';
import { renderGatewayResponse, type TemplateVariables } from '../../openapi/render';
import type { ContextVariables, MethodRequest } from './request';
import type { AuthorizerContext, HttpAnswer } from './types';

/**
 * Gateway responses: what API Gateway answers itself instead of the integration, rendered purely
 * from the document's `x-amazon-apigateway-gateway-responses` (CORS headers included: nothing is
 * added that the document does not declare).
 */

/** Default status and `$context.error.message` of each response type API Gateway itself produces. */
export const RESPONSE_TYPES = {
  MISSING_AUTHENTICATION_TOKEN: { status: 403, message: 'Missing Authentication Token', errorType: 'MissingAuthenticationTokenException' },
  UNAUTHORIZED: { status: 401, message: 'Unauthorized', errorType: 'UnauthorizedException' },
  THROTTLED: { status: 429, message: 'Too Many Requests', errorType: 'TooManyRequestsException' },
  ACCESS_DENIED: { status: 403, message: 'User is not authorized to access this resource', errorType: 'AccessDeniedException' },
  // API Gateway answers a failed authorizer with `{"message": null}`.
  AUTHORIZER_FAILURE: { status: 500, message: undefined, errorType: 'AuthorizerFailureException' },
  AUTHORIZER_CONFIGURATION_ERROR: { status: 500, message: undefined, errorType: 'AuthorizerConfigurationException' },
  API_CONFIGURATION_ERROR: { status: 500, message: 'Internal server error', errorType: 'InternalServerErrorException' },
  INTEGRATION_FAILURE: { status: 504, message: 'Internal server error', errorType: 'InternalServerErrorException' },
  // A Lambda proxy error or malformed proxy result: 502 through DEFAULT_5XX.
  BAD_GATEWAY: { status: 502, message: 'Internal server error', errorType: 'InternalServerErrorException' },
} as const;
export type ResponseType = keyof typeof RESPONSE_TYPES;

export const EXPLICIT_DENY_MESSAGE = 'User is not authorized to access this resource with an explicit deny';

export interface GatewayAnswer extends HttpAnswer {
  /** The response type as `$context.error.responseType` names it. */
  readonly responseType: string;
}

export interface GatewayResponseInput {
  readonly type: ResponseType;
  readonly request: MethodRequest;
  readonly context: ContextVariables;
  readonly authorizer?: AuthorizerContext;
  /** Overrides the type's `$context.error.message`. */
  readonly message?: string;
}

export function renderGatewayAnswer(declared: Readonly<Record<string, Partial<GatewayResponse>>>, input: GatewayResponseInput): GatewayAnswer {
  const spec = RESPONSE_TYPES[input.type];
  const family = spec.status >= 500 ? 'DEFAULT_5XX' : 'DEFAULT_4XX';
  const responseType = input.type === 'BAD_GATEWAY' ? family : input.type;
  const response = (input.type === 'BAD_GATEWAY' ? undefined : declared[input.type]) ?? declared[family];
  const errorMessage = input.message ?? spec.message;
  const variables: TemplateVariables = {
    ...input.context,
    'context.error.message': errorMessage,
    'context.error.messageString': errorMessage === undefined ? 'null' : JSON.stringify(errorMessage),
    'context.error.responseType': responseType,
    ...Object.fromEntries(Object.entries(input.authorizer ?? {}).map(([k, v]) => [`context.authorizer.${k}`, v])),
  };
  const fallback = { responseTemplates: { 'application/json': '{"message":$context.error.messageString}' } };
  const { headers, query } = input.request;
  const rendered = renderGatewayResponse(response ?? fallback, spec.status, variables, {
    resolve: (expression) => {
      const header = /^method\.request\.header\.(.+)$/.exec(expression);
      if (header) return headers.get(header[1]!);
      const qs = /^method\.request\.querystring\.(.+)$/.exec(expression);
      if (qs) return query.single?.[qs[1]!] ?? undefined;
      // A context variable (the authorizer's context included), as API Gateway maps it into a header.
      const value = expression.startsWith('context.') ? variables[expression] : undefined;
      return value === undefined ? undefined : String(value);
    },
  });
  const multiValueHeaders: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(rendered.headers)) multiValueHeaders[name.toLowerCase()] = [value];
  multiValueHeaders['x-amzn-errortype'] = [spec.errorType];
  return { statusCode: rendered.statusCode, multiValueHeaders, body: Buffer.from(rendered.body, 'utf8'), responseType };
}
