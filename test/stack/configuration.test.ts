import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createApp } from '../../lib/app';
import { ConfigError, DEFAULT_CONFIG, loadConfig, readCdkJsonContext } from '../../lib/config/tollgate-config';
import { cdkJsonContext, synth } from '../support/synth';

const sampleDocument = (): any => JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'api', 'openapi.json'), 'utf8'));
const dir = mkdtempSync(path.join(tmpdir(), 'tollgate-config-'));
let files = 0;
function writeDocument(document: unknown): string {
  const file = path.join(dir, `openapi-${files++}.json`);
  writeFileSync(file, typeof document === 'string' ? document : JSON.stringify(document));
  return file;
}
const appWith = (context: Record<string, unknown>) => () =>
  createApp({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], ...context } });

describe('loadConfig', () => {
  const load = (context: Record<string, unknown>) => loadConfig((key) => context[key]);

  it('uses the documented defaults when nothing is set', () => {
    expect(load({})).toEqual(DEFAULT_CONFIG);
  });

  it('reads numbers given as -c strings', () => {
    expect(load({ 'tollgate:authorizerCacheTtlSeconds': '0', 'tollgate:gracePeriodHours': '24' })).toMatchObject({
      authorizerCacheTtlSeconds: 0,
      gracePeriodHours: 24,
    });
  });

  it.each([
    [{ 'tollgate:authorizerCacheTtlSeconds': 5000 }, 'tollgate:authorizerCacheTtlSeconds is 5000: use a whole number of seconds from 0 to 3600'],
    [{ 'tollgate:authorizerCacheTtlSeconds': '-1' }, 'tollgate:authorizerCacheTtlSeconds is "-1"'],
    [{ 'tollgate:authorizerCacheTtlSeconds': '1.5' }, 'tollgate:authorizerCacheTtlSeconds is "1.5"'],
    [{ 'tollgate:gracePeriodHours': 'three' }, 'tollgate:gracePeriodHours is "three": use a whole number of hours'],
    [{ 'tollgate:stripeWebhookSecretName': '' }, 'tollgate:stripeWebhookSecretName is empty: set it in cdk.json or with -c'],
    [{ 'tollgate:stripeWebhookSecretName': 'has spaces' }, 'a Secrets Manager secret name uses letters'],
    [{ 'tollgate:docsBaseUrl': 'ftp://x' }, 'tollgate:docsBaseUrl is "ftp://x": use an absolute http(s) URL'],
    [{ 'tollgate:portalUrl': 'https://x/"quoted"' }, 'tollgate:portalUrl is'],
    [{ 'tollgate:corsAllowOrigin': 'https://a.com/path' }, 'use "*" or one origin'],
    [{ 'tollgate:stageName': 'prod-1' }, 'tollgate:stageName is "prod-1"'],
    [{ 'tollgate:throttleRateLimit': 0 }, 'tollgate:throttleRateLimit is 0'],
    [{ 'tollgate:webhookThrottleBurstLimit': 'lots' }, 'tollgate:webhookThrottleBurstLimit is "lots": use a whole number of requests'],
    [{ 'tollgate:openApiDocument': 42 }, 'tollgate:openApiDocument must be a string'],
    [{ 'tollgate:corsAllowHeaders': ["X-It's"] }, 'tollgate:corsAllowHeaders is ["X-It\'s"]: use a list of header names'],
    [{ 'tollgate:corsAllowHeaders': [] }, 'tollgate:corsAllowHeaders is []: use a list of header names'],
    [{ 'tollgate:corsAllowMethods': 'GET,TRACE' }, 'tollgate:corsAllowMethods is "GET,TRACE": use a list of methods from GET'],
    [{ 'tollgate:corsMaxAgeSeconds': 90000 }, 'tollgate:corsMaxAgeSeconds is 90000: use a whole number of seconds from 0 to 86400'],
    [{ 'tollgate:forwardAuthorization': 'yes' }, 'tollgate:forwardAuthorization is "yes": use true or false'],
  ])('rejects %j', (context, message) => {
    expect(() => load(context)).toThrow(ConfigError);
    expect(() => load(context)).toThrow(message);
  });

  it.each([
    [{ 'tollgate:plans': ['pro'] }, 'tollgate:plans must be an object keyed by Stripe price lookup key or price id'],
    [{ 'tollgate:plans': { '': { name: 'X' } } }, 'tollgate:plans has a plan keyed "": key each plan by the Stripe price\'s lookup key or id'],
    [{ 'tollgate:plans': { pro: 'Pro' } }, 'tollgate:plans.pro must be an object such as {"name": "Pro"'],
    [{ 'tollgate:plans': { pro: { quota: 5 } } }, 'tollgate:plans.pro.name must be the plan\'s display name'],
    [{ 'tollgate:plans': { pro: { name: 'Pro', quota: -1 } } }, 'tollgate:plans.pro.quota is -1: use a whole number of units ≥ 0 per billing period, or leave it out for unlimited'],
    [{ 'tollgate:plans': { pro: { name: 'Pro', quota: 2.5 } } }, 'tollgate:plans.pro.quota is 2.5'],
    [{ 'tollgate:plans': { pro: { name: 'Pro', overage: 'charge' } } }, 'tollgate:plans.pro.overage is "charge": use "block" or "bill"'],
    [{ 'tollgate:plans': { pro: { name: 'Pro', quota: 10, overage: 'bill' } } }, 'tollgate:plans.pro bills overage but names no meter: add "meter": "<Stripe meter event_name>", or use "overage": "block"'],
    [{ 'tollgate:plans': { pro: { name: 'Pro', limit: 10 } } }, 'tollgate:plans.pro has an unknown field "limit": use name, quota, overage and meter'],
    [{ 'tollgate:creditPacks': { id: 'x' } }, 'tollgate:creditPacks must be a list such as'],
    [{ 'tollgate:creditPacks': [{ id: 'c', name: '10', credits: 0, price: 'p' }] }, 'tollgate:creditPacks[0].credits is 0: use a whole number of units ≥ 1'],
    [{ 'tollgate:creditPacks': [{ id: 'c', name: '10', credits: 10 }] }, 'tollgate:creditPacks[0].price must name a one-time Stripe price by its lookup key or id'],
    [
      { 'tollgate:creditPacks': [{ id: 'c', name: '10', credits: 10, price: 'p' }, { id: 'c', name: '20', credits: 20, price: 'q' }] },
      'tollgate:creditPacks[1].id "c" is used twice: give each pack its own id',
    ],
  ])('rejects the usage configuration %j', (context, message) => {
    expect(() => load(context)).toThrow(ConfigError);
    expect(() => load(context)).toThrow(message);
  });

  it('reads plans and credit packs from cdk.json objects and from -c JSON strings, overage "block" by default', () => {
    const plans = { sample_metered: { name: 'Metered', quota: 20 }, price_1Big: { name: 'Big', quota: 1000, overage: 'bill', meter: 'api_calls' } };
    const packs = [{ id: 'credits_100', name: '100 credits', credits: 100, price: 'credits_100' }];
    const expected = {
      plans: { sample_metered: { name: 'Metered', quota: 20, overage: 'block' }, price_1Big: { name: 'Big', quota: 1000, overage: 'bill', meter: 'api_calls' } },
      creditPacks: packs,
    };
    expect(load({ 'tollgate:plans': plans, 'tollgate:creditPacks': packs })).toMatchObject(expected);
    expect(load({ 'tollgate:plans': JSON.stringify(plans), 'tollgate:creditPacks': JSON.stringify(packs) })).toMatchObject(expected);
  });

  it('fails the synth with the message when a plan is wrong, as for every other setting', () => {
    expect(appWith({ 'tollgate:plans': { sample_metered: { name: 'Metered', quota: -5 } } })).toThrow('tollgate:plans.sample_metered.quota is -5');
  });

  it('reads CORS lists from cdk.json arrays and -c comma-separated values, always allowing Authorization', () => {
    expect(load({ 'tollgate:corsAllowHeaders': ['Content-Type', 'X-Request-Id'], 'tollgate:corsAllowMethods': 'GET, POST' })).toMatchObject({
      corsAllowHeaders: ['Authorization', 'Content-Type', 'X-Request-Id'],
      corsAllowMethods: ['GET', 'POST'],
    });
    expect(load({ 'tollgate:corsAllowHeaders': 'authorization,X-A', 'tollgate:forwardAuthorization': 'true' })).toMatchObject({
      corsAllowHeaders: ['authorization', 'X-A'],
      forwardAuthorization: true,
    });
  });

  it('says a single problem on one line', () => {
    expect(() => load({ 'tollgate:stageName': 'prod-1' })).toThrow(/^invalid tollgate configuration: tollgate:stageName is "prod-1": [^\n]+$/);
  });

  it('lists every problem at once', () => {
    try {
      load({ 'tollgate:authorizerCacheTtlSeconds': 5000, 'tollgate:stripeWebhookSecretName': '' });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems).toHaveLength(2);
    }
  });
});

