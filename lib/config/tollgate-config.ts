import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { TrustedIssuer } from '../../lambda/shared/issuers';
import { readIssuers } from './issuers';

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
  /**
   * `Access-Control-Allow-Origin` on every response: "*" or one origin (gateway responses are static,
   * so API Gateway cannot pick one of several). @default "*"
   */
  readonly corsAllowOrigin: string;
  /** `Access-Control-Allow-Headers` of preflights and gateway responses; Authorization is always in. @default ["Authorization", "Content-Type"] */
  readonly corsAllowHeaders: readonly string[];
  /** Methods browsers may use cross-origin (preflight `Access-Control-Allow-Methods`). @default - every method of the path */
  readonly corsAllowMethods?: readonly string[];
  /** Preflight `Access-Control-Max-Age`, 0 to 86400 seconds. @default 600 */
  readonly corsMaxAgeSeconds: number;
  /** Send the caller's `Authorization` header (its API key) on to an HTTP backend. @default false */
  readonly forwardAuthorization: boolean;
  /** Stage name. @default "prod" */
  readonly stageName: string;
  /** Stage throttling: steady requests per second and burst. @default 100 and 200 */
  readonly throttleRateLimit: number;
  readonly throttleBurstLimit: number;
  /** The Stripe webhook's own throttling, apart from the public budget. @default 50 and 100 */
  readonly webhookThrottleRateLimit: number;
  readonly webhookThrottleBurstLimit: number;
  /** OAuth 2.0 / OIDC issuers whose tokens are accepted beside API keys (lib/config/issuers.ts). @default - none */
  readonly issuers?: readonly TrustedIssuer[];
}

export const DEFAULT_CONFIG: TollgateConfig = {
  openApiDocument: 'api/openapi.json',
  gracePeriodHours: 72,
  authorizerCacheTtlSeconds: 300,
  docsBaseUrl: 'https://tollgate.example/problems',
  stripeWebhookSecretName: 'tollgate/stripe-webhook-secret',
  corsAllowOrigin: '*',
  corsAllowHeaders: ['Authorization', 'Content-Type'],
  corsMaxAgeSeconds: 600,
  forwardAuthorization: false,
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
    super(
      problems.length === 1
        ? `invalid tollgate configuration: ${problems[0]}`
        : `invalid tollgate configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
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

  /** A list from cdk.json (a JSON array) or -c (comma-separated), each item checked against `item`. */
  const list = (name: keyof TollgateConfig, item: RegExp, what: string): string[] | undefined => {
    const value = raw(name);
    if (value === undefined || value === null) return undefined;
    const items = typeof value === 'string' ? value.split(',').map((v) => v.trim()) : value;
    if (!Array.isArray(items) || items.length === 0 || !items.every((v) => typeof v === 'string' && item.test(v))) {
      problems.push(`${CONTEXT_PREFIX}${name} is ${JSON.stringify(value)}: use a list of ${what}, as a JSON array or comma-separated`);
      return undefined;
    }
    return items as string[];
  };

  const flag = (name: keyof TollgateConfig, fallback: boolean): boolean => {
    const value = raw(name);
    if (value === undefined || value === null) return fallback;
    if (value === true || value === 'true') return true;
    if (value === false || value === 'false') return false;
    problems.push(`${CONTEXT_PREFIX}${name} is ${JSON.stringify(value)}: use true or false`);
    return fallback;
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

  // Header names as RFC 9110 tokens, without the quote that would end API Gateway's static value.
  const allowHeaders = list('corsAllowHeaders', /^[A-Za-z0-9!#$%&*+.^_`|~-]+$/, 'header names') ?? DEFAULT_CONFIG.corsAllowHeaders;
  const corsAllowMethods = list('corsAllowMethods', /^(GET|PUT|POST|DELETE|PATCH|HEAD)$/, 'methods from GET, PUT, POST, DELETE, PATCH, HEAD');

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
    // The API key travels in Authorization: a browser client must always be allowed to send it.
    corsAllowHeaders: allowHeaders.some((h) => h.toLowerCase() === 'authorization') ? allowHeaders : ['Authorization', ...allowHeaders],
    ...(corsAllowMethods === undefined ? {} : { corsAllowMethods }),
    corsMaxAgeSeconds: integer('corsMaxAgeSeconds', DEFAULT_CONFIG.corsMaxAgeSeconds, 0, 86_400, 'seconds'),
    forwardAuthorization: flag('forwardAuthorization', DEFAULT_CONFIG.forwardAuthorization),
    stageName,
    throttleRateLimit: integer('throttleRateLimit', DEFAULT_CONFIG.throttleRateLimit, 1, 10_000, 'requests per second'),
    throttleBurstLimit: integer('throttleBurstLimit', DEFAULT_CONFIG.throttleBurstLimit, 1, 5_000, 'requests'),
    webhookThrottleRateLimit: integer('webhookThrottleRateLimit', DEFAULT_CONFIG.webhookThrottleRateLimit, 1, 10_000, 'requests per second'),
    webhookThrottleBurstLimit: integer('webhookThrottleBurstLimit', DEFAULT_CONFIG.webhookThrottleBurstLimit, 1, 5_000, 'requests'),
    // Absent, not empty, when none is trusted: the defaults stay as documented.
    ...((issuers) => (issuers.length === 0 ? {} : { issuers }))(readIssuers(raw('issuers'), problems)),
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
