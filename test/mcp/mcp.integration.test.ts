import { readCustomer } from '../../lambda/shared/customers/store';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
 * metering and DynamoDB Local): every tool call is its route's call, decided, billed and logged as one,
 * with an API key and with an access token alike. (`npm start` serving the same: test/local/e2e.test.ts.)
 */

const ROOT = path.join(__dirname, '..', '..');
const loaded = loadProjectConfig(ROOT);
type Credential = 'key' | 'token';

/** The sample document plus a strict route sold as a tool: its cost reserved at decision time. */
function documentWithStrictTool(dir: string): string {
  const document = JSON.parse(readFileSync(path.join(ROOT, loaded.openApiDocument), 'utf8'));
  document.paths['/v1/ask'] = {
    post: {
      operationId: 'ask',
      summary: 'Ask once; the unit is reserved before the call.',
      'x-tollgate': { requires: 'subscription', cost: 1, strict: true, mcp: true },
      responses: { '200': { description: 'The answer.' } },
    },
  };
  const file = path.join(dir, 'openapi.json');
  writeFileSync(file, JSON.stringify(document));
  return file;
}

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
  const customer = async (kind: Credential = 'key'): Promise<{ customerId: string; key: string }> => {
    const customerId = `cus_mcp${++seq}`;
    if (kind === 'token') return { customerId, key: issuer.mint({ customerId }) };
    const { key } = await createApiKey({ client: tables.client, tables: tables.names }, { customerId });
    return { customerId, key };
  };
  const usageOf = async (credential: string): Promise<{ used: number; period: { end: string } }> =>
    JSON.parse((await api.gateway.handle({ method: 'GET', path: `/${loaded.stageName}/tollgate/usage`, headers: { Authorization: `Bearer ${credential}` } })).body.toString('utf8'));
  /** A metered-plan subscriber `left` units short of the quota (20). */
  const nearQuota = async (kind: Credential, left: number): Promise<{ customerId: string; key: string }> => {
    const who = await customer(kind);
    await subscribe(who.customerId, DEMO_USAGE_PLAN);
    // The subscription's own counter (each subscription counts its calls).
    const [subscriptionId] = Object.keys((await readCustomer(tables.client, tables.names.customers, who.customerId))!.subscriptions);
    const periodEnd = Date.parse((await usageOf(who.key)).period.end) / 1000;
    await setCustomerAttributes(documents, tables.names.customers, who.customerId, { periodUsage: { [subscriptionId!]: { used: 20 - left, periodEnd, plan: DEMO_USAGE_PLAN } } });
    return who;
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
    const config = { ...loaded, openApiDocument: documentWithStrictTool(stateDir), issuers: [issuer.trusted], publicUrl: `http://127.0.0.1:1/${loaded.stageName}` };
    api = await opened.open(
      createLocalApi({ config, built: buildLocalDocument(config, ROOT), dynamodbEndpoint: tables.endpoint, tables: tables.names, webhookSecret: LOCAL_WEBHOOK_SECRET, accessLog: (line) => accessLog.push(line), eventsLog: (line) => eventsLog.push(line), metering: { intervalMs: 100 } }),
      (a) => a.destroy(),
    );
    server = await opened.open(startGatewayServer(api.gateway, { port: 0 }), (s) => s.close());
  });
  afterAll(() => opened.closeAll());

  describe.each<[string, Credential]>([
    ['an API key', 'key'],
    ['an access token', 'token'],
  ])('with %s', (_, kind) => {
    it('lists the marked operations as tools, each with its price in its description, title and _meta', async () => {
      const { key } = await customer(kind);
      const mcp = await mcpClient(mcpUrl(), key);
      try {
        const { tools } = await mcp.client.listTools();
        expect(tools.map((t) => t.name)).toEqual(['ping', 'list_quotes', 'getReport', 'search', 'ask']);
        const search = tools.find((t) => t.name === 'search')!;
        expect(search.description).toContain('Costs 1 unit per successful call');
        expect(search.annotations).toMatchObject({ readOnlyHint: true, title: expect.stringContaining('1 unit per call') });
        expect(search._meta).toEqual({ 'tollgate/price': { requires: 'subscription', cost: 1 } });
        expect(search.inputSchema).toMatchObject({ type: 'object', required: ['q'], properties: { q: { type: 'string' } } });
        expect(tools.find((t) => t.name === 'getReport')!.inputSchema.required).toEqual(['reportId']);
        expect(tools.find((t) => t.name === 'ask')!._meta).toEqual({ 'tollgate/price': { requires: 'subscription', cost: 1, strict: true } });
      } finally {
        await mcp.close();
      }
    });

    it('calls a free tool, and a subscription tool: a 402 tool result, then after subscribing the route\'s answer', async () => {
      const { customerId, key } = await customer(kind);
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

    it('bills a metered tool as its route: 2xx calls counted until the quota, then 402 quota_exceeded; a bad argument calls nothing', async () => {
      const { key } = await nearQuota(kind, 4);
      const mcp = await mcpClient(mcpUrl(), key);
      try {
        expect(resultOf(await mcp.client.callTool({ name: 'search', arguments: {} }))).toMatchObject({ isError: true, text: expect.stringContaining('do not match its input schema') });
        let succeeded = 0;
        let last = resultOf(await mcp.client.callTool({ name: 'search', arguments: { q: 'tollgate' } }));
        for (let i = 0; i < 12 && !last.isError; i++) {
          succeeded += 1;
          // Past the metered decision's cache (1 s) and metering's interval: the next call sees the count.
          await new Promise((resolve) => setTimeout(resolve, 300));
          await api.metering!.drain();
          last = resultOf(await mcp.client.callTool({ name: 'search', arguments: { q: 'tollgate' } }));
        }
        expect(last.structured).toMatchObject({ status: 402, reason: 'quota_exceeded', limit: 20 });
        await api.metering!.drain();
        expect(succeeded).toBeGreaterThanOrEqual(4);
        expect((await usageOf(key)).used).toBe(16 + succeeded);
      } finally {
        await mcp.close();
      }
    });

    it('keeps a strict tool strict, as its route: with a key, exactly its credits in a row and no overshoot at once; a token is refused (strict routes take keys)', async () => {
      const credited = async (credits: number) => {
        const who = await customer(kind);
        await subscribe(who.customerId, 'pro');
        await setCustomerAttributes(documents, tables.names.customers, who.customerId, { credits });
        // The balance as every reader sees it: the wallet's once a reservation wrote it (lambda/shared/customers/wallet.ts).
        return { ...who, balance: async () => (await readCustomer(tables.client, tables.names.customers, who.customerId))?.credits };
      };
      const inRow = await credited(3);
      const burst = await credited(3);
      const [mcp, forBurst] = await Promise.all([mcpClient(mcpUrl(), inRow.key), mcpClient(mcpUrl(), burst.key)]);
      try {
        const results: Array<ReturnType<typeof resultOf>> = [];
        for (let i = 0; i < 4; i++) results.push(resultOf(await mcp.client.callTool({ name: 'ask', arguments: {} })));
        // Eight at once: each unit is reserved by the decision itself, before its call.
        const atOnce = (await Promise.all(Array.from({ length: 8 }, () => forBurst.client.callTool({ name: 'ask', arguments: {} })))).map(resultOf);
        const allowedAtOnce = atOnce.filter((r) => !r.isError);
        if (kind === 'key') {
          expect(results.map((r) => (r.isError ? r.structured?.reason : r.structured?.route))).toEqual(['POST /v1/ask', 'POST /v1/ask', 'POST /v1/ask', 'credits_exhausted']);
          expect(await inRow.balance()).toBe(0);
          expect(allowedAtOnce.length).toBeGreaterThan(0);
          // A reservation that timed out on a loaded machine is a 503 (fail closed), never a call beyond the credits.
          for (const r of atOnce.filter((x) => x.isError)) expect([`${r.structured?.status} ${r.structured?.reason}`]).toEqual([expect.stringMatching(/^(402 credits_exhausted|503 undefined)$/)]);
          const left = (await burst.balance()) as number;
          expect(left).toBeGreaterThanOrEqual(0);
          expect(allowedAtOnce.length + left).toBeLessThanOrEqual(3);
        } else {
          // A strict reservation is conditioned on a key's stored hash: the route answers a token 401, and so does the tool.
          for (const r of [...results, ...atOnce]) expect(r).toMatchObject({ isError: true, structured: { status: 401 } });
          expect([await inRow.balance(), await burst.balance()]).toEqual([3, 3]);
        }
      } finally {
        await Promise.all([mcp.close(), forBurst.close()]);
      }
    });

    it('charges nothing for protocol traffic (initialize, tools/list, ping) and asks only for a valid credential, not a payment', async () => {
      const unsubscribed = await customer(kind);
      const metered = await nearQuota(kind, 1);
      const before = accessLog.length;
      for (const who of [unsubscribed, metered]) {
        const mcp = await mcpClient(mcpUrl(), who.key);
        try {
          for (let i = 0; i < 3; i++) {
            expect((await mcp.client.listTools()).tools).toHaveLength(5);
            await mcp.client.ping();
          }
        } finally {
          await mcp.close();
        }
      }
      await api.metering!.drain();
      // 2 clients × (initialize, its notification, 3 × (tools/list, ping)): every line /mcp's, none a 402.
      const lines = accessLog.slice(before).map((l) => parseAccessLogLine(l)!);
      expect(lines.length).toBeGreaterThanOrEqual(2 * 8);
      expect(lines.filter((l) => l.resourcePath !== '/mcp' || l.status === '402')).toEqual([]);
      expect(lines.filter((l) => l.status === '200')).toHaveLength(2 * 7);
      expect((await usageOf(metered.key)).used).toBe(19);
    });
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

  it('without token issuers, answers a missing credential 401 asking for a key, names no metadata and serves none', async () => {
    // The project's own configuration trusts no issuer.
    expect(loaded.issuers).toBeUndefined();
    const config = { ...loaded, publicUrl: `http://127.0.0.1:1/${loaded.stageName}` };
    const keysOnly = createLocalApi({ config, built: buildLocalDocument(config, ROOT), dynamodbEndpoint: tables.endpoint, tables: tables.names, webhookSecret: LOCAL_WEBHOOK_SECRET, metering: false });
    try {
      const unauthorized = await keysOnly.gateway.handle({ method: 'POST', path: `/${loaded.stageName}/mcp`, headers: { 'Content-Type': 'application/json' }, body: Buffer.from('{}') });
      expect(unauthorized.statusCode).toBe(401);
      expect(unauthorized.headers['www-authenticate']).toBe('Bearer realm="tollgate"');
      const problem = JSON.parse(unauthorized.body.toString('utf8')) as Record<string, unknown>;
      expect(problem.detail).toContain('Send a valid API key or access token as: Authorization: Bearer <key or token>.');
      expect(problem.resourceMetadata).toBeUndefined();
      expect((await keysOnly.gateway.handle({ method: 'GET', path: `/${loaded.stageName}/.well-known/oauth-protected-resource`, headers: {} })).statusCode).not.toBe(200);
    } finally {
      keysOnly.destroy();
    }
  });

  it('logs each tool call beside its route\'s access-log line (joined by the route\'s request id), and reports them by tool and outcome', () => {
    const calls = eventsLog.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.message === 'tool call');
    const routes = new Map(accessLog.map((l) => parseAccessLogLine(l)!).map((l) => [l.requestId, l]));
    expect(calls.length).toBeGreaterThan(10);
    for (const call of calls) {
      const route = routes.get(call.routeRequestId as string)!;
      expect(route.status).toBe(String(call.status));
      // A route's 401 or 503 names no customer; the tool-call line still names the caller /mcp let in.
      if (route.status === '200' || route.status === '402') expect(route.customerId).toBe(call.customerId);
    }
    const report = buildReport(localRows(accessLog, eventsLog, new Date(0), new Date(Date.now() + 60_000)), new Date(0), new Date(Date.now() + 60_000));
    // Once with a key, once with a token.
    expect(report.toolCalls.ping).toEqual({ allowed: 2, denied: 0, unauthorized: 0, failed: 0 });
    expect(report.toolCalls.getReport).toEqual({ allowed: 2, denied: 2, unauthorized: 0, failed: 0 });
    // The two 402s before subscribing, and the elicitation test's two.
    expect(report.toolCalls.list_quotes).toEqual({ allowed: 2, denied: 4, unauthorized: 0, failed: 0 });
    // The metered tool: its successful calls and the one 402 each; the calls with a bad argument reached nothing.
    expect(report.toolCalls.search!.denied).toBe(2);
    expect(report.toolCalls.search!.allowed).toBe([...routes.values()].filter((l) => l.resourcePath === '/v1/search' && l.status === '200').length);
    const askLines = (status: string) => [...routes.values()].filter((l) => l.resourcePath === '/v1/ask' && l.status === status).length;
    expect(report.toolCalls.ask).toEqual({ allowed: askLines('200'), denied: askLines('402'), unauthorized: 12, failed: askLines('503') });
  });
});
