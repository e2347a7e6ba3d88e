import { wildcardMatches } from '../../../../lambda/shared/wildcard';
import { functionNameFromUri, type Integration } from '../document';
import { proxyEvent } from '../events';
import { HeaderList } from '../headers';
import type { Invoke } from '../invoke';
import { isObject } from '../types';
import type { IntegrationHandler, IntegrationResult } from './integration';

/**
 * `aws_proxy` (Lambda proxy, payload v1): the proxy event in, `{statusCode, headers,
 * multiValueHeaders, body, isBase64Encoded}` out; anything else from the function is a 502.
 */

function isUtf8(buffer: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(buffer);
    return true;
  } catch {
    return false;
  }
}

/** Reads a proxy result as API Gateway does; undefined when it would answer 502. */
export function readProxyResult(result: unknown): IntegrationResult | undefined {
  if (!isObject(result) || typeof result.statusCode !== 'number' || !Number.isInteger(result.statusCode)) return undefined;
  const headers = new HeaderList();
  if (result.headers !== undefined && result.headers !== null) {
    if (!isObject(result.headers)) return undefined;
    for (const [name, value] of Object.entries(result.headers)) headers.set(name, String(value));
  }
  if (result.multiValueHeaders !== undefined && result.multiValueHeaders !== null) {
    if (!isObject(result.multiValueHeaders)) return undefined;
    for (const [name, values] of Object.entries(result.multiValueHeaders)) {
      if (!Array.isArray(values)) return undefined;
      for (const value of values) headers.add(name, String(value as string));
    }
  }
  const raw = typeof result.body === 'string' ? result.body : '';
  const body = result.isBase64Encoded === true ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  return { statusCode: result.statusCode, multiValueHeaders: headers.multi, body };
}

export function compileAwsProxy(integration: Integration, deps: { invoke: Invoke; binaryMediaTypes: readonly string[] }): IntegrationHandler {
  const functionName = functionNameFromUri(integration.uri ?? '');
  return async (call) => {
    if (functionName === undefined) return { fault: 'API_CONFIGURATION_ERROR' };
    const { request, authorization } = call;
    const contentType = request.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase() ?? '';
    const binary = request.body.length > 0 && (deps.binaryMediaTypes.some((t) => wildcardMatches(t.toLowerCase(), contentType)) || !isUtf8(request.body));
    const event = proxyEvent(call.api, request, call.route, { binary, ...(authorization === undefined ? {} : { authorization }) });
    let result: unknown;
    try {
      result = await deps.invoke(functionName, event, request.requestId);
    } catch {
      return { fault: 'BAD_GATEWAY' };
    }
    return readProxyResult(result) ?? { fault: 'BAD_GATEWAY' };
  };
}
