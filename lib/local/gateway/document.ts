import type { GatewayResponse } from '../../openapi/gateway-responses';
import { isObject, LocalGatewayError } from './types';

/**
 * What the gateway reads from the OpenAPI document, once, at start: REQUEST authorizers, operations
 * with their integration, gateway responses and binary media types.
 */

export interface Integration {
  readonly type: string;
  readonly uri?: string;
  readonly httpMethod?: string;
  readonly requestTemplates?: Record<string, string>;
  readonly responses?: Record<string, { statusCode?: string; responseParameters?: Record<string, string>; responseTemplates?: Record<string, string> }>;
  readonly requestParameters?: Record<string, string>;
}

export interface Authorizer {
  readonly name: string;
  readonly functionName: string;
  readonly identitySources: readonly string[];
  readonly ttlSeconds: number;
}

export interface Operation {
  /** `GET`, …, or `ANY` for `x-amazon-apigateway-any-method`. */
  readonly method: string;
  readonly template: string;
  readonly segments: readonly string[];
  readonly authorizer: Authorizer | undefined;
  readonly integration: Integration | undefined;
}

export interface ApiDefinition {
  readonly operations: readonly Operation[];
  readonly gatewayResponses: Readonly<Record<string, Partial<GatewayResponse>>>;
  readonly binaryMediaTypes: readonly string[];
}

const HTTP_METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'] as const;
const ANY_METHOD = 'x-amazon-apigateway-any-method';

/** `arn:…:function:tollgate-authorizer/invocations` → `tollgate-authorizer`. */
export function functionNameFromUri(uri: string): string | undefined {
  return /:function:([A-Za-z0-9_-]+)(?::[A-Za-z0-9_$-]+)?\/invocations$/.exec(uri)?.[1];
}

/** The invocation URI API Gateway would call for a local function name. */
export function localInvocationUri(functionName: string, region = 'us-east-1', accountId = '000000000000'): string {
  return `arn:aws:apigateway:${region}:lambda:path/2015-03-31/functions/arn:aws:lambda:${region}:${accountId}:function:${functionName}/invocations`;
}

const strings = (value: unknown): string[] | undefined =>
  typeof value === 'string' ? [value] : Array.isArray(value) && value.every((v) => typeof v === 'string') ? (value) : undefined;

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

function readOperations(document: Record<string, unknown>, authorizers: Map<string, Authorizer>): Operation[] {
  if (!isObject(document.paths)) throw new LocalGatewayError('the document has no "paths"');
  const operations: Operation[] = [];
  for (const [template, item] of Object.entries(document.paths)) {
    if (!isObject(item)) continue;
    for (const [key, value] of Object.entries(item)) {
      const method = key === ANY_METHOD ? 'ANY' : key.toUpperCase();
      if (method !== 'ANY' && !(HTTP_METHODS as readonly string[]).includes(method)) continue;
      if (!isObject(value)) continue;
      const security = Array.isArray(value.security) ? (value.security as unknown[]) : [];
      const schemeNames = security.flatMap((s) => (isObject(s) ? Object.keys(s) : []));
      operations.push({
        method,
        template,
        segments: template.split('/').filter((s) => s !== ''),
        authorizer: schemeNames.map((n) => authorizers.get(n)).find((a) => a !== undefined),
        integration: isObject(value['x-amazon-apigateway-integration']) ? (value['x-amazon-apigateway-integration'] as unknown as Integration) : undefined,
      });
    }
  }
  return operations;
}

export function readApiDefinition(document: unknown): ApiDefinition {
  if (!isObject(document)) throw new LocalGatewayError('the document must be a JSON object');
  const operations = readOperations(document, readAuthorizers(document));
  const gatewayResponses = (isObject(document['x-amazon-apigateway-gateway-responses']) ? document['x-amazon-apigateway-gateway-responses'] : {}) as Record<
    string,
    Partial<GatewayResponse>
  >;
  return { operations, gatewayResponses, binaryMediaTypes: strings(document['x-amazon-apigateway-binary-media-types']) ?? [] };
}
