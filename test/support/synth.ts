import { Template } from 'aws-cdk-lib/assertions';
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
export function synth(context: Record<string, unknown> = {}, options: { bundle?: boolean } = {}): Synthesized {
  const { app, stack } = createApp({
    context: { ...cdkJsonContext(), ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }), ...context },
  });
  app.synth();
  return { stack, template: Template.fromStack(stack) };
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
