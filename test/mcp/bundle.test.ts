import { buildSync } from 'esbuild';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { CATALOG_FILE } from '../../lambda/mcp/catalog';
import { LAMBDA_BUNDLING } from '../../lib/bundling';
import { statedProxyEvent } from '../../lib/local/gateway/events';
import { buildApiDocument } from '../../lib/openapi/build';

/**
 * The function as it deploys: lambda/mcp bundled with the stack's esbuild settings, its catalog beside
 * it, its environment from the stack's encoder, and its tool calls sent with fetch to the stage's URL
 * (here a loopback stand-in for the stage that answers as the authorizer would).
 */

const ROOT = path.join(__dirname, '..', '..');

describe('the bundled MCP function', () => {
  let dir: string;
  let stage: Server;
  let port = 0;
  const seen: Array<{ url: string; authorization?: string; agent?: string }> = [];
  let handler: (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'tollgate-mcp-bundle-'));
    const { mainFields, minify, target, platform, format } = LAMBDA_BUNDLING;
    buildSync({ entryPoints: [path.join(ROOT, 'lambda', 'mcp', 'index.ts')], bundle: true, outfile: path.join(dir, 'index.js'), mainFields: [...mainFields], minify, target, platform, format, logLevel: 'warning' });
    const built = buildApiDocument({ document: JSON.parse(readFileSync(path.join(ROOT, 'api', 'openapi.json'), 'utf8')), authorizerUri: 'a', webhookUri: 'w', mcpUri: 'm', backend: { type: 'lambda', invocationUri: 'b' }, authorizerCacheTtlSeconds: 300, corsAllowOrigin: '*' });
    writeFileSync(path.join(dir, CATALOG_FILE), JSON.stringify(built.mcp));
    stage = createServer((req, res) => {
      seen.push({ url: req.url ?? '', ...(req.headers.authorization === undefined ? {} : { authorization: req.headers.authorization }), ...(req.headers['user-agent'] === undefined ? {} : { agent: req.headers['user-agent'] }) });
      res.writeHead(402, { 'content-type': 'application/problem+json', 'x-amzn-requestid': 'req-1' });
      res.end(JSON.stringify({ type: 'https://api.example.com/prod/tollgate/problems/no_subscription', title: 'Subscription required', status: 402, reason: 'no_subscription', paymentUrl: 'https://api.example.com/prod/tollgate/portal' }));
    });
    await new Promise<void>((resolve) => stage.listen(0, '127.0.0.1', resolve));
    port = (stage.address() as { port: number }).port;
    process.env.TOLLGATE_CORS_ALLOW_ORIGIN = '*';
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    // The bundle as Lambda loads it: CommonJS, from its folder.
    handler = (createRequire(__filename)(path.join(dir, 'index.js')) as { handler: typeof handler }).handler;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => stage.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  const api = () => ({ stage: 'prod', restApiId: 'api', region: 'eu-west-1', accountId: '1', domainName: `127.0.0.1:${port}` });
  /** A POST as the gateway sends it past the standing authorizer (its context names the customer). */
  const post = (message: unknown, headers: Record<string, string> = {}) => {
    const headersSent = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', Authorization: 'Bearer tg_key', 'Mcp-Protocol-Version': '2025-11-25', ...headers };
    const event = statedProxyEvent(api(), { method: 'POST', resource: '/mcp', headers: headersSent, body: JSON.stringify(message) });
    return handler({ ...event, requestContext: { ...event.requestContext, authorizer: { customerId: 'cus_1', principalId: 'cus_1' } } });
  };

  it('answers initialize and tools/list from its catalog file', async () => {
    const init = await post({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } });
    expect(init.statusCode).toBe(200);
    expect(JSON.parse(init.body)).toMatchObject({ result: { serverInfo: { name: 'tollgate', title: 'Tollgate sample API' }, capabilities: { tools: {} } } });
    expect(init.headers?.['Mcp-Session-Id']).toBeUndefined();
    const list = await post({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    expect((JSON.parse(list.body) as { result: { tools: Array<{ name: string }> } }).result.tools.map((t) => t.name)).toEqual(['ping', 'list_quotes', 'getReport', 'search']);
  });

  it('calls the route on the stage with the caller\'s credential, and answers its 402 as a tool result', async () => {
    const call = await post({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'search', arguments: { q: 'a&b' } } });
    const result = (JSON.parse(call.body) as { result: { isError: boolean; structuredContent: Record<string, unknown> } }).result;
    expect(result).toMatchObject({ isError: true, structuredContent: { status: 402, reason: 'no_subscription' } });
    expect(seen.at(-1)).toEqual({ url: '/prod/v1/search?q=a%26b', authorization: 'Bearer tg_key', agent: 'tollgate-mcp tool/search' });
  });

  it('marks the session of a client that declares URL elicitation, and answers GET with 405', async () => {
    const init = await post({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: { elicitation: { url: {} } }, clientInfo: { name: 't', version: '1' } } });
    expect(init.headers?.['Mcp-Session-Id']).toMatch(/\.url-elicitation$/);
    const get = await handler(statedProxyEvent(api(), { method: 'GET', resource: '/mcp' }));
    expect([get.statusCode, get.headers?.Allow]).toEqual([405, 'POST']);
  });
});
