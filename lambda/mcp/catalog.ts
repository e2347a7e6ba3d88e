/**
 * The tools the MCP endpoint lists, one per OpenAPI operation the seller marks `"mcp"` in `x-tollgate`:
 * built once from the document by lib/openapi/mcp.ts, written beside the function's bundle deployed
 * (CATALOG_FILE) and handed over in memory locally. Each tool states how to call its route (method,
 * path, which arguments go in the path, the query or the JSON body) and what the route costs.
 */

/** Where the MCP endpoint is served, and its protected-resource metadata (RFC 9728). */
export const MCP_PATH = '/mcp';
export const PROTECTED_RESOURCE_PATH = '/.well-known/oauth-protected-resource';
/** The catalog's file beside the deployed bundle. */
export const CATALOG_FILE = 'mcp-catalog.json';
/** The tool argument that carries a JSON request body. */
export const BODY_ARGUMENT = 'body';

export type JsonSchema = Readonly<Record<string, unknown>>;

export interface ToolParameter {
  readonly name: string;
  readonly in: 'path' | 'query';
}

export interface McpTool {
  readonly name: string;
  /** A short name for people (the operation's summary or its tool name). */
  readonly title: string;
  /** What the tool does, from the document (the price is added when listed). */
  readonly description: string;
  /** Upper-case HTTP method of the route. */
  readonly method: string;
  /** The route's path template: `/v1/reports/{reportId}`. */
  readonly path: string;
  readonly parameters: readonly ToolParameter[];
  /** Whether the tool sends a JSON body (its `body` argument). */
  readonly body: boolean;
  /** JSON Schema of the arguments: the parameters by name, and `body`. */
  readonly inputSchema: JsonSchema & { readonly type: 'object' };
  /** The route's requirement, as `x-tollgate` writes it: `key`, `subscription`, `entitlement:<lookup_key>`… */
  readonly requires: string;
  /** Units per successful call. @default - none: decided on standing alone */
  readonly cost?: number;
  /** The cost is reserved from prepaid credits before the call. */
  readonly strict?: true;
}

export interface McpCatalog {
  /** The server's `serverInfo`: the document's title and version. */
  readonly server: { readonly title: string; readonly version: string };
  readonly tools: readonly McpTool[];
}

/** The price in words: what a client shows a person, and what an agent reads before calling. */
export function priceText(tool: Pick<McpTool, 'requires' | 'cost' | 'strict'>): string {
  const { requires } = tool;
  const who =
    requires === 'public' || requires === 'key'
      ? 'Free: any valid API key or token.'
      : requires === 'subscription'
        ? 'Requires a subscription in good standing.'
        : `Requires a plan with the "${requires.slice('entitlement:'.length)}" feature.`;
  if (tool.cost === undefined) return who;
  const units = `${tool.cost} unit${tool.cost === 1 ? '' : 's'}`;
  const strict = tool.strict === true ? ' (reserved from prepaid credits before the call)' : '';
  return `${who} Costs ${units} per successful call${strict}, from the plan's quota or prepaid credits; a failed call costs nothing.`;
}

/** The price in a few words, for the tool's title. */
export function shortPrice(tool: Pick<McpTool, 'requires' | 'cost'>): string {
  if (tool.cost !== undefined) return `${tool.cost} unit${tool.cost === 1 ? '' : 's'} per call`;
  if (tool.requires === 'public' || tool.requires === 'key') return 'free';
  return tool.requires === 'subscription' ? 'subscription' : `plan feature ${tool.requires.slice('entitlement:'.length)}`;
}

/** The price as data, in the tool's `_meta` (tool annotations have a closed set of members). */
export const PRICE_META = 'tollgate/price';

const READ_ONLY = new Set(['GET', 'HEAD']);
const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);

/** The tool as `tools/list` answers it. */
export function listedTool(tool: McpTool) {
  return {
    name: tool.name,
    title: tool.title,
    description: `${tool.description}\n\nPrice: ${priceText(tool)}`,
    inputSchema: tool.inputSchema,
    annotations: {
      title: `${tool.title} (${shortPrice(tool)})`,
      readOnlyHint: READ_ONLY.has(tool.method),
      ...(READ_ONLY.has(tool.method) ? {} : { destructiveHint: tool.method === 'DELETE', idempotentHint: IDEMPOTENT.has(tool.method) }),
    },
    _meta: { [PRICE_META]: { requires: tool.requires, ...(tool.cost === undefined ? {} : { cost: tool.cost }), ...(tool.strict === true ? { strict: true } : {}) } },
  };
}

export class CatalogError extends Error {
  override readonly name = 'CatalogError';
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Reads a catalog file's JSON; throws CatalogError when it is not one (a deployment mistake). */
export function parseCatalog(value: unknown): McpCatalog {
  const fail = (what: string): never => {
    throw new CatalogError(`the MCP tool catalog ${what}: redeploy the stack (it writes ${CATALOG_FILE} beside the function)`);
  };
  if (!isObject(value) || !isObject(value.server) || !Array.isArray(value.tools)) return fail('is not a catalog');
  for (const tool of value.tools as unknown[]) {
    if (!isObject(tool) || typeof tool.name !== 'string' || typeof tool.method !== 'string' || typeof tool.path !== 'string' || !Array.isArray(tool.parameters) || !isObject(tool.inputSchema) || typeof tool.requires !== 'string') {
      fail(`has a malformed tool ${JSON.stringify(isObject(tool) ? tool.name : tool)}`);
    }
  }
  return value as unknown as McpCatalog;
}
