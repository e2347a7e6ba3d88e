import type { X402Settings } from '../../lambda/shared/agents/x402';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { OVERAGES, type Plan, type Plans } from '../../lambda/shared/customers/usage-view';
import { isLookupKey, isMeterEventName } from '../../lambda/shared/requirements';
import { grantDurationSeconds } from '../../lambda/shared/credit-grants';
import { DEFAULT_OPERATIONS_CONFIG, loadOperationsConfig, type OperationsConfig } from './operations';
import type { TrustedIssuer } from '../../lambda/shared/issuers';
import { readIssuers } from './issuers';
import type { PortalBrand } from '../../lambda/portal/brand';
import { readPortalBrand } from './portal-brand';
import { jsonValue } from './json-value';
import { readAlerts, type AlertsConfig } from './alerts';

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
  /**
   * How long API Gateway keeps a decision on the routes that need only a key, a subscription or an
   * entitlement, 0 to 3600 seconds: a lock (a cancellation, a failed payment past its grace) takes
   * effect within it; an unlock flushes at once. @default 300
   */
  readonly authorizerCacheTtlSeconds: number;
  /**
   * The same for the routes sold by use (log-metered), 0 to 60 seconds: a quota or credit change, either
   * way, reaches them within it, with no flush. @default 1
   */
  readonly meteredCacheTtlSeconds: number;
  /**
   * Usage of customers far from a limit is summed per customer over windows of this many seconds (0 to
   * 900; 0: every customer written per delivery): writes follow active customers, not calls. @default 60
   */
  readonly meteringWindowSeconds: number;
  /** Least time between two authorizer-cache flushes of the stage, whoever asks (1 s: a tenth of the account's management budget). @default 1 */
  readonly cacheFlushIntervalSeconds: number;
  /** Base URL of the problem type documents (`type` of every problem+json). @default - the stack's own pages (/tollgate/problems) */
  readonly docsBaseUrl?: string;
  /** Where a customer without a subscription subscribes (checkout, pricing page). @default - none */
  readonly checkoutUrl?: string;
  /** The Stripe customer portal (payment methods, invoices, plan changes). @default - none */
  readonly portalUrl?: string;
  /**
   * The URL clients reach the stage at (a custom domain, or the stage URL `cdk deploy` prints). API
   * Gateway writes only literals in a gateway response's headers, so the 401's `resource_metadata`
   * (MCP's OAuth discovery, RFC 9728) can name the metadata only from here. @default - none
   */
  readonly publicUrl?: string;
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
  /**
   * A custom domain for the API (with certificateArn): a regional API Gateway domain name whose base
   * path is the stage, so every URL keeps its shape (`https://<domainName>/<stageName>/…`). Point a DNS
   * CNAME or alias at the stack's CustomDomainTarget output. @default - none: the execute-api URL
   */
  readonly domainName?: string;
  /** The ACM certificate covering domainName, in the stack's region. @default - none (required with domainName) */
  readonly certificateArn?: string;
  /**
   * The account's API Gateway throttle in this Region (10,000 requests/s and a 5,000 burst unless AWS
   * raised it): the stage's and the webhook's throttles may not exceed it. @default 10000 and 5000
   */
  readonly accountThrottleRateLimit: number;
  readonly accountThrottleBurstLimit: number;
  /**
   * Reserved concurrency per function: the authorizer's is kept for it (so a slow webhook, metering or
   * clock cannot take the API's), the others' caps them. `off` reserves none (a new account whose
   * concurrency quota is below 100 + the sum cannot reserve any).
   * @default authorizer: the stage's rate × 50 ms (at least 10), webhook 10, metering 5, clock 1, mcp 10
   */
  readonly reservedConcurrency?: ReservedConcurrency;
  /** Stage throttling: steady requests per second and burst. @default 100 and 200 */
  readonly throttleRateLimit: number;
  readonly throttleBurstLimit: number;
  /** The Stripe webhook's own throttling, apart from the public budget. @default 50 and 100 */
  readonly webhookThrottleRateLimit: number;
  readonly webhookThrottleBurstLimit: number;
  /** OAuth 2.0 / OIDC issuers whose tokens are accepted beside API keys (lib/config/issuers.ts). @default - none */
  readonly issuers?: readonly TrustedIssuer[];
  /** Alarms, their thresholds and log retention (lib/config/operations.ts). */
  readonly operations: OperationsConfig;
  /**
   * Usage plans, keyed by the Stripe price lookup key (or price id) a subscription item carries: quota
   * per billing period and what happens past it. A plan not listed is unlimited. @default {}
   */
  readonly plans: Plans;
  /** Prepaid credit packs the portal offers (one-time Stripe prices). @default [] */
  readonly creditPacks: readonly CreditPack[];
  /** The portal's product name, logo and colours (`portalName`, `portalLogoUrl`, `portalColors`). @default - tollgate's plain pages */
  readonly portalBrand?: PortalBrand;
  /** Selling credit packs to agents over MPP (docs/agents.md). @default - off */
  readonly agentPayments?: AgentPaymentsConfig;
  /** Threshold alerts to the seller and the customer (docs/alerts.md, lib/config/alerts.ts). @default - off */
  readonly alerts?: AlertsConfig;
}