describe('readCdkJsonContext', () => {
  it('reads cdk.json context, and none (the defaults) without a cdk.json', () => {
    expect(readCdkJsonContext(path.join(__dirname, '..', '..'))).toMatchObject({ 'tollgate:stageName': 'prod' });
    expect(readCdkJsonContext(mkdtempSync(path.join(tmpdir(), 'tollgate-nocdk-')))).toEqual({});
  });

  it('fails with a clear message on a cdk.json that is not JSON, instead of using the defaults', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'tollgate-badcdk-'));
    writeFileSync(path.join(root, 'cdk.json'), '{ "context": ');
    expect(() => readCdkJsonContext(root)).toThrow(ConfigError);
    expect(() => readCdkJsonContext(root)).toThrow(/cdk.json is not valid JSON/);
  });
});

describe('synth with bad configuration', () => {
  it('fails on a TTL of 5000 with the fix in the message', () => {
    expect(appWith({ 'tollgate:authorizerCacheTtlSeconds': '5000' })).toThrow(
      /tollgate:authorizerCacheTtlSeconds is "5000": use a whole number of seconds from 0 to 3600/,
    );
  });

  it('fails on a missing secret name', () => {
    expect(appWith({ 'tollgate:stripeWebhookSecretName': '' })).toThrow(/stripeWebhookSecretName is empty/);
  });

  it('fails on an unknown entitlement syntax', () => {
    const document = sampleDocument();
    document.paths['/v1/reports/{reportId}'].get['x-tollgate'].requires = 'entitlement:premium reports!';
    expect(appWith({ 'tollgate:openApiDocument': writeDocument(document) })).toThrow(
      /GET \/v1\/reports\/\{reportId\}: "entitlement:premium reports!" names an invalid entitlement lookup key/,
    );
  });

  it('fails on an unknown requirement', () => {
    const document = sampleDocument();
    document.paths['/v1/quotes'].get['x-tollgate'].requires = 'gold';
    expect(appWith({ 'tollgate:openApiDocument': writeDocument(document) })).toThrow(/GET \/v1\/quotes: unknown requirement "gold"/);
  });

  it('fails on an operation without x-tollgate, instead of leaving it open', () => {
    const document = sampleDocument();
    delete document.paths['/v1/quotes'].get['x-tollgate'];
    expect(appWith({ 'tollgate:openApiDocument': writeDocument(document) })).toThrow(/GET \/v1\/quotes has no x-tollgate requirement/);
  });

  it('fails on a document that claims the webhook path', () => {
    const document = sampleDocument();
    document.paths['/webhooks/stripe'] = { post: { 'x-tollgate': { requires: 'public' } } };
    expect(appWith({ 'tollgate:openApiDocument': writeDocument(document) })).toThrow(/reserved for the Stripe webhook/);
  });

  it('fails on a missing or broken document file', () => {
    expect(appWith({ 'tollgate:openApiDocument': 'api/missing.json' })).toThrow(/cannot read the OpenAPI document "api\/missing.json"/);
    expect(appWith({ 'tollgate:openApiDocument': writeDocument('{ not json') })).toThrow(/is not valid JSON/);
  });
});

