import { APIGatewayClient, FlushStageAuthorizersCacheCommand, TooManyRequestsException } from '@aws-sdk/client-api-gateway';
import { connect } from 'node:net';
import * as path from 'node:path';
import { signPayload } from '../../lib/stripe-events';
import { MAX_REQUEST_BYTES, startAdminServer, startGatewayServer, type RunningServer } from '../../lib/local/server';
import { buildLocalDocument, createLocalApi, LOCAL_WEBHOOK_SECRET, type LocalApi } from '../../lib/local/stack';
import { loadProjectConfig } from '../../lib/config/tollgate-config';
import { freshTables, type TestTables } from '../support/dynamodb';
import { openedResources } from '../support/opened';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

/**
 * The local endpoints as a careless or hostile client meets them: raw requests on a socket, each
 * malformed in one way, each answered with a 4xx problem, and the server still answering after it.
 */

const ROOT = path.join(__dirname, '..', '..');
const config = loadProjectConfig(ROOT);
const built = buildLocalDocument(config, ROOT);

interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Sends bytes as they are (no client-side validation) and reads the response until the server closes. */
function raw(port: number, head: string, body: Buffer | string = ''): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    // A server that closes early (413) may reset the rest of an upload: the answer read so far counts.
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? undefined : reject(err)));
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [top = '', ...rest] = text.split('\r\n\r\n');
      const [statusLine = '', ...lines] = top.split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') });
    });
    socket.write(`${head.replace(/\n/g, '\r\n')}\r\nConnection: close\r\n\r\n`);
    socket.end(body);
  });
}

const problemOf = (response: RawResponse): Record<string, unknown> => {
  expect(response.headers['content-type']).toBe('application/problem+json');
  const problem = JSON.parse(response.body) as Record<string, unknown>;
  expect(problem).toMatchObject({ type: expect.any(String), title: expect.any(String), detail: expect.any(String) });
  return problem;
};

