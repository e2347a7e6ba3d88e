/**
 * How a failure reads: one line, no stack trace. Errors written for people (ours, and the domain's
 * typed errors) keep their message; the AWS SDK's are translated into what to do.
 */

/** Errors whose message is written for people: matched by name, so the CLI does not import every layer's classes. */
const FOR_PEOPLE = new Set([
  'CliError',
  'TargetError',
  'KeyNotFoundError',
  'KeyNotActiveError',
  'KeyConflictError',
  'KeyLimitError',
  'CustomerDeletedError',
  'UnknownCustomerError',
  'CorruptRecordError',
  'SecretFormatError',
  'ApiDocumentError',
  'OpenApiError',
  'RequirementError',
  'RangeError',
]);

/** The SDK found no credentials (none configured, an unknown profile, an expired SSO session). */
const NO_CREDENTIALS = new Set(['CredentialsProviderError', 'TokenProviderError']);
/** AWS received credentials and refused them. */
const REFUSED_CREDENTIALS = new Set([
  'ExpiredTokenException',
  'ExpiredToken',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'InvalidSignatureException',
  'IncompleteSignature',
]);
const UNREACHABLE = /ECONNREFUSED|ECONNRESET|ENOTFOUND|fetch failed|socket hang up|TimeoutError|ResourceNotFoundException/;

const HOW_TO_SIGN_IN =
  'sign in with aws sso login --profile <name> (or aws configure --profile <name>), then pass --profile <name> or set AWS_PROFILE=<name>; or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY';

export const oneLine = (text: string): string => text.replace(/\s*\n\s*/g, ' ').trim();

export interface FailureContext {
  readonly target?: 'local' | 'deployed';
  /** The AWS profile in use (--profile or AWS_PROFILE), if any. */
  readonly profile?: string;
}

export function describeFailure(err: unknown, { target, profile }: FailureContext): string {
  if (!(err instanceof Error)) return `failed: ${String(err)}`;
  if (err.name === 'ConfigError' && 'problems' in err && Array.isArray(err.problems)) {
    return `invalid tollgate configuration: ${err.problems.join('; ')}: fix cdk.json (tollgate:* context)`;
  }
  if (FOR_PEOPLE.has(err.name)) return err.message;
  const withProfile = profile === undefined ? '' : ` of profile "${profile}"`;
  if (NO_CREDENTIALS.has(err.name)) return `no AWS credentials${withProfile} for the deployed stack (${err.message}): ${HOW_TO_SIGN_IN}`;
  if (REFUSED_CREDENTIALS.has(err.name)) return `AWS refused the credentials${withProfile} (${err.name}: ${err.message}): ${HOW_TO_SIGN_IN}`;
  if (UNREACHABLE.test(`${err.name} ${err.message}`)) {
    return `the ${target ?? 'local'} stack did not answer (${err.name}: ${err.message}): is it running? (npm start, or check --outputs/--region)`;
  }
  return `failed: ${err.name}: ${err.message}`;
}
