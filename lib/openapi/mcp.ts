import { BODY_ARGUMENT, MCP_PATH, PROTECTED_RESOURCE_PATH, type JsonSchema, type McpCatalog, type McpTool, type ToolParameter } from '../../lambda/mcp/catalog';
import { formatRequirement, type McpExposure, type Requirement, type Usage } from '../../lambda/shared/requirements';
import { corsPreflight, DEFAULT_CORS_ALLOW_HEADERS, lambdaProxy, type CorsOptions } from './integrations';

/**
 * The MCP endpoint the builder adds when the document marks operations `"mcp"` in `x-tollgate`: the tool
 * catalog (names, descriptions and input schemas from the document, the price from `x-tollgate`), the
 * `/mcp` route (any valid credential: protocol traffic costs nothing) and, with token issuers
 * configured, the protected-resource metadata (RFC 9728). A tool call is the route's own HTTP call,
 * made by lambda/mcp through the gateway: the same decision, metering and 402s. Pure.
 */

export { MCP_PATH, PROTECTED_RESOURCE_PATH };

export class McpDocumentError extends Error {
  override readonly name = 'McpDocumentError';
}

export interface MarkedOperation {
  readonly method: string;
  readonly path: string;
  readonly requires: Requirement;
  readonly usage?: Usage;
  readonly mcp?: McpExposure;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Schema keywords of OpenAPI 3.0 that JSON Schema does not have (`nullable` is translated). */
const OPENAPI_ONLY = new Set(['nullable', 'discriminator', 'xml', 'externalDocs', 'example', 'deprecated', 'readOnly', 'writeOnly']);
const MAX_REF_DEPTH = 32;

/** Follows a local `$ref` (`#/components/…`) of the document; throws on anything else or a cycle. */
function resolver(document: Record<string, unknown>, label: string) {
  const resolve = (value: unknown, seen: readonly string[] = []): unknown => {
    if (!isObject(value) || typeof value.$ref !== 'string') return value;
    const ref = value.$ref;
    if (!ref.startsWith('#/')) throw new McpDocumentError(`${label}: "$ref": "${ref}" is not in this document: MCP tools resolve local references (#/components/…) only`);
    if (seen.includes(ref) || seen.length >= MAX_REF_DEPTH) throw new McpDocumentError(`${label}: "$ref": "${ref}" refers to itself: an MCP tool's input schema must be finite, inline the recursive part`);
    let target: unknown = document;
    for (const part of ref.slice(2).split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))) target = isObject(target) ? target[part] : undefined;
    if (target === undefined) throw new McpDocumentError(`${label}: "$ref": "${ref}" names nothing in the document`);
    return resolve(target, [...seen, ref]);
  };
  /** An OpenAPI 3.0 schema as JSON Schema: references inlined, `nullable` as a `null` type, OpenAPI-only keywords dropped. */
  const schema = (value: unknown, seen: readonly string[] = []): JsonSchema => {
    const ref = isObject(value) && typeof value.$ref === 'string' ? value.$ref : undefined;
    const resolved = resolve(value);
    if (!isObject(resolved)) return {};
    const path = ref === undefined ? seen : [...seen, ref];
    if (ref !== undefined && seen.includes(ref)) throw new McpDocumentError(`${label}: "$ref": "${ref}" refers to itself: an MCP tool's input schema must be finite, inline the recursive part`);
    const out: Record<string, unknown> = {};
    for (const [key, member] of Object.entries(resolved)) {
      if (OPENAPI_ONLY.has(key)) continue;
      if (key === 'properties' && isObject(member)) out.properties = Object.fromEntries(Object.entries(member).map(([name, sub]) => [name, schema(sub, path)]));
      else if ((key === 'items' || key === 'not' || key === 'additionalProperties') && isObject(member)) out[key] = schema(member, path);
      else if ((key === 'allOf' || key === 'anyOf' || key === 'oneOf') && Array.isArray(member)) out[key] = member.map((sub) => schema(sub, path));
      else out[key] = member;
    }
    if (resolved.nullable === true && typeof resolved.type === 'string') out.type = [resolved.type, 'null'];
    return out;
  };
  return { resolve, schema };
}

