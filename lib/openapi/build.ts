import {
  AUTHORIZER_GROUPS,
  groupOf,
  parseDeclaration,
  RequirementError,
  type AuthorizerGroup,
  type McpExposure,
  type Requirement,
  type RouteRule,
  type Usage,
} from '../../lambda/shared/requirements';
import type { TollgateConfig } from '../config/tollgate-config';
import { WEBHOOK_PATH } from '../contract';
import { BUDGET_PATH } from '../../lambda/shared/portal-paths';
import { buildGatewayResponses } from './gateway-responses';
import { agentPaymentsOf } from '../config/agents';
import { PURCHASE_PATH, type AgentPayments } from '../../lambda/shared/agents/offers';
import { LLMS_TXT_PATH, paymentInfo, X402_DISCOVERY_PATH } from '../../lambda/shared/agents/discovery';
import {
  corsPreflight,
  httpProxy,
  isHttpIntegration,
  lambdaProxy,
  pathParameters,
  withIdentityHeaders,
  type CorsOptions,
  type IdentityOptions,
} from './integrations';
import { describePolicyConflict, findPolicyConflict } from './policy-check';
import { documentProblems, portalPaths, publicDocument } from './portal';
import { identitySourceFor, readRouteScopes, ScopeError } from './scopes';
import type { RouteScopes } from '../../lambda/shared/issuers';
import type { McpCatalog } from '../../lambda/mcp/catalog';
import { MCP_OPERATIONS, MCP_PATH, mcpCatalog, McpDocumentError, mcpPathItem, mcpPreflight, PROTECTED_RESOURCE_PATH, protectedResourcePathItem } from './mcp';

/**
 * The one OpenAPI builder. It takes the user's document (operations annotated with `x-tollgate`) and
 * the integration targets, and returns the document API Gateway imports: authorizer security scheme,
 * per-operation security, Lambda proxy integrations, CORS preflight, the Stripe webhook route and the
 * gateway responses. The CDK stack calls it with real ARNs; the local gateway with local handlers.
 * Pure: no aws-cdk-lib, no I/O.
 */

export const AUTHORIZER_SCHEME = 'tollgateApiKey';
/**
 * One API Gateway authorizer (security scheme) per authorizer group, all the same Lambda: a cached
 * policy has one context, so cost routes (whose 402 reasons differ) and strict routes (never cached)
 * cannot share the standing routes' authorizer.
 */
