import type { Authorizer } from './document';
import type { ContextVariables, MethodRequest } from './request';

/**
 * The identity source of a REQUEST authorizer: every declared source must be present and non-empty,
 * or API Gateway answers 401 without calling the authorizer. The values key the result cache.
 */
export function identityValues(authorizer: Authorizer, request: MethodRequest, context: ContextVariables = {}): string[] | undefined {
  const values: string[] = [];
  for (const source of authorizer.identitySources) {
    const header = /^method\.request\.header\.(.+)$/.exec(source);
    const query = /^method\.request\.querystring\.(.+)$/.exec(source);
    const fromContext = /^context\.[A-Za-z.]+$/.test(source) ? context[source] : undefined;
    const value = header ? request.headers.get(header[1]!) : query ? (request.query.single?.[query[1]!] ?? undefined) : fromContext === undefined ? undefined : String(fromContext);
    if (value === undefined || value === '') return undefined;
    values.push(value);
  }
  return values;
}
