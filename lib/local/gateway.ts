import { randomUUID } from 'node:crypto';
import type { GatewayResponse } from '../openapi/gateway-responses';
import { renderGatewayResponse, type TemplateVariables } from '../openapi/render';
import type { AuthorizerCacheFlusher, FlushTarget } from '../../lambda/shared/ports';
import { wildcardMatches } from '../../lambda/shared/wildcard';

/**
 * An in-process emulation of an API Gateway REST API stage, read entirely from the OpenAPI document
 * the stack deploys: route matching, the REQUEST Lambda authorizer (identity source, result cache with
 * TTL and flush, IAM policy evaluation), gateway responses, Lambda proxy integrations (payload v1),
 * mock and HTTP proxy integrations. No sockets (server.ts adds them) and no aws-cdk-lib.
 */

/**
 * A Lambda handler as the gateway invokes it. Parameters are `never` so that any handler type
 * (authorizer, proxy) can be registered; the gateway builds the events AWS would send.
 */
export type LocalFunction = (event: never, context: never) => unknown;

export interface LocalRequest {
  readonly method: string;
  /** Path as sent, stage first, query string allowed: `/prod/v1/quotes?limit=2`. */
  readonly path: string;
  /** Header names keep the case the client sent. */
  readonly headers?: Readonly<Record<string, string | readonly string[] | undefined>>;
  readonly body?: Buffer | string;
  readonly sourceIp?: string;
}

export interface LocalResponse {
  readonly statusCode: number;
  /** Lower-case names; a header sent several times holds its last value here. */
  readonly headers: Record<string, string>;
  /** Lower-case names, every value. */
  readonly multiValueHeaders: Record<string, string[]>;
  readonly body: Buffer;
  /** For the request log only. */
  readonly diagnostics: RequestDiagnostics;
}

export interface RequestDiagnostics {
  readonly requestId: string;
  /** `GET /v1/reports/{reportId}`, when a route matched. */
  readonly route?: string;
  /** The gateway response type, when API Gateway answered instead of the integration. */
  readonly responseType?: string;
  readonly authorizer?: 'cache' | 'invoked' | 'skipped';
  /** `$context.authorizer.reason`, when the authorizer gave one. */
  readonly reason?: string;
}

export interface LocalGatewayOptions {
  /** The document as `buildApiDocument` returns it (with local invocation URIs). */
  readonly document: unknown;
  /** Handlers by Lambda function name (the name inside each invocation URI's function ARN). */
  readonly functions: Readonly<Record<string, LocalFunction>>;
  /** @default "prod" */
  readonly stage?: string;
  /** @default "local" */
  readonly restApiId?: string;
  /** @default "us-east-1" */
  readonly region?: string;
  /** @default "000000000000" */
  readonly accountId?: string;
  /** @default "127.0.0.1" */
  readonly domainName?: string;
  /** @default Date.now */
  readonly now?: () => number;
  /** For HTTP proxy integrations. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

export interface LocalGateway {
  handle(request: LocalRequest): Promise<LocalResponse>;
  /** FlushStageAuthorizersCache: drops every cached authorizer result of the stage. */
  flushAuthorizerCache(): void;
  /** The same flush behind the port the webhook uses; rejects a target naming another API or stage. */
  readonly flusher: AuthorizerCacheFlusher;
  readonly stage: string;
  readonly restApiId: string;
}

export class LocalGatewayError extends Error {
  override readonly name = 'LocalGatewayError';
}

