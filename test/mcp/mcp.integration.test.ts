import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createApiKey } from '../../lambda/shared/customers/keys';
import { parseAccessLogLine } from '../../lambda/shared/access-log';
import { loadProjectConfig } from '../../lib/config/tollgate-config';
import { deliverEvent, DEMO_USAGE_PLAN } from '../../lib/local/demo';
import { startLocalIssuer, type LocalIssuer } from '../../lib/local/oidc-issuer';
import { startGatewayServer, type RunningServer } from '../../lib/local/server';
import { buildLocalDocument, createLocalApi, LOCAL_WEBHOOK_SECRET, type LocalApi } from '../../lib/local/stack';
import { buildReport, localRows } from '../../lib/report/queries';
import { freshTables, setCustomerAttributes, type TestTables } from '../support/dynamodb';
import { openedResources } from '../support/opened';
import { mcpClient, resultOf } from './support';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

/**
 * The official MCP client against the local stack over HTTP (the gateway server, the real authorizer,
 * metering and DynamoDB Local): every tool call is its route's call, decided, billed and logged as one.
 */

const ROOT = path.join(__dirname, '..', '..');
const loaded = loadProjectConfig(ROOT);

describe('MCP tools on the local stack', () => {
  let tables: TestTables;
  let issuer: LocalIssuer;
  let api: LocalApi;
  let server: RunningServer;
  let documents: DynamoDBDocumentClient;
  const accessLog: string[] = [];
  const eventsLog: string[] = [];
  let seq = 0;
  const opened = openedResources();
  const mcpUrl = () => `${server.url}/${loaded.stageName}/mcp`;
  const customer = async (): Promise<{ customerId: string; key: string }> => {
    const customerId = `cus_mcp${++seq}`;
    const { key } = await createApiKey({ client: tables.client, tables: tables.names }, { customerId });
    return { customerId, key };
  };
  const subscribe = async (customerId: string, plan: string) => {
    const delivered = await deliverEvent(api.gateway, { type: 'customer.subscription.created', customerId, status: 'active', plan, created: Math.floor(Date.now() / 1000) - 60 }, LOCAL_WEBHOOK_SECRET);
    expect(delivered.statusCode).toBe(200);
  };

  beforeAll(async () => {
    const stateDir = mkdtempSync(path.join(tmpdir(), 'tollgate-mcp-'));
    opened.defer(() => rmSync(stateDir, { recursive: true, force: true }));
    [tables, issuer] = await Promise.all([opened.open(freshTables('mcp'), (t) => t.client.destroy()), opened.open(startLocalIssuer({ stateDir }), (i) => i.close())]);
    documents = DynamoDBDocumentClient.from(tables.client);
    const config = { ...loaded, issuers: [issuer.trusted], publicUrl: `http://127.0.0.1:1/${loaded.stageName}` };
    api = await opened.open(
      createLocalApi({ config, built: buildLocalDocument(config, ROOT), dynamodbEndpoint: tables.endpoint, tables: tables.names, webhookSecret: LOCAL_WEBHOOK_SECRET, accessLog: (line) => accessLog.push(line), eventsLog: (line) => eventsLog.push(line), metering: { intervalMs: 100 } }),
      (a) => a.destroy(),
    );
    server = await opened.open(startGatewayServer(api.gateway, { port: 0 }), (s) => s.close());
  });
  afterAll(() => opened.closeAll());

  it('lists the marked operations as tools, each with its price in its description, title and _meta', async () => {
    const { key } = await customer();
    const mcp = await mcpClient(mcpUrl(), key);
    try {
      const { tools } = await mcp.client.listTools();
      expect(tools.map((t) => t.name)).toEqual(['ping', 'list_quotes', 'getReport', 'search']);
      const search = tools.find((t) => t.name === 'search')!;
      expect(search.description).toContain('Costs 1 unit per successful call');
      expect(search.annotations).toMatchObject({ readOnlyHint: true, title: expect.stringContaining('1 unit per call') });
      expect(search._meta).toEqual({ 'tollgate/price': { requires: 'subscription', cost: 1 } });
      expect(search.inputSchema).toMatchObject({ type: 'object', required: ['q'], properties: { q: { type: 'string' } } });
      expect(tools.find((t) => t.name === 'getReport')!.inputSchema.required).toEqual(['reportId']);
    } finally {
      await mcp.close();
    }
  });

  it('calls a free tool, and a subscription tool: a 402 tool result, then after subscribing the route\'s answer', async () => {
    const { customerId, key } = await customer();
    const mcp = await mcpClient(mcpUrl(), key);
    try {
      const ping = resultOf(await mcp.client.callTool({ name: 'ping', arguments: {} }));
      expect(ping.isError).toBe(false);
      expect(ping.structured).toMatchObject({ route: 'GET /v1/ping', customerId });

      const denied = resultOf(await mcp.client.callTool({ name: 'list_quotes', arguments: {} }));
      expect(denied.isError).toBe(true);
      expect(denied.structured).toMatchObject({ status: 402, reason: 'no_subscription', paymentUrl: expect.stringContaining('/tollgate/portal') });
      expect(denied.text).toMatch(/^Payment required \(no_subscription\): .+ A person can fix it at http/);

      await subscribe(customerId, 'pro');
      const paid = resultOf(await mcp.client.callTool({ name: 'list_quotes', arguments: {} }));
      expect(paid).toMatchObject({ isError: false, structured: { route: 'GET /v1/quotes', customerId } });

      expect(resultOf(await mcp.client.callTool({ name: 'getReport', arguments: { reportId: 'r1' } })).structured).toMatchObject({ status: 402, reason: 'upgrade_required' });
      const entitled = await deliverEvent(api.gateway, { type: 'entitlements.active_entitlement_summary.updated', customerId, entitlements: ['premium-reports'], created: Math.floor(Date.now() / 1000) - 30 }, LOCAL_WEBHOOK_SECRET);
      expect(entitled.statusCode).toBe(200);
      const report = resultOf(await mcp.client.callTool({ name: 'getReport', arguments: { reportId: 'a b/c' } }));
      expect(report.structured).toMatchObject({ route: 'GET /v1/reports/{reportId}', pathParameters: { reportId: 'a b/c' } });
    } finally {
      await mcp.close();
    }
  });

  it('sends a URL elicitation to the page that fixes a 402 to a client that declares URL elicitation, and none to one that does not', async () => {
    const { key } = await customer();
    const eliciting = await mcpClient(mcpUrl(), key, { urlElicitation: true });
    const plain = await mcpClient(mcpUrl(), key);
    try {
      const denied = resultOf(await eliciting.client.callTool({ name: 'list_quotes', arguments: {} }));
      expect(denied).toMatchObject({ isError: true, structured: { reason: 'no_subscription' } });
      expect(eliciting.elicitations).toEqual([{ mode: 'url', url: denied.structured!.paymentUrl, message: expect.stringContaining('list_quotes needs payment (no_subscription)'), elicitationId: expect.any(String) }]);
      expect(resultOf(await plain.client.callTool({ name: 'list_quotes', arguments: {} })).isError).toBe(true);
      expect(plain.elicitations).toEqual([]);
    } finally {
      await Promise.all([eliciting.close(), plain.close()]);
    }
  });

  it('bills a metered tool as its route: 2xx calls counted until the quota, then 402 quota_exceeded; a bad argument calls nothing', async () => {
    const { customerId, key } = await customer();
    await subscribe(customerId, DEMO_USAGE_PLAN);
    const usage = async (): Promise<{ used: number; period: { end: string } }> =>
      JSON.parse((await api.gateway.handle({ method: 'GET', path: `/${loaded.stageName}/tollgate/usage`, headers: { Authorization: `Bearer ${key}` } })).body.toString('utf8'));
    await setCustomerAttributes(documents, tables.names.customers, customerId, { periodUsed: 16, usagePeriodEnd: Date.parse((await usage()).period.end) / 1000 });
    const mcp = await mcpClient(mcpUrl(), key);
    try {
      expect(resultOf(await mcp.client.callTool({ name: 'search', arguments: {} }))).toMatchObject({ isError: true, text: expect.stringContaining('do not match its input schema') });
      let succeeded = 0;
      let last = resultOf(await mcp.client.callTool({ name: 'search', arguments: { q: 'tollgate' } }));
      for (let i = 0; i < 12 && !last.isError; i++) {
        succeeded += 1;
        await new Promise((resolve) => setTimeout(resolve, 300));
        last = resultOf(await mcp.client.callTool({ name: 'search', arguments: { q: 'tollgate' } }));
      }
      expect(last.structured).toMatchObject({ status: 402, reason: 'quota_exceeded', limit: 20 });
      await api.metering!.drain();
      expect(succeeded).toBeGreaterThanOrEqual(4);
      expect((await usage()).used).toBe(16 + succeeded);
    } finally {
      await mcp.close();
    }
  });

  it('works with a bearer token as with a key', async () => {
    const { customerId } = await customer();
    await subscribe(customerId, 'pro');
    const mcp = await mcpClient(mcpUrl(), issuer.mint({ customerId }));
    try {
      expect(resultOf(await mcp.client.callTool({ name: 'list_quotes', arguments: {} }))).toMatchObject({ isError: false, structured: { customerId } });
    } finally {
      await mcp.close();
    }
  });

  it('answers a missing or bad credential 401 naming the protected-resource metadata, which names the token issuer', async () => {
    const error = await mcpClient(mcpUrl(), undefined).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(StreamableHTTPError);
    const response = await fetch(mcpUrl(), { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', Authorization: 'Bearer nope' }, body: '{}' });
    expect(response.status).toBe(401);
    const metadataUrl = /resource_metadata="([^"]+)"/.exec(response.headers.get('www-authenticate') ?? '')?.[1];
    expect(metadataUrl).toBe(`http://127.0.0.1:1/${loaded.stageName}/.well-known/oauth-protected-resource`);
    const problem = (await response.json()) as { resourceMetadata: string };
    const metadata = await fetch(problem.resourceMetadata.replace('http://127.0.0.1', server.url));
    expect(metadata.status).toBe(200);
    expect(await metadata.json()).toEqual({
      resource: `http://127.0.0.1/${loaded.stageName}`,
      authorization_servers: [issuer.trusted.issuer],
      bearer_methods_supported: ['header'],
      resource_name: 'Tollgate sample API',
      resource_documentation: `http://127.0.0.1/${loaded.stageName}/tollgate/docs`,
    });
  });

  it('logs each tool call beside its route\'s access-log line (joined by the route\'s request id), and reports them by tool and outcome', () => {
    const calls = eventsLog.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.message === 'tool call');
    const routes = new Map(accessLog.map((l) => parseAccessLogLine(l)!).map((l) => [l.requestId, l]));
    expect(calls.length).toBeGreaterThan(10);
    for (const call of calls) {
      const route = routes.get(call.routeRequestId as string)!;
      expect(route.status).toBe(String(call.status));
      expect(route.customerId).toBe(call.customerId);
    }
    const report = buildReport(localRows(accessLog, eventsLog, new Date(0), new Date(Date.now() + 60_000)), new Date(0), new Date(Date.now() + 60_000));
    expect(report.toolCalls.ping).toEqual({ allowed: 1, denied: 0, unauthorized: 0, failed: 0 });
    expect(report.toolCalls.getReport).toEqual({ allowed: 1, denied: 1, unauthorized: 0, failed: 0 });
    expect(report.toolCalls.list_quotes!.denied).toBe(3);
    // The metered tool: its successful calls and the one 402; the call with a bad argument reached nothing.
    expect(report.toolCalls.search!.denied).toBe(1);
    expect(report.toolCalls.search!.allowed).toBe([...routes.values()].filter((l) => l.resourcePath === '/v1/search' && l.status === '200').length);
  });
});
