import type { ContextVariables, MethodRequest } from '../request';
import type { RouteMatch } from '../routes';
import { LocalGatewayError, type Authorization } from '../types';

/**
 * An integration's `requestParameters` as API Gateway applies them to the integration request:
 * each target (`integration.request.header|querystring|path.<name>`) takes its value from a source
 * (`method.request.header|querystring|path.<name>`, `context.<variable>`, `context.authorizer.<key>`,
 * or a static `'value'`). Compiled once when the gateway starts, so a mapping the local gateway
 * cannot honour fails the start, not a request.
 */

export type TargetLocation = 'header' | 'querystring' | 'path';

export interface MappingTarget {
  readonly location: TargetLocation;
  readonly name: string;
}

export interface MappingInput {
  readonly request: MethodRequest;
  readonly route: RouteMatch;
  readonly context: ContextVariables;
  readonly authorization: Authorization | undefined;
}

/**
 * A mapped value. `segments` keeps a path parameter's segment boundaries (a `/` the client encoded
 * stays inside its segment); every other source is one segment.
 */
export interface MappedValue {
  readonly text: string;
  readonly segments: readonly string[];
}

export interface CompiledMapping {
  readonly target: MappingTarget;
  /** Undefined when the source has no value in this request. */
  resolve(input: MappingInput): MappedValue | undefined;
}

type Source = (input: MappingInput) => MappedValue | undefined;

const one = (text: string | number | boolean | null | undefined): MappedValue | undefined =>
  text === undefined || text === null ? undefined : { text: String(text), segments: [String(text)] };

/** RFC 9110 token: what a header name may be. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function compileTarget(key: string, where: string): MappingTarget {
  const match = /^integration\.request\.(header|querystring|path)\.(.+)$/.exec(key);
  if (match === null) {
    throw new LocalGatewayError(`${where}: requestParameters target "${key}" is not one the local gateway emulates: use integration.request.header|querystring|path.<name>`);
  }
  const location = match[1] as TargetLocation;
  const name = match[2]!;
  if (location === 'header' && !TOKEN.test(name)) throw new LocalGatewayError(`${where}: "${name}" in "${key}" is not a valid header name`);
  return { location, name };
}

function compileSource(expression: string, key: string, where: string): Source {
  if (expression.length >= 2 && expression.startsWith("'") && expression.endsWith("'")) {
    const value = one(expression.slice(1, -1));
    return () => value;
  }
  const method = /^method\.request\.(header|querystring|path)\.(.+)$/.exec(expression);
  if (method !== null) {
    const name = method[2]!;
    if (method[1] === 'header') return ({ request }) => one(request.headers.get(name));
    if (method[1] === 'querystring') return ({ request }) => one(request.query.single?.[name]);
    return ({ route }) => {
      const segments = route.paramSegments[name];
      return segments === undefined ? undefined : { text: route.params[name]!, segments };
    };
  }
  const authorizer = /^context\.authorizer\.(.+)$/.exec(expression);
  if (authorizer !== null) {
    const name = authorizer[1]!;
    return ({ authorization }) => one(authorization?.context[name]);
  }
  if (/^context\.[A-Za-z0-9_.]+$/.test(expression)) return ({ context }) => one(context[expression]);
  throw new LocalGatewayError(
    `${where}: requestParameters "${key}" maps from "${expression}", which the local gateway does not emulate: use method.request.header|querystring|path.<name>, context.<variable>, context.authorizer.<key> or a 'static' value`,
  );
}

/** `where` names the operation in error messages: `GET /v1/quotes`. */
export function compileRequestParameters(parameters: unknown, where: string): CompiledMapping[] {
  if (parameters === undefined) return [];
  if (typeof parameters !== 'object' || parameters === null || Array.isArray(parameters)) {
    throw new LocalGatewayError(`${where}: the integration's requestParameters must be an object of "integration.request.…": "source" entries`);
  }
  return Object.entries(parameters as Record<string, unknown>).map(([key, expression]) => {
    if (typeof expression !== 'string') throw new LocalGatewayError(`${where}: requestParameters "${key}" must map from a string expression`);
    const target = compileTarget(key, where);
    const source = compileSource(expression, key, where);
    return { target, resolve: source };
  });
}

/** Every mapping resolved; a target whose source has no value is present with `undefined`. */
export function resolveMappings(mappings: readonly CompiledMapping[], input: MappingInput): { target: MappingTarget; value: MappedValue | undefined }[] {
  return mappings.map((m) => ({ target: m.target, value: m.resolve(input) }));
}
