import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { CONTEXT_PREFIX, ConfigError, loadConfig, type CreditPack, type ReservedConcurrency, type TollgateConfig } from './config/tollgate-config';
import type { OperationsConfig } from './config/operations';
import { LOCAL_RUN_METADATA, localRunMetadata } from './config/construct-metadata';
import { loadApiDocument } from './openapi/load';
import { TollgateResources } from './tollgate-stack';

/**
 * tollgate as a construct: `new Tollgate(stack, 'Paywall', { openApiDocument: 'openapi.json', … })` in
 * any CDK app. Its props are the `tollgate:*` settings of this repository's cdk.json
 * (docs/configuration.md), under the same names, validated by the same rules before anything is built.
 */

/** A usage plan, keyed by the Stripe price's lookup key (or id) its subscription items carry. */
export interface TollgatePlanProps {
  /** Display name, shown in the portal and the usage route. */
  readonly name: string;
  /** Units per billing period. @default - unlimited */
  readonly quota?: number;
  /** Past the quota: `block` answers 402 quota_exceeded, `bill` serves and reports to `meter`. @default "block" */
  readonly overage?: 'block' | 'bill';
  /** The Stripe Billing Meter event_name billed units are reported to (required by `bill`). @default - none */
  readonly meter?: string;
}

type SettingProps = Omit<TollgateConfig, 'openApiDocument' | 'operations' | 'reservedConcurrency' | 'plans' | 'creditPacks' | 'issuers' | 'portalBrand' | 'agentPayments' | 'alerts'>;

/** The portal's colours: each a hex colour with at least 4.5:1 contrast with white (WCAG AA). */
export interface TollgatePortalColors {
  /** The header and buttons (white text on them). @default - tollgate's dark grey */
  readonly accent?: string;
  /** The links. @default - tollgate's blue */
  readonly link?: string;
}

/**
 * Every setting is optional but the document; each defaults as documented on it (and in
 * docs/configuration.md, as `tollgate:<name>`). A mistake throws one `ConfigError` listing every
 * problem, each naming the setting as `tollgate:<name>` and saying what to use.
 */
export interface TollgateProps extends Partial<SettingProps>, Partial<OperationsConfig> {
  /**
   * Your API's OpenAPI 3.0 document, each operation marked with `x-tollgate` (docs/protecting-your-api.md):
   * the path of its JSON file, relative to `projectRoot`, or the parsed document.
   */
  readonly openApiDocument: string | Readonly<Record<string, unknown>>;
  /** Where a relative `openApiDocument` is resolved. @default process.cwd() */
  readonly projectRoot?: string;
  /** The REST API's name. @default `<id>-api` */
  readonly apiName?: string;
  /** Usage plans, keyed by Stripe price lookup key or id. A plan not listed is unlimited. @default {} */
  readonly plans?: Readonly<Record<string, TollgatePlanProps>>;
  /** Prepaid credit packs the portal offers (one-time Stripe prices). @default [] */
  readonly creditPacks?: readonly CreditPack[];
  /**
   * Reserved concurrency per function, or `off` (a new account whose quota is below 100 + the sum).
   * @default authorizer: the stage's rate × 50 ms (at least 10), webhook 10, metering 5, clock 1
   */
  readonly reservedConcurrency?: Partial<ReservedConcurrency> | 'off';
  /** OAuth 2.0 / OIDC issuers whose tokens are accepted beside API keys, as in docs/tokens.md. @default - none */
  readonly issuers?: ReadonlyArray<Readonly<Record<string, unknown>>>;
  /** Your product's name in the portal's header and page titles (1 to 60 characters). @default - tollgate's plain pages */
  readonly portalName?: string;
  /** An https URL of your logo, shown in the portal's header. @default - none */
  readonly portalLogoUrl?: string;
  /** The portal's colours. @default - tollgate's dark grey and blue */
  readonly portalColors?: TollgatePortalColors;
  /** Selling credit packs to agents over MPP, as in docs/agents.md: `{ mpp: { networkId: 'profile_…' } }`. @default - off */
  readonly agentPayments?: Readonly<Record<string, unknown>>;
  /** Threshold alerts to your EventBridge bus, a signed webhook and your customers' e-mail, as in docs/alerts.md. @default - off */
  readonly alerts?: Readonly<Record<string, unknown>>;
}

