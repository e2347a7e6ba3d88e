import { createApiKey } from '../../lambda/shared/customers/keys';
import { loadProjectConfig } from '../../lib/config/tollgate-config';
import { deliverEvent } from '../../lib/local/demo';
import { localClient } from '../../lib/local/dynamodb-local';
import { buildLocalDocument, createLocalApi, LOCAL_WEBHOOK_SECRET } from '../../lib/local/stack';
import { freshBenchTables } from '../lib/authorizer';
import { interleavedLatencies } from '../lib/interleave';
import { countRequests } from '../lib/request-counter';
import { SIZES } from '../lib/sizes';
import { exactMeasure, percentile, ratioMeasure, summarize } from '../lib/stats';
import type { Figure } from '../lib/types';
import { quietHandlers } from '../lib/quiet-sdk';

/**
 * What the design supports: a tool call costs its route's HTTP call plus one MCP request through the
 * gateway (the /mcp pass, the standing authorizer's cached decision, the SDK's stateless request), plus
 * under 30 % for the call's own work (the SDK's checks of tools/call and of its result, the arguments
 * against the input schema, the route's request built and its answer read).
 */
const FLOOR_GOAL = 1.3;

/**
 * B14: an MCP tool call against the same HTTP call, both through the local gateway in process with the
 * real authorizer and backend: the tool call is POST /mcp (the standing authorizer, the MCP function on
 * the official SDK) whose function sends the route's call through the gateway. Latency interleaved on a
 * warm authorizer cache, and DynamoDB requests per call on a cold cache (the only time a decision reads)
 * and on a warm one.
 */