/** Default status and `$context.error.message` of each response type API Gateway itself produces. */
const RESPONSE_TYPES = {
  MISSING_AUTHENTICATION_TOKEN: { status: 403, message: 'Missing Authentication Token', errorType: 'MissingAuthenticationTokenException' },
  UNAUTHORIZED: { status: 401, message: 'Unauthorized', errorType: 'UnauthorizedException' },
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

const HTTP_METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'] as const;
const ANY_METHOD = 'x-amazon-apigateway-any-method';

interface Integration {
  readonly type: string;
  readonly uri?: string;
  readonly httpMethod?: string;
  readonly requestTemplates?: Record<string, string>;
  readonly responses?: Record<string, { statusCode?: string; responseParameters?: Record<string, string>; responseTemplates?: Record<string, string> }>;
  readonly requestParameters?: Record<string, string>;
}

interface Operation {
  readonly method: string;
  readonly template: string;
  readonly segments: readonly string[];
  readonly secured: boolean;
  readonly integration: Integration | undefined;
}

interface Authorizer {
  readonly name: string;
  readonly functionName: string;
  readonly identitySources: readonly string[];
  readonly ttlSeconds: number;
}

interface AuthorizerResult {
  readonly principalId: string;
  readonly statements: readonly PolicyStatement[];
  readonly context: Readonly<Record<string, string | number | boolean>>;
}

interface PolicyStatement {
  readonly effect: 'Allow' | 'Deny';
  readonly actions: readonly string[];
  readonly resources: readonly string[];
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** `arn:…:function:tollgate-authorizer/invocations` → `tollgate-authorizer`. */
export function functionNameFromUri(uri: string): string | undefined {
  return /:function:([A-Za-z0-9_-]+)(?::[A-Za-z0-9_$-]+)?\/invocations$/.exec(uri)?.[1];
}

/** The invocation URI API Gateway would call for a local function name. */
export function localInvocationUri(functionName: string, region = 'us-east-1', accountId = '000000000000'): string {
  return `arn:aws:apigateway:${region}:lambda:path/2015-03-31/functions/arn:aws:lambda:${region}:${accountId}:function:${functionName}/invocations`;
}

function readAuthorizers(document: Record<string, unknown>): Map<string, Authorizer> {
  const authorizers = new Map<string, Authorizer>();
  const components = isObject(document.components) ? document.components : {};
  const schemes = isObject(components.securitySchemes) ? components.securitySchemes : {};
  for (const [name, scheme] of Object.entries(schemes)) {
    if (!isObject(scheme) || !isObject(scheme['x-amazon-apigateway-authorizer'])) continue;
    const spec = scheme['x-amazon-apigateway-authorizer'];
    if (spec.type !== 'request') throw new LocalGatewayError(`authorizer "${name}" is of type ${String(spec.type)}: the local gateway emulates REQUEST authorizers only`);
    const uri = typeof spec.authorizerUri === 'string' ? spec.authorizerUri : '';
    const functionName = functionNameFromUri(uri);
    if (functionName === undefined) throw new LocalGatewayError(`authorizer "${name}" has no Lambda function ARN in its authorizerUri "${uri}"`);
    const identitySource = typeof spec.identitySource === 'string' ? spec.identitySource : '';
    const ttl = spec.authorizerResultTtlInSeconds === undefined ? 300 : Number(spec.authorizerResultTtlInSeconds);
    if (!Number.isInteger(ttl) || ttl < 0 || ttl > 3600) throw new LocalGatewayError(`authorizer "${name}" has an authorizerResultTtlInSeconds of ${String(spec.authorizerResultTtlInSeconds)}: use 0 to 3600`);
    authorizers.set(name, {
      name,
      functionName,
      identitySources: identitySource.split(',').map((s) => s.trim()).filter((s) => s !== ''),
      ttlSeconds: ttl,
    });
  }
  return authorizers;
}

function readOperations(document: Record<string, unknown>, authorizers: Map<string, Authorizer>): { operations: Operation[]; authorizerOf: Map<Operation, Authorizer> } {
  if (!isObject(document.paths)) throw new LocalGatewayError('the document has no "paths"');
  const operations: Operation[] = [];
  const authorizerOf = new Map<Operation, Authorizer>();
  for (const [template, item] of Object.entries(document.paths)) {
    if (!isObject(item)) continue;
    for (const [key, value] of Object.entries(item)) {
      const method = key === ANY_METHOD ? 'ANY' : key.toUpperCase();
      if (method !== 'ANY' && !(HTTP_METHODS as readonly string[]).includes(method)) continue;
      if (!isObject(value)) continue;
      const security = Array.isArray(value.security) ? (value.security as unknown[]) : [];
      const schemeNames = security.flatMap((s) => (isObject(s) ? Object.keys(s) : []));
      const authorizer = schemeNames.map((n) => authorizers.get(n)).find((a) => a !== undefined);
      const integration = isObject(value['x-amazon-apigateway-integration'])
        ? (value['x-amazon-apigateway-integration'] as unknown as Integration)
        : undefined;
      const operation: Operation = {
        method,
        template,
        segments: template.split('/').filter((s) => s !== ''),
        secured: authorizer !== undefined,
        integration,
      };
      operations.push(operation);
      if (authorizer !== undefined) authorizerOf.set(operation, authorizer);
    }
  }
  return { operations, authorizerOf };
}

type SegmentMatch = { kind: 'literal' | 'param' | 'greedy' };

/** API Gateway prefers literal segments over `{param}`, and `{param}` over greedy `{proxy+}`. */
function matchTemplate(segments: readonly string[], parts: readonly string[]): { params: Record<string, string>; rank: SegmentMatch['kind'][] } | undefined {
  const params: Record<string, string> = {};
  const rank: SegmentMatch['kind'][] = [];
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const greedy = /^\{([^}]+)\+\}$/.exec(segment);
    if (greedy) {
      if (i !== segments.length - 1 || parts.length <= i) return undefined;
      params[greedy[1]!] = parts.slice(i).join('/');
      rank.push('greedy');
      return { params, rank };
    }
    const part = parts[i];
    if (part === undefined) return undefined;
    const param = /^\{([^}]+)\}$/.exec(segment);
    if (param) {
      params[param[1]!] = part;
      rank.push('param');
    } else if (segment === part) {
      rank.push('literal');
    } else {
      return undefined;
    }
  }
  return parts.length === segments.length ? { params, rank } : undefined;
}

