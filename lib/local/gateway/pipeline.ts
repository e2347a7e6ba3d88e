import { randomUUID } from 'node:crypto';
import { renderAccessLogLine } from '../../../lambda/shared/access-log';
import type { AuthorizerCacheFlusher, FlushTarget } from '../../../lambda/shared/ports';
import { authorize } from './authorizer';
import { createAuthorizerCache } from './authorizer-cache';
import { functionNameFromUri, readApiDefinition, type Operation } from './document';
import { authorizerEvent, methodArn, type ApiCoordinates } from './events';
import { compileIntegration, isFault, nodeHttpClient, type HttpClient, type IntegrationHandler } from './integrations';
import { createInvoker } from './invoke';
import { contextVariables, parseMethodRequest, type ContextVariables, type MethodRequest } from './request';
import { EXPLICIT_DENY_MESSAGE, renderGatewayAnswer, type ResponseType } from './responses';
import { matchRoute } from './routes';
import { createManagementApi, type ManagementApi } from './management';
import { createTokenBucket, type ThrottleSettings, type TokenBucket } from './token-bucket';
import { LocalGatewayError, type Authorization, type AuthorizerContext, type HttpAnswer, type LocalFunction, type LocalRequest, type LocalResponse, type RequestDiagnostics } from './types';

/**
 * An in-process API Gateway REST API stage, read entirely from the OpenAPI document the stack
 * deploys, in API Gateway's order: route match → identity source → authorizer cache → policy →
 * gateway response, or the integration's translator. No sockets (server.ts adds them) and no aws-cdk-lib.
 */

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
  /** The HTTP proxy integrations' outbound client. @default nodeHttpClient */
  readonly httpClient?: HttpClient;
  /**
   * Receives the stage's access-log line of every request (lambda/shared/access-log.ts), rendered as
   * API Gateway renders it, after the response is complete. @default - no access log
   */
  readonly accessLog?: (line: string) => void;
  /**
   * The stage's throttling, and each method's own (`"POST /webhooks/stripe"`), which replaces the
   * stage's for that method; a request beyond it gets the THROTTLED gateway response (429).
   * @default - none: no request is throttled
   */
  readonly throttling?: StageThrottling;
  /** The account's management API, whose budget the flush spends. @default 10/s, burst 40 */
  readonly management?: ManagementApi;
}

export interface StageThrottling extends ThrottleSettings {
  /** By `METHOD /resource/{template}`, as the document names the route. */
  readonly methods?: Readonly<Record<string, ThrottleSettings>>;
}

export interface LocalGateway {
  handle(request: LocalRequest): Promise<LocalResponse>;
  /** FlushStageAuthorizersCache: drops every cached authorizer result of the stage. */
  flushAuthorizerCache(): void;
  /**
   * The same flush as the management API answers it: it spends the account's management budget and
   * throws TooManyRequestsException beyond it; it rejects a target naming another API or stage.
   */
  readonly flusher: AuthorizerCacheFlusher;
  /** The account's management API (its calls: the bench's control-plane figures). */
  readonly management: ManagementApi;
  readonly stage: string;
  readonly restApiId: string;
}

function requireFunctions(operations: readonly Operation[], functions: Readonly<Record<string, LocalFunction>>): void {
  for (const operation of operations) {
    const integration = operation.integration;
    const names = [operation.authorizer?.functionName, integration?.type === 'aws_proxy' ? functionNameFromUri(integration.uri ?? '') : undefined];
    for (const name of names) {
      if (name !== undefined && functions[name] === undefined) {
        throw new LocalGatewayError(`${operation.method} ${operation.template} needs the function "${name}": pass it in functions`);
      }
    }
  }
}