export const figure: Figure = {
  id: 'B14',
  title: 'MCP tool call / the same HTTP call through the local gateway; DynamoDB requests per call',
  async run(context) {
    quietHandlers();
    const sizes = SIZES[context.mode];
    const config = loadProjectConfig(context.root);
    const built = buildLocalDocument(config, context.root);
    if (built.mcp === undefined) return { available: false, unavailableReason: 'the sample API marks no operation for MCP', measures: [], facts: {}, notes: [] };
    const tables = await freshBenchTables(context.dynamodbEndpoint, 'mcp');
    const seeder = localClient(context.dynamodbEndpoint);
    // Metering off: it runs beside the calls, not on their path, and would read and write meanwhile.
    const api = createLocalApi({ config, built, dynamodbEndpoint: context.dynamodbEndpoint, tables, webhookSecret: LOCAL_WEBHOOK_SECRET, metering: false });
    try {
      const customerId = 'cus_bench_mcp';
      const delivered = await deliverEvent(api.gateway, { type: 'customer.subscription.created', customerId, status: 'active', plan: 'pro' }, LOCAL_WEBHOOK_SECRET);
      if (delivered.statusCode !== 200) throw new Error(`the subscription event was refused: ${delivered.body}`);
      const { key } = await createApiKey({ client: seeder, tables }, { customerId, name: 'bench' });
      const stage = `/${config.stageName}`;
      let id = 0;
      const mcpRequest = async (method: string, params?: Record<string, unknown>): Promise<void> => {
        const response = await api.gateway.handle({
          method: 'POST',
          path: `${stage}/mcp`,
          headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', 'Mcp-Protocol-Version': '2025-11-25' },
          body: JSON.stringify({ jsonrpc: '2.0', id: ++id, method, ...(params === undefined ? {} : { params }) }),
        });
        const result = (JSON.parse(response.body.toString('utf8')) as { result?: { isError?: boolean } }).result;
        if (response.statusCode !== 200 || result === undefined || result.isError === true) throw new Error(`benchmark set-up is wrong: ${method} answered ${response.statusCode} ${response.body.toString('utf8').slice(0, 200)}`);
      };
      const toolCall = (name: string, args: Record<string, unknown>): Promise<void> => mcpRequest('tools/call', { name, arguments: args });
      /** The protocol's cheapest request through the same path: what every MCP request costs before any tool runs. */
      const ping = (): Promise<void> => mcpRequest('ping');
      const httpCall = async (route: string): Promise<void> => {
        const response = await api.gateway.handle({ method: 'GET', path: `${stage}${route}`, headers: { Authorization: `Bearer ${key}` } });
        if (response.statusCode !== 200) throw new Error(`benchmark set-up is wrong: GET ${route} answered ${response.statusCode}`);
      };
      const calls = {
        list_quotes: { tool: () => toolCall('list_quotes', {}), http: () => httpCall('/v1/quotes') },
        search: { tool: () => toolCall('search', { q: 'bench' }), http: () => httpCall('/v1/search?q=bench') },
      };

      const counters = api.clients.map((client) => countRequests(client));
      const requests = (): number => counters.reduce((sum, c) => sum + c.total(), 0);
      const countOne = async (call: () => Promise<void>, cold: boolean): Promise<number> => {
        if (cold) api.gateway.flushAuthorizerCache();
        for (const c of counters) c.reset();
        await call();
        return requests();
      };
      const coldRounds = Math.max(3, Math.min(50, sizes.latencySamples / 4));
      const cold = async (pair: { tool: () => Promise<void>; http: () => Promise<void> }) => {
        let tool = 0;
        let http = 0;
        for (let i = 0; i < coldRounds; i++) {
          tool += await countOne(pair.tool, true);
          http += await countOne(pair.http, true);
        }
        return { tool, http };
      };
      const coldQuotes = await cold(calls.list_quotes);
      const coldSearch = await cold(calls.search);
      let warmTool = 0;
      let warmHttp = 0;
      for (const pair of Object.values(calls)) {
        await pair.tool();
        await pair.http();
        for (let i = 0; i < coldRounds; i++) {
          warmTool += await countOne(pair.tool, false);
          warmHttp += await countOne(pair.http, false);
        }
      }

      // Tool call, its HTTP call and a ping, interleaved (A B C A B C …) so that all three see the same load.
      const p50: Array<{ tool: number; http: number; ping: number }> = [];
      const p99: Array<{ tool: number; http: number; ping: number }> = [];
      let callsPerSide = 0;
      for (let rep = 0; rep < sizes.repetitions; rep++) {
        const warmup = rep === 0 ? sizes.latencyWarmup : 10;
        const [tool, http, protocol] = await interleavedLatencies([calls.list_quotes.tool, calls.list_quotes.http, ping], { warmup, samples: sizes.latencySamples });
        callsPerSide += warmup + sizes.latencySamples;
        for (const [into, p] of [[p50, 50], [p99, 99]] as const) into.push({ tool: percentile(tool!, p), http: percentile(http!, p), ping: percentile(protocol!, p) });
      }
      const added = p50.map((r) => r.tool - r.http);
      return {
        available: true,
        measures: [
          ratioMeasure('p50 tool call (list_quotes) / p50 (its HTTP call GET /v1/quotes + an MCP ping)', p50.map((r) => ({ a: r.tool, b: r.http + r.ping })), { unit: 'ms', target: { op: '<=', value: FLOOR_GOAL } }),
          ratioMeasure('p50 tool call / p50 the same HTTP call (in process: no network, no Lambda start)', p50.map((r) => ({ a: r.tool, b: r.http })), { unit: 'ms' }),
          ratioMeasure('p99 tool call / p99 (its HTTP call + an MCP ping)', p99.map((r) => ({ a: r.tool, b: r.http + r.ping })), { unit: 'ms' }),
          exactMeasure('DynamoDB requests per tool call / per HTTP call, cold cache, standing route (one cached decision serves /mcp and the route)', coldQuotes.tool / coldQuotes.http, {
            a: coldQuotes.tool,
            b: coldQuotes.http,
            target: { op: '==', value: 1 },
          }),
          exactMeasure('DynamoDB requests per tool call / per HTTP call, cold cache, metered route (/mcp and the route cached apart)', coldSearch.tool / coldSearch.http, { a: coldSearch.tool, b: coldSearch.http }),
          exactMeasure('DynamoDB requests per tool call minus per HTTP call, warm cache', (warmTool - warmHttp) / (2 * coldRounds), { a: warmTool, b: warmHttp, target: { op: '==', value: 0 } }),
        ],
        facts: {
          callsPerSide,
          coldRounds,
          addedLatencyMsP50: summarize(added),
          coldRequests: { list_quotes: coldQuotes, search: coldSearch },
          warmRequests: { tool: warmTool, http: warmHttp },
          tools: built.mcp.tools.map((t) => t.name),
        },
        notes: [
          'All sides in process through createLocalGateway (no sockets), the authorizer cache warm, metering off; the tool call is a JSON-RPC tools/call POST to /mcp answered as JSON (a client without URL elicitation). A fresh SDK server and transport are built per request, as the stateless Lambda does.',
          'The floor of a tool call is its route\'s HTTP call plus one MCP request through the gateway (a ping: the /mcp pass, the cached standing decision, the SDK\'s stateless request and nothing of a tool). In process the HTTP call costs a fraction of a millisecond, so the ratio to the bare HTTP call mostly measures the SDK; deployed, each pass adds an API Gateway request and a Lambda invocation to both sides.',
          'Cold: the stage\'s authorizer cache is flushed before each call, so every decision the call needs reads DynamoDB. A standing route\'s tool call reads once: /mcp and the route are decided by the same authorizer for the same credential, so the route finds /mcp\'s cached policy. A metered or strict route has its own authorizer (its own cache): one more read per credential per cache TTL.',
        ],
      };
    } finally {
      api.destroy();
      seeder.destroy();
    }
  },
};