/** Every prop a Tollgate reads: anything else is a mistake (a misspelt name would otherwise fall back to its default). */
export const TOLLGATE_PROP_NAMES = [
  'openApiDocument', 'projectRoot', 'apiName', 'backendUrl', 'gracePeriodHours', 'authorizerCacheTtlSeconds', 'meteredCacheTtlSeconds',
  'meteringWindowSeconds', 'cacheFlushIntervalSeconds', 'docsBaseUrl', 'checkoutUrl', 'portalUrl', 'publicUrl', 'stripeWebhookSecretName', 'stripeApiKeySecretName',
  'corsAllowOrigin', 'corsAllowHeaders', 'corsAllowMethods', 'corsMaxAgeSeconds', 'forwardAuthorization', 'stageName', 'domainName',
  'certificateArn', 'accountThrottleRateLimit', 'accountThrottleBurstLimit', 'reservedConcurrency', 'throttleRateLimit', 'throttleBurstLimit',
  'webhookThrottleRateLimit', 'webhookThrottleBurstLimit', 'issuers', 'plans', 'creditPacks', 'alarmTopicArn', 'alarmEmail',
  'alarmPeriodMinutes', 'authorizerFailureThreshold', 'webhookFailureThreshold', 'signatureFailureThreshold', 'flushFailureThreshold',
  'stripeReportingFailureThreshold', 'accessLogRetentionDays', 'functionLogRetentionDays', 'portalName', 'portalLogoUrl', 'portalColors',
  'agentPayments', 'alerts',
] as const satisfies ReadonlyArray<keyof TollgateProps>;

// A prop the list lacks would be refused as unknown, and this app's context key for it ignored: the
// compiler holds the list to the props (a setting added to the configuration breaks here first).
type UnlistedProps = Exclude<keyof TollgateProps, (typeof TOLLGATE_PROP_NAMES)[number]>;
export const EVERY_PROP_LISTED: [UnlistedProps] extends [never] ? true : UnlistedProps = true;

/** The validated configuration and the parsed document of `props`: throws ConfigError (or the document's error) on a mistake. */
export function resolveTollgateProps(props: TollgateProps): { config: TollgateConfig; apiDocument: unknown } {
  const unknown = Object.keys(props).filter((name) => !(TOLLGATE_PROP_NAMES as readonly string[]).includes(name));
  if (unknown.length > 0) throw new ConfigError(unknown.map((name) => `Tollgate has no prop "${name}": see TollgateProps (docs/configuration.md lists each as tollgate:<name>)`));
  const values = props as unknown as Readonly<Record<string, unknown>>;
  const document: unknown = props.openApiDocument;
  // A string is a file; a parsed document is an object; anything else goes to the rules, which say what to use.
  const inline = typeof document === 'object' && document !== null && !Array.isArray(document);
  const config = loadConfig((key) => {
    if (!key.startsWith(CONTEXT_PREFIX)) return undefined;
    const name = key.slice(CONTEXT_PREFIX.length);
    return name === 'openApiDocument' && inline ? undefined : values[name];
  });
  const apiDocument = inline ? document : loadApiDocument(config.openApiDocument, props.projectRoot ?? process.cwd());
  return { config, apiDocument };
}

/**
 * The paywall in front of an API: the REST API built from your OpenAPI document, the Lambda authorizer
 * that answers 402 from payment state, the Stripe webhook that keeps it, metering, the portal, the
 * tables, alarms and dashboard (docs/stack.md). The props are checked before anything is built.
 */
export class Tollgate extends TollgateResources {
  constructor(scope: Construct, id: string, props: TollgateProps) {
    super(scope, id, { ...resolveTollgateProps(props), ...(props.apiName === undefined ? {} : { apiName: props.apiName }) });
    // For `tollgate start` in the user's app: the local run serves these settings and this document.
    this.node.addMetadata(LOCAL_RUN_METADATA, localRunMetadata(props as unknown as Readonly<Record<string, unknown>>, process.cwd()));
  }
}

export interface TollgateStackProps extends StackProps {
  readonly tollgate: TollgateProps;
}

/**
 * This repository's stack: one Tollgate, under the id `Default`, which CDK leaves out of logical ids, so
 * its resources keep the ids they had before the construct existed (a deployed stack updates in place).
 */
export class TollgateStack extends Stack {
  readonly tollgate: Tollgate;

  constructor(scope: Construct, id: string, props: TollgateStackProps) {
    super(scope, id, props);
    this.tollgate = new Tollgate(this, 'Default', { apiName: `${id}-api`, ...props.tollgate });
  }
}
