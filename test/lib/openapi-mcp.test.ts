import { buildApiDocument, OpenApiError, readMcpCatalog, type BuildApiOptions } from '../../lib/openapi/build';
import { toolRequest, toolResult } from '../../lambda/mcp/call';
import { listedTool, type McpTool } from '../../lambda/mcp/catalog';

/** x-tollgate "mcp": what the builder makes of a marked operation, and what it refuses with a message saying what to change. */

const doc = (paths: Record<string, unknown>, components?: Record<string, unknown>): any => ({ openapi: '3.0.1', info: { title: 'Shop', version: '2.1.0' }, paths, ...(components === undefined ? {} : { components }) });
const op = (extension: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ operationId: 'getThing', summary: 'A thing.', 'x-tollgate': { requires: 'key', ...extension }, responses: { '200': { description: 'ok' } }, ...extra });
const options = (document: unknown, overrides: Partial<BuildApiOptions> = {}): BuildApiOptions => ({
  document,
  authorizerUri: 'arn:authorizer',
  webhookUri: 'arn:webhook',
  mcpUri: 'arn:mcp',
  backend: { type: 'lambda', invocationUri: 'arn:backend' },
  authorizerCacheTtlSeconds: 300,
  corsAllowOrigin: '*',
  ...overrides,
});

