import { readFileSync } from 'node:fs';
import * as path from 'node:path';

/**
 * Deploy-time configuration: `cdk.json` context, overridable with `cdk synth -c tollgate:<name>=<value>`.
 * Validated once, at synth, with messages that say what to change.
 */

export interface TollgateConfig {
  /** OpenAPI document of the API to protect, relative to the project root. @default "api/openapi.json" */
  readonly openApiDocument: string;
  /** Send protected traffic to this HTTP(S) backend instead of the sample Lambda. @default - the sample backend */
  readonly backendUrl?: string;
  /** How long `past_due` keeps access after the failed payment. @default 72 */
  readonly gracePeriodHours: number;
  /** Authorizer result cache TTL, 0 to 3600 seconds. @default 300 */
  readonly authorizerCacheTtlSeconds: number;
  /** Base URL of the problem type documents (`type` of every problem+json). */
  readonly docsBaseUrl: string;
  /** Where a customer without a subscription subscribes (checkout, pricing page). @default - none */
  readonly checkoutUrl?: string;
  /** The Stripe customer portal (payment methods, invoices, plan changes). @default - none */
  readonly portalUrl?: string;
  /** Secrets Manager secret holding the Stripe webhook signing secret(s). */
  readonly stripeWebhookSecretName: string;
  /** Secrets Manager secret holding a Stripe API key (restricted, read-only). @default - none: no re-fetch from Stripe */
  readonly stripeApiKeySecretName?: string;
  /** `Access-Control-Allow-Origin` on every response. @default "*" */
  readonly corsAllowOrigin: string;
  /** Stage name. @default "prod" */
  readonly stageName: string;
  /** Stage throttling: steady requests per second and burst. @default 100 and 200 */
  readonly throttleRateLimit: number;
  readonly throttleBurstLimit: number;
  /** The Stripe webhook's own throttling, apart from the public budget. @default 50 and 100 */
  readonly webhookThrottleRateLimit: number;
  readonly webhookThrottleBurstLimit: number;
}

export const DEFAULT_CONFIG: TollgateConfig = {
  openApiDocument: 'api/openapi.json',
  gracePeriodHours: 72,
  authorizerCacheTtlSeconds: 300,
  docsBaseUrl: 'https://tollgate.example/problems',
  stripeWebhookSecretName: 'tollgate/stripe-webhook-secret',
  corsAllowOrigin: '*',
  stageName: 'prod',
  throttleRateLimit: 100,
  throttleBurstLimit: 200,
  webhookThrottleRateLimit: 50,
  webhookThrottleBurstLimit: 100,
};

