import { readProxyResult } from '../../../lib/local/gateway/integrations/aws-proxy';

describe('readProxyResult', () => {
  it('merges headers and multi-value headers and decodes a base64 body', () => {
    expect(
      readProxyResult({ statusCode: 200, headers: { 'X-One': 'a', 'Set-Cookie': 'z=0' }, multiValueHeaders: { 'Set-Cookie': ['a=1', 'b=2'] }, body: Buffer.from([1, 2]).toString('base64'), isBase64Encoded: true }),
    ).toEqual({ statusCode: 200, multiValueHeaders: { 'x-one': ['a'], 'set-cookie': ['z=0', 'a=1', 'b=2'] }, body: Buffer.from([1, 2]) });
  });

  it('reads a missing body as empty', () => {
    expect(readProxyResult({ statusCode: 204 })).toEqual({ statusCode: 204, multiValueHeaders: {}, body: Buffer.alloc(0) });
  });

  it.each([
    ['no status code', { body: 'x' }],
    ['a fractional status code', { statusCode: 200.5 }],
    ['headers that are not an object', { statusCode: 200, headers: ['a'] }],
    ['multi-value headers that are not lists', { statusCode: 200, multiValueHeaders: { a: 'b' } }],
    ['a string', 'hello'],
  ])('refuses %s (API Gateway answers 502)', (_label, result) => {
    expect(readProxyResult(result)).toBeUndefined();
  });
});
