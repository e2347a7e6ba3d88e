import {
  cognitoUserPool,
  DEFAULT_CLOCK_SKEW_SECONDS,
  isLoopbackUrl,
  MAX_CLOCK_SKEW_SECONDS,
  TOKEN_ALGORITHMS,
  type CustomerMapping,
  type TokenAlgorithm,
  type TrustedIssuer,
} from '../../lambda/shared/issuers';

/**
 * `tollgate:issuers`: the OAuth 2.0 / OpenID Connect issuers whose access tokens the authorizer accepts
 * beside API keys. A JSON array in cdk.json (or -c tollgate:issuers='[…]'), validated at synth; every
 * problem names the entry and says what to write instead.
 *
 *   { "issuer": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123",
 *     "clientIds": ["4example"], "tokenUse": "access", "customer": "claim:custom:stripe_customer_id" }
 *   { "issuer": "https://example.eu.auth0.com/", "audience": ["https://api.example.com"],
 *     "algorithms": ["RS256"], "customer": "subject" }
 */

export const ISSUERS_KEY = 'tollgate:issuers';
const FIELDS = new Set(['issuer', 'audience', 'clientIds', 'tokenUse', 'algorithms', 'jwksUri', 'customer', 'clockSkewSeconds']);
const CLAIM_NAME = /^[A-Za-z0-9_:.\-/]{1,128}$/;
const LIST_ITEM = /^[^\s"\\]{1,256}$/;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** An https URL (http on loopback only: the local issuer), no fragment, no query, no credentials. */
function urlProblem(value: unknown, what: string): string | undefined {
  if (typeof value !== 'string' || !URL.canParse(value)) return `${what} must be an absolute https URL`;
  const url = new URL(value);
  if (url.protocol !== 'https:' && !isLoopbackUrl(value)) return `${what} is "${value}": use https (http only on 127.0.0.1 or localhost)`;
  if (url.hash !== '' || value.includes('#') || url.search !== '' || url.username !== '' || url.password !== '') {
    return `${what} is "${value}": use a URL without a query, a fragment or credentials`;
  }
  return undefined;
}

function parseCustomer(value: unknown): CustomerMapping | undefined {
  if (value === 'subject') return { kind: 'subject' };
  if (typeof value === 'string' && value.startsWith('claim:') && CLAIM_NAME.test(value.slice('claim:'.length))) {
    return { kind: 'claim', claim: value.slice('claim:'.length) };
  }
  return undefined;
}

/** Validates `tollgate:issuers` (undefined: none), pushing one line per problem. */
export function readIssuers(value: unknown, problems: string[]): TrustedIssuer[] {
  if (value === undefined || value === null || value === '') return [];
  let raw: unknown = value;
  if (typeof value === 'string') {
    try {
      raw = JSON.parse(value);
    } catch {
      problems.push(`${ISSUERS_KEY} is not JSON: write it as a JSON array of issuers, e.g. [{"issuer": "https://…", "audience": ["…"], "customer": "subject"}]`);
      return [];
    }
  }
  if (!Array.isArray(raw)) {
    problems.push(`${ISSUERS_KEY} must be a JSON array of issuers, e.g. [{"issuer": "https://…", "audience": ["…"], "customer": "subject"}]`);
    return [];
  }
  const issuers: TrustedIssuer[] = [];
  const seen = new Set<string>();
  raw.forEach((entry: unknown, i) => {
    const at = `${ISSUERS_KEY}[${i}]`;
    const before = problems.length;
    const problem = (text: string): void => void problems.push(`${at}: ${text}`);
    if (!isObject(entry)) {
      problem('must be an object with "issuer", "audience" or "clientIds", and "customer"');
      return;
    }
    for (const key of Object.keys(entry)) {
      if (!FIELDS.has(key)) problem(`unknown field "${key}": use ${[...FIELDS].join(', ')}`);
    }
    const issuerProblem = urlProblem(entry.issuer, '"issuer"');
    if (issuerProblem !== undefined) problem(`${issuerProblem} (the exact "iss" value of its tokens)`);
    const issuer = typeof entry.issuer === 'string' ? entry.issuer : '';
    if (seen.has(issuer)) problem(`"${issuer}" is listed twice: merge the two entries`);
    seen.add(issuer);
    const pool = cognitoUserPool(issuer);
    if (issuer.includes('cognito-idp.') && pool === undefined && issuerProblem === undefined) {
      problem(`"${issuer}" is not a Cognito user pool issuer: use https://cognito-idp.<region>.amazonaws.com/<userPoolId>`);
    }

    const list = (name: 'audience' | 'clientIds'): string[] | undefined => {
      const v = entry[name];
      if (v === undefined) return undefined;
      if (!Array.isArray(v) || v.length === 0 || !v.every((s) => typeof s === 'string' && LIST_ITEM.test(s))) {
        problem(`"${name}" must be a non-empty list of strings without spaces or quotes`);
        return undefined;
      }
      return v as string[];
    };
    const audience = list('audience');
    const clientIds = list('clientIds');

    let tokenUse: 'access' | 'id' | undefined;
    if (pool !== undefined) {
      if (entry.tokenUse !== 'access' && entry.tokenUse !== 'id') problem('a Cognito issuer needs "tokenUse": "access" or "id" (which of its tokens your clients send)');
      else tokenUse = entry.tokenUse;
      if (clientIds === undefined) problem('a Cognito issuer needs "clientIds": the app client ids whose tokens are accepted');
      if (audience !== undefined) problem('a Cognito issuer checks "clientIds", not "audience": move the ids to "clientIds"');
      if (entry.jwksUri !== undefined) problem('a Cognito issuer publishes its keys at <issuer>/.well-known/jwks.json: remove "jwksUri"');
    } else {
      if (entry.tokenUse !== undefined) problem('"tokenUse" applies to Cognito issuers only: remove it');
      if (audience === undefined) problem('"audience" is required: the "aud" values your API accepts (never accept any audience: a token for another API would pass)');
      if (clientIds !== undefined) problem('"clientIds" applies to Cognito issuers only: use "audience"');
    }

    let algorithms: TokenAlgorithm[] = ['RS256'];
    if (entry.algorithms !== undefined) {
      const v = entry.algorithms;
      if (!Array.isArray(v) || v.length === 0 || !v.every((a) => (TOKEN_ALGORITHMS as readonly unknown[]).includes(a))) {
        problem(`"algorithms" is ${JSON.stringify(v)}: use a non-empty list of ${TOKEN_ALGORITHMS.join(', ')} (HS* and none cannot be verified against public keys)`);
      } else {
        algorithms = v as TokenAlgorithm[];
      }
    }

    if (entry.jwksUri !== undefined) {
      const jwksProblem = urlProblem(entry.jwksUri, '"jwksUri"');
      if (jwksProblem !== undefined) problem(jwksProblem);
    }

    const customer = parseCustomer(entry.customer);
    if (customer === undefined) {
      problem(`"customer" is ${JSON.stringify(entry.customer)}: use "claim:<name>" (a claim holding the Stripe customer id) or "subject" (the token's sub, linked with npx tollgate customers link-subject)`);
    }

    let clockSkewSeconds = DEFAULT_CLOCK_SKEW_SECONDS;
    if (entry.clockSkewSeconds !== undefined) {
      const v = entry.clockSkewSeconds;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_CLOCK_SKEW_SECONDS) {
        problem(`"clockSkewSeconds" is ${JSON.stringify(v)}: use a whole number of seconds from 0 to ${MAX_CLOCK_SKEW_SECONDS}`);
      } else {
        clockSkewSeconds = v;
      }
    }

    if (problems.length > before || customer === undefined) return;
    issuers.push({
      issuer,
      kind: pool === undefined ? 'oidc' : 'cognito',
      ...(audience === undefined ? {} : { audience }),
      ...(clientIds === undefined ? {} : { clientIds }),
      ...(tokenUse === undefined ? {} : { tokenUse }),
      algorithms,
      ...(typeof entry.jwksUri === 'string' ? { jwksUri: entry.jwksUri } : {}),
      customer,
      clockSkewSeconds,
    });
  });
  return issuers;
}
