import type { GatewayResponse } from './gateway-responses';

/**
 * Renders a gateway response as API Gateway does: `$context.*` and `$stageVariables.*` simple
 * substitution (no VTL), static header values in single quotes. Used by the local gateway and the
 * tests, so both render exactly what the synthesized document declares.
 */

/** Flat variables by their full name without `$`: `context.requestId`, `context.authorizer.reason`. */
export type TemplateVariables = Readonly<Record<string, string | number | boolean | undefined>>;

export interface RenderedResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

const VARIABLE = /\$(context|stageVariables)((?:\.[A-Za-z0-9_]+)+)/g;

/** Missing variables render as the empty string, as in API Gateway. */
export function substitute(template: string, variables: TemplateVariables): string {
  return template.replace(VARIABLE, (_match, root: string, rest: string) => {
    const value = variables[`${root}${rest}`];
    return value === undefined ? '' : String(value);
  });
}

/**
 * `'static'` → static; a request mapping such as `method.request.header.x` is resolved by `resolve`. A mapped
 * value that is absent or empty (an authorizer context key not set, or set to "") sends no header at all, as
 * API Gateway drops a mapped parameter without a value (docs/agents.md, "An empty offer header"): never an
 * empty header, never the expression's text.
 */
function headerValue(expression: string, resolve: (expression: string) => string | undefined): string | undefined {
  if (expression.startsWith("'") && expression.endsWith("'") && expression.length >= 2) return expression.slice(1, -1);
  const value = resolve(expression);
  return value === '' ? undefined : value;
}

export function renderGatewayResponse(
  response: Partial<GatewayResponse> | undefined,
  defaultStatus: number,
  variables: TemplateVariables,
  options: { contentType?: string; resolve?: (expression: string) => string | undefined } = {},
): RenderedResponse {
  const headers: Record<string, string> = {};
  for (const [key, expression] of Object.entries(response?.responseParameters ?? {})) {
    const name = key.startsWith('gatewayresponse.header.') ? key.slice('gatewayresponse.header.'.length) : undefined;
    const value = name === undefined ? undefined : headerValue(expression, options.resolve ?? (() => undefined));
    if (name !== undefined && value !== undefined) headers[name] = value;
  }
  const templates = response?.responseTemplates ?? {};
  const template = templates[options.contentType ?? 'application/json'] ?? templates['application/json'];
  const body = template === undefined ? '' : substitute(template, variables);
  headers['Content-Type'] ??= 'application/json';
  return { statusCode: response?.statusCode === undefined ? defaultStatus : Number(response.statusCode), headers, body };
}
