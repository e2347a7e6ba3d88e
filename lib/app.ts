import { App, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadApiDocument } from './openapi/load';
import { loadConfig } from './config/tollgate-config';
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
