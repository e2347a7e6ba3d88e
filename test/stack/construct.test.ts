import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { LOCAL_RUN_METADATA } from '../../lib/config/construct-metadata';
import { ConfigError, loadConfig } from '../../lib/config/tollgate-config';
import { Tollgate, TOLLGATE_PROP_NAMES, type TollgateProps } from '../../lib/index';
import { synth } from '../support/synth';

/** The construct in a stack of someone else's app: the same resources as this repository's stack, props checked first. */

const ROOT = path.join(__dirname, '..', '..');
const sampleDocument = (): Record<string, unknown> => JSON.parse(readFileSync(path.join(ROOT, 'api', 'openapi.json'), 'utf8'));

function userApp(props: TollgateProps): { stack: Stack; tollgate: Tollgate; template: () => Template } {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'UserStack');
  const tollgate = new Tollgate(stack, 'Paywall', props);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { stack, tollgate, template: () => (app.synth(), Template.fromStack(stack)) };
}

describe('new Tollgate(stack, id, props)', () => {
  it("builds in a user's stack what this repository's stack builds, and passes cdk-nag", () => {
    // This repository's cdk.json sells its credit pack to agents and sets alerts: so does the user's stack.
    const agents = {
      creditPacks: [{ id: 'credits_100', name: '100 credits', credits: 100, price: 'credits_100', amount: 1000, currency: 'usd' }],
      agentPayments: { mpp: { networkId: 'profile_test' } },
      alerts: { quota: [80, 100], budget: [100], paymentRecovered: true },
    };
    const { template, tollgate } = userApp({ openApiDocument: sampleDocument(), plans: { pro: { name: 'Pro' } }, stageName: 'live', ...agents });
    const built = template().toJSON().Resources as Record<string, { Type: string }>;
    const ours = synth().template.toJSON().Resources as Record<string, { Type: string }>;
    const count = (resources: Record<string, { Type: string }>) => Object.values(resources).reduce<Record<string, number>>((n, r) => ({ ...n, [r.Type]: (n[r.Type] ?? 0) + 1 }), {});
    expect(count(built)).toEqual(count(ours));
    template().hasResourceProperties('AWS::ApiGateway::RestApi', { Name: 'Paywall-api' });
    template().hasResourceProperties('AWS::ApiGateway::Stage', { StageName: 'live' });
    expect(tollgate.api.restApiId).toBeDefined();
  });

  it('reads the document from a path relative to projectRoot', () => {
    const { template } = userApp({ openApiDocument: 'api/openapi.json', projectRoot: ROOT });
    template().resourceCountIs('AWS::ApiGateway::RestApi', 1);
  });

  it('leaves its props for tollgate start as the context keys npm start reads: the document made absolute, objects as JSON', () => {
    const plans = { pro: { name: 'Pro', quota: 5 } };
    const { tollgate } = userApp({ openApiDocument: 'api/openapi.json', projectRoot: ROOT, plans, stageName: 'live', apiName: 'ignored' });
    const entries = tollgate.node.metadata.filter((m) => m.type === LOCAL_RUN_METADATA);
    expect(entries.map((m) => m.data)).toEqual([
      { context: { 'tollgate:openApiDocument': path.join(ROOT, 'api', 'openapi.json'), 'tollgate:plans': JSON.stringify(plans), 'tollgate:stageName': 'live' } },
    ]);
    // Read back by the rules npm start uses, they are the construct's configuration.
    const context = (entries[0]!.data as { context: Record<string, string> }).context;
    expect(loadConfig((key) => context[key])).toMatchObject({ plans, stageName: 'live', openApiDocument: path.join(ROOT, 'api', 'openapi.json') });
    const inline = userApp({ openApiDocument: sampleDocument() }).tollgate.node.metadata.find((m) => m.type === LOCAL_RUN_METADATA)!.data;
    expect(inline).toEqual({ context: {}, inlineDocument: sampleDocument() });
  });

  it('checks its props eagerly, with every problem named and what to use', () => {
    const make = (props: Record<string, unknown>) => () => userApp({ openApiDocument: sampleDocument(), ...props });
    expect(make({ authorizerCacheTtlSeconds: 5000, stageName: 'a b' })).toThrow(ConfigError);
    expect(make({ authorizerCacheTtlSeconds: 5000, stageName: 'a b' })).toThrow(/tollgate:stageName is "a b": use letters[\s\S]*tollgate:authorizerCacheTtlSeconds is 5000: use a whole number of seconds from 0 to 3600/);
    expect(make({ plans: { pro: { name: 'Pro', overage: 'bill' } } })).toThrow(/bills overage but names no meter/);
    expect(make({ gracePeriodHour: 12 })).toThrow(/Tollgate has no prop "gracePeriodHour"/);
    expect(() => userApp({ openApiDocument: 'missing.json', projectRoot: ROOT })).toThrow(/cannot read the OpenAPI document "missing.json"/);
  });

  it('passes the settings main gained through: the usage window, the public URL, the portal brand', () => {
    const { template } = userApp({
      openApiDocument: sampleDocument(),
      meteringWindowSeconds: 120,
      publicUrl: 'https://api.example.com',
      // The 401 names the metadata to MCP clients only when tokens are accepted.
      issuers: [{ issuer: 'https://example.eu.auth0.com/', audience: ['https://api.example.com'], customer: 'subject' }],
      portalName: 'Acme Data',
      portalLogoUrl: 'https://example.com/logo.svg',
      portalColors: { accent: '#0b57d0' },
    });
    const t = template();
    const variables = (service: string): Record<string, any> =>
      Object.values(t.findResources('AWS::Lambda::Function')).find((r) => r.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === service)!.Properties.Environment.Variables;
    expect(variables('tollgate-metering').TOLLGATE_METERING_WINDOW_SECONDS).toBe('120');
    expect(JSON.parse(variables('tollgate-portal').TOLLGATE_PORTAL_CATALOG).brand).toEqual({ name: 'Acme Data', logoUrl: 'https://example.com/logo.svg', colors: { accent: '#0b57d0' } });
    const body = Object.values(t.findResources('AWS::ApiGateway::RestApi'))[0]!.Properties.Body;
    expect(body['x-amazon-apigateway-gateway-responses'].UNAUTHORIZED.responseParameters['gatewayresponse.header.WWW-Authenticate']).toContain('resource_metadata="https://api.example.com/.well-known/oauth-protected-resource"');
    expect(() => userApp({ openApiDocument: sampleDocument(), portalColors: { accent: '#ffff00' } })).toThrow(/tollgate:portalColors.accent #ffff00 has a contrast/);
  });

  it('names each prop of the configuration reference', () => {
    const reference = readFileSync(path.join(ROOT, 'docs', 'configuration.md'), 'utf8');
    const documented = new Set([...reference.matchAll(/`tollgate:([A-Za-z]+)`/g)].map((m) => m[1]!));
    const props = TOLLGATE_PROP_NAMES.filter((name) => name !== 'projectRoot' && name !== 'apiName');
    expect(props.filter((name) => !documented.has(name))).toEqual([]);
    expect([...documented].filter((name) => !(props as readonly string[]).includes(name))).toEqual([]);
  });
});
