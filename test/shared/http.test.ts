import { problem, problemBody } from '../../lambda/shared/http';

describe('problem+json', () => {
  it('writes the standard members in RFC 9457 order, then the extensions', () => {
    expect(problemBody(413, 'Request Too Long', 'send a smaller body', { message: 'send a smaller body' })).toBe(
      '{"type":"about:blank","title":"Request Too Long","status":413,"detail":"send a smaller body","message":"send a smaller body"}',
    );
    expect(problemBody(500, 'Usage unavailable', 'deploy it behind the tollgate authorizer')).toBe(
      '{"type":"about:blank","title":"Usage unavailable","status":500,"detail":"deploy it behind the tollgate authorizer"}',
    );
  });

  it('answers uncached problem+json, with the caller headers added', () => {
    expect(problem(400, 'Invalid Stripe webhook request', 'the body is not json', { problem: 'invalid_json' }, { 'Access-Control-Allow-Origin': '*' })).toEqual({
      statusCode: 400,
      headers: { 'Content-Type': 'application/problem+json', 'Cache-Control': 'no-store', 'Access-Control-Allow-Origin': '*' },
      body: '{"type":"about:blank","title":"Invalid Stripe webhook request","status":400,"detail":"the body is not json","problem":"invalid_json"}',
    });
  });
});
