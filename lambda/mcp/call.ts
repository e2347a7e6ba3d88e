import { BODY_ARGUMENT, type McpTool } from './catalog';

/**
 * A tool call is its route's HTTP call, sent through the API's own stage with the caller's
 * credential: the authorizer decides it, the access log meters it, a strict route reserves its cost,
 * exactly as for any other client. This module builds that request and reads its answer.
 */

export interface GatewayRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

export interface GatewayAnswer {
  readonly status: number;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Sends one request to the stage: fetch deployed, the in-process gateway locally. */
export type Gateway = (request: GatewayRequest) => Promise<GatewayAnswer>;

/** API Gateway ends an integration at 29 s: the inner call must answer before the outer one is cut. */
export const GATEWAY_TIMEOUT_MS = 27_000;

export function fetchGateway(timeoutMs = GATEWAY_TIMEOUT_MS): Gateway {
  return async (request) => {
    const response = await fetch(request.url, {
      method: request.method,
      headers: request.headers,
      ...(request.body === undefined ? {} : { body: request.body }),
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      headers[name.toLowerCase()] = value;
    });
    return { status: response.status, headers, body: await response.text() };
  };
}

/** The User-Agent of a tool's call: a backend can tell the MCP endpoint's calls from others. */
export const toolAgent = (tool: string): string => `tollgate-mcp tool/${tool}`;

/**
 * The MCP function's line per tool call (its log group deployed, `.tollgate/events.log` locally): what
 * reports count by tool. The route's own access-log line meters the call; this one names its tool, and
 * the route's request id joins the two. No User-Agent in the access log: a client may put anything there.
 */
export const TOOL_CALL_MESSAGE = 'tool call';
/** The Powertools metric of each tool call, by `tool` and `outcome` (the dashboard graphs it). */
export const MCP_TOOL_CALL_METRIC = 'McpToolCall';
export interface ToolCallRecord {
  readonly message: typeof TOOL_CALL_MESSAGE;
  readonly tool: string;
  /** The route's status. */
  readonly status: number;
  readonly outcome: ToolOutcome;
  /** A 402's reason. */
  readonly reason?: string;
  readonly customerId?: string;
  /** The route call's API Gateway request id (its access-log line). */
  readonly routeRequestId?: string;
  readonly calledAt: string;
}

/** How a tool call ended, for logs, metrics and reports (low cardinality): allowed (2xx, counted), denied (402), unauthorized (401), failed (any other). */
export type ToolOutcome = 'allowed' | 'denied' | 'unauthorized' | 'failed';
export const toolOutcome = (status: number): ToolOutcome => (status >= 200 && status < 300 ? 'allowed' : status === 402 ? 'denied' : status === 401 ? 'unauthorized' : 'failed');

const text = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));

/** The route's request for validated arguments: path parameters encoded, query parameters (arrays repeated), JSON body. */
export function toolRequest(tool: McpTool, args: Readonly<Record<string, unknown>>, stageUrl: string, authorization: string | undefined): GatewayRequest {
  let path = tool.path;
  const query = new URLSearchParams();
  for (const parameter of tool.parameters) {
    const value = args[parameter.name];
    if (value === undefined || value === null) continue;
    if (parameter.in === 'path') {
      // A greedy {name+} keeps its slashes; every other character is encoded.
      path = path.replace(new RegExp(`\\{${parameter.name}(\\+?)\\}`), (_, greedy: string) => (greedy === '+' ? text(value).split('/').map(encodeURIComponent).join('/') : encodeURIComponent(text(value))));
    } else if (Array.isArray(value)) {
      for (const item of value) query.append(parameter.name, text(item));
    } else {
      query.append(parameter.name, text(value));
    }
  }
  const search = query.toString();
  const body = tool.body && args[BODY_ARGUMENT] !== undefined ? JSON.stringify(args[BODY_ARGUMENT]) : undefined;
  return {
    method: tool.method,
    url: `${stageUrl}${path}${search === '' ? '' : `?${search}`}`,
    headers: {
      'User-Agent': toolAgent(tool.name),
      Accept: 'application/json',
      ...(authorization === undefined ? {} : { Authorization: authorization }),
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body }),
  };
}

/** An RFC 9457 problem body as the route answered it: members are read with their types checked. */
export type Problem = Readonly<Record<string, unknown>>;

export interface ToolResult {
  readonly content: Array<{ type: 'text'; text: string }>;
  readonly structuredContent?: Record<string, unknown>;
  readonly isError?: boolean;
  readonly [key: string]: unknown;
}

const jsonObject = (body: string): Record<string, unknown> | undefined => {
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
};

/** The payment problem of a 402 answer; undefined for any other. */
export function paymentProblem(answer: GatewayAnswer): Problem | undefined {
  return answer.status === 402 ? (jsonObject(answer.body) ?? { status: 402, title: 'Payment required' }) : undefined;
}

/** Where a person fixes a 402: its payment URL, else its problem page. */
export function fixUrl(problem: Problem): string | undefined {
  for (const candidate of [problem.paymentUrl, problem.type]) {
    if (typeof candidate === 'string' && /^https?:\/\//.test(candidate) && URL.canParse(candidate)) return candidate;
  }
  return undefined;
}

/**
 * The tool's result. A 2xx is the route's body (and its JSON object as structured content). Anything
 * else is a result with `isError`, never a JSON-RPC error: clients hand a tool error to the agent, and
 * swallow protocol errors. A 402 carries the problem as structured content, so an agent can act on its
 * reason and payment URL.
 */
export function toolResult(tool: McpTool, answer: GatewayAnswer): ToolResult {
  const structured = jsonObject(answer.body);
  if (answer.status >= 200 && answer.status < 300) {
    return { content: [{ type: 'text', text: answer.body === '' ? `${tool.name}: ${answer.status}, no content` : answer.body }], ...(structured === undefined ? {} : { structuredContent: structured }) };
  }
  const problem = paymentProblem(answer);
  if (problem !== undefined) {
    const url = fixUrl(problem);
    const summary = [
      `Payment required${typeof problem.reason === 'string' ? ` (${problem.reason})` : ''}: ${typeof problem.detail === 'string' ? problem.detail : 'the caller\'s payment standing does not cover this tool.'}`,
      url === undefined ? undefined : `A person can fix it at ${url}, then call the tool again.`,
    ].filter((line) => line !== undefined).join(' ');
    return { isError: true, content: [{ type: 'text', text: summary }, { type: 'text', text: JSON.stringify(problem) }], structuredContent: { ...problem } };
  }
  return {
    isError: true,
    content: [{ type: 'text', text: `${tool.name} failed with HTTP ${answer.status}: ${answer.body === '' ? '(no body)' : answer.body}` }],
    ...(structured === undefined ? {} : { structuredContent: structured }),
  };
}
