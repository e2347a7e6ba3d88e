import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { CallToolRequestSchema, ElicitResultSchema, ErrorCode, isInitializeRequest, ListToolsRequestSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv-provider.js';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { EmfLines } from '../shared/observability';
import { PORTAL_PATHS, stageBaseUrl } from '../shared/portal-paths';
import { listedTool, MCP_PATH, PROTECTED_RESOURCE_PATH, type McpCatalog, type McpTool } from './catalog';
import { fixUrl, MCP_TOOL_CALL_METRIC, paymentProblem, TOOL_CALL_MESSAGE, toolOutcome, toolRequest, toolResult, type Gateway, type ToolCallRecord, type ToolResult } from './call';
import type { McpSettings } from './settings';

/**
 * POST /mcp: MCP over Streamable HTTP with the official SDK, stateless (a fresh server and transport
 * per request: no session lives in a Lambda instance), and GET /.well-known/oauth-protected-resource.
 * Behind the standing authorizer, so a request here carries a valid credential; protocol traffic
 * (initialize, tools/list) is answered here and costs nothing, and each tool call is its route's own
 * HTTP call through the gateway with the caller's Authorization (call.ts).
 *
 * URL-mode elicitation needs the client's declared capabilities, which only `initialize` carries. A
 * stateless server keeps nothing, so a client that declares URL elicitation gets a session id that
 * says so (`<random>.url-elicitation`) and sends it back on every request: still nothing stored.
 */

export const URL_ELICITATION_SESSION = '.url-elicitation';
const SESSION_HEADER = 'mcp-session-id';

export interface McpDeps {
  readonly settings: McpSettings;
  readonly catalog: McpCatalog;
  readonly gateway: Gateway;
  /** Each tool call's line is a count on one EMF line (as the authorizer's decision): the record and the metric in one write. */
  readonly observability?: { readonly logger: Logger; readonly lines: EmfLines };
  /** Each tool call's record, besides its log line (the local run writes it to `.tollgate/events.log`). @default - none */
  readonly onToolCall?: (record: ToolCallRecord) => void;
  /** @default the system clock */
  readonly now?: () => Date;
}

/** The stage's base URL as the caller reached it: a custom domain's base path, or the stage. */
export function stageUrl(event: APIGatewayProxyEvent): string {
  const { domainName, stage, path: fullPath } = event.requestContext;
  const origin = new URL(stageBaseUrl(domainName ?? '127.0.0.1', stage)).origin;
  const prefix = typeof fullPath === 'string' && fullPath.endsWith(event.path) ? fullPath.slice(0, fullPath.length - event.path.length) : `/${stage}`;
  return `${origin}${prefix}`;
}

function header(event: APIGatewayProxyEvent, name: string): string | undefined {
  for (const [key, value] of Object.entries(event.headers ?? {})) if (key.toLowerCase() === name && typeof value === 'string') return value;
  return undefined;
}

const json = (statusCode: number, body: unknown, headers: Record<string, string>): APIGatewayProxyResult => ({
  statusCode,
  headers: { ...headers, 'Content-Type': 'application/json' },
  body: JSON.stringify(body),
});

export function makeMcpHandler(deps: McpDeps): (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult> {
  const { settings, catalog } = deps;
  const tools = new Map(catalog.tools.map((tool) => [tool.name, tool]));
  const listed = catalog.tools.map(listedTool);
  const validator = new AjvJsonSchemaValidator();
  // Compiled once per instance, at a tool's first call.
  const validators = new Map<string, ReturnType<AjvJsonSchemaValidator['getValidator']>>();
  const validate = (tool: McpTool, args: unknown) => {
    let check = validators.get(tool.name);
    if (check === undefined) validators.set(tool.name, (check = validator.getValidator(tool.inputSchema)));
    return check(args);
  };
  const cors = { 'Access-Control-Allow-Origin': settings.corsAllowOrigin, 'Access-Control-Expose-Headers': 'Mcp-Session-Id' };

  const now = deps.now ?? ((): Date => new Date());
  const record = (tool: McpTool, status: number, routeRequestId: string | undefined, reason: unknown, customerId: unknown): void => {
    const outcome = toolOutcome(status);
    const line: ToolCallRecord = {
      message: TOOL_CALL_MESSAGE,
      tool: tool.name,
      status,
      outcome,
      ...(typeof reason === 'string' ? { reason } : {}),
      ...(typeof customerId === 'string' && customerId !== '' ? { customerId } : {}),
      ...(routeRequestId === undefined ? {} : { routeRequestId }),
      calledAt: now().toISOString(),
    };
    deps.observability?.lines.count(MCP_TOOL_CALL_METRIC, { tool: tool.name, outcome }, { ...line, status: String(status) });
    deps.onToolCall?.(line);
  };

  const callTool = async (tool: McpTool, args: unknown, base: string, caller: { readonly authorization?: string; readonly customerId?: unknown }, elicit: (url: string, message: string) => void): Promise<ToolResult> => {
    const checked = validate(tool, args ?? {});
    if (!checked.valid) {
      return { isError: true, content: [{ type: 'text', text: `${tool.name}: the arguments do not match its input schema: ${checked.errorMessage ?? 'invalid'}. Nothing was called and nothing was charged.` }] };
    }
    const answer = await deps.gateway(toolRequest(tool, checked.data as Record<string, unknown>, base, caller.authorization));
    const problem = paymentProblem(answer);
    record(tool, answer.status, answer.headers['x-amzn-requestid'], problem?.reason, caller.customerId);
    const url = problem === undefined ? undefined : fixUrl(problem);
    if (problem !== undefined && url !== undefined) {
      elicit(url, `${tool.name} needs payment${typeof problem.reason === 'string' ? ` (${problem.reason})` : ''}: ${typeof problem.detail === 'string' ? problem.detail : 'open the page to fix it'}`);
    }
    return toolResult(tool, answer);
  };

  const serve = async (event: APIGatewayProxyEvent, base: string): Promise<APIGatewayProxyResult> => {
    const authorization = header(event, 'authorization');
    const elicits = header(event, SESSION_HEADER)?.endsWith(URL_ELICITATION_SESSION) === true;
    const raw = event.body === null ? '' : event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
    let declaresUrlElicitation = false;
    try {
      const message: unknown = JSON.parse(raw);
      declaresUrlElicitation = isInitializeRequest(message) && message.params.capabilities.elicitation?.url !== undefined;
    } catch {
      // Not JSON: the transport answers the parse error.
    }

    const server = new Server(
      { name: 'tollgate', title: catalog.server.title, version: catalog.server.version },
      {
        capabilities: { tools: {} },
        instructions: `Each tool is a route of ${catalog.server.title}, billed as that route: its price is in its description. A tool answering a payment error carries the reason and a paymentUrl for a person; call again once it is fixed.`,
      },
    );
    server.onerror = (err) => deps.observability?.logger.debug('mcp protocol', { error: err.message });
    server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: listed }));
    server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
      const tool = tools.get(request.params.name);
      if (tool === undefined) throw new McpError(ErrorCode.InvalidParams, `unknown tool "${request.params.name}": list the tools with tools/list`);
      return callTool(tool, request.params.arguments, base, { authorization, customerId: event.requestContext.authorizer?.customerId }, (url, message) => {
        if (!elicits) return;
        // Not server.elicitInput: it checks the capabilities of an initialize this fresh server never saw (the
        // session mark stands for them). Nothing waits for the answer: it comes back as a new request, which a
        // stateless server cannot match.
        extra.sendRequest({ method: 'elicitation/create', params: { mode: 'url', message, url, elicitationId: randomUUID() } }, ElicitResultSchema).catch(() => undefined);
      });
    });

    // JSON answers unless a server request (an elicitation) may have to travel before the result.
    const transport = new WebStandardStreamableHTTPServerTransport({ enableJsonResponse: !elicits, keepAliveMs: 0 });
    await server.connect(transport);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(event.headers ?? {})) if (typeof value === 'string') headers[name] = value;
    const request = new Request(`${base}${event.path}`, { method: 'POST', headers, body: raw });
    try {
      const response = await transport.handleRequest(request);
      const body = await response.text();
      const out: Record<string, string> = { ...cors, 'Cache-Control': 'no-store' };
      response.headers.forEach((value, name) => {
        out[name] = value;
      });
      if (declaresUrlElicitation && response.status === 200) out['Mcp-Session-Id'] = `${randomUUID()}${URL_ELICITATION_SESSION}`;
      return { statusCode: response.status, headers: out, body };
    } finally {
      await server.close();
    }
  };

  return async (event) => {
    const base = stageUrl(event);
    if (event.resource === PROTECTED_RESOURCE_PATH && settings.authorizationServers.length > 0) {
      return json(
        200,
        { resource: base, authorization_servers: settings.authorizationServers, bearer_methods_supported: ['header'], resource_name: catalog.server.title, resource_documentation: `${base}${PORTAL_PATHS.docs}` },
        { ...cors, 'Cache-Control': 'max-age=300' },
      );
    }
    if (event.resource !== MCP_PATH) return json(404, { message: `no MCP resource at ${event.resource}` }, cors);
    // Stateless: no server-initiated stream to open (GET) and no session to end (DELETE).
    if (event.httpMethod !== 'POST') return json(405, { jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed.' }, id: null }, { ...cors, Allow: 'POST' });
    return serve(event, base);
  };
}
