import { DEFAULT_WINDOW } from '../../lambda/metering/window';
import { ENV } from '../../lambda/shared/settings';
import { AUTHORIZER_SCHEMES } from '../openapi/build';

/**
 * A monthly AWS cost estimate read from a synthesized template: what the stack costs idle, and per
 * million calls of a route that needs a subscription and of a route sold by use. The template gives
 * what it can (resources, memory sizes, architectures, cache TTLs, log formats and retention, alarms,
 * secrets, schedules); the rest is an assumption, stated with the figure. No aws-cdk-lib: it reads
 * JSON, so the CLI and the docs test run it on any template.
 */

/** List prices, US East (N. Virginia), in US dollars. */
export const PRICES = {
  region: 'us-east-1',
  readOn: '2026-12-06',
  sources: [
    'https://aws.amazon.com/api-gateway/pricing/',
    'https://aws.amazon.com/lambda/pricing/',
    'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    'https://aws.amazon.com/cloudwatch/pricing/',
    'https://aws.amazon.com/xray/pricing/',
    'https://aws.amazon.com/secrets-manager/pricing/',
  ],
  /** REST API calls, first 333 million a month. */
  apiGatewayRestPerMillion: 3.5,
  lambdaRequestsPerMillion: 0.2,
  lambdaArmPerGbSecond: 0.0000133334,
  lambdaX86PerGbSecond: 0.0000166667,
  /** CloudWatch Logs standard class ingestion, and storage per GB-month. */
  logsIngestionPerGb: 0.5,
  logsStoragePerGbMonth: 0.03,
  /** On-demand request units (the prices since November 2024). */
  dynamoDbReadUnitsPerMillion: 0.125,
  dynamoDbWriteUnitsPerMillion: 0.625,
  xrayTracesPerMillion: 5,
  secretPerMonth: 0.4,
  /** Standard-resolution alarm, per metric it evaluates (a metric-math alarm pays for each metric). */
  alarmMetricPerMonth: 0.1,
  dashboardPerMonth: 3,
} as const;

/** What the template cannot say, each stated where it is used. */
export interface CostAssumptions {
  /** Seconds between two calls of one customer: the long tail of docs/access-timing.md. */
  readonly callIntervalSeconds: number;
  /** Share of a subscription route's calls the standing cache does not answer (B12, flushes included). */
  readonly standingUncachedShare: number;
  /** An authorizer decision's duration. */
  readonly authorizerMilliseconds: number;
  /** The decision's log line (docs/access-timing.md). */
  readonly decisionLogBytes: number;
  /** Lambda's platform start and report lines, when the function's system log level keeps them. */
  readonly platformLogBytes: number;
  /** Cold starts, per uncached decision, in dollars per million. */
  readonly coldStartPerMillion: number;
  /** Access-log lines per metering invocation, and its duration. */
  readonly meteringLinesPerBatch: number;
  readonly meteringMilliseconds: number;
  /** The clock's duration per tick. */
  readonly clockMilliseconds: number;
  /** Metering's scheduled run (the usage windows' sum) when it has no customer to write. */
  readonly windowRunMilliseconds: number;
  /**
   * Share of a metered route's calls whose customer metering writes per delivery instead of per window:
   * near its limit (it could spend what it has left within about two windows), owed a refund, or with
   * windows off.
   */
  readonly nearLimitShare: number;
  /** A windowed customer's entry in a delivery's buffer item (lambda/metering/window.ts's encoding). */
  readonly bufferBytesPerCustomer: number;
  /** Share of calls X-Ray records beyond the default rule's reservoir of one a second. */
  readonly xraySampledShare: number;
  readonly daysPerMonth: number;
}

