import { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { loadProjectConfig, type TollgateConfig } from '../config/tollgate-config';
import { STACK_NAME, STACK_OUTPUTS, type StackOutput } from '../contract';
import type { AuthorizerCacheFlusher, FlushTarget } from '../../lambda/shared/ports';
import type { TableNames } from '../../lambda/shared/tables';
import { ApiGatewayCacheFlusher } from '../../lambda/shared/aws/api-gateway-flusher';
import { parseSigningSecrets, readSecretString } from '../../lambda/shared/aws/secrets';
import { coordinatesPath, readCoordinates } from '../local/coordinates';
import { readLocalCredentials } from '../local/credentials';
import { LOCAL_CREDENTIALS, localClient } from '../local/dynamodb-local';
import { LOCAL_WEBHOOK_SECRET } from '../local/stack';

/**
 * What the CLI acts on: the running local stack (`.tollgate/local.json`, written by `npm start`) by
 * default, or a deployed stack named by its `cdk deploy --outputs-file` outputs. Both are reached the
 * same way: DynamoDB, API Gateway's FlushStageAuthorizersCache, and the webhook URL over HTTP.
 */

export class TargetError extends Error {
  override readonly name = 'TargetError';
}

export interface Target {
  readonly kind: 'local' | 'deployed';
  /** The stage's base URL, ending with `/`. */
  readonly apiUrl: string;
  readonly webhookUrl: string;
  readonly dynamodb: DynamoDBClient;
  readonly tables: TableNames;
  readonly flusher: AuthorizerCacheFlusher;
  readonly flushTarget: FlushTarget;
  /** Local: the state folder npm start writes (its access and events logs). */
  readonly stateDir?: string;
  /** Deployed: the region and profile the SDK clients use. */
  readonly aws?: { readonly region: string; readonly profile?: string };
  /**
   * The `-c` overrides the stack runs with, on top of the project's cdk.json (local: those `npm start` was
   * given; deployed: none known, so cdk.json alone). Read the configuration with stackConfig.
   */
  readonly context: Readonly<Record<string, string>>;
  /** The webhook signing secret (the first, when two are rolling). */
  webhookSecret(): Promise<string>;
  close(): void;
}

export interface TargetOptions {
  /** Where `npm start` wrote `local.json`. */
  readonly stateDir: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** `cdk deploy --outputs-file` JSON. */
  readonly outputs?: string;
  readonly region?: string;
  /** The AWS profile for a deployed stack. @default - AWS_PROFILE, else the SDK's default chain */
  readonly profile?: string;
  /** Secrets Manager id of the webhook signing secret (deployed). */
  readonly secretId?: string;
}

const OUTPUT_KEYS = Object.values(STACK_OUTPUTS);

export function readOutputs(file: string): Record<StackOutput, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new TargetError(`cannot read the stack outputs "${file}" (${(err as NodeJS.ErrnoException).code ?? 'invalid JSON'}): write them with cdk deploy --outputs-file ${file}`);
  }
  const stacks = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  const outputs =
    stacks[STACK_NAME] ?? Object.values(stacks).find((s) => typeof s === 'object' && s !== null && STACK_OUTPUTS.apiUrl in s) ?? constructOutputs(Object.values(stacks));
  if (typeof outputs !== 'object' || outputs === null) throw new TargetError(`"${file}" has no outputs of the ${STACK_NAME} stack: write them with cdk deploy --outputs-file ${file}`);
  const record = outputs as Record<string, unknown>;
  const missing = OUTPUT_KEYS.filter((key) => typeof record[key] !== 'string' || record[key] === '');
  if (missing.length > 0) throw new TargetError(`"${file}" lacks the outputs ${missing.join(', ')}: redeploy the stack with cdk deploy --outputs-file ${file}`);
  return record as Record<StackOutput, string>;
}

/**
 * A Tollgate construct in the user's own stack names its outputs by its path and a hash
 * (`PaywallApiUrl1A2B3C4D` for `new Tollgate(stack, 'Paywall', …)`): the first construct whose every
 * output is there, under the names this repository's stack gives them.
 */
export function constructOutputs(stacks: readonly unknown[]): Record<string, unknown> | undefined {
  for (const stack of stacks) {
    if (typeof stack !== 'object' || stack === null) continue;
    const entries = Object.entries(stack as Record<string, unknown>);
    const prefixes = entries.flatMap(([key]) => {
      const match = new RegExp(`^([A-Za-z0-9]*)${STACK_OUTPUTS.apiUrl}[0-9A-F]{8}$`).exec(key);
      return match === null ? [] : [match[1]!];
    });
    for (const prefix of prefixes) {
      const named = OUTPUT_KEYS.map((output) => [output, entries.find(([key]) => new RegExp(`^${prefix}${output}[0-9A-F]{8}$`).test(key))?.[1]] as const);
      if (named.every(([, value]) => value !== undefined)) return Object.fromEntries(named);
    }
  }
  return undefined;
}