/** The operation's path-level and own parameters (its own win), resolved. */
function parametersOf(item: Record<string, unknown>, operation: Record<string, unknown>, resolve: (v: unknown) => unknown, label: string): Record<string, unknown>[] {
  const list = (value: unknown): Record<string, unknown>[] =>
    (Array.isArray(value) ? value : []).map((p) => {
      const resolved = resolve(p);
      if (!isObject(resolved) || typeof resolved.name !== 'string' || typeof resolved.in !== 'string') throw new McpDocumentError(`${label}: a parameter has no "name" and "in"`);
      return resolved;
    });
  const own = list(operation.parameters);
  const inherited = list(item.parameters).filter((p) => !own.some((o) => o.name === p.name && o.in === p.in));
  return [...inherited, ...own];
}

function toolOf(document: Record<string, unknown>, marked: MarkedOperation & { readonly mcp: McpExposure }): McpTool {
  const { method, path, requires, usage, mcp } = marked;
  const label = `${method} ${path}`;
  if (method === 'ANY') throw new McpDocumentError(`${label}: an ${'x-amazon-apigateway-any-method'} operation cannot be an MCP tool (a tool calls one method): mark the method's own operation instead`);
  const paths = document.paths as Record<string, Record<string, unknown>>;
  const item = paths[path]!;
  const operation = item[method.toLowerCase()] as Record<string, unknown>;
  const { resolve, schema } = resolver(document, label);
  const name = mcp.name ?? (typeof operation.operationId === 'string' ? operation.operationId : undefined);
  if (name === undefined) throw new McpDocumentError(`${label}: an MCP tool needs a name: add an "operationId", or "mcp": { "name": "<tool name>" }`);
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) {
    throw new McpDocumentError(`${label}: the operationId "${name}" is not a tool name (letters, digits, "_" or "-", at most 64): set "mcp": { "name": "<tool name>" }`);
  }
  const summary = typeof operation.summary === 'string' && operation.summary.trim() !== '' ? operation.summary.trim() : undefined;
  const longer = typeof operation.description === 'string' && operation.description.trim() !== '' ? operation.description.trim() : undefined;
  const description = mcp.description ?? longer ?? summary;
  if (description === undefined) throw new McpDocumentError(`${label}: an MCP tool needs a description: add a "summary" or "description", or "mcp": { "description": "…" }`);

  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  const parameters: ToolParameter[] = [];
  for (const parameter of parametersOf(item, operation, resolve, label)) {
    const where = parameter.in as string;
    const pname = parameter.name as string;
    if (where !== 'path' && where !== 'query') {
      throw new McpDocumentError(`${label}: parameter "${pname}" is in ${where}: an MCP tool sends path and query parameters and a JSON body only; remove "mcp" or the parameter`);
    }
    if (pname === BODY_ARGUMENT) throw new McpDocumentError(`${label}: a parameter named "${BODY_ARGUMENT}" would clash with the tool's JSON body argument: rename it, or remove "mcp"`);
    const described = typeof parameter.description === 'string' ? { description: parameter.description } : {};
    properties[pname] = { ...(parameter.schema === undefined ? { type: 'string' } : schema(parameter.schema)), ...described };
    if (where === 'path' || parameter.required === true) required.push(pname);
    parameters.push({ name: pname, in: where });
  }
  const missing = [...path.matchAll(/\{([^}+]+)\+?\}/g)].map((m) => m[1]!).filter((p) => !parameters.some((d) => d.in === 'path' && d.name === p));
  for (const pname of missing) {
    properties[pname] = { type: 'string' };
    required.push(pname);
    parameters.push({ name: pname, in: 'path' });
  }

  let body = false;
  const requestBody = resolve(operation.requestBody);
  if (isObject(requestBody)) {
    const content = isObject(requestBody.content) ? requestBody.content : {};
    const json = Object.entries(content).find(([type]) => /^application\/(.+\+)?json$/i.test(type.split(';')[0]!.trim()));
    if (json === undefined) throw new McpDocumentError(`${label}: an MCP tool sends a JSON body: declare "application/json" content, or remove "mcp"`);
    body = true;
    const media = json[1];
    properties[BODY_ARGUMENT] = { ...(isObject(media) && media.schema !== undefined ? schema(media.schema) : {}), ...(typeof requestBody.description === 'string' ? { description: requestBody.description } : {}) };
    if (requestBody.required === true) required.push(BODY_ARGUMENT);
  }

  return {
    name,
    title: summary ?? name,
    description,
    method,
    path,
    parameters,
    body,
    inputSchema: { type: 'object', properties, ...(required.length === 0 ? {} : { required }), additionalProperties: false },
    requires: formatRequirement(requires),
    ...(usage === undefined ? {} : { cost: usage.cost, ...(usage.strict === true ? { strict: true as const } : {}) }),
  };
}