const RANK_ORDER = { literal: 0, param: 1, greedy: 2 } as const;
function compareRanks(a: readonly SegmentMatch['kind'][], b: readonly SegmentMatch['kind'][]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const d = RANK_ORDER[a[i]!] - RANK_ORDER[b[i]!];
    if (d !== 0) return d;
  }
  return b.length - a.length;
}

/** IAM-style wildcard match: `*` any run of characters, `?` one character. */
const strings = (value: unknown): string[] | undefined =>
  typeof value === 'string' ? [value] : Array.isArray(value) && value.every((v) => typeof v === 'string') ? (value) : undefined;

/** Validates an authorizer's output as API Gateway does; undefined when it would refuse it. */
export function parseAuthorizerResult(output: unknown): AuthorizerResult | undefined {
  if (!isObject(output) || typeof output.principalId !== 'string' || !isObject(output.policyDocument)) return undefined;
  const rawStatements = output.policyDocument.Statement;
  const list = Array.isArray(rawStatements) ? (rawStatements as unknown[]) : isObject(rawStatements) ? [rawStatements] : undefined;
  if (list === undefined) return undefined;
  const statements: PolicyStatement[] = [];
  for (const statement of list) {
    if (!isObject(statement) || (statement.Effect !== 'Allow' && statement.Effect !== 'Deny')) return undefined;
    const actions = strings(statement.Action);
    const resources = strings(statement.Resource);
    if (actions === undefined || resources === undefined) return undefined;
    statements.push({ effect: statement.Effect, actions, resources });
  }
  const context: Record<string, string | number | boolean> = {};
  if (output.context !== undefined && output.context !== null) {
    if (!isObject(output.context)) return undefined;
    for (const [key, value] of Object.entries(output.context)) {
      // API Gateway rejects nested objects and arrays in the context.
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') return undefined;
      context[key] = value;
    }
  }
  return { principalId: output.principalId, statements, context };
}

/** IAM evaluation for `execute-api:Invoke` on one method ARN: an explicit Deny wins, then any Allow. */
export function evaluatePolicy(statements: readonly PolicyStatement[], methodArn: string): 'Allow' | 'ExplicitDeny' | 'ImplicitDeny' {
  const applies = (s: PolicyStatement): boolean =>
    s.actions.some((a) => wildcardMatches(a.toLowerCase(), 'execute-api:invoke')) && s.resources.some((r) => wildcardMatches(r, methodArn));
  if (statements.some((s) => s.effect === 'Deny' && applies(s))) return 'ExplicitDeny';
  return statements.some((s) => s.effect === 'Allow' && applies(s)) ? 'Allow' : 'ImplicitDeny';
}

interface ParsedHeaders {
  /** Last value per name as sent (case kept). */
  readonly single: Record<string, string>;
  readonly multi: Record<string, string[]>;
  get(name: string): string | undefined;
}

function parseHeaders(input: LocalRequest['headers']): ParsedHeaders {
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  const byLower = new Map<string, string>();
  for (const [name, value] of Object.entries(input ?? {})) {
    if (value === undefined) continue;
    const values = typeof value === 'string' ? [value] : [...value];
    if (values.length === 0) continue;
    multi[name] = [...(multi[name] ?? []), ...values];
    single[name] = values[values.length - 1]!;
    byLower.set(name.toLowerCase(), single[name]);
  }
  return { single, multi, get: (name) => byLower.get(name.toLowerCase()) };
}