/** `tollgate:agentPayments`: `{"mpp": {"networkId": "profile_…"}}`. */
export interface AgentPaymentsConfig {
  /** The seller's Stripe profile id: MPP stripe `networkId`. */
  readonly networkId: string;
  /** @default ["card", "link"] */
  readonly paymentMethodTypes: readonly string[];
  /** MPP realm of the challenges. @default "tollgate" */
  readonly realm: string;
  /** x402 beside MPP (`"x402": {network, asset, payTo, facilitatorUrl, assetName, assetVersion, decimals}`). @default - MPP only */
  readonly x402?: X402Settings;
  /**
   * Plans of `tollgate:plans` sold over the protocols too, by plan key: one payment of `amount` (minor
   * units of `currency`) buys `days` of the plan's standing, no renewal (docs/agents.md). @default - none
   */
  readonly plans?: Readonly<Record<string, AgentPlanPrice>>;
}

/** What an agent pays for a plan, and how long one payment keeps it. */
export interface AgentPlanPrice {
  readonly amount: number;
  readonly currency: string;
  readonly days: number;
}

export interface ReservedConcurrency {
  readonly authorizer: number;
  readonly webhook: number;
  readonly metering: number;
  readonly clock: number;
  /** The MCP endpoint, when the document marks operations `"mcp"`: a tool call holds it for its route's whole call. */
  readonly mcp: number;
}

/** The authorizer's default reservation: every request of the stage's rate held for 50 ms at once. */
export const defaultReservedConcurrency = (throttleRateLimit: number): ReservedConcurrency => ({
  authorizer: Math.max(10, Math.ceil(throttleRateLimit * 0.05)),
  webhook: 10,
  metering: 5,
  clock: 1,
  mcp: 10,
});

/** A prepaid pack: `credits` units for one payment of the one-time Stripe `price` (lookup key or id). */
export interface CreditPack {
  readonly id: string;
  readonly name: string;
  readonly credits: number;
  readonly price: string;
  /** What an agent pays for it over MPP, in minor units of `currency` (both or neither). @default - not sold to agents */
  readonly amount?: number;
  readonly currency?: string;
  /** How long its units count after the purchase (`90d`, `12h`, `90m`): the grant's expiry. @default - they never expire */
  readonly expiresIn?: string;
}