export const CONTEXT_PREFIX = 'tollgate:';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`invalid tollgate configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

type ContextReader = (key: string) => unknown;

/** Reads and validates the `tollgate:*` context keys; throws one ConfigError listing every problem. */
export function loadConfig(read: ContextReader): TollgateConfig {
  const problems: string[] = [];
  const raw = (name: keyof TollgateConfig): unknown => read(CONTEXT_PREFIX + name);

  const text = (name: keyof TollgateConfig, fallback: string | undefined, required: boolean): string | undefined => {
    const value = raw(name);
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'string') {
      problems.push(`${CONTEXT_PREFIX}${name} must be a string, got ${JSON.stringify(value)}`);
      return fallback;
    }
    const trimmed = value.trim();
    if (trimmed === '' && required) {
      problems.push(`${CONTEXT_PREFIX}${name} is empty: set it in cdk.json or with -c ${CONTEXT_PREFIX}${name}=...`);
    }
    return trimmed === '' ? undefined : trimmed;
  };

  const integer = (name: keyof TollgateConfig, fallback: number, min: number, max: number, unit: string): number => {
    const value = raw(name);
    if (value === undefined || value === null) return fallback;
    const parsed = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
    if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
      problems.push(
        `${CONTEXT_PREFIX}${name} is ${JSON.stringify(value)}: use a whole number of ${unit} from ${min} to ${max}`,
      );
      return fallback;
    }
    return parsed;
  };

  const url = (name: keyof TollgateConfig, fallback: string | undefined, required = false): string | undefined => {
    const value = text(name, fallback, required);
    if (value === undefined) return undefined;
    if (!/^https?:\/\/[^\s"\\]+$/.test(value) || !URL.canParse(value)) {
      problems.push(`${CONTEXT_PREFIX}${name} is "${value}": use an absolute http(s) URL without quotes or spaces`);
    }
    return value;
  };

  const secretName = (name: keyof TollgateConfig, fallback: string | undefined, required: boolean): string | undefined => {
    const value = text(name, fallback, required);
    if (value !== undefined && !/^[A-Za-z0-9/_+=.@-]{1,512}$/.test(value)) {
      problems.push(
        `${CONTEXT_PREFIX}${name} is "${value}": a Secrets Manager secret name uses letters, digits and /_+=.@- only`,
      );
    }
    return value;
  };

  const stageName = text('stageName', DEFAULT_CONFIG.stageName, true) ?? DEFAULT_CONFIG.stageName;
  if (!/^[A-Za-z0-9_]{1,128}$/.test(stageName)) {
    problems.push(`${CONTEXT_PREFIX}stageName is "${stageName}": use letters, digits and underscores only`);
  }
  const corsAllowOrigin = text('corsAllowOrigin', DEFAULT_CONFIG.corsAllowOrigin, true) ?? DEFAULT_CONFIG.corsAllowOrigin;
  if (corsAllowOrigin !== '*' && !/^https?:\/\/[A-Za-z0-9.-]+(:\d+)?$/.test(corsAllowOrigin)) {
    problems.push(
      `${CONTEXT_PREFIX}corsAllowOrigin is "${corsAllowOrigin}": use "*" or one origin such as https://app.example.com`,
    );
  }

  const config: TollgateConfig = {
    openApiDocument: text('openApiDocument', DEFAULT_CONFIG.openApiDocument, true) ?? DEFAULT_CONFIG.openApiDocument,
    backendUrl: url('backendUrl', undefined),
    gracePeriodHours: integer('gracePeriodHours', DEFAULT_CONFIG.gracePeriodHours, 0, 24 * 60, 'hours'),
    authorizerCacheTtlSeconds: integer('authorizerCacheTtlSeconds', DEFAULT_CONFIG.authorizerCacheTtlSeconds, 0, 3600, 'seconds'),
    docsBaseUrl: url('docsBaseUrl', DEFAULT_CONFIG.docsBaseUrl, true) ?? DEFAULT_CONFIG.docsBaseUrl,
    checkoutUrl: url('checkoutUrl', undefined),
    portalUrl: url('portalUrl', undefined),
    stripeWebhookSecretName:
      secretName('stripeWebhookSecretName', DEFAULT_CONFIG.stripeWebhookSecretName, true) ?? DEFAULT_CONFIG.stripeWebhookSecretName,
    stripeApiKeySecretName: secretName('stripeApiKeySecretName', undefined, false),
    corsAllowOrigin,
    stageName,
    throttleRateLimit: integer('throttleRateLimit', DEFAULT_CONFIG.throttleRateLimit, 1, 10_000, 'requests per second'),
    throttleBurstLimit: integer('throttleBurstLimit', DEFAULT_CONFIG.throttleBurstLimit, 1, 5_000, 'requests'),
    webhookThrottleRateLimit: integer('webhookThrottleRateLimit', DEFAULT_CONFIG.webhookThrottleRateLimit, 1, 10_000, 'requests per second'),
    webhookThrottleBurstLimit: integer('webhookThrottleBurstLimit', DEFAULT_CONFIG.webhookThrottleBurstLimit, 1, 5_000, 'requests'),
  };

  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/**
 * cdk.json's `context`, as the CDK CLI hands it to the app (`new App()` reads it only under the CLI):
 * for the local run, the CLI and the tests. No cdk.json: no context, so the defaults, as `cdk synth`
 * would use them. A cdk.json that is not JSON is an error, as it is for `cdk synth`.
 */
export function readCdkJsonContext(root: string): Record<string, unknown> {
  const file = path.join(root, 'cdk.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
  try {
    return (JSON.parse(text) as { context?: Record<string, unknown> }).context ?? {};
  } catch (err) {
    throw new ConfigError([`cdk.json is not valid JSON (${(err as Error).message}): fix it, then retry`]);
  }
}
