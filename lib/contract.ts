import * as path from 'node:path';

/**
 * What the CDK stack and the CDK-free tooling (local run, CLI) both need to know about a deployment:
 * names and paths only, so the tooling can read a deployed stack without loading aws-cdk-lib.
 */

/** The project root, whatever file, test or tool asks. */
export const PROJECT_ROOT = path.resolve(__dirname, '..');

/** The CloudFormation stack `cdk deploy` creates. */
export const STACK_NAME = 'Tollgate';

/** The stack's outputs, as `cdk deploy --outputs-file` writes them. */
export const STACK_OUTPUTS = {
  apiUrl: 'ApiUrl',
  stripeWebhookUrl: 'StripeWebhookUrl',
  customersTableName: 'CustomersTableName',
  apiKeysTableName: 'ApiKeysTableName',
  eventsTableName: 'EventsTableName',
  usageTableName: 'UsageTableName',
  restApiId: 'RestApiId',
  stageName: 'StageName',
} as const;
export type StackOutput = (typeof STACK_OUTPUTS)[keyof typeof STACK_OUTPUTS];

/** Where Stripe delivers events: a public route with no authorizer (the signature is the credential). */
export const WEBHOOK_PATH = '/webhooks/stripe';
