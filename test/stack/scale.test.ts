import { synth, synthInBeforeAll } from '../support/synth';

const stack = synthInBeforeAll();
const { logicalIdOf } = stack;
const fn = (prefix: string) => stack.resources()[logicalIdOf(prefix, 'AWS::Lambda::Function')]!.Properties;

describe('concurrency and throttles for scale', () => {
  it('keeps concurrency for the authorizer and caps the webhook, metering, the clock and the MCP endpoint', () => {
    expect(fn('Authorizer').ReservedConcurrentExecutions).toBe(10);
    expect(fn('StripeWebhook').ReservedConcurrentExecutions).toBe(10);
    expect(fn('MeteringFunction').ReservedConcurrentExecutions).toBe(5);
    expect(fn('Clock').ReservedConcurrentExecutions).toBe(1);
    // A tool call holds the MCP function for its route's whole call: capped like the others.
    expect(fn('Mcp').ReservedConcurrentExecutions).toBe(10);
    // The API's own functions answer callers: never capped by tollgate.
    expect(fn('Portal').ReservedConcurrentExecutions).toBeUndefined();
    expect(fn('Usage').ReservedConcurrentExecutions).toBeUndefined();
  });

  it('reserves nothing when told "off" (a new account whose quota cannot spare it)', () => {
    const { template } = synth({ 'tollgate:reservedConcurrency': 'off' });
    const reserved = Object.values(template.findResources('AWS::Lambda::Function')).filter((f: any) => f.Properties.ReservedConcurrentExecutions !== undefined);
    expect(reserved).toEqual([]);
  });

  it('throttles the stage as configured, up to a raised account quota, and the webhook method apart', () => {
    const { template } = synth({ 'tollgate:accountThrottleRateLimit': 30_000, 'tollgate:accountThrottleBurstLimit': 15_000, 'tollgate:throttleRateLimit': 20_000, 'tollgate:throttleBurstLimit': 10_000 });
    const stage = Object.values(template.findResources('AWS::ApiGateway::Stage'))[0] as any;
    const settings = stage.Properties.MethodSettings;
    expect(settings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ HttpMethod: '*', ResourcePath: '/*', ThrottlingRateLimit: 20_000, ThrottlingBurstLimit: 10_000 }),
        expect.objectContaining({ HttpMethod: 'POST', ResourcePath: '/~1webhooks~1stripe', ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 }),
      ]),
    );
    const authorizer = Object.entries(template.findResources('AWS::Lambda::Function')).find(([id]) => id.startsWith('Authorizer'))![1] as any;
    expect(authorizer.Properties.ReservedConcurrentExecutions).toBe(1_000);
  });
});

describe('the cost of an uncached decision', () => {
  it("drops Lambda's own start and report lines of the authorizer (invoked per decision), and keeps its decision lines", () => {
    expect(fn('Authorizer').LoggingConfig).toEqual({ LogFormat: 'JSON', LogGroup: expect.anything(), SystemLogLevel: 'WARN' });
    expect(fn('StripeWebhook').LoggingConfig.SystemLogLevel).toBeUndefined();
  });
});
