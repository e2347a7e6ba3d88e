import { Template } from 'aws-cdk-lib/assertions';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { createApp } from '../../lib/app';
import { readCdkJsonContext } from '../../lib/config/tollgate-config';
import type { TollgateStack } from '../../lib/tollgate-stack';

/** The context users deploy with: cdk.json's, which `new App()` only reads under the CDK CLI. */
export function cdkJsonContext(): Record<string, unknown> {
  return readCdkJsonContext(path.join(__dirname, '..', '..'));
}

export interface Synthesized {
  readonly stack: TollgateStack;
  readonly template: Template;
}

/**
 * Synthesizes the app as `cdk synth` does (cdk.json context, cdk-nag validation), with extra context on
 * top. Bundling is skipped unless asked for: it only changes asset hashes, and costs seconds per function.
 */
export function synthesize(context: Record<string, unknown> = {}, options: { bundle?: boolean } = {}): Synthesized {
  if (process.env.TOLLGATE_TEST_PROJECT === 'unit') {
    throw new Error('a unit test may not synthesize: list this file under integration in jest.config.js');
  }
  const { app, stack } = createApp({
    context: { ...cdkJsonContext(), ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }), ...context },
  });
  app.synth();
  return { stack, template: Template.fromStack(stack) };
}

/** The default-context template the run's global setup synthesized once (setup-integration.ts). */
function sharedTemplate(): Template {
  const file = process.env.TOLLGATE_TEST_TEMPLATE;
  if (file === undefined) throw new Error('TOLLGATE_TEST_TEMPLATE is not set: run the tests with jest, whose integration setup synthesizes the default template');
  return Template.fromJSON(JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>);
}

/**
 * The app as `cdk synth` makes it (see synthesize). Without extra context this is the run's shared
 * template, read in milliseconds; its `stack` is synthesized only when asked for. `fresh` synthesizes
 * anyway (a test of synthesis itself).
 */
export function synth(context: Record<string, unknown> = {}, options: { bundle?: boolean; fresh?: boolean } = {}): Synthesized {
  if (Object.keys(context).length > 0 || options.bundle === true || options.fresh === true) return synthesize(context, options);
  let stack: TollgateStack | undefined;
  return {
    template: sharedTemplate(),
    get stack(): TollgateStack {
      return (stack ??= synthesize().stack);
    },
  };
}

/** A resource of a synthesized template, as the stack tests read it. */
export type Resource = { Type: string; Properties: Record<string, any>; DeletionPolicy?: string; UpdateReplacePolicy?: string; DependsOn?: string[] };

/** Lookups over a template's resources; `resources` is read at each call, so lookups declared at module scope serve a template made in beforeAll. */
export function resourceLookups(resources: () => Record<string, Resource>) {
  const ofType = (type: string): Array<[string, Resource]> => Object.entries(resources()).filter(([, r]) => r.Type === type);
  /** The logical id of the one resource of `type` whose id starts with `prefix`; throws on none or several. */
  const logicalIdOf = (prefix: string, type: string): string => {
    const matches = ofType(type).filter(([id]) => id.startsWith(prefix));
    if (matches.length !== 1) throw new Error(`expected one ${type} named ${prefix}*, found ${matches.length}`);
    return matches[0]![0];
  };
  /** Every statement of the IAM policies attached to the role of the function whose id starts with `functionPrefix`. */
  const statementsOf = (functionPrefix: string): any[] => {
    const roleId: string = resources()[logicalIdOf(functionPrefix, 'AWS::Lambda::Function')]!.Properties.Role['Fn::GetAtt'][0];
    return ofType('AWS::IAM::Policy')
      .filter(([, p]) => (p.Properties.Roles as any[]).some((r) => r.Ref === roleId))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as any[]);
  };
  return { ofType, logicalIdOf, statementsOf };
}

/** Synthesizes once, in the calling test file's beforeAll (see synth), and gives its template's resources and the lookups over them. */
export function synthInBeforeAll(context: Record<string, unknown> = {}) {
  let synthesized: Synthesized | undefined;
  let resources: Record<string, Resource> = {};
  beforeAll(() => {
    synthesized = synth(context);
    resources = synthesized.template.toJSON().Resources;
  });
  return {
    synthesized: (): Synthesized => synthesized!,
    resources: (): Record<string, Resource> => resources,
    ...resourceLookups(() => resources),
  };
}