const withSlash = (url: string): string => (url.endsWith('/') ? url : `${url}/`);

/** STRIPE_WEBHOOK_SECRET, when set, overrides the secret the target would provide (an explicit --secret-id still wins). */
const secretFromEnv = (env: TargetOptions['env']): string | undefined => (env.STRIPE_WEBHOOK_SECRET === '' ? undefined : env.STRIPE_WEBHOOK_SECRET);

/** The configuration of the stack a command acts on: the project's cdk.json with the stack's `-c` overrides. */
export function stackConfig(root: string, target: Pick<Target, 'context'>): TollgateConfig {
  return loadProjectConfig(root, target.context);
}

export function resolveTarget(options: TargetOptions): Target {
  if (options.outputs !== undefined) {
    const outputs = readOutputs(options.outputs);
    const region = options.region ?? options.env.AWS_REGION ?? options.env.AWS_DEFAULT_REGION ?? /execute-api\.([a-z0-9-]+)\.amazonaws/.exec(outputs.ApiUrl)?.[1];
    if (region === undefined) throw new TargetError('no AWS region: pass --region or set AWS_REGION');
    const aws = { region, ...(options.profile === undefined ? {} : { profile: options.profile }) };
    const dynamodb = new DynamoDBClient(aws);
    const apiGateway = new APIGatewayClient(aws);
    return {
      kind: 'deployed',
      apiUrl: withSlash(outputs.ApiUrl),
      webhookUrl: outputs.StripeWebhookUrl,
      dynamodb,
      tables: {
        customers: outputs.CustomersTableName,
        apiKeys: outputs.ApiKeysTableName,
        events: outputs.EventsTableName,
        usage: outputs.UsageTableName,
      },
      flusher: new ApiGatewayCacheFlusher(apiGateway),
      flushTarget: { restApiId: outputs.RestApiId, stage: outputs.StageName },
      context: {},
      aws,
      webhookSecret: async () => {
        const fromEnv = secretFromEnv(options.env);
        if (options.secretId === undefined) {
          if (fromEnv !== undefined) return fromEnv;
          throw new TargetError('a deployed webhook needs its signing secret: pass --secret-id <secret name> or set STRIPE_WEBHOOK_SECRET');
        }
        const client = new SecretsManagerClient(aws);
        try {
          return parseSigningSecrets(await readSecretString(client, options.secretId))[0]!;
        } finally {
          client.destroy();
        }
      },
      close: () => {
        dynamodb.destroy();
        apiGateway.destroy();
      },
    };
  }

  const local = readCoordinates(options.stateDir);
  if (local === undefined) {
    throw new TargetError(`no local stack is running (no ${path.basename(options.stateDir)}/${path.basename(coordinatesPath(options.stateDir))}): start it with npm start, or pass --outputs <cdk-outputs.json> for a deployed stack`);
  }
  // npm start's database is private to the access key id in the state folder (tests write none).
  let credentials;
  try {
    credentials = readLocalCredentials(options.stateDir) ?? LOCAL_CREDENTIALS;
  } catch (err) {
    throw new TargetError((err as Error).message);
  }
  const dynamodb = localClient(local.dynamodbEndpoint, { maxAttempts: 1, requestTimeoutMs: 3000, credentials });
  // The local admin endpoint answers FlushStageAuthorizersCache as API Gateway does.
  const apiGateway = new APIGatewayClient({ endpoint: local.adminUrl, region: local.region, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
  return {
    kind: 'local',
    apiUrl: withSlash(local.apiUrl),
    webhookUrl: local.webhookUrl,
    dynamodb,
    tables: local.tables,
    flusher: new ApiGatewayCacheFlusher(apiGateway),
    flushTarget: { restApiId: local.restApiId, stage: local.stage },
    context: local.context ?? {},
    stateDir: options.stateDir,
    webhookSecret: () => {
      const fromEnv = secretFromEnv(options.env);
      if (fromEnv !== undefined) return Promise.resolve(fromEnv);
      if (local.webhookSecretSource === 'default') return Promise.resolve(LOCAL_WEBHOOK_SECRET);
      return Promise.reject(new TargetError('npm start uses STRIPE_WEBHOOK_SECRET: set the same variable for the CLI'));
    },
    close: () => {
      dynamodb.destroy();
      apiGateway.destroy();
    },
  };
}
