/**
 * Operations settings (`cdk.json` context, `-c tollgate:<name>=<value>`): where alarms go, their
 * thresholds, and how long logs are kept. Validated with the rest of the configuration, at synth.
 */

export interface OperationsConfig {
  /** An existing SNS topic every alarm notifies. @default - none */
  readonly alarmTopicArn?: string;
  /** An e-mail address subscribed to a topic the stack creates for the alarms. @default - none */
  readonly alarmEmail?: string;
  /** The period every alarm evaluates, in minutes. @default 5 */
  readonly alarmPeriodMinutes: number;
  /** Authorizer 503s (AUTHORIZER_FAILURE, AUTHORIZER_CONFIGURATION_ERROR) in one period that alarm. @default 1 */
  readonly authorizerFailureThreshold: number;
  /** Webhook deliveries answered 500 in one period that alarm. @default 3 */
  readonly webhookFailureThreshold: number;
  /** Webhook deliveries refused for their signature (missing, wrong, stale) in one period that alarm. @default 10 */
  readonly signatureFailureThreshold: number;
  /** Failed authorizer cache flushes (webhook and clock) in one period that alarm. @default 1 */
  readonly flushFailureThreshold: number;
  /** Meter events Stripe refused in one period that alarm. @default 1 */
  readonly stripeReportingFailureThreshold: number;
  /** Days the API's access log is kept. @default 90 */
  readonly accessLogRetentionDays: number;
  /** Days each function's log is kept. @default 30 */
  readonly functionLogRetentionDays: number;
}

export const DEFAULT_OPERATIONS_CONFIG: OperationsConfig = {
  alarmPeriodMinutes: 5,
  authorizerFailureThreshold: 1,
  webhookFailureThreshold: 3,
  signatureFailureThreshold: 10,
  flushFailureThreshold: 1,
  stripeReportingFailureThreshold: 1,
  accessLogRetentionDays: 90,
  functionLogRetentionDays: 30,
};

/** The retention periods CloudWatch Logs accepts (days). */
export const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

const PREFIX = 'tollgate:';

/** Reads the operations keys; appends a message per bad value to `problems` (the caller throws them together). */
export function loadOperationsConfig(read: (key: string) => unknown, problems: string[]): OperationsConfig {
  const raw = (name: keyof OperationsConfig): unknown => {
    const value = read(PREFIX + name);
    return value === null || (typeof value === 'string' && value.trim() === '') ? undefined : value;
  };

  const whole = (name: keyof OperationsConfig, min: number, max: number, unit: string): number => {
    const fallback = DEFAULT_OPERATIONS_CONFIG[name] as number;
    const value = raw(name);
    if (value === undefined) return fallback;
    const parsed = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
    if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
      problems.push(`${PREFIX}${name} is ${JSON.stringify(value)}: use a whole number of ${unit} from ${min} to ${max}`);
      return fallback;
    }
    return parsed;
  };

  const retention = (name: 'accessLogRetentionDays' | 'functionLogRetentionDays'): number => {
    const days = whole(name, 1, 3653, 'days');
    if (!(RETENTION_DAYS as readonly number[]).includes(days)) {
      problems.push(`${PREFIX}${name} is ${days}: CloudWatch Logs keeps logs for one of ${RETENTION_DAYS.join(', ')} days`);
      return DEFAULT_OPERATIONS_CONFIG[name];
    }
    return days;
  };

  const matching = (name: 'alarmTopicArn' | 'alarmEmail', pattern: RegExp, what: string): string | undefined => {
    const value = raw(name);
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || !pattern.test(value.trim())) {
      problems.push(`${PREFIX}${name} is ${JSON.stringify(value)}: use ${what}`);
      return undefined;
    }
    return value.trim();
  };

  const alarmTopicArn = matching('alarmTopicArn', /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/, 'an SNS topic ARN such as arn:aws:sns:eu-west-1:123456789012:oncall');
  const alarmEmail = matching('alarmEmail', /^[^\s@"'<>]+@[^\s@"'<>]+\.[^\s@"'<>]+$/, 'one e-mail address such as oncall@example.com');
  return {
    ...(alarmTopicArn === undefined ? {} : { alarmTopicArn }),
    ...(alarmEmail === undefined ? {} : { alarmEmail }),
    alarmPeriodMinutes: whole('alarmPeriodMinutes', 1, 60, 'minutes'),
    authorizerFailureThreshold: whole('authorizerFailureThreshold', 1, 100_000, 'responses'),
    webhookFailureThreshold: whole('webhookFailureThreshold', 1, 100_000, 'deliveries'),
    signatureFailureThreshold: whole('signatureFailureThreshold', 1, 100_000, 'deliveries'),
    flushFailureThreshold: whole('flushFailureThreshold', 1, 100_000, 'flushes'),
    stripeReportingFailureThreshold: whole('stripeReportingFailureThreshold', 1, 100_000, 'meter events'),
    accessLogRetentionDays: retention('accessLogRetentionDays'),
    functionLogRetentionDays: retention('functionLogRetentionDays'),
  };
}