export const AUTHORIZER_SCHEMES: Readonly<Record<AuthorizerGroup, string>> = {
  standing: AUTHORIZER_SCHEME,
  metered: 'tollgateMetered',
  strict: 'tollgateStrict',
};
/** Every route tollgate adds to the user's API lives under this prefix. */
export const TOLLGATE_PATH_PREFIX = '/tollgate';
/** The caller's plan, period, usage and credits, for any valid key (lambda/usage). */
export const USAGE_PATH = `${TOLLGATE_PATH_PREFIX}/usage`;
export { BUDGET_PATH };
export { WEBHOOK_PATH };
export const TOLLGATE_EXTENSION = 'x-tollgate';
export { pathParameters };
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head'] as const;
/** API Gateway's ANY method, as an OpenAPI path item key. */
export const ANY_METHOD = 'x-amazon-apigateway-any-method';
/** The methods an ANY operation answers: all but OPTIONS, which tollgate's preflight answers (an explicit method wins over ANY). */
export const ANY_METHODS: readonly string[] = ['GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'HEAD'];
/** Path item members that are not operations. */
const PATH_ITEM_FIELDS = new Set(['summary', 'description', 'parameters', 'servers']);

export type BackendTarget =
  /** Lambda proxy integration: the function's API Gateway invocation URI. */
  | { readonly type: 'lambda'; readonly invocationUri: string }
  /** HTTP proxy to the user's backend: base URL the operation path is appended to. */
  | { readonly type: 'http'; readonly baseUrl: string };

export interface BuildApiOptions extends CorsOptions, IdentityOptions {
  /** The user's OpenAPI 3.0 document (parsed JSON). */
  readonly document: unknown;
  readonly authorizerUri: string;
  readonly webhookUri: string;
  /** The usage route's function (lambda/usage). @default - no usage route */
  readonly usageUri?: string;
  readonly backend: BackendTarget;
  /** TTL of the standing routes' decisions (key, subscription, entitlement). */
  readonly authorizerCacheTtlSeconds: number;
  /** TTL of the log-metered routes' decisions. @default authorizerCacheTtlSeconds */
  readonly meteredCacheTtlSeconds?: number;
  /** Base URL of the problem pages. @default - the stack's own, /tollgate/problems on the API's domain and stage */
  readonly docsBaseUrl?: string;
  /** The portal function (docs, problem pages, the document, the developer portal). @default - no portal routes */
  readonly portalUri?: string;
  /** The local run's test checkout, which stands in for Stripe Checkout. @default - none (never deployed) */
  readonly testCheckoutUri?: string;
  /** The scheme of the stage's own URLs: the local gateway serves http. @default "https" */
  readonly selfScheme?: 'https' | 'http';
  /** Selling to agents (docs/agents.md): offers in the 401 and 402. @default - off */
  readonly agentPayments?: AgentPayments;
  /** The purchase function (lambda/purchase), at PURCHASE_PATH. @default - no purchase route */
  readonly purchaseUri?: string;
  /** The MCP function (lambda/mcp), serving the operations marked `"mcp"` as tools. @default - no MCP route */
  readonly mcpUri?: string;
  /** The `iss` of each trusted token issuer: the protected-resource metadata names them. @default - none: no metadata route */
  readonly authorizationServers?: readonly string[];
  /** The URL clients reach the stage at (tollgate:publicUrl): the 401 names the metadata there. @default - not named */
  readonly publicUrl?: string;
}

/** The builder options that come straight from configuration: the stack and the local run pass the same. */
export type ConfiguredBuildOptions = Omit<BuildApiOptions, 'document' | 'authorizerUri' | 'webhookUri' | 'usageUri' | 'backend' | 'portalUri' | 'testCheckoutUri' | 'selfScheme' | 'mcpUri' | 'purchaseUri'>;

/**
 * How long each group's decisions are cached. Strict routes reserve their cost at decision time: every
 * call must reach the authorizer. Routes sold by use change with every call: a second or so, and no
 * flush ever needed. Standing routes change only with payment: long, flushed when one opens.
 */
function ttlOf(group: AuthorizerGroup, options: Pick<BuildApiOptions, 'authorizerCacheTtlSeconds' | 'meteredCacheTtlSeconds'>): number {
  if (group === 'strict') return 0;
  if (group === 'metered') return Math.min(options.meteredCacheTtlSeconds ?? options.authorizerCacheTtlSeconds, options.authorizerCacheTtlSeconds);
  return options.authorizerCacheTtlSeconds;
}

export function configuredBuildOptions(config: TollgateConfig): ConfiguredBuildOptions {
  const { authorizerCacheTtlSeconds, meteredCacheTtlSeconds, corsAllowOrigin, corsAllowHeaders, corsAllowMethods, corsMaxAgeSeconds, forwardAuthorization, docsBaseUrl, publicUrl } = config;
  const authorizationServers = (config.issuers ?? []).map((issuer) => issuer.issuer);
  const agentPayments = agentPaymentsOf(config);
  return {
    authorizerCacheTtlSeconds,
    meteredCacheTtlSeconds,
    corsAllowOrigin,
    corsAllowHeaders,
    corsAllowMethods,
    corsMaxAgeSeconds,
    forwardAuthorization,
    docsBaseUrl,
    authorizationServers,
    publicUrl,
    ...(agentPayments === undefined ? {} : { agentPayments }),
  };
}

/**
 * Where the document's operations go: the user's HTTP backend when tollgate:backendUrl names one, else
 * the sample backend function at `uris.sampleBackend`. The stack and the local run both ask here.
 */
export function backendTarget(config: Pick<TollgateConfig, 'backendUrl'>, uris: { readonly sampleBackend?: string }): BackendTarget {
  if (config.backendUrl !== undefined) return { type: 'http', baseUrl: config.backendUrl };
  if (uris.sampleBackend === undefined) throw new Error('no backend for the API: set tollgate:backendUrl, or build the sample backend');
  return { type: 'lambda', invocationUri: uris.sampleBackend };
}

export interface OperationInfo {
  /** Upper-case HTTP method, or `ANY` for an `x-amazon-apigateway-any-method` operation. */
  readonly method: string;
  readonly path: string;
  readonly requires: Requirement;
  readonly usage?: Usage;
  /** Listed as an MCP tool (x-tollgate "mcp"). */
  readonly mcp?: McpExposure;
}

export interface BuiltApi {
  readonly document: OpenApiDocument;
  /** Every operation of the user's document with its requirement. */
  readonly operations: readonly OperationInfo[];
  /** The secured ones, ANY as the methods it answers: what the authorizer's whole-API policy covers. */
  readonly routes: readonly RouteRule[];
  /** The document callers read (/tollgate/openapi.json): requirements and problems, nothing of API Gateway's. */
  readonly publicDocument: Record<string, unknown>;
  /** OAuth scopes per `METHOD /path` (x-tollgate "scopes", lib/openapi/scopes.ts). */
  readonly scopes: RouteScopes;
  /** The MCP tools (lambda/mcp/catalog.ts), when the document marks operations and the MCP route is built. */
  readonly mcp?: McpCatalog;
}

export type OpenApiDocument = Record<string, unknown> & { paths: Record<string, Record<string, unknown>> };

export class OpenApiError extends Error {
  override readonly name = 'OpenApiError';
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The path item key of an operation. */
const operationKey = (method: string): string => (method === 'ANY' ? ANY_METHOD : method.toLowerCase());

function readOperations(document: unknown): { source: Record<string, unknown>; operations: OperationInfo[] } {
  if (!isObject(document)) throw new OpenApiError('the OpenAPI document must be a JSON object');
  // API Gateway REST APIs import OpenAPI 3.0 (and Swagger 2.0, which tollgate does not build on): not 3.1.
  if (typeof document.openapi !== 'string' || !/^3\.0\.\d+$/.test(document.openapi)) {
    throw new OpenApiError(
      'the OpenAPI document must declare "openapi": "3.0.x": API Gateway REST APIs import OpenAPI 3.0 only, convert the document to 3.0',
    );
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
    if (path === TOLLGATE_PATH_PREFIX || path.startsWith(`${TOLLGATE_PATH_PREFIX}/`)) {
      throw new OpenApiError(`path "${path}" is under ${TOLLGATE_PATH_PREFIX}/, which is reserved for the routes tollgate adds: move it elsewhere`);
    }
    if (!isObject(item)) throw new OpenApiError(`path "${path}" must be an object of operations`);
    for (const key of Object.keys(item)) {
      if (key === 'options') {
        throw new OpenApiError(`${path} declares "options": tollgate adds the CORS preflight itself, remove it`);
      }
      // Every operation is secured by its requirement or refused: nothing is published unsecured by accident.
      const method = key === ANY_METHOD ? 'ANY' : (HTTP_METHODS as readonly string[]).includes(key) ? key.toUpperCase() : undefined;
      if (method === undefined) {
        if (PATH_ITEM_FIELDS.has(key) || (key.startsWith('x-') && !key.startsWith('x-amazon-apigateway-'))) continue;
        throw new OpenApiError(
          `${path} declares "${key}", which tollgate cannot secure: use get, put, post, delete, patch, head or ${ANY_METHOD} operations (inline, no $ref), or remove it`,
        );
      }
      const operation = item[key];
      const label = `${method} ${path}`;
      if (!isObject(operation)) throw new OpenApiError(`${label} must be an object`);
      const extension = operation[TOLLGATE_EXTENSION];
      if (!isObject(extension) || !('requires' in extension)) {
        throw new OpenApiError(
          `${label} has no ${TOLLGATE_EXTENSION} requirement: add "${TOLLGATE_EXTENSION}": { "requires": "public" | "key" | "subscription" | "entitlement:<lookup_key>" }`,
        );
      }
      try {
        operations.push({ method, path, ...parseDeclaration(extension) });
      } catch (err) {
        if (err instanceof RequirementError) throw new OpenApiError(`${label}: ${err.message}`);
        throw err;
      }
    }
  }
  if (operations.some((o) => o.mcp !== undefined)) {
    for (const reserved of [MCP_PATH, PROTECTED_RESOURCE_PATH]) {
      if (reserved in document.paths) throw new OpenApiError(`path "${reserved}" is where tollgate serves MCP when operations are marked "mcp": move it elsewhere`);
    }
  }
  return { source: document, operations };
}

/** The tools a document marks for MCP (lambda/mcp/catalog.ts), validated; undefined when it marks none. */
export function readMcpCatalog(document: unknown): McpCatalog | undefined {
  const { source, operations } = readOperations(document);
  return catalogOf(source, operations);
}

/** The MCP catalog of a document's operations; mistakes fail as the document's other mistakes do. */
function catalogOf(source: Record<string, unknown>, operations: readonly OperationInfo[]): McpCatalog | undefined {
  try {
    return mcpCatalog(source, operations);
  } catch (err) {
    if (err instanceof McpDocumentError) throw new OpenApiError(err.message);
    throw err;
  }
}

/** The route tollgate adds for the caller's usage: any valid key, so the standing group. */
const USAGE_OPERATION: OperationInfo = { method: 'GET', path: USAGE_PATH, requires: { kind: 'key' } };
/** The caller's own budget (lambda/usage/budget.ts), on the usage function: any valid key. */
const BUDGET_OPERATIONS: OperationInfo[] = ['PUT', 'DELETE'].map((method) => ({ method, path: BUDGET_PATH, requires: { kind: 'key' } }));

/** The secured routes of a user document, validated: what the authorizer's policy must cover (with tollgate's routes, usage and MCP: as the stack builds it). */
export function readRoutes(document: unknown, withTollgateRoutes = false): RouteRule[] {
  const { source, operations } = readOperations(document);
  if (!withTollgateRoutes) return secured(operations);
  const mcp = catalogOf(source, operations);
  return secured([...operations, USAGE_OPERATION, ...BUDGET_OPERATIONS, ...(mcp === undefined ? [] : MCP_OPERATIONS)]);
}

/** The methods a path's operations answer (ANY as what it covers beside the explicit ones). */
function methodsOf(operations: readonly OperationInfo[], path: string): string[] {
  const own = operations.filter((o) => o.path === path);
  const explicit = own.filter((o) => o.method !== 'ANY').map((o) => o.method);
  return own.some((o) => o.method === 'ANY') ? [...new Set([...explicit, ...ANY_METHODS])] : explicit;
}

function secured(operations: readonly OperationInfo[]): RouteRule[] {
  const routes = operations
    .filter((o) => o.requires.kind !== 'public')
    .flatMap(({ method, path, requires, usage }): RouteRule[] => {
      const rule = (m: string): RouteRule => ({ method: m, path, requires, ...(usage === undefined ? {} : { usage }) });
      if (method !== 'ANY') return [rule(method)];
      // API Gateway sends a method the path declares explicitly to that operation, not to ANY.
      const explicit = operations.filter((o) => o.path === path && o.method !== 'ANY').map((o) => o.method);
      return ANY_METHODS.filter((m) => !explicit.includes(m)).map(rule);
    });
  // Each group's authorizer caches its own policy, covering its own routes only.
  for (const group of AUTHORIZER_GROUPS) {
    const conflict = findPolicyConflict(routes.filter((r) => groupOf(r) === group));
    if (conflict !== undefined) throw new OpenApiError(describePolicyConflict(conflict));
  }
  return routes;
}

/** One of tollgate's own operations, integrated with one of its functions (Lambda proxy). */
function ownOperation(operationId: string, summary: string, responses: Record<string, unknown>, uri: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { operationId, summary, ...extra, responses, 'x-amazon-apigateway-integration': lambdaProxy(uri) };
}

export function buildApiDocument(options: BuildApiOptions): BuiltApi {
  const read = readOperations(options.document);
  const { source } = read;
  // Deep copy: the caller's document is never mutated.
  const document = JSON.parse(JSON.stringify(source)) as OpenApiDocument;
  const mcp = options.mcpUri === undefined ? undefined : catalogOf(source, read.operations);
  const operations = [...read.operations, ...(options.usageUri === undefined ? [] : [USAGE_OPERATION, ...BUDGET_OPERATIONS]), ...(mcp === undefined ? [] : MCP_OPERATIONS)];
  if (mcp !== undefined) document.paths[MCP_PATH] = mcpPathItem(options.mcpUri!);
  if (options.usageUri !== undefined) {
    document.paths[USAGE_PATH] = {
      get: ownOperation('tollgateUsage', "The caller's plan, billing period, usage, limit, remaining units and credits. Any valid API key.", { '200': { description: 'The usage of the calling customer.' } }, options.usageUri),
    };
    const budget = (summary: string) => ({ summary, responses: { '200': { description: 'The budget as it stands.' } }, 'x-amazon-apigateway-integration': lambdaProxy(options.usageUri!) });
    document.paths[BUDGET_PATH] = {
      put: { operationId: 'tollgateSetBudget', ...budget('Sets the caller\'s spend cap: {"limit": units, "per": "day"|"period", "scope": "customer"|"key"}. Any valid API key.') },
      delete: { operationId: 'tollgateRemoveBudget', ...budget("Removes the caller's spend cap (?scope=customer|key). Any valid API key.") },
    };
  }

  const routes = secured(operations);
  // The user's operations (tollgate's own routes are documented on their pages).
  const scopes = routeScopesOf(source);
  const publicDoc = publicDocument(source, read.operations, operationKey, AUTHORIZER_SCHEME);
  // What each paid operation costs and what buys it, from the same configuration as the live 402.
  if (options.agentPayments !== undefined) {
    const paths = publicDoc.paths as Record<string, Record<string, Record<string, unknown>>>;
    for (const route of read.operations) {
      const info = paymentInfo(options.agentPayments, route);
      if (info !== undefined) paths[route.path]![operationKey(route.method)]!['x-payment-info'] = info;
    }
  }
  for (const { method, path, requires, usage } of operations) {
    const operation = document.paths[path]![operationKey(method)] as Record<string, unknown>;
    // API Gateway is not promised to accept foreign extensions under failOnWarnings; the routes travel
    // in the authorizer's environment and BuiltApi.routes, so the document API Gateway imports has none.
    delete operation[TOLLGATE_EXTENSION];
    // API Gateway ignores root-level `security`: it is set on each operation.
    if (requires.kind === 'public') delete operation.security;
    else operation.security = [{ [AUTHORIZER_SCHEMES[groupOf({ usage })]]: [] }];
    const params = pathParameters(path);
    if (params.length > 0 && options.backend.type === 'http') {
      const declared = Array.isArray(operation.parameters) ? (operation.parameters as unknown[]) : [];
      const missing = params.filter((p) => !declared.some((d) => isObject(d) && d.in === 'path' && d.name === p));
      if (missing.length > 0) {
        operation.parameters = [...declared, ...missing.map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } }))];
      }
    }
    const integration =
      operation['x-amazon-apigateway-integration'] ??
      (options.backend.type === 'lambda' ? lambdaProxy(options.backend.invocationUri) : httpProxy(options.backend.baseUrl, method, path));
    // An HTTP backend sees the request's headers: it gets who is calling, never the caller's key.
    operation['x-amazon-apigateway-integration'] = isHttpIntegration(integration)
      ? withIdentityHeaders(integration, requires.kind !== 'public', options)
      : integration;
  }

  for (const path of Object.keys(document.paths)) {
    const methods = methodsOf(operations, path);
    if (methods.length > 0) document.paths[path]!.options = corsPreflight(options, methods);
  }
  const withMetadata = mcp !== undefined && (options.authorizationServers ?? []).length > 0;
  if (mcp !== undefined) {
    document.paths[MCP_PATH]!.options = mcpPreflight(options);
    if (withMetadata) document.paths[PROTECTED_RESOURCE_PATH] = protectedResourcePathItem(options.mcpUri!);
  }

  documentProblems(document, operations, operationKey);
  if (options.portalUri !== undefined) Object.assign(document.paths, portalPaths(options.portalUri, options.testCheckoutUri));

  if (options.purchaseUri !== undefined) {
    document.paths[PURCHASE_PATH] = {
      post: ownOperation(
        'tollgatePurchase',
        'Buy a credit pack over MPP (docs/agents.md). No authorizer: a 402 with a challenge, then the credential; an API key in Authorization tops up its customer.',
        { '200': { description: 'Paid: the credits, and a new key when none was presented.' }, '402': { description: 'A challenge to pay, or why the credential was refused.' } },
        options.purchaseUri,
        { parameters: [{ name: 'offer', in: 'query', required: true, schema: { type: 'string' } }] },
      ),
    };
    document.paths[LLMS_TXT_PATH] = {
      get: ownOperation('tollgateLlmsTxt', 'llms.txt: the API, what each paid route costs, how an agent buys a key and credits.', { '200': { description: 'text/markdown' } }, options.purchaseUri),
    };
    if (options.agentPayments?.x402 !== undefined) {
      document.paths[X402_DISCOVERY_PATH] = {
        get: ownOperation('tollgateX402Discovery', "x402's discovery manifest: the offers sold over x402, with the requirements the live 402 carries.", { '200': { description: 'application/json' } }, options.purchaseUri),
      };
    }
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
  // Only the groups that have routes: API Gateway would create an authorizer for an unused scheme too.
  const groups = AUTHORIZER_GROUPS.filter((group) => group === 'standing' || routes.some((r) => groupOf(r) === group));
  document.components = {
    ...components,
    securitySchemes: {
      ...schemes,
      ...Object.fromEntries(
        groups.map((group) => [
          AUTHORIZER_SCHEMES[group],
          {
            type: 'apiKey',
            name: 'Authorization',
            in: 'header',
            description: `Authorization: Bearer <tollgate API key or access token> (${group} routes)`,
            'x-amazon-apigateway-authtype': 'custom',
            'x-amazon-apigateway-authorizer': {
              type: 'request',
              identitySource: identitySourceFor(scopes),
              authorizerUri: options.authorizerUri,
              authorizerResultTtlInSeconds: ttlOf(group, options),
            },
          },
        ]),
      ),
    },
  };
  delete document.security;
  document['x-amazon-apigateway-gateway-responses'] = buildGatewayResponses({ ...options, protectedResourceMetadata: withMetadata });

  return { document, operations, routes, publicDocument: publicDoc, scopes, ...(mcp === undefined ? {} : { mcp }) };
}

/** Scope mistakes fail as the document's other mistakes do. */
export function routeScopesOf(document: unknown): RouteScopes {
  try {
    return readRouteScopes(document);
  } catch (err) {
    if (err instanceof ScopeError) throw new OpenApiError(err.message);
    throw err;
  }
}