export function createLocalGateway(options: LocalGatewayOptions): LocalGateway {
  const api: ApiCoordinates = {
    stage: options.stage ?? 'prod',
    restApiId: options.restApiId ?? 'local',
    region: options.region ?? 'us-east-1',
    accountId: options.accountId ?? '000000000000',
    domainName: options.domainName ?? '127.0.0.1',
  };
  const now = options.now ?? Date.now;
  const definition = readApiDefinition(options.document);
  requireFunctions(definition.operations, options.functions);
  const invoke = createInvoker(options.functions, api.region, api.accountId);
  const cache = createAuthorizerCache(now);
  const management = options.management ?? createManagementApi(now);
  const stageBucket: TokenBucket | undefined = options.throttling === undefined ? undefined : createTokenBucket(options.throttling, now);
  const methodBuckets = new Map(Object.entries(options.throttling?.methods ?? {}).map(([route, settings]) => [route, createTokenBucket(settings, now)]));
  const bucketFor = (route: string | undefined): TokenBucket | undefined => (route === undefined ? undefined : methodBuckets.get(route)) ?? stageBucket;
  const deps = { invoke, binaryMediaTypes: definition.binaryMediaTypes, http: options.httpClient ?? nodeHttpClient };
  const integrations = new Map<Operation, IntegrationHandler>(definition.operations.map((o) => [o, compileIntegration(o, deps)]));

  const handle = async (incoming: LocalRequest): Promise<LocalResponse> => {
    const request = parseMethodRequest(incoming, randomUUID(), now());
    const context = contextVariables(request, api);
    const response = await answer(request, context);
    if (options.accessLog !== undefined) options.accessLog(accessLogLine(context, response, now() - request.startedAt));
    return response;
  };

  /** `$context.status`, `$context.error.*` and `$context.authorizer.*` as the stage's access log sees them. */
  const accessLogLine = (context: ContextVariables, response: LocalResponse, latency: number): string => {
    const authorizer = authorizerContexts.get(response.diagnostics.requestId) ?? {};
    authorizerContexts.delete(response.diagnostics.requestId);
    return renderAccessLogLine({
      ...context,
      ...Object.fromEntries(Object.entries(authorizer).map(([key, value]) => [`context.authorizer.${key}`, value])),
      'context.status': response.statusCode,
      'context.responseLatency': latency,
      'context.error.responseType': response.diagnostics.responseType,
      'context.authorizer.status': response.diagnostics.authorizer === 'invoked' ? 200 : undefined,
    });
  };
  /** The authorizer context of each request in flight, by request id, for its access-log line. */
  const authorizerContexts = new Map<string, AuthorizerContext>();

  const answer = async (request: MethodRequest, context: ContextVariables): Promise<LocalResponse> => {
    const diagnostics: { -readonly [K in keyof RequestDiagnostics]: RequestDiagnostics[K] } = { requestId: request.requestId };

    const reply = (answer: HttpAnswer): LocalResponse => {
      const multiValueHeaders: Record<string, string[]> = { ...Object.fromEntries(Object.entries(answer.multiValueHeaders).map(([k, v]) => [k, [...v]])) };
      multiValueHeaders['x-amzn-requestid'] = [request.requestId];
      const headers = Object.fromEntries(Object.entries(multiValueHeaders).map(([k, v]) => [k, v[v.length - 1]!]));
      return { statusCode: answer.statusCode, headers, multiValueHeaders, body: answer.body, diagnostics };
    };
    const gatewayResponse = (type: ResponseType, authorizer?: AuthorizerContext, message?: string): LocalResponse => {
      const answer = renderGatewayAnswer(definition.gatewayResponses, { type, request, context, ...(authorizer === undefined ? {} : { authorizer }), ...(message === undefined ? {} : { message }) });
      diagnostics.responseType = answer.responseType;
      return reply(answer);
    };

    // An unknown stage, an unknown path and an unknown method on a known path all answer 403 on a REST API.
    if (request.stage !== api.stage) return gatewayResponse('MISSING_AUTHENTICATION_TOKEN');
    const route = matchRoute(definition.operations, request.method, request.resourceSegments);
    const routeName = route === undefined ? undefined : `${route.operation.method} ${route.operation.template}`;
    // Throttling comes before the authorizer: a throttled request costs no invocation.
    if (bucketFor(routeName)?.take() === false) return gatewayResponse('THROTTLED');
    if (route === undefined) return gatewayResponse('MISSING_AUTHENTICATION_TOKEN');
    diagnostics.route = routeName;
    context['context.resourcePath'] = route.operation.template;
    context['context.resourceId'] = route.operation.template;

    let authorization: Authorization | undefined;
    const authorizer = route.operation.authorizer;
    if (authorizer !== undefined) {
      const arn = methodArn(api, request);
      const event = () => authorizerEvent(api, request, route);
      const step = await authorize({ cache, invoke }, { authorizer, request, methodArn: arn, event, context });
      diagnostics.authorizer = step.source;
      const { outcome } = step;
      if (outcome.kind === 'refuse') return gatewayResponse(outcome.type);
      if (options.accessLog !== undefined) authorizerContexts.set(request.requestId, outcome.authorization.context);
      if (typeof outcome.authorization.context.reason === 'string') diagnostics.reason = outcome.authorization.context.reason;
      if (outcome.kind === 'deny') return gatewayResponse('ACCESS_DENIED', outcome.authorization.context, outcome.explicit ? EXPLICIT_DENY_MESSAGE : undefined);
      authorization = outcome.authorization;
    }

    const result = await integrations.get(route.operation)!({ api, request, route, context, authorization });
    return isFault(result) ? gatewayResponse(result.fault) : reply(result);
  };

  const flushAuthorizerCache = (): void => cache.clear();
  const flusher: AuthorizerCacheFlusher = {
    // Async: a refusal (a wrong stage, the management budget spent) is a rejection, as the SDK's is.
    flush: async (target: FlushTarget) => {
      if (target.restApiId !== api.restApiId || target.stage !== api.stage) {
        throw new LocalGatewayError(`no stage "${target.stage}" on REST API "${target.restApiId}": the local gateway serves ${api.restApiId}/${api.stage}`);
      }
      await Promise.resolve(management.call('FlushStageAuthorizersCache'));
      flushAuthorizerCache();
    },
  };
  return { handle, flushAuthorizerCache, flusher, management, stage: api.stage, restApiId: api.restApiId };
}
