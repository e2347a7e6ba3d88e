import { createLocalGateway } from '../../../lib/local/gateway';
import { ACCESS_LOG_FIELDS, parseAccessLogLine, renderAccessLogLine } from '../../../lambda/shared/access-log';
import { allowing, documentWith } from './support';

/** The local stage writes the deployed access-log format: one line per request, every outcome. */

const mock = (status: number) => ({
  'x-amazon-apigateway-integration': {
    type: 'mock',
    requestTemplates: { 'application/json': `{"statusCode": ${status}}` },
    responses: { default: { statusCode: String(status) } },
  },
});

function gatewayLogging(lines: string[]) {
  const document = documentWith({ '/v1/items': { get: mock(200) }, '/v1/broken': { get: mock(500) } });
  return createLocalGateway({
    document,
    functions: { authorizer: allowing(['/GET/v1/items'], { customerId: 'cus_1', periodEnd: 1767225600 }) },
    accessLog: (line) => lines.push(line),
  });
}

describe('local access log', () => {
  it('writes one line per request in the deployed format, with the authorizer context of allowed and denied calls', async () => {
    const lines: string[] = [];
    const gateway = gatewayLogging(lines);
    await gateway.handle({ method: 'GET', path: '/prod/v1/items', headers: { Authorization: 'Bearer k' } });
    await gateway.handle({ method: 'GET', path: '/prod/v1/broken', headers: { Authorization: 'Bearer k' } });
    await gateway.handle({ method: 'GET', path: '/prod/v1/items' });
    await gateway.handle({ method: 'GET', path: '/prod/v1/nowhere' });
    expect(lines).toHaveLength(4);
    const parsed = lines.map((line) => parseAccessLogLine(line));
    for (const line of lines) expect(Object.keys(JSON.parse(line) as object)).toEqual(Object.keys(ACCESS_LOG_FIELDS));
    expect(parsed[0]).toMatchObject({ method: 'GET', resourcePath: '/v1/items', status: '200', customerId: 'cus_1', periodEnd: '1767225600', authorizerStatus: '200' });
    expect(parsed[0]?.responseType).toBeUndefined();
    // Denied by the policy: a 402 with the authorizer's reason.
    expect(parsed[1]).toMatchObject({ status: '402', responseType: 'ACCESS_DENIED', reason: 'upgrade_required', customerId: 'cus_1' });
    // No credential: the authorizer never saw it.
    expect(parsed[2]).toMatchObject({ status: '401', responseType: 'UNAUTHORIZED' });
    expect(parsed[2]?.customerId).toBeUndefined();
    expect(parsed[3]).toMatchObject({ status: '403', responseType: 'MISSING_AUTHENTICATION_TOKEN' });
  });
});

describe('access-log lines', () => {
  it('parse back what they render, and refuse what is not tollgate\'s format', () => {
    const line = renderAccessLogLine({ 'context.requestId': 'r1', 'context.status': 204, 'context.authorizer.reserved': 3 });
    expect(parseAccessLogLine(line)).toEqual({ requestId: 'r1', status: '204', reserved: '3' });
    expect(JSON.parse(line)).toMatchObject({ customerId: '-', reason: '-' });
    for (const bad of ['', 'not json', '[]', 'null', '{"requestId":"r1"}', '{"requestId":"r1","status":"ok"}', '{"status":"200"}']) {
      expect(parseAccessLogLine(bad)).toBeUndefined();
    }
  });
});