export const DEFAULT_ASSUMPTIONS: CostAssumptions = {
  callIntervalSeconds: 11,
  standingUncachedShare: 0.16,
  authorizerMilliseconds: 10,
  decisionLogBytes: 446,
  platformLogBytes: 670,
  coldStartPerMillion: 0.02,
  meteringLinesPerBatch: 50,
  meteringMilliseconds: 100,
  clockMilliseconds: 20,
  windowRunMilliseconds: 100,
  nearLimitShare: 0.05,
  bufferBytesPerCustomer: 66,
  xraySampledShare: 0.05,
  daysPerMonth: 30,
};

export interface CostLine {
  readonly item: string;
  readonly dollars: number;
  /** How the figure is made: quantities from the template and the prices. */
  readonly basis: string;
}

export interface CostSection {
  readonly total: number;
  readonly lines: readonly CostLine[];
}

export interface CostEstimate {
  readonly region: string;
  readonly pricesReadOn: string;
  /** A month with no calls. */
  readonly idle: CostSection;
  /** Each million calls of a route that needs a key, a subscription or an entitlement. */
  readonly perMillionSubscriptionCalls: CostSection;
  /** Each million calls of a route sold by use (log-metered, cached for a second). */
  readonly perMillionMeteredCalls: CostSection;
  /** Fixed in any month with steady traffic, beside the per-call figures. */
  readonly withTraffic: CostSection;
  readonly assumptions: readonly string[];
  readonly notCounted: readonly string[];
}

export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

type Json = Record<string, unknown>;
interface Resource {
  readonly Type: string;
  readonly Properties?: Json;
}

const GB = 1e9;
const MILLION = 1e6;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Typical lengths of the `$context` values an access-log line carries ('-' when it has none). */
const CONTEXT_VALUE_BYTES: Readonly<Record<string, number>> = {
  '$context.requestId': 36,
  '$context.requestTimeEpoch': 13,
  '$context.httpMethod': 3,
  '$context.resourcePath': 16,
  '$context.status': 3,
  '$context.responseLatency': 2,
  '$context.authorizer.status': 3,
  '$context.authorizer.latency': 2,
  '$context.authorizer.customerId': 18,
  '$context.authorizer.keyId': 8,
  '$context.authorizer.periodEnd': 10,
  // A Stripe subscription id, on a call counted on a plan.
  '$context.authorizer.subscription': 28,
};
/** CloudWatch Logs counts 26 bytes of metadata per event. */
const LOG_EVENT_OVERHEAD_BYTES = 26;

/** An access-log line's bytes: the stage's format with each `$context` variable at its typical length. */
export function accessLogLineBytes(format: string): number {
  return format.replace(/\$context\.[A-Za-z.]+/g, (variable) => '-'.repeat(CONTEXT_VALUE_BYTES[variable] ?? 1)).length + LOG_EVENT_OVERHEAD_BYTES;
}

interface Fn {
  readonly logicalId: string;
  readonly service: string;
  readonly memoryGb: number;
  readonly arm: boolean;
  readonly keepsPlatformLines: boolean;
  readonly environment: Json;
}

function readFunctions(byId: Readonly<Record<string, Resource | undefined>>): Map<string, Fn> {
  const out = new Map<string, Fn>();
  for (const [logicalId, r] of Object.entries(byId)) {
    if (r === undefined) continue;
    if (r.Type !== 'AWS::Lambda::Function' || r.Properties === undefined) continue;
    const p = r.Properties;
    const env = isObject(p.Environment) && isObject(p.Environment.Variables) ? p.Environment.Variables : {};
    const service = env.POWERTOOLS_SERVICE_NAME;
    if (typeof service !== 'string') continue;
    const logging = isObject(p.LoggingConfig) ? p.LoggingConfig : {};
    out.set(service, {
      logicalId,
      service,
      environment: env,
      memoryGb: (typeof p.MemorySize === 'number' ? p.MemorySize : 128) / 1024,
      arm: Array.isArray(p.Architectures) && p.Architectures.includes('arm64'),
      keepsPlatformLines: logging.SystemLogLevel !== 'WARN' && logging.SystemLogLevel !== 'ERROR',
    });
  }
  return out;
}

