import { App, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { SettingsError } from '../lambda/shared/settings';
import { loadApiDocument, ApiDocumentError } from './openapi/load';
import { OpenApiError } from './openapi/build';
import { ConfigError, loadConfig } from './config/tollgate-config';
import { PROJECT_ROOT, STACK_NAME } from './contract';
import { TollgateStack } from './tollgate-stack';

/** The CDK app: configuration from context, the stack, and cdk-nag's AwsSolutions checks. */
export function createApp(props: AppProps = {}): { app: App; stack: TollgateStack } {
  const app = new App(props);
  const config = loadConfig((key) => app.node.tryGetContext(key));
  const stack = new TollgateStack(app, STACK_NAME, {
    config,
    apiDocument: loadApiDocument(config.openApiDocument, PROJECT_ROOT),
    description: 'tollgate: Stripe-aware paywall for an API Gateway REST API',
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}

/** Where to fix each kind of mistake a user can make. */
const WHERE = [
  [ConfigError, 'the tollgate:* keys of cdk.json "context", or -c tollgate:<name>=<value>'],
  [ApiDocumentError, 'the OpenAPI document named by tollgate:openApiDocument'],
  [OpenApiError, 'the OpenAPI document named by tollgate:openApiDocument'],
  [SettingsError, 'the OpenAPI document named by tollgate:openApiDocument'],
] as const;

/**
 * `cdk synth`'s entry: a mistake in the configuration or the document is the user's to fix, so it is
 * reported as the message and where to look (as `npm start` does), not as a stack trace. Anything else
 * is a defect and keeps its trace.
 */
export function synthesizeApp(stderr: (line: string) => void, props: AppProps = {}): number {
  try {
    createApp({ ...props, autoSynth: false }).app.synth();
    return 0;
  } catch (err) {
    const where = WHERE.find(([type]) => err instanceof type);
    if (where === undefined) throw err;
    stderr(`tollgate: ${(err as Error).message}\n  (look at ${where[1]})\n`);
    return 1;
  }
}