describe('settings a deployment must not ship', () => {
  /**
   * The stack's warnings, and what synth prints of them: CDK's validation report writes each to stderr
   * (console.error), where a user running cdk synth sees it. Captured here, and held to the warnings.
   */
  const warnings = (context: Record<string, unknown>): string[] => {
    const printed = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const found = Annotations.fromStack(synth(context).stack)
        .findWarning('*', Match.anyValue())
        .map((w) => w.entry.data as string);
      const report = printed.mock.calls.map((args) => args.join(' ')).join('\n');
      // The report prints a warning's text and, on its own line, how to acknowledge it (the data's [ack: …]).
      const unprinted = found.filter((warning) => !report.includes(warning.replace(/ \[ack: [^\]]+\]$/, '')));
      expect({ unprinted, quietWithoutWarnings: found.length > 0 || report === '' }).toEqual({ unprinted: [], quietWithoutWarnings: true });
      return found;
    } finally {
      printed.mockRestore();
    }
  };

  it('ships no sample payment links and warns about nothing by default', () => {
    const context = readCdkJsonContext(path.join(__dirname, '..', '..'));
    expect(context['tollgate:checkoutUrl']).toBeUndefined();
    expect(context['tollgate:portalUrl']).toBeUndefined();
    expect(warnings({})).toEqual([]);
  });

  it.each([
    ['tollgate:checkoutUrl', 'https://buy.stripe.com/test_tollgate', 'tollgate:checkoutUrl is a Stripe test-mode link (https://buy.stripe.com/test_tollgate)'],
    ['tollgate:portalUrl', 'https://billing.stripe.com/p/login/test_abc', 'tollgate:portalUrl is a Stripe test-mode link'],
    ['tollgate:backendUrl', 'http://127.0.0.1:8080', 'tollgate:backendUrl is http://127.0.0.1:8080, which API Gateway cannot reach'],
    ['tollgate:backendUrl', 'http://localhost:3000/api', 'which API Gateway cannot reach: deploy with -c tollgate:backendUrl='],
    ['tollgate:backendUrl', 'http://[::1]:8080', 'which API Gateway cannot reach'],
    ['tollgate:backendUrl', 'http://192.168.1.20', 'which API Gateway cannot reach'],
  ])('warns at synth when %s is %s', (key, value, message) => {
    const found = warnings({ [key]: value });
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(message);
  });

  it.each([
    ['tollgate:checkoutUrl', 'https://buy.stripe.com/9AQ5kN'],
    ['tollgate:portalUrl', 'https://billing.stripe.com/p/login/aB3dE'],
    ['tollgate:backendUrl', 'https://api.example.com'],
    ['tollgate:backendUrl', 'http://172.32.0.1'],
  ])('accepts %s %s without a warning', (key, value) => {
    expect(warnings({ [key]: value })).toEqual([]);
  });
});

