/**
 * The API's access log line: one JSON object per request, the same format deployed (the stage's
 * `accessLogFormat`) and locally (the local gateway renders it from the same table). Metering counts
 * successful calls from it, and operations reports read it, so this table is the one contract between
 * the gateway and everything downstream of it.
 *
 * Values are `$context` variables; API Gateway writes `-` for a variable that has no value (a call the
 * authorizer never saw has no customerId). Every field is written as a JSON string, so a line always
 * parses; `parseAccessLogLine` turns them back into typed values.
 *
 * No source IP: an IP address is personal data, and nothing downstream needs it (metering and reports
 * key on customerId); only the Stripe customer id identifies anyone in these lines.
 */
export const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTimeEpoch',
  method: '$context.httpMethod',
  resourcePath: '$context.resourcePath',
  status: '$context.status',
  responseLatency: '$context.responseLatency',
  responseType: '$context.error.responseType',
  error: '$context.error.message',
  authorizerStatus: '$context.authorizer.status',
  authorizerLatency: '$context.authorizer.latency',
  authorizerError: '$context.authorizer.error',
  customerId: '$context.authorizer.customerId',
  /** The presented API key's id (absent for a bearer token): metering counts a key's calls against its budget. */
  keyId: '$context.authorizer.keyId',
  reason: '$context.authorizer.reason',
  /** The billing period the decision counted this call in (epoch s): the deciding plan's current period end. */
  periodEnd: '$context.authorizer.periodEnd',
  /** The subscription whose counter the call counts on (each subscription has its own, lambda/shared/customers/usage-view.ts). */
  subscription: '$context.authorizer.subscription',
  /** Units a strict route reserved from the prepaid balance at decision time (metering returns them on a non-2xx). */
  reserved: '$context.authorizer.reserved',
  /** A random id of that reservation: a retried refund is applied once. */
  reservation: '$context.authorizer.reservation',
  /** Units the customer had left at decision on a route sold by use (quota and credits); absent when nothing can run out. */
  headroom: '$context.authorizer.headroom',
  /** What pays for a call on a route sold by use: `plan` (the subscription) or `credits`; metering draws credits only for `credits`. */
  basis: '$context.authorizer.basis',
} as const;

export type AccessLogField = keyof typeof ACCESS_LOG_FIELDS;

/** The stage's `accessLogFormat`: the table as a JSON object of `$context` references. */
export const ACCESS_LOG_FORMAT = JSON.stringify(ACCESS_LOG_FIELDS);

/** What API Gateway writes for a `$context` variable without a value. */
export const NO_VALUE = '-';

/** A parsed line: every field a string or absent (`-` and empty become absent). */
export type AccessLogLine = { readonly [K in AccessLogField]?: string };

/** Parses one line; undefined when it is not tollgate's format (not JSON, or no requestId and status). */
export function parseAccessLogLine(message: string): AccessLogLine | undefined {
  let value: unknown;
  try {
    value = JSON.parse(message);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  const line: Partial<Record<AccessLogField, string>> = {};
  for (const field of Object.keys(ACCESS_LOG_FIELDS) as AccessLogField[]) {
    const raw = record[field];
    const text = typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? raw : undefined;
    if (text !== undefined && text !== '' && text !== NO_VALUE) line[field] = text;
  }
  if (line.requestId === undefined || line.status === undefined || !/^\d{3}$/.test(line.status)) return undefined;
  return line;
}

/**
 * Renders a line from the `$context` values the local gateway knows (keys as in the table's values,
 * without `$`: `context.requestId`, …); a value it does not know is written as API Gateway writes it, `-`.
 */
export function renderAccessLogLine(context: Readonly<Record<string, string | number | boolean | undefined>>): string {
  const out: Record<string, string> = {};
  for (const [field, reference] of Object.entries(ACCESS_LOG_FIELDS)) {
    const value = context[reference.slice(1)];
    out[field] = value === undefined || value === '' ? NO_VALUE : String(value);
  }
  return JSON.stringify(out);
}
