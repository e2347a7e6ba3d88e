import { parseRequirement, RequirementError, type Requirement, type RouteRule } from '../../lambda/shared/requirements';
import { WEBHOOK_PATH } from '../contract';
import { buildGatewayResponses } from './gateway-responses';

/**
 * The one OpenAPI builder. It takes the user's document (operations annotated with `x-tollgate`) and
 * the integration targets, and returns the document API Gateway imports: authorizer security scheme,
 * per-operation security, Lambda proxy integrations, CORS preflight, the Stripe webhook route and the
 * gateway responses. The CDK stack calls it with real ARNs; the local gateway with local handlers.
 * Pure: no aws-cdk-lib, no I/O.
 */

export const AUTHORIZER_SCHEME = 'tollgateApiKey';
export { WEBHOOK_PATH };
export const TOLLGATE_EXTENSION = 'x-tollgate';
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head'] as const;
const CORS_ALLOW_HEADERS = 'Authorization,Content-Type';

export type BackendTarget =
  /** Lambda proxy integration: the function's API Gateway invocation URI. */
  | { readonly type: 'lambda'; readonly invocationUri: string }
  /** HTTP proxy to the user's backend: base URL the operation path is appended to. */
  | { readonly type: 'http'; readonly baseUrl: string };

export interface BuildApiOptions {
  /** The user's OpenAPI 3 document (parsed JSON). */
  readonly document: unknown;
  readonly authorizerUri: string;
  readonly webhookUri: string;
  readonly backend: BackendTarget;
  readonly authorizerCacheTtlSeconds: number;
  readonly corsAllowOrigin: string;
  readonly docsBaseUrl: string;
}

export interface OperationInfo {
  readonly method: string;
  readonly path: string;
  readonly requires: Requirement;
}

export interface BuiltApi {
  readonly document: OpenApiDocument;
  /** Every operation of the user's document with its requirement. */
  readonly operations: readonly OperationInfo[];
  /** The secured ones: what the authorizer's whole-API policy covers. */
  readonly routes: readonly RouteRule[];
}

export type OpenApiDocument = Record<string, unknown> & { paths: Record<string, Record<string, unknown>> };

export class OpenApiError extends Error {
  override readonly name = 'OpenApiError';
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** `/v1/reports/{reportId}` → `["reportId"]`; greedy `{proxy+}` → `["proxy"]`. */
export function pathParameters(path: string): string[] {
  return [...path.matchAll(/\{([^}]+?)\+?\}/g)].map((m) => m[1]!);
}

function lambdaProxy(uri: string): Record<string, unknown> {
  return { type: 'aws_proxy', httpMethod: 'POST', uri, passthroughBehavior: 'when_no_match' };
}

function httpProxy(baseUrl: string, method: string, path: string): Record<string, unknown> {
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

function corsPreflight(allowOrigin: string, methods: string[]): Record<string, unknown> {
  const allowMethods = [...methods.map((m) => m.toUpperCase()), 'OPTIONS'].join(',');
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
            'method.response.header.Access-Control-Allow-Origin': `'${allowOrigin}'`,
            'method.response.header.Access-Control-Allow-Methods': `'${allowMethods}'`,
            'method.response.header.Access-Control-Allow-Headers': `'${CORS_ALLOW_HEADERS}'`,
            'method.response.header.Access-Control-Max-Age': "'600'",
          },
        },
      },
    },
  };
}

