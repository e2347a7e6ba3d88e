/**
 * The integrations the builder adds: Lambda proxy, HTTP proxy to the user's backend (with the caller's
 * identity as request headers and without the caller's secret), and the CORS preflight. Pure.
 */

/** Every header tollgate sends a backend starts with this. */
export const IDENTITY_HEADER_PREFIX = 'X-Tollgate-';

/** Header → the authorizer's context key it carries (`$context.authorizer.<key>`). */
export const IDENTITY_HEADERS: Readonly<Record<string, string>> = {
  [`${IDENTITY_HEADER_PREFIX}Customer-Id`]: 'customerId',
  [`${IDENTITY_HEADER_PREFIX}Key-Id`]: 'keyId',
  [`${IDENTITY_HEADER_PREFIX}Plan`]: 'plan',
  [`${IDENTITY_HEADER_PREFIX}Subscription-Status`]: 'subscriptionStatus',
  [`${IDENTITY_HEADER_PREFIX}Payment-Warning`]: 'paymentWarning',
  [`${IDENTITY_HEADER_PREFIX}Current-Period-End`]: 'currentPeriodEnd',
};

/** What a public route's backend reads in every identity header, whatever the client sent. */
export const NO_IDENTITY = 'none';

/**
 * What the backend reads in `Authorization` instead of the caller's API key. A REST API cannot delete
 * a header from a proxied request; a static override is the documented way to replace it.
 */
export const REDACTED_AUTHORIZATION = 'redacted-by-tollgate';

export const DEFAULT_CORS_ALLOW_HEADERS: readonly string[] = ['Authorization', 'Content-Type'];
export const DEFAULT_CORS_MAX_AGE_SECONDS = 600;

export interface CorsOptions {
  /** `Access-Control-Allow-Origin`: "*" or one origin. */
  readonly corsAllowOrigin: string;
  /** `Access-Control-Allow-Headers` of preflights and gateway responses. @default ["Authorization", "Content-Type"] */
  readonly corsAllowHeaders?: readonly string[];
  /** Methods a browser may use cross-origin. @default - every method of the path */
  readonly corsAllowMethods?: readonly string[];
  /** `Access-Control-Max-Age` of preflights. @default 600 */
  readonly corsMaxAgeSeconds?: number;
}

export interface IdentityOptions {
  /** Send the caller's `Authorization` header on to HTTP backends. @default false */
  readonly forwardAuthorization?: boolean;
}

type Integration = Record<string, unknown>;

export function lambdaProxy(uri: string): Integration {
  return { type: 'aws_proxy', httpMethod: 'POST', uri, passthroughBehavior: 'when_no_match' };
}

/** `/v1/reports/{reportId}` → `["reportId"]`; greedy `{proxy+}` → `["proxy"]`. */
export function pathParameters(path: string): string[] {
  return [...path.matchAll(/\{([^}]+?)\+?\}/g)].map((m) => m[1]!);
}

export function httpProxy(baseUrl: string, method: string, path: string): Integration {
  const params = pathParameters(path);
  return {
    type: 'http_proxy',
    httpMethod: method.toUpperCase(),
    uri: `${baseUrl.replace(/\/+$/, '')}${path.replace(/\{([^}]+?)\+\}/g, '{$1}')}`,
    passthroughBehavior: 'when_no_match',
    ...(params.length > 0
      ? { requestParameters: Object.fromEntries(params.map((p) => [`integration.request.path.${p}`, `method.request.path.${p}`])) }
      : {}),
  };
}

/** An integration that sends the request to an HTTP backend, which would see its headers. */
export function isHttpIntegration(integration: unknown): integration is Integration {
  return (
    typeof integration === 'object' &&
    integration !== null &&
    typeof (integration as Integration).type === 'string' &&
    ['http', 'http_proxy'].includes(((integration as Integration).type as string).toLowerCase())
  );
}

/**
 * The caller's identity and standing as `X-Tollgate-*` headers (mapped from the authorizer's context on
 * a secured route; `none` on a public one, so a client cannot forge them), and its API key withheld.
 * Mappings the document already declares are kept.
 */
export function withIdentityHeaders(integration: Integration, secured: boolean, options: IdentityOptions): Integration {
  const own = (integration.requestParameters ?? {}) as Record<string, string>;
  const added: Record<string, string> = {};
  for (const [header, key] of Object.entries(IDENTITY_HEADERS)) {
    added[`integration.request.header.${header}`] = secured ? `context.authorizer.${key}` : `'${NO_IDENTITY}'`;
  }
  if (options.forwardAuthorization !== true) added['integration.request.header.Authorization'] = `'${REDACTED_AUTHORIZATION}'`;
  return { ...integration, requestParameters: { ...added, ...own } };
}

export function corsPreflight(options: CorsOptions, pathMethods: readonly string[]): Integration {
  const allowed = options.corsAllowMethods === undefined ? pathMethods : pathMethods.filter((m) => options.corsAllowMethods!.includes(m));
  const allowMethods = [...allowed, 'OPTIONS'].join(',');
  const allowHeaders = (options.corsAllowHeaders ?? DEFAULT_CORS_ALLOW_HEADERS).join(',');
  const maxAge = options.corsMaxAgeSeconds ?? DEFAULT_CORS_MAX_AGE_SECONDS;
  const headerNames = ['Access-Control-Allow-Origin', 'Access-Control-Allow-Methods', 'Access-Control-Allow-Headers', 'Access-Control-Max-Age'];
  return {
    summary: 'CORS preflight',
    responses: {
      '204': {
        description: 'CORS preflight',
        headers: Object.fromEntries(headerNames.map((h) => [h, { schema: { type: 'string' } }])),
      },
    },
    'x-amazon-apigateway-integration': {
      type: 'mock',
      requestTemplates: { 'application/json': '{"statusCode": 204}' },
      responses: {
        default: {
          statusCode: '204',
          responseParameters: {
            'method.response.header.Access-Control-Allow-Origin': `'${options.corsAllowOrigin}'`,
            'method.response.header.Access-Control-Allow-Methods': `'${allowMethods}'`,
            'method.response.header.Access-Control-Allow-Headers': `'${allowHeaders}'`,
            'method.response.header.Access-Control-Max-Age': `'${maxAge}'`,
          },
        },
      },
    },
  };
}