describe('local servers on bad input', () => {
  let tables: TestTables;
  let api: LocalApi;
  let gateway: RunningServer;
  let admin: RunningServer;
  const stage = config.stageName;

  const opened = openedResources();
  beforeAll(async () => {
    tables = await opened.open(freshTables('local-server'), (t) => t.client.destroy());
    api = await opened.open(createLocalApi({ config, built, dynamodbEndpoint: tables.endpoint, tables: tables.names, webhookSecret: LOCAL_WEBHOOK_SECRET }), (a) => a.destroy());
    gateway = await opened.open(startGatewayServer(() => api.gateway, { port: 0, log: () => undefined }), (g) => g.close());
    admin = await opened.open(startAdminServer(api.gateway, { port: 0, log: () => undefined }), (a) => a.close());
  });
  afterAll(() => opened.closeAll());

  const adminStillServes = async (): Promise<void> => {
    expect((await raw(admin.port, `DELETE /restapis/local/stages/${stage}/cache/authorizers HTTP/1.1\nHost: x`)).status).toBe(202);
  };
  const gatewayStillServes = async (): Promise<void> => {
    const ping = await raw(gateway.port, `GET /${stage}/v1/ping HTTP/1.1\nHost: x`);
    expect(ping.status).toBe(401);
    problemOf(ping);
  };

  it.each([
    ['bad percent-encoding', 'DELETE /restapis/%E0%A4%A/stages/prod/cache/authorizers HTTP/1.1', '', 400],
    ['bad percent-encoding in the stage', 'DELETE /restapis/local/stages/%zz/cache/authorizers HTTP/1.1', '', 400],
    ['an unknown path', 'GET /restapis HTTP/1.1', '', 404],
    ['a wrong method', 'GET /restapis/local/stages/prod/cache/authorizers HTTP/1.1', '', 405],
    ['bad JSON with a wrong method', 'POST /restapis/local/stages/prod/cache/authorizers HTTP/1.1\nContent-Type: application/json\nContent-Length: 9', '{"stage":', 405],
    ['an unknown stage', 'DELETE /restapis/local/stages/nope/cache/authorizers HTTP/1.1', '', 404],
    ['an oversized body', 'DELETE /restapis/local/stages/prod/cache/authorizers HTTP/1.1\nContent-Length: 1048576', '', 413],
  ])('the admin endpoint answers %s with a problem and keeps serving', async (_what, requestLine, body, status) => {
    const response = await raw(admin.port, `${requestLine}\nHost: x`, body);
    expect(response.status).toBe(status);
    expect(problemOf(response)).toMatchObject({ status });
    await adminStillServes();
  });

  it.each([
    ['bad percent-encoding', `GET /${'prod'}/v1/%E0%A4%A HTTP/1.1`, ''],
    ['bad percent-encoding in the stage', 'GET /%zz/v1/quotes HTTP/1.1', ''],
    ['an unknown path', 'GET /prod/no/such/route HTTP/1.1', ''],
    ['a wrong method', 'DELETE /prod/v1/quotes HTTP/1.1', ''],
    ['unsigned bad JSON to the webhook', 'POST /prod/webhooks/stripe HTTP/1.1\nContent-Type: application/json\nContent-Length: 8', '{"id":"e'],
  ])('the gateway answers %s with a 4xx problem and keeps serving', async (_what, requestLine, body) => {
    const response = await raw(gateway.port, `${requestLine}\nHost: x`, body);
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    problemOf(response);
    await gatewayStillServes();
  });

  it('the gateway answers a correctly signed event that is not JSON with 400 and keeps serving', async () => {
    const payload = '{"id":"evt_1","type":';
    const signature = signPayload(payload, LOCAL_WEBHOOK_SECRET);
    const response = await raw(
      gateway.port,
      `POST /${stage}/webhooks/stripe HTTP/1.1\nHost: x\nContent-Type: application/json\nStripe-Signature: ${signature}\nContent-Length: ${payload.length}`,
      payload,
    );
    expect(response.status).toBe(400);
    problemOf(response);
    await gatewayStillServes();
  });

  it('the gateway answers a body over API Gateway\'s 10 MB limit with 413 and keeps serving', async () => {
    const declared = await raw(gateway.port, `POST /${stage}/webhooks/stripe HTTP/1.1\nHost: x\nContent-Length: ${MAX_REQUEST_BYTES + 1}`);
    expect(declared.status).toBe(413);
    expect(problemOf(declared)).toMatchObject({ status: 413, title: 'Request Too Long' });
    await gatewayStillServes();

    // Chunked, so only counting the bytes can find out.
    const chunk = Buffer.alloc(1024 * 1024, 'a');
    const chunks = Array.from({ length: 11 }, () => `${chunk.length.toString(16)}\r\n${chunk.toString()}\r\n`).join('') + '0\r\n\r\n';
    const streamed = await raw(gateway.port, `POST /${stage}/webhooks/stripe HTTP/1.1\nHost: x\nTransfer-Encoding: chunked`, chunks);
    expect(streamed.status).toBe(413);
    problemOf(streamed);
    await gatewayStillServes();
  });
});

describe('the local admin endpoint under the management budget', () => {
  it('answers flushes beyond 40 at once and 10 a second as API Gateway does: 429 TooManyRequestsException, which the SDK raises as such', async () => {
    const opened = openedResources();
    try {
      const tables = await opened.open(freshTables('local-admin-budget'), (t) => t.client.destroy());
      const api = await opened.open(createLocalApi({ config, built, dynamodbEndpoint: tables.endpoint, tables: tables.names, webhookSecret: LOCAL_WEBHOOK_SECRET }), (a) => a.destroy());
      const admin = await opened.open(startAdminServer(api.gateway, { port: 0, log: () => undefined }), (a) => a.close());
      const client = new APIGatewayClient({ endpoint: `http://127.0.0.1:${admin.port}`, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
      opened.defer(() => client.destroy());
      const flush = () => client.send(new FlushStageAuthorizersCacheCommand({ restApiId: api.gateway.restApiId, stageName: api.gateway.stage }));
      const started = Date.now();
      let refused: unknown;
      for (let i = 0; i < 400 && refused === undefined; i++) await flush().catch((err: unknown) => (refused = err));
      const seconds = (Date.now() - started) / 1000;
      expect(refused).toBeInstanceOf(TooManyRequestsException);
      const { accepted, throttled } = api.gateway.management.calls;
      expect(throttled).toBe(1);
      // The burst, and what the bucket refilled meanwhile at 10 a second.
      expect(accepted).toBeGreaterThanOrEqual(40);
      expect(accepted).toBeLessThanOrEqual(40 + Math.ceil(seconds * 10));
    } finally {
      await opened.closeAll();
    }
  });
});
