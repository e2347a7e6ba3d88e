import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LAMBDA_BUNDLING, prebuiltFunction } from './bundling';
import { PROJECT_ROOT } from './contract';

export interface TollgateFunctionProps {
  /** Folder under `lambda/` holding the function's `index.ts`. */
  readonly entry: 'authorizer' | 'webhook' | 'backend' | 'clock' | 'usage' | 'metering' | 'metering-dead-letter' | 'portal' | 'mcp' | 'purchase' | 'migrate';
  readonly description: string;
  readonly environment?: Record<string, string>;
  /** @default Duration.seconds(5) */
  readonly timeout?: Duration;
  /** @default 256 */
  readonly memorySize?: number;
  /** Files to add beside the bundle: shell commands run after esbuild, given the output folder. @default - none */
  readonly afterBundling?: (outputDir: string) => string[];
  /** Days the function's log group keeps its logs (tollgate:functionLogRetentionDays). @default 30 */
  readonly logRetentionDays?: number;
  /** Concurrency kept for the function, and its cap (tollgate:reservedConcurrency). @default - none: the account's unreserved pool */
  readonly reservedConcurrentExecutions?: number;
  /**
   * Lambda's own log lines (platform.start, platform.report): WARN drops them, about 670 B per
   * invocation, which on a function invoked per request costs more than its compute. @default INFO
   */
  readonly systemLogLevel?: 'INFO' | 'WARN';
}


/**
 * A tollgate Lambda: Node.js 22 on arm64, bundled by the local esbuild (no Docker) from the ESM build
 * of its dependencies (`mainFields: ['module', 'main']`: smaller bundles, faster cold starts),
 * minified with source maps, X-Ray tracing, JSON logs kept 30 days unless configured.
 */
export class TollgateFunction extends nodejs.NodejsFunction {
  constructor(scope: Construct, id: string, props: TollgateFunctionProps) {
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      retention: (props.logRetentionDays ?? logs.RetentionDays.ONE_MONTH) as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const prebuilt = prebuiltFunction(props.entry);
    super(scope, id, {
      // The package ships each function bundled: no esbuild at the user's synth.
      ...(prebuilt === undefined ? {} : { code: prebuiltCode(prebuilt, props.afterBundling), handler: 'index.handler' }),
      entry: path.join(PROJECT_ROOT, 'lambda', props.entry, 'index.ts'),
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      description: props.description,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(5),
      ...(props.reservedConcurrentExecutions === undefined ? {} : { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
      tracing: lambda.Tracing.ACTIVE,
      loggingFormat: lambda.LoggingFormat.JSON,
      ...(props.systemLogLevel === 'WARN' ? { systemLogLevelV2: lambda.SystemLogLevel.WARN } : {}),
      logGroup,
      environment: {
        POWERTOOLS_SERVICE_NAME: `tollgate-${props.entry}`,
        POWERTOOLS_METRICS_NAMESPACE: 'Tollgate',
        ...props.environment,
      },
      bundling: {
        minify: LAMBDA_BUNDLING.minify,
        sourceMap: LAMBDA_BUNDLING.sourceMap,
        sourcesContent: LAMBDA_BUNDLING.sourcesContent,
        target: LAMBDA_BUNDLING.target,
        mainFields: [...LAMBDA_BUNDLING.mainFields],
        // Bundled, not the runtime's copy: the version tested is the version deployed.
        bundleAwsSDK: true,
        forceDockerBundling: false,
        // cdk synth stays quiet: esbuild reports only problems, not every bundle's size.
        logLevel: nodejs.LogLevel.WARNING,
        ...(props.afterBundling === undefined
          ? {}
          : { commandHooks: { beforeBundling: () => [], beforeInstall: () => [], afterBundling: (_input: string, output: string) => props.afterBundling!(output) } }),
      },
    });

    const ack = (scope: Construct, id: string, reason: string): void => Validations.of(scope).acknowledge({ id, reason });
    ack(this, 'AwsSolutions-L1', 'Node.js 22 is the runtime tollgate is built and tested on; moving up is a tested change.');
    ack(
      this.role!,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'The basic execution role only lets the function write its own CloudWatch logs.',
    );
    ack(
      this.role!,
      'AwsSolutions-IAM5[Resource::*]',
      'X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions; tests assert no other statement uses *.',
    );
  }
}

/** A prebuilt function's folder, with `afterBundling`'s files added in a copy when it has some (the portal's assets). */
function prebuiltCode(dir: string, afterBundling: TollgateFunctionProps['afterBundling']): lambda.Code {
  if (afterBundling === undefined) return lambda.Code.fromAsset(dir);
  const staged = mkdtempSync(path.join(tmpdir(), 'tollgate-function-'));
  cpSync(dir, staged, { recursive: true });
  afterBundling(staged);
  return lambda.Code.fromAsset(staged);
}

/**
 * Gives `fn` a secret in one step: `envVar` names the secret (its name, never its value; the function
 * reads the value from Secrets Manager) and the role may read it, nothing more.
 */
export function bindSecret(fn: lambda.Function, secret: secretsmanager.ISecret, envVar: string): void {
  fn.addEnvironment(envVar, secret.secretName);
  secret.grantRead(fn);
}