describe('deployment', () => {
  const deploymentId = (context: Record<string, unknown>): string => {
    const { template } = synth(context);
    const ids = Object.keys(template.findResources('AWS::ApiGateway::Deployment'));
    expect(ids).toHaveLength(1);
    return ids[0]!;
  };

  it('gets a new deployment when the OpenAPI document changes, and keeps it when it does not', () => {
    const unchanged = deploymentId({ 'tollgate:openApiDocument': writeDocument(sampleDocument()) });
    expect(deploymentId({})).toBe(unchanged);
    const document = sampleDocument();
    document.paths['/v1/quotes/{quoteId}'] = { get: { 'x-tollgate': { requires: 'subscription' }, responses: { 200: { description: 'ok' } } } };
    expect(deploymentId({ 'tollgate:openApiDocument': writeDocument(document) })).not.toBe(unchanged);
    expect(deploymentId({ 'tollgate:authorizerCacheTtlSeconds': 60 })).not.toBe(unchanged);
  });
});

describe('cdk-nag', () => {
  it('passes AwsSolutions on the stack as configured', () => {
    expect(() => synth({}, { fresh: true })).not.toThrow();
  });

  it('fails synth on a finding nobody acknowledged', () => {
    const { app, stack } = createApp({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
    new sqs.Queue(stack, 'UnencryptedQueue', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS/);
  });
});
