import { makeMcpHandler, type McpDeps } from './handler';
import type { McpSettings } from './settings';

/** What the MCP function talks to (everything but its settings): the stage it calls, its tools; the local run gives the in-process gateway. */
export type McpClients = Omit<McpDeps, 'settings'>;

export type McpHandler = ReturnType<typeof makeMcpHandler>;

/** The MCP endpoint, wired once: index.ts, the local run and the bench build it here. */
export function composeMcp(settings: McpSettings, clients: McpClients): McpHandler {
  return makeMcpHandler({ settings, ...clients });
}
