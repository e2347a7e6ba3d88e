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