describe('MCP tools from the document', () => {
  it('builds each marked operation\'s tool: name, description, input schema from path, query and JSON body, price', () => {
    const document = doc(
      {
        '/v1/orders/{orderId}': {
          parameters: [{ name: 'orderId', in: 'path', required: true, description: 'The order.', schema: { type: 'string' } }],
          put: op(
            { requires: 'subscription', cost: 2, strict: true, mcp: { name: 'update_order', description: 'Change an order.' } },
            {
              parameters: [{ $ref: '#/components/parameters/Dry' }],
              requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/Order' } } } },
            },
          ),
        },
        '/v1/things': { get: op({ mcp: true }) },
        '/v1/hidden': { get: op({}, { operationId: 'hidden' }) },
      },
      {
        parameters: { Dry: { name: 'dry', in: 'query', schema: { type: 'boolean', nullable: true, example: true } } },
        schemas: { Order: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: { $ref: '#/components/schemas/Item' } } } }, Item: { type: 'string', xml: { name: 'i' } } },
      },
    );
    const catalog = buildApiDocument(options(document)).mcp!;
    expect(catalog.server).toEqual({ title: 'Shop', version: '2.1.0' });
    expect(catalog.tools.map((t) => t.name)).toEqual(['update_order', 'getThing']);
    expect(catalog.tools[0]).toEqual({
      name: 'update_order',
      title: 'A thing.',
      description: 'Change an order.',
      method: 'PUT',
      path: '/v1/orders/{orderId}',
      parameters: [{ name: 'orderId', in: 'path' }, { name: 'dry', in: 'query' }],
      body: true,
      inputSchema: {
        type: 'object',
        properties: {
          orderId: { type: 'string', description: 'The order.' },
          dry: { type: ['boolean', 'null'] },
          body: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: { type: 'string' } } } },
        },
        required: ['orderId', 'body'],
        additionalProperties: false,
      },
      requires: 'subscription',
      cost: 2,
      strict: true,
    });
    expect(listedTool(catalog.tools[0]!)).toMatchObject({
      description: expect.stringMatching(/^Change an order\.\n\nPrice: Requires a subscription in good standing\. Costs 2 units per successful call \(reserved from prepaid credits before the call\)/),
      annotations: { title: 'A thing. (2 units per call)', readOnlyHint: false, destructiveHint: false, idempotentHint: true },
      _meta: { 'tollgate/price': { requires: 'subscription', cost: 2, strict: true } },
    });
    expect(listedTool(catalog.tools[1]!).description).toBe('A thing.\n\nPrice: Free: any valid API key or token.');
    expect(readMcpCatalog(document)).toEqual(catalog);
  });

  it('adds no MCP route when nothing is marked, and reserves /mcp when something is', () => {
    const plain = buildApiDocument(options(doc({ '/mcp': { get: op({}) } })));
    expect(plain.mcp).toBeUndefined();
    expect(() => buildApiDocument(options(doc({ '/mcp': { get: op({}) }, '/v1/things': { get: op({ mcp: true }) } })))).toThrow(
      'path "/mcp" is where tollgate serves MCP when operations are marked "mcp": move it elsewhere',
    );
  });

  it.each([
    [{ mcp: 'yes' }, {}, '"mcp" is "yes": use true, or { "name": "<tool name>", "description": "<what the tool does>" }'],
    [{ mcp: { title: 'x' } }, {}, 'unknown "mcp" field "title"'],
    [{ mcp: { name: 'has space' } }, {}, '"mcp" name "has space" is not a tool name: use letters, digits, "_" or "-", at most 64 characters'],
    [{ mcp: { description: '' } }, {}, '"mcp" description must be a non-empty string of at most 2000 characters'],
    [{ mcp: true }, { operationId: undefined }, 'an MCP tool needs a name: add an "operationId", or "mcp": { "name": "<tool name>" }'],
    [{ mcp: true }, { operationId: 'get.thing' }, 'the operationId "get.thing" is not a tool name'],
    [{ mcp: true }, { summary: undefined }, 'an MCP tool needs a description: add a "summary" or "description"'],
    [{ mcp: true }, { parameters: [{ name: 'X-Trace', in: 'header', schema: { type: 'string' } }] }, 'parameter "X-Trace" is in header: an MCP tool sends path and query parameters and a JSON body only'],
    [{ mcp: true }, { parameters: [{ name: 'body', in: 'query' }] }, 'a parameter named "body" would clash with the tool\'s JSON body argument'],
    [{ mcp: true }, { requestBody: { content: { 'text/csv': {} } } }, 'an MCP tool sends a JSON body: declare "application/json" content, or remove "mcp"'],
    [{ mcp: true }, { requestBody: { $ref: 'https://elsewhere.example/body' } }, '"$ref": "https://elsewhere.example/body" is not in this document'],
  ])('refuses %j on an operation with %j', (extension, overrides, message) => {
    const operation: Record<string, unknown> = op(extension);
    for (const [k, v] of Object.entries(overrides)) if (v === undefined) delete operation[k];
    else operation[k] = v;
    expect(() => buildApiDocument(options(doc({ '/v1/things': { post: operation } })))).toThrow(OpenApiError);
    expect(() => buildApiDocument(options(doc({ '/v1/things': { post: operation } })))).toThrow(message);
  });

  it('refuses a recursive schema, an ANY operation and a name taken twice', () => {
    const recursive = doc({ '/v1/t': { post: op({ mcp: true }, { requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Node' } } } } }) } }, {
      schemas: { Node: { type: 'object', properties: { next: { $ref: '#/components/schemas/Node' } } } },
    });
    expect(() => buildApiDocument(options(recursive))).toThrow('"$ref": "#/components/schemas/Node" refers to itself');
    expect(() => buildApiDocument(options(doc({ '/v1/t': { 'x-amazon-apigateway-any-method': op({ mcp: true }) } })))).toThrow('cannot be an MCP tool (a tool calls one method)');
    expect(() => buildApiDocument(options(doc({ '/v1/a': { get: op({ mcp: true }) }, '/v1/b': { get: op({ mcp: true }) } })))).toThrow(
      'GET /v1/b and GET /v1/a are both the MCP tool "getThing": give one "mcp": { "name": "<another name>" }',
    );
  });
});

describe('a tool call as its route\'s request, and its answer as a tool result', () => {
  const tool: McpTool = {
    name: 'files',
    title: 'Files',
    description: 'd',
    method: 'POST',
    path: '/v1/files/{path+}',
    parameters: [{ name: 'path', in: 'path' }, { name: 'tag', in: 'query' }],
    body: true,
    inputSchema: { type: 'object' },
    requires: 'subscription',
  };

  it('encodes the path (a greedy parameter keeps its slashes), repeats array query values, sends the JSON body and the caller\'s credential', () => {
    expect(toolRequest(tool, { path: 'a b/c?d', tag: ['x', 'y&z'], body: { n: 1 } }, 'https://api.example.com/prod', 'Bearer k')).toEqual({
      method: 'POST',
      url: 'https://api.example.com/prod/v1/files/a%20b/c%3Fd?tag=x&tag=y%26z',
      headers: { 'User-Agent': 'tollgate-mcp tool/files', Accept: 'application/json', Authorization: 'Bearer k', 'Content-Type': 'application/json' },
      body: '{"n":1}',
    });
  });

  it('answers a 2xx with its body, a 402 with the problem, anything else as an error with its body', () => {
    expect(toolResult(tool, { status: 200, headers: {}, body: '{"ok":true}' })).toEqual({ content: [{ type: 'text', text: '{"ok":true}' }], structuredContent: { ok: true } });
    expect(toolResult(tool, { status: 204, headers: {}, body: '' })).toEqual({ content: [{ type: 'text', text: 'files: 204, no content' }] });
    const problem = { type: 'https://x/prod/tollgate/problems/credits_exhausted', status: 402, reason: 'credits_exhausted', detail: 'Buy credits.', paymentUrl: 'https://x/prod/tollgate/portal' };
    expect(toolResult(tool, { status: 402, headers: {}, body: JSON.stringify(problem) })).toEqual({
      isError: true,
      content: [{ type: 'text', text: 'Payment required (credits_exhausted): Buy credits. A person can fix it at https://x/prod/tollgate/portal, then call the tool again.' }, { type: 'text', text: JSON.stringify(problem) }],
      structuredContent: problem,
    });
    expect(toolResult(tool, { status: 400, headers: {}, body: 'nope' })).toEqual({ isError: true, content: [{ type: 'text', text: 'files failed with HTTP 400: nope' }] });
  });
});
