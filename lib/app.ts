import { App, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { SettingsError } from '../lambda/shared/settings';
import { ApiDocumentError } from './openapi/load';
import { OpenApiError } from './openapi/build';
import { CONTEXT_PREFIX, ConfigError } from './config/tollgate-config';
import { PROJECT_ROOT, STACK_NAME } from './contract';
import { TOLLGATE_PROP_NAMES, TollgateStack, type TollgateProps } from './tollgate';

/**
 * A Tollgate's props from the `tollgate:*` context keys (cdk.json, -c), as they are: the construct
 * validates them as it validates any user's. Other keys are left alone, as before the construct.
 */
export function contextProps(context: Readonly<Record<string, unknown>>): TollgateProps {
  const props: Record<string, unknown> = { openApiDocument: 'api/openapi.json', projectRoot: PROJECT_ROOT };
  for (const name of TOLLGATE_PROP_NAMES) {
    const value = context[CONTEXT_PREFIX + name];
    if (value !== undefined && name !== 'projectRoot' && name !== 'apiName') props[name] = value;
  }
  return props as unknown as TollgateProps;
}

/** The CDK app: one user of the Tollgate construct, its props from context, and cdk-nag's AwsSolutions checks. */
export function createApp(props: AppProps = {}): { app: App; stack: TollgateStack } {
  const app = new App(props);
  const stack = new TollgateStack(app, STACK_NAME, {
    tollgate: contextProps(app.node.getAllContext() as Readonly<Record<string, unknown>>),
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