function requireFunction(functions: ReadonlyMap<string, Fn>, service: string): Fn {
  const fn = functions.get(service);
  if (fn === undefined) throw new TemplateError(`the template has no ${service} function: give the template of a tollgate stack (cdk synth writes it to cdk.out/)`);
  return fn;
}

/** The authorizer cache TTL of each scheme of the API's OpenAPI body. */
function readTtls(resources: readonly Resource[]): Map<string, number> {
  const api = resources.find((r) => r.Type === 'AWS::ApiGateway::RestApi');
  const body = api?.Properties?.Body;
  const schemes = isObject(body) && isObject(body.components) && isObject(body.components.securitySchemes) ? body.components.securitySchemes : {};
  const ttls = new Map<string, number>();
  for (const [name, scheme] of Object.entries(schemes)) {
    const authorizer = isObject(scheme) ? scheme['x-amazon-apigateway-authorizer'] : undefined;
    if (isObject(authorizer) && typeof authorizer.authorizerResultTtlInSeconds === 'number') ttls.set(name, authorizer.authorizerResultTtlInSeconds);
  }
  return ttls;
}

/** Distinct secrets the stack's roles may read: its own and the ones it names (the webhook's, the Stripe key's). */
function countSecrets(resources: readonly Resource[]): number {
  const read = new Set<string>();
  for (const r of resources) {
    if (r.Type !== 'AWS::IAM::Policy') continue;
    const doc = r.Properties?.PolicyDocument;
    const statements = isObject(doc) && Array.isArray(doc.Statement) ? (doc.Statement as unknown[]) : [];
    for (const s of statements) {
      if (!isObject(s)) continue;
      const actions = Array.isArray(s.Action) ? s.Action : [s.Action];
      if (!actions.includes('secretsmanager:GetSecretValue')) continue;
      for (const resource of Array.isArray(s.Resource) ? s.Resource : [s.Resource]) read.add(JSON.stringify(resource));
    }
  }
  return read.size;
}

function alarmMetrics(resources: readonly Resource[]): { alarms: number; metrics: number } {
  const alarms = resources.filter((r) => r.Type === 'AWS::CloudWatch::Alarm');
  const metrics = alarms.reduce((sum, a) => {
    const math = a.Properties?.Metrics;
    return sum + (Array.isArray(math) ? math.filter((m) => isObject(m) && m.MetricStat !== undefined).length : 1);
  }, 0);
  return { alarms: alarms.length, metrics };
}

/** Invocations a month of a `rate(n unit)` schedule. */
function scheduleRuns(expression: unknown, days: number): number {
  const match = typeof expression === 'string' ? /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression) : null;
  if (match === null) return 0;
  const minutes = Number(match[1]) * (match[2]!.startsWith('minute') ? 1 : match[2]!.startsWith('hour') ? 60 : 1440);
  return (days * 1440) / minutes;
}

/** Invocations a month of `fn` by the schedules that target it (a rule's target is {"Fn::GetAtt": [<logical id>, "Arn"]}). */
function scheduledRunsOf(resources: readonly Resource[], fn: Fn | undefined, days: number): number {
  if (fn === undefined) return 0;
  let runs = 0;
  for (const r of resources) {
    if (r.Type !== 'AWS::Events::Rule' || !Array.isArray(r.Properties?.Targets)) continue;
    const targets = (r.Properties.Targets as unknown[]).filter((t) => isObject(t) && isObject(t.Arn) && Array.isArray(t.Arn['Fn::GetAtt']) && t.Arn['Fn::GetAtt'][0] === fn.logicalId);
    runs += targets.length * scheduleRuns(r.Properties.ScheduleExpression, days);
  }
  return runs;
}

