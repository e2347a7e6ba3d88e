import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { parseArgs } from 'node:util';
import { MCP_PATH, PRICE_META } from '../../lambda/mcp/catalog';
import { readCoordinates } from './coordinates';

/**
 * `npm run mcp`: the official MCP SDK's client on tollgate's MCP endpoint, to try it from a terminal:
 * the running `npm start` by default (its coordinates in the state folder), any stage with --url.
 * Lists the tools with their price, or calls one and prints its result.
 */

export const MCP_CLIENT_USAGE = `usage: npm run mcp -- --key <key|token> [--url <mcp url>] [<tool> [<json arguments>]]

Lists the tools of tollgate's MCP endpoint with their price, or calls one and prints its result
(exit 1 when the result is an error, such as a 402). Without --url, the endpoint of the running npm start.
`;

export class McpClientUsageError extends Error {
  override readonly name = 'McpClientUsageError';
}

export interface McpClientIo {
  readonly stateDir: string;
  readonly print: (line: string) => void;
}

/** Runs one invocation; resolves to the exit code. */
export async function runMcpClient(argv: readonly string[], io: McpClientIo): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    throw new McpClientUsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    io.print(MCP_CLIENT_USAGE);
    return 0;
  }
  if (values.key === undefined || values.key === '') throw new McpClientUsageError('--key is missing: pass an API key or an access token (npm start prints demo keys)');
  const url = values.url ?? endpointOfLocalRun(io.stateDir);
  const [tool, json] = positionals;
  let args: Record<string, unknown> = {};
  if (json !== undefined) {
    const value: unknown = JSON.parse(json);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new McpClientUsageError(`the arguments must be a JSON object, such as '{"q":"tollgate"}'`);
    args = value as Record<string, unknown>;
  }
  const client = new Client({ name: 'tollgate-mcp-client', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${values.key}` } } }));
  try {
    if (tool === undefined) {
      const { tools } = await client.listTools();
      for (const t of tools) io.print(`${t.name.padEnd(24)} ${JSON.stringify(t._meta?.[PRICE_META] ?? {})}  ${t.title ?? ''}`);
      return 0;
    }
    const result = await client.callTool({ name: tool, arguments: args });
    for (const item of result.content as Array<{ type: string; text?: string }>) if (item.type === 'text') io.print(item.text ?? '');
    return result.isError === true ? 1 : 0;
  } finally {
    await client.close();
  }
}

function parse(argv: readonly string[]) {
  return parseArgs({ args: [...argv], options: { key: { type: 'string' }, url: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
}

function endpointOfLocalRun(stateDir: string): string {
  const coordinates = readCoordinates(stateDir);
  if (coordinates === undefined) throw new McpClientUsageError('no local stack is running here: start it with npm start, or pass --url <the stage URL>/mcp');
  return `${coordinates.apiUrl.replace(/\/+$/, '')}${MCP_PATH}`;
}