function parseQuery(search: string): { single: Record<string, string> | null; multi: Record<string, string[]> | null } {
  const params = new URLSearchParams(search);
  const multi: Record<string, string[]> = {};
  for (const [key, value] of params) multi[key] = [...(multi[key] ?? []), value];
  const keys = Object.keys(multi);
  if (keys.length === 0) return { single: null, multi: null };
  return { single: Object.fromEntries(keys.map((k) => [k, multi[k]![multi[k]!.length - 1]!])), multi };
}

const safeDecode = (segment: string): string => {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
};

function isUtf8(buffer: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(buffer);
    return true;
  } catch {
    return false;
  }
}

class ResponseBuilder {
  readonly multi: Record<string, string[]> = {};
  set(name: string, value: string): void {
    this.multi[name.toLowerCase()] = [value];
  }
  add(name: string, value: string): void {
    (this.multi[name.toLowerCase()] ??= []).push(value);
  }
  build(statusCode: number, body: Buffer, diagnostics: RequestDiagnostics): LocalResponse {
    const headers = Object.fromEntries(Object.entries(this.multi).map(([k, v]) => [k, v[v.length - 1]!]));
    return { statusCode, headers, multiValueHeaders: this.multi, body, diagnostics };
  }
}

export function createLocalGateway(options: LocalGatewayOptions): LocalGateway {
  if (!isObject(options.document)) throw new LocalGatewayError('the document must be a JSON object');
  const document = options.document;
  const stage = options.stage ?? 'prod';
  const restApiId = options.restApiId ?? 'local';
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '000000000000';
  const domainName = options.domainName ?? '127.0.0.1';
  const now = options.now ?? Date.now;
  const doFetch = options.fetch ?? globalThis.fetch;

  const authorizers = readAuthorizers(document);
  const { operations, authorizerOf } = readOperations(document, authorizers);
  const gatewayResponses = (isObject(document['x-amazon-apigateway-gateway-responses'])
    ? document['x-amazon-apigateway-gateway-responses']
    : {}) as Record<string, Partial<GatewayResponse>>;
  const binaryMediaTypes = strings(document['x-amazon-apigateway-binary-media-types']) ?? [];

  for (const operation of operations) {
    const authorizer = authorizerOf.get(operation);
    const names = [authorizer?.functionName, operation.integration?.type === 'aws_proxy' ? functionNameFromUri(operation.integration.uri ?? '') : undefined];
    for (const name of names) {
      if (name !== undefined && options.functions[name] === undefined) {
        throw new LocalGatewayError(`${operation.method} ${operation.template} needs the function "${name}": pass it in functions`);
      }
    }
  }

  const cache = new Map<string, { result: AuthorizerResult; expiresAt: number }>();

  const invoke = async (functionName: string, event: unknown, requestId: string): Promise<unknown> => {
    const fn = options.functions[functionName];
    if (fn === undefined) throw new LocalGatewayError(`no local function "${functionName}"`);
    const context = {
      functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:${region}:${accountId}:function:${functionName}`,
      memoryLimitInMB: '256',
      awsRequestId: requestId,
      logGroupName: `/aws/lambda/${functionName}`,
      logStreamName: 'local',
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => 3000,
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    };
    // Lambda serialises events and results as JSON: handlers never share objects with the gateway.
    const result: unknown = await (fn as (e: unknown, c: unknown) => unknown)(JSON.parse(JSON.stringify(event)), context);
    return result === undefined ? undefined : (JSON.parse(JSON.stringify(result)) as unknown);
  };

  const handle = async (request: LocalRequest): Promise<LocalResponse> => {
    const started = now();
    const requestId = randomUUID();
    const method = request.method.toUpperCase();
    const url = new URL(request.path, 'http://local');
    const headers = parseHeaders(request.headers);
    const query = parseQuery(url.search);
    const body = request.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(request.body) ? request.body : Buffer.from(request.body, 'utf8');
    const parts = url.pathname.split('/').filter((s) => s !== '').map(safeDecode);
    const requestTime = new Date(started);

    const context: Record<string, string | number | boolean | undefined> = {
      'context.requestId': requestId,
      'context.extendedRequestId': requestId,
      'context.stage': stage,
      'context.apiId': restApiId,
      'context.accountId': accountId,
      'context.domainName': domainName,
      'context.httpMethod': method,
      'context.path': url.pathname,
      'context.requestTimeEpoch': started,
      'context.identity.sourceIp': request.sourceIp ?? '127.0.0.1',
      'context.identity.userAgent': headers.get('user-agent'),
    };
    const diagnostics: { -readonly [K in keyof RequestDiagnostics]: RequestDiagnostics[K] } = { requestId };

    const gatewayResponse = (type: ResponseType, authorizerContext: Record<string, string | number | boolean> = {}, message?: string): LocalResponse => {
      const spec = RESPONSE_TYPES[type];
      const family = spec.status >= 500 ? 'DEFAULT_5XX' : 'DEFAULT_4XX';
      const declared = type === 'BAD_GATEWAY' ? undefined : gatewayResponses[type];
      const response = declared ?? gatewayResponses[family];
      const errorMessage = message ?? spec.message;
      const variables: TemplateVariables = {
        ...context,
        'context.error.message': errorMessage,
        'context.error.messageString': errorMessage === undefined ? 'null' : JSON.stringify(errorMessage),
        'context.error.responseType': type === 'BAD_GATEWAY' ? family : type,
        ...Object.fromEntries(Object.entries(authorizerContext).map(([k, v]) => [`context.authorizer.${k}`, v])),
      };
      const fallback = { responseTemplates: { 'application/json': '{"message":$context.error.messageString}' } };
      const rendered = renderGatewayResponse(response ?? fallback, spec.status, variables, {
        resolve: (expression) => {
          const header = /^method\.request\.header\.(.+)$/.exec(expression);
          if (header) return headers.get(header[1]!);
          const qs = /^method\.request\.querystring\.(.+)$/.exec(expression);
          return qs ? (query.single?.[qs[1]!] ?? undefined) : undefined;
        },
      });
      const out = new ResponseBuilder();
      for (const [name, value] of Object.entries(rendered.headers)) out.set(name, value);
      out.set('x-amzn-RequestId', requestId);
      out.set('x-amzn-ErrorType', spec.errorType);
      diagnostics.responseType = type === 'BAD_GATEWAY' ? family : type;
      return out.build(rendered.statusCode, Buffer.from(rendered.body, 'utf8'), diagnostics);
    };

    const stagePart = parts[0];
    if (stagePart !== stage) return gatewayResponse('MISSING_AUTHENTICATION_TOKEN');
    const resourceParts = parts.slice(1);
    const resourcePath = `/${resourceParts.join('/')}`;
    context['context.path'] = url.pathname;

    let best: { operation: Operation; params: Record<string, string>; rank: SegmentMatch['kind'][] } | undefined;
    for (const operation of operations) {
      if (operation.method !== method && operation.method !== 'ANY') continue;
      const match = matchTemplate(operation.segments, resourceParts);
      if (match === undefined) continue;
      const better =
        best === undefined ||
        compareRanks(match.rank, best.rank) < 0 ||
        (compareRanks(match.rank, best.rank) === 0 && best.operation.method === 'ANY' && operation.method !== 'ANY');
      if (better) best = { operation, ...match };
    }
    // An unknown path, and an unknown method on a known path, both answer 403 on a REST API.
    if (best === undefined) return gatewayResponse('MISSING_AUTHENTICATION_TOKEN');
    const { operation, params } = best;
    diagnostics.route = `${operation.method} ${operation.template}`;
    context['context.resourcePath'] = operation.template;
    context['context.resourceId'] = operation.template;

    const methodArn = `arn:aws:execute-api:${region}:${accountId}:${restApiId}/${stage}/${method}/${resourceParts.join('/')}`;
    const requestContext = {
      accountId,
      apiId: restApiId,
      domainName,
      domainPrefix: domainName.split('.')[0] ?? domainName,
      extendedRequestId: requestId,
      httpMethod: method,
      identity: {
        sourceIp: request.sourceIp ?? '127.0.0.1',
        userAgent: headers.get('user-agent') ?? null,
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
      path: url.pathname,
      protocol: 'HTTP/1.1',
      requestId,
      requestTime: requestTime.toUTCString(),
      requestTimeEpoch: started,
      resourceId: operation.template,
      resourcePath: operation.template,
      stage,
    };
    const pathParameters = Object.keys(params).length === 0 ? null : params;
    const requestShape = {
      resource: operation.template,
      path: resourcePath,
      httpMethod: method,
      headers: headers.single,
      multiValueHeaders: headers.multi,
      queryStringParameters: query.single,
      multiValueQueryStringParameters: query.multi,
      pathParameters,
      stageVariables: null,
    };

    let authorizerContext: Record<string, string | number | boolean> | undefined;
    let principalId: string | undefined;
    const authorizer = authorizerOf.get(operation);
    if (authorizer !== undefined) {
      const identity: string[] = [];
      for (const source of authorizer.identitySources) {
        const header = /^method\.request\.header\.(.+)$/.exec(source);
        const qs = /^method\.request\.querystring\.(.+)$/.exec(source);
        const value = header ? headers.get(header[1]!) : qs ? (query.single?.[qs[1]!] ?? undefined) : undefined;
        // A missing or empty identity source is refused before the authorizer runs.
        if (value === undefined || value === '') {
          diagnostics.authorizer = 'skipped';
          return gatewayResponse('UNAUTHORIZED');
        }
        identity.push(value);
      }
      const cacheKey = `${authorizer.name}\u0000${identity.join('\u0000')}`;
      const cached = cache.get(cacheKey);
      let result: AuthorizerResult | undefined;
      if (authorizer.ttlSeconds > 0 && cached !== undefined && cached.expiresAt > now()) {
        result = cached.result;
        diagnostics.authorizer = 'cache';
      } else {
        cache.delete(cacheKey);
        diagnostics.authorizer = 'invoked';
        let output: unknown;
        try {
          output = await invoke(authorizer.functionName, { type: 'REQUEST', methodArn, ...requestShape, requestContext }, requestId);
        } catch (err) {
          // Only the exact message "Unauthorized" maps to 401; any other error is an authorizer failure.
          if (err instanceof Error && err.message === 'Unauthorized') return gatewayResponse('UNAUTHORIZED');
          return gatewayResponse('AUTHORIZER_FAILURE');
        }
        result = parseAuthorizerResult(output);
        if (result === undefined) return gatewayResponse('AUTHORIZER_CONFIGURATION_ERROR');
        if (authorizer.ttlSeconds > 0) cache.set(cacheKey, { result, expiresAt: now() + authorizer.ttlSeconds * 1000 });
      }
      authorizerContext = { ...result.context, principalId: result.principalId };
      principalId = result.principalId;
      if (typeof result.context.reason === 'string') diagnostics.reason = result.context.reason;
      const decision = evaluatePolicy(result.statements, methodArn);
      if (decision !== 'Allow') {
        return gatewayResponse(
          'ACCESS_DENIED',
          authorizerContext,
          decision === 'ExplicitDeny' ? 'User is not authorized to access this resource with an explicit deny' : undefined,
        );
      }
    }

    const integration = operation.integration;
    if (integration === undefined) return gatewayResponse('API_CONFIGURATION_ERROR');

    if (integration.type === 'mock') {
      const template = integration.requestTemplates?.['application/json'] ?? '{"statusCode": 200}';
      let status = '200';
      try {
        const parsed: unknown = JSON.parse(template);
        if (isObject(parsed) && (typeof parsed.statusCode === 'number' || typeof parsed.statusCode === 'string')) status = String(parsed.statusCode);
      } catch {
        return gatewayResponse('API_CONFIGURATION_ERROR');
      }
      const responses = integration.responses ?? {};
      const selected = Object.entries(responses).find(([pattern]) => pattern !== 'default' && new RegExp(`^${pattern}$`).test(status))?.[1] ?? responses.default;
      const out = new ResponseBuilder();
      for (const [key, expression] of Object.entries(selected?.responseParameters ?? {})) {
        const name = /^method\.response\.header\.(.+)$/.exec(key)?.[1];
        if (name !== undefined && expression.startsWith("'") && expression.endsWith("'")) out.set(name, expression.slice(1, -1));
      }
      const responseBody = selected?.responseTemplates?.['application/json'] ?? '';
      if (responseBody !== '') out.set('Content-Type', 'application/json');
      out.set('x-amzn-RequestId', requestId);
      return out.build(Number(selected?.statusCode ?? status), Buffer.from(responseBody, 'utf8'), diagnostics);
    }

    if (integration.type === 'http_proxy') {
      let target = integration.uri ?? '';
      for (const [name, value] of Object.entries(params)) {
        const greedy = operation.template.includes(`{${name}+}`);
        target = target.replace(`{${name}}`, greedy ? value.split('/').map(encodeURIComponent).join('/') : encodeURIComponent(value));
      }
      target += url.search;
      const forwarded = new Headers();
      for (const [name, values] of Object.entries(headers.multi)) {
        if (!['host', 'connection', 'content-length'].includes(name.toLowerCase())) for (const v of values) forwarded.append(name, v);
      }
      let upstream: Response;
      try {
        upstream = await doFetch(target, {
          method: integration.httpMethod === 'ANY' || integration.httpMethod === undefined ? method : integration.httpMethod,
          headers: forwarded,
          ...(body.length > 0 && method !== 'GET' && method !== 'HEAD' ? { body } : {}),
          signal: AbortSignal.timeout(29_000),
        });
      } catch {
        return gatewayResponse('INTEGRATION_FAILURE');
      }
      const out = new ResponseBuilder();
      upstream.headers.forEach((value, name) => {
        if (!['connection', 'transfer-encoding', 'content-length', 'content-encoding'].includes(name)) out.add(name, value);
      });
      out.set('x-amzn-RequestId', requestId);
      return out.build(upstream.status, Buffer.from(await upstream.arrayBuffer()), diagnostics);
    }

    if (integration.type !== 'aws_proxy') return gatewayResponse('API_CONFIGURATION_ERROR');
    const functionName = functionNameFromUri(integration.uri ?? '');
    if (functionName === undefined) return gatewayResponse('API_CONFIGURATION_ERROR');

    const contentType = headers.get('content-type')?.split(';')[0]?.trim().toLowerCase() ?? '';
    const binary =
      body.length > 0 &&
      (binaryMediaTypes.some((t) => wildcardMatches(t.toLowerCase(), contentType)) || !isUtf8(body));
    const event = {
      ...requestShape,
      requestContext: {
        ...requestContext,
        // REST API (payload v1): the authorizer's context reaches the backend with every value as a string.
        ...(authorizerContext === undefined
          ? {}
          : {
              authorizer: {
                ...Object.fromEntries(Object.entries(authorizerContext).map(([k, v]) => [k, String(v)])),
                principalId,
                integrationLatency: 0,
              },
            }),
      },
      body: body.length === 0 ? null : binary ? body.toString('base64') : body.toString('utf8'),
      isBase64Encoded: binary,
    };

    let result: unknown;
    try {
      result = await invoke(functionName, event, requestId);
    } catch {
      return gatewayResponse('BAD_GATEWAY');
    }
    if (!isObject(result) || typeof result.statusCode !== 'number' || !Number.isInteger(result.statusCode)) return gatewayResponse('BAD_GATEWAY');
    const out = new ResponseBuilder();
    if (result.headers !== undefined && result.headers !== null) {
      if (!isObject(result.headers)) return gatewayResponse('BAD_GATEWAY');
      for (const [name, value] of Object.entries(result.headers)) out.set(name, String(value));
    }
    if (result.multiValueHeaders !== undefined && result.multiValueHeaders !== null) {
      if (!isObject(result.multiValueHeaders)) return gatewayResponse('BAD_GATEWAY');
      for (const [name, values] of Object.entries(result.multiValueHeaders)) {
        if (!Array.isArray(values)) return gatewayResponse('BAD_GATEWAY');
        for (const value of values) out.add(name, String(value as string));
      }
    }
    out.set('x-amzn-RequestId', requestId);
    const rawBody = typeof result.body === 'string' ? result.body : '';
    const responseBody = result.isBase64Encoded === true ? Buffer.from(rawBody, 'base64') : Buffer.from(rawBody, 'utf8');
    return out.build(result.statusCode, responseBody, diagnostics);
  };

  const flushAuthorizerCache = (): void => cache.clear();
  const flusher: AuthorizerCacheFlusher = {
    flush: (target: FlushTarget) => {
      if (target.restApiId !== restApiId || target.stage !== stage) {
        return Promise.reject(new LocalGatewayError(`no stage "${target.stage}" on REST API "${target.restApiId}": the local gateway serves ${restApiId}/${stage}`));
      }
      flushAuthorizerCache();
      return Promise.resolve();
    },
  };
  return { handle, flushAuthorizerCache, flusher, stage, restApiId };
}
