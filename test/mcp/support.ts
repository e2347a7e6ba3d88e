import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema, type ElicitRequest } from '@modelcontextprotocol/sdk/types.js';

/** The official SDK's client on a tollgate MCP endpoint, with a credential; records the URL elicitations it is sent. */
export async function mcpClient(url: string, credential: string | undefined, options: { readonly urlElicitation?: boolean } = {}) {
  const elicitations: ElicitRequest['params'][] = [];
  const client = new Client({ name: 'tollgate-test', version: '1.0.0' }, { capabilities: options.urlElicitation === true ? { elicitation: { url: {} } } : {} });
  if (options.urlElicitation === true) {
    client.setRequestHandler(ElicitRequestSchema, (request) => {
      elicitations.push(request.params);
      return { action: 'accept' };
    });
  }
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: credential === undefined ? {} : { Authorization: `Bearer ${credential}` } } });
  await client.connect(transport);
  return { client, transport, elicitations, close: () => client.close() };
}

/** A tool result's first text and its structured content. */
export const resultOf = (result: Awaited<ReturnType<Client['callTool']>>) => ({
  isError: result.isError === true,
  text: (result.content as Array<{ type: string; text?: string }>)[0]?.text ?? '',
  structured: result.structuredContent as Record<string, any> | undefined,
});