function readOperations(document: unknown): { source: Record<string, unknown>; operations: OperationInfo[] } {
  if (!isObject(document)) throw new OpenApiError('the OpenAPI document must be a JSON object');
  if (typeof document.openapi !== 'string' || !document.openapi.startsWith('3.')) {
    throw new OpenApiError('the OpenAPI document must declare "openapi": "3.0.x"');
  }
  if (!isObject(document.paths) || Object.keys(document.paths).length === 0) {
    throw new OpenApiError('the OpenAPI document has no "paths": describe at least one operation');
  }
  const operations: OperationInfo[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    if (!/^\/[A-Za-z0-9._~{}+/-]*$/.test(path)) {
      throw new OpenApiError(`path "${path}" is not a valid API Gateway resource path`);
    }
    if (path === WEBHOOK_PATH) {
      throw new OpenApiError(`path "${WEBHOOK_PATH}" is reserved for the Stripe webhook: remove it from the document`);
    }
    if (!isObject(item)) throw new OpenApiError(`path "${path}" must be an object of operations`);
    for (const method of Object.keys(item)) {
      if (method === 'options') {
        throw new OpenApiError(`${path} declares "options": tollgate adds the CORS preflight itself, remove it`);
      }
      if (!(HTTP_METHODS as readonly string[]).includes(method)) continue;
      const operation = item[method];
      const label = `${method.toUpperCase()} ${path}`;
      if (!isObject(operation)) throw new OpenApiError(`${label} must be an object`);
      const extension = operation[TOLLGATE_EXTENSION];
      if (!isObject(extension) || !('requires' in extension)) {
        throw new OpenApiError(
          `${label} has no ${TOLLGATE_EXTENSION} requirement: add "${TOLLGATE_EXTENSION}": { "requires": "public" | "key" | "subscription" | "entitlement:<lookup_key>" }`,
        );
      }
      try {
        operations.push({ method: method.toUpperCase(), path, requires: parseRequirement(extension.requires) });
      } catch (err) {
        if (err instanceof RequirementError) throw new OpenApiError(`${label}: ${err.message}`);
        throw err;
      }
    }
  }
  return { source: document, operations };
}

/** The secured routes of a user document, validated: what the authorizer's policy must cover. */
export function readRoutes(document: unknown): RouteRule[] {
  return secured(readOperations(document).operations);
}

function secured(operations: readonly OperationInfo[]): RouteRule[] {
  return operations
    .filter((o) => o.requires.kind !== 'public')
    .map(({ method, path, requires }) => ({ method, path, requires }));
}

export function buildApiDocument(options: BuildApiOptions): BuiltApi {
  const { source, operations } = readOperations(options.document);
  // Deep copy: the caller's document is never mutated.
  const document = JSON.parse(JSON.stringify(source)) as OpenApiDocument;

  for (const { method, path, requires } of operations) {
    const operation = document.paths[path]![method.toLowerCase()] as Record<string, unknown>;
    // API Gateway ignores root-level `security`: it is set on each operation.
    if (requires.kind === 'public') delete operation.security;
    else operation.security = [{ [AUTHORIZER_SCHEME]: [] }];
    const params = pathParameters(path);
    if (params.length > 0 && options.backend.type === 'http') {
      const declared = Array.isArray(operation.parameters) ? (operation.parameters as unknown[]) : [];
      const missing = params.filter((p) => !declared.some((d) => isObject(d) && d.in === 'path' && d.name === p));
      if (missing.length > 0) {
        operation.parameters = [...declared, ...missing.map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } }))];
      }
    }
    operation['x-amazon-apigateway-integration'] ??=
      options.backend.type === 'lambda'
        ? lambdaProxy(options.backend.invocationUri)
        : httpProxy(options.backend.baseUrl, method, path);
  }

  for (const path of Object.keys(document.paths)) {
    const methods = operations.filter((o) => o.path === path).map((o) => o.method);
    if (methods.length > 0) document.paths[path]!.options = corsPreflight(options.corsAllowOrigin, methods);
  }

  document.paths[WEBHOOK_PATH] = {
    post: {
      operationId: 'stripeWebhook',
      summary: 'Stripe webhook endpoint. No authorizer: the handler verifies the Stripe-Signature.',
      responses: { '200': { description: 'Event received.' }, '400': { description: 'Invalid signature or body.' } },
      'x-amazon-apigateway-integration': lambdaProxy(options.webhookUri),
    },
  };

  const components = isObject(document.components) ? document.components : {};
  const schemes = isObject(components.securitySchemes) ? components.securitySchemes : {};
  document.components = {
    ...components,
    securitySchemes: {
      ...schemes,
      [AUTHORIZER_SCHEME]: {
        type: 'apiKey',
        name: 'Authorization',
        in: 'header',
        description: 'Authorization: Bearer <tollgate API key>',
        'x-amazon-apigateway-authtype': 'custom',
        'x-amazon-apigateway-authorizer': {
          type: 'request',
          identitySource: 'method.request.header.Authorization',
          authorizerUri: options.authorizerUri,
          authorizerResultTtlInSeconds: options.authorizerCacheTtlSeconds,
        },
      },
    },
  };
  delete document.security;
  document['x-amazon-apigateway-gateway-responses'] = buildGatewayResponses(options);

  return { document, operations, routes: secured(operations) };
}
