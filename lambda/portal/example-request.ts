/**
 * A call a person can make to an operation of the public document as it stands: its required path and
 * query parameters filled with the document's own example (the parameter's, else its schema's example,
 * default or first enum value), or a placeholder when it gives none. The key page's "Try it" and the local
 * run's banner call operations this way, so neither sends a request the backend must refuse.
 */

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

interface Parameter {
  readonly name: string;
  readonly in: string;
  readonly required: boolean;
  readonly example?: string;
}

function exampleOf(parameter: Record<string, unknown>): string | undefined {
  const schema = isObject(parameter.schema) ? parameter.schema : {};
  const enumFirst = Array.isArray(schema.enum) ? (schema.enum as unknown[])[0] : undefined;
  const value = [parameter.example, schema.example, schema.default, enumFirst].find((v): v is string | number | boolean => ['string', 'number', 'boolean'].includes(typeof v));
  return value === undefined ? undefined : String(value);
}

/** The operation's parameters (its own over its path item's, as OpenAPI merges them); `$ref`s are not followed. */
function parametersOf(document: Record<string, unknown>, method: string, path: string): Parameter[] | undefined {
  const paths = isObject(document.paths) ? document.paths : {};
  const item = paths[path];
  if (!isObject(item)) return undefined;
  const operation = item[method.toLowerCase()];
  if (!isObject(operation)) return undefined;
  const byKey = new Map<string, Parameter>();
  for (const list of [item.parameters, operation.parameters]) {
    for (const raw of Array.isArray(list) ? (list as unknown[]) : []) {
      if (!isObject(raw) || typeof raw.name !== 'string' || typeof raw.in !== 'string') continue;
      const example = exampleOf(raw);
      byKey.set(`${raw.in}:${raw.name}`, { name: raw.name, in: raw.in, required: raw.in === 'path' || raw.required === true, ...(example === undefined ? {} : { example }) });
    }
  }
  return [...byKey.values()];
}

export interface ExampleRequest {
  /** The path with its parameters and required query filled, ready to follow the stage's base URL. */
  readonly path: string;
  /** Every required path and query parameter had an example in the document (else its name stands in). */
  readonly fromExamples: boolean;
  /** It requires a header or cookie parameter, which a plain call does not send. */
  readonly needsMore: boolean;
}

/** The operation's path with required path and query parameters filled; undefined when the document has no such operation. */
export function exampleRequest(document: Record<string, unknown>, method: string, path: string): ExampleRequest | undefined {
  const parameters = parametersOf(document, method, path);
  if (parameters === undefined) return undefined;
  const all = parameters.filter((p) => p.required);
  const required = all.filter((p) => p.in === 'path' || p.in === 'query');
  let filled = path;
  const query = new URLSearchParams();
  for (const parameter of required) {
    const value = parameter.example ?? parameter.name;
    if (parameter.in === 'path') filled = filled.replace(`{${parameter.name}}`, encodeURIComponent(value));
    else query.append(parameter.name, value);
  }
  const search = query.toString();
  return { path: search === '' ? filled : `${filled}?${search}`, fromExamples: required.every((p) => p.example !== undefined), needsMore: all.length > required.length };
}