/** The usage windows' buffer partitions a scheduled run queries per window (lambda/metering/window.ts). */
const WINDOW_SHARDS = DEFAULT_WINDOW.shards;
/** A buffer item's keys, attribute names and expiry, beside its customers. */
const BUFFER_ITEM_KEY_BYTES = 100;
const KB = 1024;

const section = (lines: CostLine[]): CostSection => ({ total: lines.reduce((sum, l) => sum + l.dollars, 0), lines });
const usd = (n: number, digits = 3): string => `$${n.toFixed(digits)}`;

export function estimateCost(template: unknown, assumptions: CostAssumptions = DEFAULT_ASSUMPTIONS): CostEstimate {
  const a = assumptions;
  const byId = (isObject(template) && isObject(template.Resources) ? template.Resources : {}) as Readonly<Record<string, Resource | undefined>>;
  const resources = Object.values(byId).filter((r): r is Resource => isObject(r) && typeof r.Type === 'string');
  if (!resources.some((r) => r.Type === 'AWS::ApiGateway::RestApi')) throw new TemplateError('the template has no REST API: give the template of a tollgate stack (cdk synth writes it to cdk.out/)');
  const functions = readFunctions(byId);
  const authorizer = requireFunction(functions, 'tollgate-authorizer');
  const metering = requireFunction(functions, 'tollgate-metering');
  const gbSecond = (fn: Fn): number => (fn.arm ? PRICES.lambdaArmPerGbSecond : PRICES.lambdaX86PerGbSecond);
  /** One invocation of `fn` lasting `ms`, its platform lines included when it keeps them. */
  const invocation = (fn: Fn, ms: number): number =>
    PRICES.lambdaRequestsPerMillion / MILLION + fn.memoryGb * (ms / 1000) * gbSecond(fn) + (fn.keepsPlatformLines ? (a.platformLogBytes / GB) * PRICES.logsIngestionPerGb : 0);
  const readUnit = PRICES.dynamoDbReadUnitsPerMillion / MILLION;
  const writeUnit = PRICES.dynamoDbWriteUnitsPerMillion / MILLION;
  const mb = (fn: Fn | undefined): number => Math.round((fn?.memoryGb ?? 0) * 1024);
  // A stack without the setting (before usage windows) writes every customer per delivery.
  const windowSetting = Number(metering.environment[ENV.meteringWindowSeconds] ?? 0);
  const windowSeconds = Number.isFinite(windowSetting) && windowSetting > 0 ? windowSetting : 0;

  // Idle: what is charged by the month, calls or none.
  const secrets = countSecrets(resources);
  const { alarms, metrics } = alarmMetrics(resources);
  const dashboards = resources.filter((r) => r.Type === 'AWS::CloudWatch::Dashboard').length;
  const clock = functions.get('tollgate-clock');
  const ticks = scheduledRunsOf(resources, clock, a.daysPerMonth);
  const tick = clock === undefined ? 0 : invocation(clock, a.clockMilliseconds) + readUnit;
  // Metering's scheduled run reads the watermark; each window it sums is closed (a write), read from its
  // shards (a strongly consistent query each, one read unit when empty) and marked summed (a write).
  const windowRuns = windowSeconds === 0 ? 0 : scheduledRunsOf(resources, metering, a.daysPerMonth);
  const windowsSummed = windowRuns === 0 ? 0 : (a.daysPerMonth * 86_400) / windowSeconds;
  const idle = section([
    { item: 'Secrets Manager secrets', dollars: secrets * PRICES.secretPerMonth, basis: `${secrets} secrets read by the functions × ${usd(PRICES.secretPerMonth, 2)}` },
    { item: 'CloudWatch alarms', dollars: metrics * PRICES.alarmMetricPerMonth, basis: `${alarms} alarms evaluating ${metrics} metrics × ${usd(PRICES.alarmMetricPerMonth, 2)}` },
    { item: 'CloudWatch dashboard', dollars: dashboards * PRICES.dashboardPerMonth, basis: `${dashboards} × ${usd(PRICES.dashboardPerMonth, 2)} (an account's first 3 are free: counted anyway)` },
    {
      item: 'clock (EventBridge schedule → Lambda)',
      dollars: ticks * tick,
      basis: `${ticks} ticks (${a.daysPerMonth} days) × (an invocation of ${mb(clock)} MB for ${a.clockMilliseconds} ms, its platform log lines, one strongly consistent read); scheduled events are free`,
    },
    ...(windowRuns === 0
      ? []
      : [
          {
            item: "usage windows' sum (EventBridge schedule → metering)",
            dollars: windowRuns * (invocation(metering, a.windowRunMilliseconds) + readUnit) + windowsSummed * (WINDOW_SHARDS * readUnit + 2 * writeUnit),
            basis: `${windowRuns} runs × (an invocation of ${mb(metering)} MB for ${a.windowRunMilliseconds} ms, its platform log lines, one strongly consistent read) + ${windowsSummed} ${windowSeconds}-second windows × (${WINDOW_SHARDS} strongly consistent queries, 2 writes)`,
          },
        ]),
  ]);

  // Every call: the gateway, its access-log line (ingested, kept for the retention), X-Ray's sample.
  const stage = resources.find((r) => r.Type === 'AWS::ApiGateway::Stage');
  const accessLog = stage?.Properties?.AccessLogSetting;
  const format = isObject(accessLog) && typeof accessLog.Format === 'string' ? accessLog.Format : '';
  const lineBytes = format === '' ? 0 : accessLogLineBytes(format);
  // The destination is the log group's ARN: {"Fn::GetAtt": [<logical id>, "Arn"]}.
  const destination = isObject(accessLog) && isObject(accessLog.DestinationArn) ? accessLog.DestinationArn['Fn::GetAtt'] : undefined;
  const accessLogGroup = Array.isArray(destination) && typeof destination[0] === 'string' ? byId[destination[0]] : undefined;
  const retentionDays = typeof accessLogGroup?.Properties?.RetentionInDays === 'number' ? accessLogGroup.Properties.RetentionInDays : 30;
  const traced = stage?.Properties?.TracingEnabled === true;
  const perCall: CostLine[] = [
    { item: 'API Gateway REST calls', dollars: PRICES.apiGatewayRestPerMillion, basis: `${usd(PRICES.apiGatewayRestPerMillion, 2)} per million` },
    {
      item: 'access log (ingestion and storage)',
      dollars: MILLION * (lineBytes / GB) * (PRICES.logsIngestionPerGb + PRICES.logsStoragePerGbMonth * (retentionDays / a.daysPerMonth)),
      basis: `${lineBytes} bytes a line (the stage's format at typical values, 26 bytes of metadata) × (${usd(PRICES.logsIngestionPerGb, 2)}/GB ingested + ${usd(PRICES.logsStoragePerGbMonth, 2)}/GB-month kept ${retentionDays} days, uncompressed: an upper bound)`,
    },
    ...(traced
      ? [{ item: 'X-Ray traces', dollars: a.xraySampledShare * PRICES.xrayTracesPerMillion, basis: `${a.xraySampledShare * 100}% of calls sampled × ${usd(PRICES.xrayTracesPerMillion, 2)} per million traces` }]
      : []),
    {
      item: 'metering (the access log subscription)',
      dollars: (MILLION / a.meteringLinesPerBatch) * invocation(metering, a.meteringMilliseconds),
      basis: `a ${Math.round(metering.memoryGb * 1024)} MB invocation of ${a.meteringMilliseconds} ms per ${a.meteringLinesPerBatch} lines that name a customer`,
    },
  ];

  const decision = invocation(authorizer, a.authorizerMilliseconds) + (a.decisionLogBytes / GB) * PRICES.logsIngestionPerGb + PRICES.dynamoDbReadUnitsPerMillion / MILLION + a.coldStartPerMillion / MILLION;
  const decisionBasis = `${Math.round(authorizer.memoryGb * 1024)} MB × ${a.authorizerMilliseconds} ms, a ${a.decisionLogBytes}-byte decision line${authorizer.keepsPlatformLines ? ` and ${a.platformLogBytes} bytes of platform lines` : ' (platform lines off)'}, one strongly consistent read, cold starts: ${usd(decision * MILLION)} per million decisions`;
  const ttls = readTtls(resources);
  const standingTtl = ttls.get(AUTHORIZER_SCHEMES.standing) ?? 300;
  const meteredTtl = ttls.get(AUTHORIZER_SCHEMES.metered) ?? standingTtl;
  // A TTL shorter than the gap between a customer's calls caches nothing: every call is decided.
  const uncached = (ttl: number): number => (ttl < a.callIntervalSeconds ? 1 : a.standingUncachedShare);
  const standingShare = uncached(standingTtl);
  const meteredShare = uncached(meteredTtl);

  const perMillionSubscriptionCalls = section([
    ...perCall,
    { item: 'authorizer decisions', dollars: standingShare * decision * MILLION, basis: `${standingShare * 100}% of calls uncached (TTL ${standingTtl} s) × ${decisionBasis}` },
  ]);
  // A call sold by use whose customer is near a limit is written per delivery: one strongly consistent
  // read and a transaction of two items (the customer's usage, the ledger entry), each under 1 KB: 2
  // write units apiece. The long tail of customers calls once a delivery (each line a customer of its own).
  const exactShare = windowSeconds === 0 ? 1 : a.nearLimitShare;
  const exactCall = 4 * writeUnit + readUnit;
  // The others are summed per window: each delivery buffers its customers in one item, written in a
  // transaction (2 write units per KB) with a check that the window is open (2 more); the window's run
  // reads them back (strongly consistent, 4 KB a unit), then reads each customer and writes it once
  // (an UpdateItem of an item under 1 KB: 1 write unit).
  const callsPerWindow = Math.max(1, windowSeconds / a.callIntervalSeconds);
  const bufferKb = Math.ceil((a.meteringLinesPerBatch * a.bufferBytesPerCustomer + BUFFER_ITEM_KEY_BYTES) / KB);
  const bufferWriteUnitsPerCall = (2 * bufferKb + 2) / a.meteringLinesPerBatch;
  const windowedCall = (writeUnit + readUnit) / callsPerWindow + bufferWriteUnitsPerCall * writeUnit + (a.bufferBytesPerCustomer / (4 * KB)) * readUnit;
  const perMillionMeteredCalls = section([
    ...perCall,
    { item: 'authorizer decisions', dollars: meteredShare * decision * MILLION, basis: `${meteredShare * 100}% of calls uncached (TTL ${meteredTtl} s) × ${decisionBasis}` },
    ...(exactShare === 1
      ? []
      : [
          {
            item: 'usage windows (metering)',
            dollars: (1 - exactShare) * windowedCall * MILLION,
            basis: `${(1 - exactShare) * 100}% of calls, from customers far from their limits: a read and a 1-unit write per customer per ${windowSeconds}-second window (${callsPerWindow.toFixed(2)} calls), and ${bufferWriteUnitsPerCall.toFixed(2)} write units per call of buffer (a ${bufferKb} KB item of ${a.meteringLinesPerBatch} customers per delivery, in a transaction): ${usd(windowedCall * MILLION)} per million of these calls`,
          },
        ]),
    {
      item: windowSeconds === 0 ? 'usage writes (metering)' : 'usage writes near a limit (metering)',
      dollars: exactShare * exactCall * MILLION,
      basis: `${exactShare * 100}% of calls, each written per delivery: a read and a two-item transaction (4 write units): ${usd(exactCall * MILLION)} per million of these calls`,
    },
  ]);

  const reservoir = Math.max(0, a.daysPerMonth * 86_400 - 100_000);
  const withTraffic = section(
    traced
      ? [{ item: 'X-Ray reservoir', dollars: (reservoir / MILLION) * PRICES.xrayTracesPerMillion, basis: `one trace a second (the default rule's reservoir) less the 100,000 free a month, at steady traffic` }]
      : [],
  );

  return {
    region: PRICES.region,
    pricesReadOn: PRICES.readOn,
    idle,
    perMillionSubscriptionCalls,
    perMillionMeteredCalls,
    withTraffic,
    assumptions: [
      `list prices of ${PRICES.region}, read on ${PRICES.readOn} (${PRICES.sources.join(', ')}); no free tier beyond what a line says`,
      `a customer calls every ${a.callIntervalSeconds} s (the long tail of docs/access-timing.md); ${a.standingUncachedShare * 100}% of subscription-route calls miss the ${standingTtl}-second cache (flushes included, B12)`,
      `an authorizer decision takes ${a.authorizerMilliseconds} ms and logs ${a.decisionLogBytes} bytes; cold starts add ${usd(a.coldStartPerMillion, 2)} per million decisions`,
      `metering receives ${a.meteringLinesPerBatch} access-log lines per invocation, ${a.meteringMilliseconds} ms each; the clock runs ${a.clockMilliseconds} ms a tick, metering's window run ${a.windowRunMilliseconds} ms`,
      windowSeconds === 0
        ? 'usage windows are off (tollgate:meteringWindowSeconds 0): every customer is written per delivery'
        : `${a.nearLimitShare * 100}% of a metered route's calls come from customers near a limit (they could spend what they have left within about two windows) and are written per delivery; the rest are summed per ${windowSeconds}-second window, each delivery's customers buffered at ${a.bufferBytesPerCustomer} bytes apiece`,
      `X-Ray records ${a.xraySampledShare * 100}% of calls beyond one a second; a month is ${a.daysPerMonth} days`,
    ],
    notCounted: [
      'your backend (the sample backend or your HTTP API) and data transfer out ($0.09/GB)',
      'DynamoDB storage ($0.25/GB-month) and point-in-time recovery ($0.20/GB-month): about 1 KB a customer, so $0.05 a month for 100,000',
      "the functions' own metrics (EMF, $0.30 per metric a month) and the metric filters' metrics, in months they receive data",
      'webhook, portal and usage-route calls: a few per customer a month',
      "a ledger entry and its settling write when a metered customer's units owe Stripe reports (overage billed): 3 write units per customer and window or delivery",
      "metering's summary log line per delivery and per window run, and the window run's time per customer (8 written at once): under $0.01 per million calls",
      'Stripe fees: Stripe bills them',
    ],
  };
}

/** The estimate as the CLI prints it. */
export function describeCost(estimate: CostEstimate): string {
  const block = (title: string, s: CostSection, unit: string): string[] => [
    `${title}: ${usd(s.total, 2)} ${unit}`,
    ...s.lines.map((l) => `  ${usd(l.dollars).padStart(8)}  ${l.item}: ${l.basis}`),
  ];
  return [
    `monthly AWS cost estimate (${estimate.region} list prices read on ${estimate.pricesReadOn})`,
    '',
    ...block('idle', estimate.idle, 'a month'),
    '',
    ...block('routes that need a subscription', estimate.perMillionSubscriptionCalls, 'per million calls'),
    '',
    ...block('routes sold by use', estimate.perMillionMeteredCalls, 'per million calls'),
    ...(estimate.withTraffic.lines.length === 0 ? [] : ['', ...block('with steady traffic, add', estimate.withTraffic, 'a month')]),
    '',
    'assumptions:',
    ...estimate.assumptions.map((s) => `  - ${s}`),
    'not counted:',
    ...estimate.notCounted.map((s) => `  - ${s}`),
  ].join('\n');
}