export const DEFAULT_CONFIG: TollgateConfig = {
  openApiDocument: 'api/openapi.json',
  gracePeriodHours: 72,
  authorizerCacheTtlSeconds: 300,
  meteredCacheTtlSeconds: 1,
  meteringWindowSeconds: 60,
  cacheFlushIntervalSeconds: 1,
  stripeWebhookSecretName: 'tollgate/stripe-webhook-secret',
  corsAllowOrigin: '*',
  corsAllowHeaders: ['Authorization', 'Content-Type'],
  corsMaxAgeSeconds: 600,
  forwardAuthorization: false,
  stageName: 'prod',
  accountThrottleRateLimit: 10_000,
  accountThrottleBurstLimit: 5_000,
  reservedConcurrency: defaultReservedConcurrency(100),
  throttleRateLimit: 100,
  throttleBurstLimit: 200,
  webhookThrottleRateLimit: 50,
  webhookThrottleBurstLimit: 100,
  plans: {},
  creditPacks: [],
  operations: DEFAULT_OPERATIONS_CONFIG,
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

  // Quotas AWS raises on request: the account's rate bounds the stage's, never a constant of ours.
  const accountThrottleRateLimit = integer('accountThrottleRateLimit', DEFAULT_CONFIG.accountThrottleRateLimit, 1, 1_000_000, 'requests per second');
  const accountThrottleBurstLimit = integer('accountThrottleBurstLimit', DEFAULT_CONFIG.accountThrottleBurstLimit, 1, 1_000_000, 'requests');
  const throttleRateLimit = integer('throttleRateLimit', DEFAULT_CONFIG.throttleRateLimit, 1, accountThrottleRateLimit, 'requests per second (at most the account rate, tollgate:accountThrottleRateLimit)');

  const stripeApiKeySecretName = secretName('stripeApiKeySecretName', undefined, false);
  const config: TollgateConfig = {
    plans: readPlans(raw('plans'), problems),
    creditPacks: readCreditPacks(raw('creditPacks'), problems),
    ...((agents) => (agents === undefined ? {} : { agentPayments: agents }))(readAgentPayments(raw('agentPayments'), problems, { plans: raw('plans'), packs: raw('creditPacks') })),
    openApiDocument: text('openApiDocument', DEFAULT_CONFIG.openApiDocument, true) ?? DEFAULT_CONFIG.openApiDocument,
    backendUrl: url('backendUrl', undefined),
    gracePeriodHours: integer('gracePeriodHours', DEFAULT_CONFIG.gracePeriodHours, 0, 24 * 60, 'hours'),
    authorizerCacheTtlSeconds: integer('authorizerCacheTtlSeconds', DEFAULT_CONFIG.authorizerCacheTtlSeconds, 0, 3600, 'seconds'),
    meteredCacheTtlSeconds: integer('meteredCacheTtlSeconds', DEFAULT_CONFIG.meteredCacheTtlSeconds, 0, 60, 'seconds'),
    meteringWindowSeconds: integer('meteringWindowSeconds', DEFAULT_CONFIG.meteringWindowSeconds, 0, 900, 'seconds'),
    cacheFlushIntervalSeconds: integer('cacheFlushIntervalSeconds', DEFAULT_CONFIG.cacheFlushIntervalSeconds, 1, 60, 'seconds'),
    docsBaseUrl: url('docsBaseUrl', undefined),
    checkoutUrl: url('checkoutUrl', undefined),
    portalUrl: url('portalUrl', undefined),
    publicUrl: url('publicUrl', undefined),
    stripeWebhookSecretName:
      secretName('stripeWebhookSecretName', DEFAULT_CONFIG.stripeWebhookSecretName, true) ?? DEFAULT_CONFIG.stripeWebhookSecretName,
    stripeApiKeySecretName,
    corsAllowOrigin,
    // The API key travels in Authorization: a browser client must always be allowed to send it.
    corsAllowHeaders: allowHeaders.some((h) => h.toLowerCase() === 'authorization') ? allowHeaders : ['Authorization', ...allowHeaders],
    ...(corsAllowMethods === undefined ? {} : { corsAllowMethods }),
    corsMaxAgeSeconds: integer('corsMaxAgeSeconds', DEFAULT_CONFIG.corsMaxAgeSeconds, 0, 86_400, 'seconds'),
    forwardAuthorization: flag('forwardAuthorization', DEFAULT_CONFIG.forwardAuthorization),
    stageName,
    ...readCustomDomain(text('domainName', undefined, false), text('certificateArn', undefined, false), problems),
    accountThrottleRateLimit,
    accountThrottleBurstLimit,
    throttleRateLimit,
    throttleBurstLimit: integer('throttleBurstLimit', DEFAULT_CONFIG.throttleBurstLimit, 1, accountThrottleBurstLimit, 'requests (at most the account burst, tollgate:accountThrottleBurstLimit)'),
    webhookThrottleRateLimit: integer('webhookThrottleRateLimit', DEFAULT_CONFIG.webhookThrottleRateLimit, 1, accountThrottleRateLimit, 'requests per second (at most the account rate, tollgate:accountThrottleRateLimit)'),
    webhookThrottleBurstLimit: integer('webhookThrottleBurstLimit', DEFAULT_CONFIG.webhookThrottleBurstLimit, 1, accountThrottleBurstLimit, 'requests (at most the account burst, tollgate:accountThrottleBurstLimit)'),
    ...((reserved) => (reserved === undefined ? {} : { reservedConcurrency: reserved }))(readReservedConcurrency(raw('reservedConcurrency'), throttleRateLimit, problems)),
    operations: loadOperationsConfig(read, problems),
    ...((brand) => (brand === undefined ? {} : { portalBrand: brand }))(readPortalBrand(read, problems)),
    ...((alerts) => (alerts === undefined ? {} : { alerts }))(readAlerts(raw('alerts'), problems, stripeApiKeySecretName === undefined ? {} : { stripeApiKeySecretName })),
    // Absent, not empty, when none is trusted: the defaults stay as documented.
    ...((issuers) => (issuers.length === 0 ? {} : { issuers }))(readIssuers(raw('issuers'), problems)),
  };

  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
/** Display names end up in JSON answers and pages: printable, no quotes or backslashes. */
// eslint-disable-next-line no-control-regex
const DISPLAY_NAME = /^[^"\\\u0000-\u001f]{1,100}$/;

function readPlans(value: unknown, problems: string[]): Plans {
  const key = `${CONTEXT_PREFIX}plans`;
  if (value === undefined || value === null) return {};
  const plans = jsonValue(value);
  if (!isObject(plans)) {
    problems.push(`${key} must be an object keyed by Stripe price lookup key or price id, such as {"pro": {"name": "Pro", "quota": 1000}}`);
    return {};
  }
  const out: Record<string, Plan> = {};
  for (const [price, spec] of Object.entries(plans)) {
    const at = `${key}.${price}`;
    if (!isLookupKey(price)) {
      problems.push(`${key} has a plan keyed ${JSON.stringify(price)}: key each plan by the Stripe price's lookup key or id (letters, digits, ".", "_", "-")`);
      continue;
    }
    if (!isObject(spec)) {
      problems.push(`${at} must be an object such as {"name": "Pro", "quota": 1000, "overage": "block"}`);
      continue;
    }
    const unknown = Object.keys(spec).filter((k) => !['name', 'quota', 'overage', 'meter'].includes(k));
    if (unknown.length > 0) problems.push(`${at} has an unknown field ${JSON.stringify(unknown[0])}: use name, quota, overage and meter`);
    const { name, quota, overage = 'block', meter } = spec;
    const before = problems.length;
    if (typeof name !== 'string' || !DISPLAY_NAME.test(name)) problems.push(`${at}.name must be the plan's display name (1 to 100 characters, no quotes or backslashes)`);
    if (quota !== undefined && (typeof quota !== 'number' || !Number.isSafeInteger(quota) || quota < 0)) {
      problems.push(`${at}.quota is ${JSON.stringify(quota)}: use a whole number of units ≥ 0 per billing period, or leave it out for unlimited`);
    }
    if (!(OVERAGES as readonly unknown[]).includes(overage)) problems.push(`${at}.overage is ${JSON.stringify(overage)}: use "block" or "bill"`);
    if (meter !== undefined && !isMeterEventName(meter)) problems.push(`${at}.meter is ${JSON.stringify(meter)}: use the Stripe meter's event_name`);
    if (overage === 'bill' && meter === undefined) problems.push(`${at} bills overage but names no meter: add "meter": "<Stripe meter event_name>", or use "overage": "block"`);
    if (problems.length > before) continue;
    out[price] = {
      name: name as string,
      ...(quota === undefined ? {} : { quota: quota as number }),
      overage: overage as Plan['overage'],
      ...(meter === undefined ? {} : { meter: meter as string }),
    };
  }
  return out;
}

/** A custom domain needs both its name and its certificate; either alone is a mistake to name. */
function readCustomDomain(domainName: string | undefined, certificateArn: string | undefined, problems: string[]): Pick<TollgateConfig, 'domainName' | 'certificateArn'> {
  if (domainName === undefined && certificateArn === undefined) return {};
  const before = problems.length;
  if (domainName === undefined) problems.push(`${CONTEXT_PREFIX}certificateArn is set without ${CONTEXT_PREFIX}domainName: name the domain it covers, or remove it`);
  else if (!/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(domainName)) {
    problems.push(`${CONTEXT_PREFIX}domainName is "${domainName}": use a lower-case host name such as api.example.com`);
  }
  if (certificateArn === undefined) problems.push(`${CONTEXT_PREFIX}domainName is set without ${CONTEXT_PREFIX}certificateArn: give the ARN of an ACM certificate for it in the stack's region`);
  else if (!/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/.test(certificateArn)) {
    problems.push(`${CONTEXT_PREFIX}certificateArn is "${certificateArn}": use an ACM certificate ARN such as arn:aws:acm:us-east-1:123456789012:certificate/<id>`);
  }
  return problems.length > before ? {} : { domainName: domainName!, certificateArn: certificateArn! };
}

const CONCURRENCY_FUNCTIONS = ['authorizer', 'webhook', 'metering', 'clock', 'mcp'] as const;

/** `off`, or an object naming any of the five functions (the rest keep their defaults). */
function readReservedConcurrency(value: unknown, throttleRateLimit: number, problems: string[]): ReservedConcurrency | undefined {
  const key = `${CONTEXT_PREFIX}reservedConcurrency`;
  const defaults = defaultReservedConcurrency(throttleRateLimit);
  if (value === undefined || value === null) return defaults;
  if (value === 'off' || value === false || value === 'false') return undefined;
  const spec = jsonValue(value);
  if (!isObject(spec)) {
    problems.push(`${key} is ${JSON.stringify(value)}: use "off" or an object such as {"authorizer": 50, "webhook": 10, "metering": 5, "clock": 1, "mcp": 10}`);
    return defaults;
  }
  const out: Record<string, number> = { ...defaults };
  for (const [name, n] of Object.entries(spec)) {
    if (!(CONCURRENCY_FUNCTIONS as readonly string[]).includes(name)) {
      problems.push(`${key} names ${JSON.stringify(name)}: reserve for ${CONCURRENCY_FUNCTIONS.join(', ')}`);
    } else if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1 || n > 10_000) {
      problems.push(`${key}.${name} is ${JSON.stringify(n)}: use a whole number of concurrent executions from 1 to 10000`);
    } else out[name] = n;
  }
  return out as unknown as ReservedConcurrency;
}

function readCreditPacks(value: unknown, problems: string[]): CreditPack[] {
  const key = `${CONTEXT_PREFIX}creditPacks`;
  if (value === undefined || value === null) return [];
  const packs = jsonValue(value);
  const example = '[{"id": "credits_100", "name": "100 credits", "credits": 100, "price": "<one-time price lookup key or id>"}]';
  if (!Array.isArray(packs)) {
    problems.push(`${key} must be a list such as ${example}`);
    return [];
  }
  const out: CreditPack[] = [];
  packs.forEach((pack: unknown, i) => {
    const at = `${key}[${i}]`;
    if (!isObject(pack)) {
      problems.push(`${at} must be an object such as ${example.slice(1, -1)}`);
      return;
    }
    const { id, name, credits, price, amount, currency, expiresIn } = pack;
    const before = problems.length;
    if ((amount === undefined) !== (currency === undefined)) problems.push(`${at} needs both "amount" (minor units) and "currency" to be sold to agents, or neither`);
    if (amount !== undefined && (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount < 1)) {
      problems.push(`${at}.amount is ${JSON.stringify(amount)}: use a whole number of minor units (cents) ≥ 1`);
    }
    if (currency !== undefined && (typeof currency !== 'string' || !/^[a-z]{3}$/.test(currency))) problems.push(`${at}.currency is ${JSON.stringify(currency)}: use a lower-case ISO 4217 code such as "usd"`);
    if (!isLookupKey(id) || id.length > 64) problems.push(`${at}.id must be letters, digits, ".", "_" or "-" (at most 64 characters)`);
    else if (out.some((p) => p.id === id)) problems.push(`${at}.id "${id}" is used twice: give each pack its own id`);
    if (typeof name !== 'string' || !DISPLAY_NAME.test(name)) problems.push(`${at}.name must be a display name (1 to 100 characters, no quotes or backslashes)`);
    if (typeof credits !== 'number' || !Number.isSafeInteger(credits) || credits < 1) {
      problems.push(`${at}.credits is ${JSON.stringify(credits)}: use a whole number of units ≥ 1`);
    }
    if (!isLookupKey(price)) problems.push(`${at}.price must name a one-time Stripe price by its lookup key or id`);
    if (expiresIn !== undefined && (typeof expiresIn !== 'string' || grantDurationSeconds(expiresIn) === undefined)) {
      problems.push(`${at}.expiresIn is ${JSON.stringify(expiresIn)}: use a number of days, hours or minutes such as "90d", "12h" or "90m", or leave it out for units that never expire`);
    }
    if (problems.length > before) return;
    out.push({
      id: id as string,
      name: name as string,
      credits: credits as number,
      price: price as string,
      ...(amount === undefined ? {} : { amount: amount as number, currency: currency as string }),
      ...(expiresIn === undefined ? {} : { expiresIn: expiresIn as string }),
    });
  });
  return out;
}

function readAgentPayments(value: unknown, problems: string[], sold: { plans: unknown; packs: unknown }): AgentPaymentsConfig | undefined {
  const key = `${CONTEXT_PREFIX}agentPayments`;
  if (value === undefined || value === null) return undefined;
  const spec = jsonValue(value);
  const example = '{"mpp": {"networkId": "profile_…"}}';
  if (!isObject(spec) || !isObject(spec.mpp) || Object.keys(spec).some((k) => k !== 'mpp' && k !== 'x402' && k !== 'plans')) {
    problems.push(`${key} must be ${example}`);
    return undefined;
  }
  const { networkId, paymentMethodTypes = ['card', 'link'], realm = 'tollgate', ...rest } = spec.mpp;
  const before = problems.length;
  if (Object.keys(rest).length > 0) problems.push(`${key}.mpp has an unknown field ${JSON.stringify(Object.keys(rest)[0])}: use networkId, paymentMethodTypes and realm`);
  if (typeof networkId !== 'string' || !/^[A-Za-z0-9_]{1,100}$/.test(networkId)) problems.push(`${key}.mpp.networkId must be your Stripe profile id (profile_…)`);
  if (!Array.isArray(paymentMethodTypes) || paymentMethodTypes.length === 0 || !paymentMethodTypes.every((t) => typeof t === 'string' && /^[a-z_]{1,40}$/.test(t))) {
    problems.push(`${key}.mpp.paymentMethodTypes must be a list of Stripe payment method types such as ["card", "link"]`);
  }
  if (typeof realm !== 'string' || !/^[A-Za-z0-9.:_-]{1,100}$/.test(realm)) problems.push(`${key}.mpp.realm must be letters, digits, ".", ":", "_" or "-"`);
  const x402 = spec.x402 === undefined ? undefined : readX402(spec.x402, `${key}.x402`, problems);
  const plans = spec.plans === undefined ? undefined : readAgentPlans(spec.plans, `${key}.plans`, problems, sold);
  if (problems.length > before) return undefined;
  return { networkId: networkId as string, paymentMethodTypes: paymentMethodTypes as string[], realm: realm as string, ...(x402 === undefined ? {} : { x402 }), ...(plans === undefined ? {} : { plans }) };
}

/** `plans` of `tollgate:agentPayments`: keys of `tollgate:plans`, none also a pack's id (an offer id names one thing). */
function readAgentPlans(value: unknown, key: string, problems: string[], sold: { plans: unknown; packs: unknown }): Record<string, AgentPlanPrice> | undefined {
  const example = '{"pro": {"amount": 2000, "currency": "usd", "days": 30}}';
  const spec = jsonValue(value);
  if (!isObject(spec)) {
    problems.push(`${key} must be an object keyed by a plan of tollgate:plans, such as ${example}`);
    return undefined;
  }
  const declared = jsonValue(sold.plans);
  const packs = jsonValue(sold.packs);
  const packIds = Array.isArray(packs) ? packs.flatMap((p: unknown) => (isObject(p) && typeof p.id === 'string' ? [p.id] : [])) : [];
  const out: Record<string, AgentPlanPrice> = {};
  for (const [plan, price] of Object.entries(spec)) {
    const at = `${key}.${plan}`;
    const before = problems.length;
    // A price for a plan tollgate:plans does not declare sells nothing (agentPaymentsOf prices declared plans only):
    // `-c tollgate:plans=…` may replace the plans without editing tollgate:agentPayments.
    if (!isObject(declared) || !(plan in declared)) continue;
    if (packIds.includes(plan)) problems.push(`${at} has the id of a credit pack: rename the pack, as an offer id names one thing`);
    if (!isObject(price)) {
      problems.push(`${at} must be an object such as ${example.slice(9, -1)}`);
      continue;
    }
    const { amount, currency, days = 30, ...rest } = price;
    if (Object.keys(rest).length > 0) problems.push(`${at} has an unknown field ${JSON.stringify(Object.keys(rest)[0])}: use amount, currency and days`);
    if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount < 1) problems.push(`${at}.amount is ${JSON.stringify(amount)}: use a whole number of minor units (cents) ≥ 1`);
    if (typeof currency !== 'string' || !/^[a-z]{3}$/.test(currency)) problems.push(`${at}.currency is ${JSON.stringify(currency)}: use a lower-case ISO 4217 code such as "usd"`);
    if (typeof days !== 'number' || !Number.isSafeInteger(days) || days < 1 || days > 366) problems.push(`${at}.days is ${JSON.stringify(days)}: use the whole days one payment buys, 1 to 366`);
    if (problems.length > before) continue;
    out[plan] = { amount: amount as number, currency: currency as string, days: days as number };
  }
  return out;
}

