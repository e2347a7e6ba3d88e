import { compileMock } from '../../../lib/local/gateway/integrations/mock';

const call = {} as Parameters<ReturnType<typeof compileMock>>[0];

describe('compileMock', () => {
  it('selects the integration response whose pattern matches the template status', async () => {
    const handler = compileMock({
      type: 'mock',
      requestTemplates: { 'application/json': '{"statusCode": 404}' },
      responses: {
        '4\\d{2}': { statusCode: '404', responseTemplates: { 'application/json': '{"message":"gone"}' } },
        default: { statusCode: '200' },
      },
    });
    const answer = await handler(call);
    expect(answer).toEqual({ statusCode: 404, multiValueHeaders: { 'content-type': ['application/json'] }, body: Buffer.from('{"message":"gone"}') });
  });

  it('keeps only static header values', async () => {
    const handler = compileMock({
      type: 'mock',
      responses: { default: { statusCode: '204', responseParameters: { 'method.response.header.X-Static': "'yes'", 'method.response.header.X-Mapped': 'integration.response.header.x' } } },
    });
    expect(await handler(call)).toEqual({ statusCode: 204, multiValueHeaders: { 'x-static': ['yes'] }, body: Buffer.alloc(0) });
  });

  it('answers API_CONFIGURATION_ERROR when the request template is not JSON', async () => {
    const handler = compileMock({ type: 'mock', requestTemplates: { 'application/json': '{statusCode: 200' } });
    expect(await handler(call)).toEqual({ fault: 'API_CONFIGURATION_ERROR' });
  });
});
