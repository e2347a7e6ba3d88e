import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from '../../lib/config/tollgate-config';
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
    // This repository's cdk.json sells its credit pack to agents: so does the user's stack.
    const agents = { creditPacks: [{ id: 'credits_100', name: '100 credits', credits: 100, price: 'credits_100', amount: 1000, currency: 'usd' }], agentPayments: { mpp: { networkId: 'profile_test' } } };
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

  it('checks its props eagerly, with every problem named and what to use', () => {
    const make = (props: Record<string, unknown>) => () => userApp({ openApiDocument: sampleDocument(), ...props });
    expect(make({ authorizerCacheTtlSeconds: 5000, stageName: 'a b' })).toThrow(ConfigError);
    expect(make({ authorizerCacheTtlSeconds: 5000, stageName: 'a b' })).toThrow(/tollgate:stageName is "a b": use letters[\s\S]*tollgate:authorizerCacheTtlSeconds is 5000: use a whole number of seconds from 0 to 3600/);
    expect(make({ plans: { pro: { name: 'Pro', overage: 'bill' } } })).toThrow(/bills overage but names no meter/);
    expect(make({ gracePeriodHour: 12 })).toThrow(/Tollgate has no prop "gracePeriodHour"/);
    expect(() => userApp({ openApiDocument: 'missing.json', projectRoot: ROOT })).toThrow(/cannot read the OpenAPI document "missing.json"/);
  });

  it('names each prop of the configuration reference', () => {
    const reference = readFileSync(path.join(ROOT, 'docs', 'configuration.md'), 'utf8');
    const documented = new Set([...reference.matchAll(/`tollgate:([A-Za-z]+)`/g)].map((m) => m[1]!));
    const props = TOLLGATE_PROP_NAMES.filter((name) => name !== 'projectRoot' && name !== 'apiName');
    expect(props.filter((name) => !documented.has(name))).toEqual([]);
    expect([...documented].filter((name) => !(props as readonly string[]).includes(name))).toEqual([]);
  });
});