function readX402(value: unknown, key: string, problems: string[]): X402Settings | undefined {
  const example = '{"network": "eip155:8453", "asset": "0x…", "payTo": "0x…", "facilitatorUrl": "https://…", "assetName": "USD Coin", "assetVersion": "2"}';
  if (!isObject(value)) {
    problems.push(`${key} must be ${example}`);
    return undefined;
  }
  const { network, asset, payTo, facilitatorUrl, assetName, assetVersion, decimals = 6, ...rest } = value;
  const before = problems.length;
  if (Object.keys(rest).length > 0) problems.push(`${key} has an unknown field ${JSON.stringify(Object.keys(rest)[0])}: use network, asset, payTo, facilitatorUrl, assetName, assetVersion and decimals`);
  if (typeof network !== 'string' || !/^eip155:\d{1,12}$/.test(network)) problems.push(`${key}.network must be an EVM network as CAIP-2 (eip155:8453 for Base, eip155:84532 for Base Sepolia)`);
  const address = /^0x[0-9a-fA-F]{40}$/;
  if (typeof asset !== 'string' || !address.test(asset)) problems.push(`${key}.asset must be the token contract's address (0x and 40 hex digits)`);
  if (typeof payTo !== 'string' || !address.test(payTo)) problems.push(`${key}.payTo must be your receiving address (0x and 40 hex digits)`);
  if (typeof facilitatorUrl !== 'string' || !/^https?:\/\/[^\s"'\\]+$/.test(facilitatorUrl)) problems.push(`${key}.facilitatorUrl must be the facilitator's http(s) URL`);
  if (typeof assetName !== 'string' || !DISPLAY_NAME.test(assetName)) problems.push(`${key}.assetName must be the token's EIP-712 domain name (USDC: "USD Coin" on Base, "USDC" on Base Sepolia)`);
  if (typeof assetVersion !== 'string' || !/^[0-9A-Za-z.]{1,10}$/.test(assetVersion)) problems.push(`${key}.assetVersion must be the token's EIP-712 domain version (USDC: "2")`);
  if (typeof decimals !== 'number' || !Number.isSafeInteger(decimals) || decimals < 2 || decimals > 36) problems.push(`${key}.decimals must be the token's decimals, 2 to 36 (USDC: 6)`);
  if (problems.length > before) return undefined;
  return { network: network as string, asset: asset as string, payTo: payTo as string, facilitatorUrl: facilitatorUrl as string, assetName: assetName as string, assetVersion: assetVersion as string, decimals: decimals as number };
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

/** cdk.json's `tollgate:*` context, validated as `cdk synth` validates it; `overrides` as `cdk -c key=value`. */
export function loadProjectConfig(root: string, overrides: Readonly<Record<string, string>> = {}): TollgateConfig {
  const context = { ...readCdkJsonContext(root), ...overrides };
  return loadConfig((key) => context[key]);
}