/** The catalog of the operations marked for MCP; undefined when none is. Throws McpDocumentError saying what to change. */
export function mcpCatalog(document: Record<string, unknown>, operations: readonly MarkedOperation[]): McpCatalog | undefined {
  const marked = operations.filter((o): o is MarkedOperation & { mcp: McpExposure } => o.mcp !== undefined);
  if (marked.length === 0) return undefined;
  const tools = marked.map((o) => toolOf(document, o));
  const seen = new Map<string, McpTool>();
  for (const tool of tools) {
    const other = seen.get(tool.name);
    if (other !== undefined) throw new McpDocumentError(`${tool.method} ${tool.path} and ${other.method} ${other.path} are both the MCP tool "${tool.name}": give one "mcp": { "name": "<another name>" }`);
    seen.set(tool.name, tool);
  }
  const info = isObject(document.info) ? document.info : {};
  return { server: { title: typeof info.title === 'string' ? info.title : 'API', version: typeof info.version === 'string' ? info.version : '0' }, tools };
}

/** The MCP route's operations as the builder secures them: any valid credential (the standing authorizer). */
export const MCP_OPERATIONS: readonly MarkedOperation[] = ['POST', 'GET', 'DELETE'].map((method) => ({
  method,
  path: MCP_PATH,
  requires: { kind: 'key' } as const,
}));


/** The `/mcp` path item: POST carries the protocol; GET and DELETE answer 405 (stateless: no server stream, no session to end). */
export function mcpPathItem(mcpUri: string): Record<string, unknown> {
  const operation = (summary: string, status: string, description: string) => ({ summary, responses: { [status]: { description } }, 'x-amazon-apigateway-integration': lambdaProxy(mcpUri) });
  return {
    post: {
      operationId: 'tollgateMcp',
      ...operation('MCP (Streamable HTTP, stateless): the operations marked "mcp" as tools. Any valid API key or token; each tool call is decided and billed as its route.', '200', 'A JSON-RPC response (JSON or an event stream).'),
    },
    get: operation('No server-initiated stream in stateless mode.', '405', 'Method not allowed.'),
    delete: operation('No session to end in stateless mode.', '405', 'Method not allowed.'),
  };
}

/** MCP's Streamable HTTP headers a browser client sends. */
const MCP_HEADERS = ['Mcp-Session-Id', 'Mcp-Protocol-Version', 'Last-Event-ID'];

/** The `/mcp` preflight: the configured CORS, and MCP's own request headers. */
export const mcpPreflight = (options: CorsOptions): Record<string, unknown> =>
  corsPreflight({ ...options, corsAllowHeaders: [...new Set([...(options.corsAllowHeaders ?? DEFAULT_CORS_ALLOW_HEADERS), ...MCP_HEADERS])] }, MCP_OPERATIONS.map((o) => o.method));

/** The protected-resource metadata (RFC 9728): public, a client reads it before it has a credential. */
export function protectedResourcePathItem(mcpUri: string): Record<string, unknown> {
  return {
    get: {
      operationId: 'tollgateProtectedResource',
      summary: 'OAuth 2.0 protected-resource metadata (RFC 9728): the token issuers this API trusts.',
      responses: { '200': { description: 'The metadata.', content: { 'application/json': { schema: { type: 'object' } } } } },
      'x-amazon-apigateway-integration': lambdaProxy(mcpUri),
    },
  };
}
