import { spawnSync } from 'node:child_process';
import { authorizerEnvironment, flushEnvironment } from '../../lambda/shared/settings';
import { DEFAULT_CONFIG } from '../../lib/config/tollgate-config';
import { TABLES } from '../../lambda/shared/tables';
import { benchAuthorizerSettings } from '../lib/authorizer';
import { bundle, type BundleName } from '../lib/bundles';
import { SIZES } from '../lib/sizes';
import { median, ratioMeasure } from '../lib/stats';
import type { Figure } from '../lib/types';

// Measured inside the fresh process, around require() alone: node's own start-up is the same for
// every bundle and would only pull each ratio towards 1.
const IMPORT_TIMER =
  'const s=process.hrtime.bigint();require(process.argv[1]);process.stdout.write(String(Number(process.hrtime.bigint()-s)/1e6))';

/** What the stack puts in each function's environment (module init reads and validates it). */
export function lambdaEnvironment(root: string): NodeJS.ProcessEnv {
  const settings = benchAuthorizerSettings(root, 'bench-Customers');
  return {
    PATH: process.env.PATH,
    AWS_REGION: 'eu-west-1',
    AWS_LAMBDA_FUNCTION_NAME: 'tollgate-bench',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    POWERTOOLS_METRICS_NAMESPACE: 'Tollgate',
    [TABLES.customers.envVar]: 'bench-Customers',
    [TABLES.events.envVar]: 'bench-EventLedger',
    STRIPE_WEBHOOK_SECRET_ID: 'tollgate/stripe-webhook-secret',
    ...flushEnvironment(DEFAULT_CONFIG),
    ...authorizerEnvironment({ routes: settings.routes, gracePeriodHours: 72, checkoutUrl: settings.checkoutUrl, portalUrl: settings.portalUrl }),
  };
}

function coldImportMs(file: string, env: NodeJS.ProcessEnv): number {
  const result = spawnSync(process.execPath, ['-e', IMPORT_TIMER, file], { env, encoding: 'utf8', timeout: 30_000 });
  const ms = Number(result.stdout);
  if (result.status !== 0 || !Number.isFinite(ms) || ms <= 0) {
    throw new Error(`importing ${file} in a fresh node failed (exit ${result.status}): ${result.stderr.trim().split('\n')[0] ?? ''}`);
  }
  return ms;
}

/**
 * Interleaved cold imports (A B, then B A), one fresh node per sample; the samples are split into
 * `repetitions` consecutive groups and the figure is the median of the groups' median ratios.
 */
export function compare(a: string, b: string, env: NodeJS.ProcessEnv, samples: number, repetitions: number, warmUp: boolean): { reps: { a: number; b: number }[]; all: { a: number; b: number } } {
  const as: number[] = [];
  const bs: number[] = [];
  // Warm-up: the file system cache, not the module cache (every sample is a new process).
  if (warmUp) {
    coldImportMs(a, env);
    coldImportMs(b, env);
  }
  for (let i = 0; i < samples; i++) {
    if (i % 2 === 0) {
      as.push(coldImportMs(a, env));
      bs.push(coldImportMs(b, env));
    } else {
      bs.push(coldImportMs(b, env));
      as.push(coldImportMs(a, env));
    }
  }
  const size = Math.max(1, Math.floor(samples / repetitions));
  const reps: { a: number; b: number }[] = [];
  for (let r = 0; r * size < samples && reps.length < repetitions; r++) {
    reps.push({ a: median(as.slice(r * size, (r + 1) * size)), b: median(bs.slice(r * size, (r + 1) * size)) });
  }
  return { reps, all: { a: median(as), b: median(bs) } };
}

export const figure: Figure = {
  id: 'B2',
  title: 'cold import of the function bundles / bare-client bundles',
  async run(context) {
    const sizes = SIZES[context.mode];
    const env = lambdaEnvironment(context.root);
    const file = async (name: BundleName): Promise<string> => (await bundle(name, context.root, context.workDir)).file;
    const authorizer = compare(await file('authorizer'), await file('bareDynamoDb'), env, sizes.coldSamples, sizes.repetitions, context.mode !== 'smoke');
    const powertools = compare(await file('bareDynamoDbPowertools'), await file('bareDynamoDb'), env, sizes.coldSamples, sizes.repetitions, context.mode !== 'smoke');
    const webhook = compare(await file('webhook'), await file('dynamoDbStripe'), env, sizes.coldSamples, sizes.repetitions, context.mode !== 'smoke');
    return {
      available: true,
      measures: [
        ratioMeasure('authorizer import / DynamoDB client + GetItem import', authorizer.reps, { unit: 'ms', target: { op: '<=', value: 1.15 } }),
        ratioMeasure('bare client + Powertools import / bare client import (what the logging mandate costs)', powertools.reps, { unit: 'ms' }),
        ratioMeasure('webhook import / DynamoDB client + Stripe import', webhook.reps, { unit: 'ms', target: { op: '<=', value: 1.15 } }),
      ],
      facts: {
        samplesPerBundle: sizes.coldSamples,
        groups: authorizer.reps.length,
        ratioOfAllSamples: { authorizer: authorizer.all.a / authorizer.all.b, powertools: powertools.all.a / powertools.all.b, webhook: webhook.all.a / webhook.all.b },
        medianImportMs: { authorizer: authorizer.all.a, bareDynamoDb: authorizer.all.b, bareDynamoDbPowertools: powertools.all.a, webhook: webhook.all.a, dynamoDbStripe: webhook.all.b },
      },
      notes: [
        'Each sample is a fresh `node` requiring the bundle (built with LAMBDA_BUNDLING) with the environment the stack sets; the time is require() alone, measured inside the process.',
      ],
    };
  },
};
