import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { MCP_TOOL_CALL_METRIC, type GatewayAnswer, type GatewayRequest } from '../../lambda/mcp/call';
import { makeMcpHandler } from '../../lambda/mcp/handler';
import { EmfLines } from '../../lambda/shared/observability';
import { statedProxyEvent } from '../../lib/local/gateway/events';
import { buildApiDocument } from '../../lib/openapi/build';

/**
 * The MCP function's line per tool call, as the dashboard and the report read it: one EMF line whose
 * McpToolCall count has the dimensions the dashboard's search names (service, tool, outcome), and whose
 * record joins the route's access-log line by its request id.
 */

const ROOT = path.join(__dirname, '..', '..');
const built = buildApiDocument({ document: JSON.parse(readFileSync(path.join(ROOT, 'api', 'openapi.json'), 'utf8')), authorizerUri: 'a', webhookUri: 'w', mcpUri: 'm', backend: { type: 'lambda', invocationUri: 'b' }, authorizerCacheTtlSeconds: 300, corsAllowOrigin: '*' });

describe('a tool call as the MCP function logs it', () => {
  it('writes one EMF line per call: McpToolCall by service, tool and outcome, with the route status, reason, customer and request id', async () => {
    const written: string[] = [];
    const answers: GatewayAnswer[] = [
      { status: 200, headers: { 'content-type': 'application/json', 'x-amzn-requestid': 'req-ok' }, body: '{"results":[]}' },
      { status: 402, headers: { 'content-type': 'application/problem+json', 'x-amzn-requestid': 'req-402' }, body: JSON.stringify({ status: 402, reason: 'quota_exceeded', paymentUrl: 'https://api.example.com/prod/tollgate/portal' }) },
    ];
    const sent: GatewayRequest[] = [];
    const handler = makeMcpHandler({
      settings: { authorizationServers: [], corsAllowOrigin: '*' },
      catalog: built.mcp!,
      gateway: (request) => (sent.push(request), Promise.resolve(answers.shift()!)),
      observability: { logger: new Logger({ logLevel: 'SILENT' }), lines: new EmfLines({ namespace: 'Tollgate', service: 'mcp', write: (line) => written.push(line) }) },
      now: () => new Date('2026-12-06T00:00:00Z'),
    });
    const call = async (id: number) => {
      const event = statedProxyEvent(
        { stage: 'prod', restApiId: 'api', region: 'eu-west-1', accountId: '1', domainName: 'api.example.com' },
        { method: 'POST', resource: '/mcp', headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', Authorization: 'Bearer tg_key', 'Mcp-Protocol-Version': '2025-11-25' }, body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'search', arguments: { q: 'x' } } }) },
      );
      return handler({ ...event, requestContext: { ...event.requestContext, authorizer: { customerId: 'cus_1', principalId: 'cus_1' } } });
    };
    expect((await call(1)).statusCode).toBe(200);
    expect((await call(2)).statusCode).toBe(200);
    expect(sent.map((r) => r.url)).toEqual(['https://api.example.com/prod/v1/search?q=x', 'https://api.example.com/prod/v1/search?q=x']);

    const lines = written.map((l) => JSON.parse(l) as Record<string, any>);
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line._aws.CloudWatchMetrics).toEqual([{ Namespace: 'Tollgate', Dimensions: [['service', 'tool', 'outcome']], Metrics: [{ Name: MCP_TOOL_CALL_METRIC, Unit: 'Count' }] }]);
      expect(line[MCP_TOOL_CALL_METRIC]).toBe(1);
    }
    const { _aws: _first, ...allowed } = lines[0]!;
    const { _aws: _second, ...denied } = lines[1]!;
    expect(allowed).toEqual({ message: 'tool call', status: '200', customerId: 'cus_1', routeRequestId: 'req-ok', calledAt: '2026-12-06T00:00:00.000Z', service: 'mcp', tool: 'search', outcome: 'allowed', McpToolCall: 1 });
    expect(denied).toEqual({ message: 'tool call', status: '402', reason: 'quota_exceeded', customerId: 'cus_1', routeRequestId: 'req-402', calledAt: '2026-12-06T00:00:00.000Z', service: 'mcp', tool: 'search', outcome: 'denied', McpToolCall: 1 });
  });
});
