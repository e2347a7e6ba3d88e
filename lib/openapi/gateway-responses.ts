import { DEFAULT_CORS_ALLOW_HEADERS } from './integrations';
import { TOLLGATE_PREFIX } from '../../lambda/shared/portal-paths';
import { offersJson, type AgentPayments } from '../../lambda/shared/agents/offers';
import { PAYMENT_REQUIRED_HEADER } from '../../lambda/shared/agents/x402';
import { PROTECTED_RESOURCE_PATH } from '../../lambda/mcp/catalog';
import { OTHER_PROBLEMS } from '../../lambda/shared/problems';

const PROBLEMS_PATH = `${TOLLGATE_PREFIX}/problems`;

/**
 * The gateway responses that turn authorizer outcomes into the status triage of DESIGN.md.
 *
 * An authorizer cannot choose a status code: a Deny is ACCESS_DENIED, a thrown "Unauthorized" is
 * UNAUTHORIZED, anything else AUTHORIZER_FAILURE. tollgate's authorizer only ever denies for payment,
 * so ACCESS_DENIED is re-mapped to 402 and carries the authorizer's context.
 *
 * Gateway response templates are plain `$variable` substitution (no VTL), and customised responses do
 * not inherit DEFAULT_4XX headers: every one carries its own CORS and caching headers.
 */

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
export const RETRY_AFTER_SECONDS = 1;

export interface GatewayResponseOptions {
  /** Base URL of the problem pages. @default - the stack's own: `https://$context.domainName/$context.stage/tollgate/problems` */
  readonly docsBaseUrl?: string;
  /** The scheme of the stage's own pages (the local gateway serves http). @default "https" */
  readonly selfScheme?: 'https' | 'http';
  readonly corsAllowOrigin: string;
  /** @default ["Authorization", "Content-Type"] */
  readonly corsAllowHeaders?: readonly string[];
  /**
   * Selling to agents (docs/agents.md): the 402 maps the Deny's challenges into `WWW-Authenticate` and its
   * offers into the body; the 401 lists the packs and where to buy them. @default - off
   */
  readonly agentPayments?: AgentPayments;
  /** The stage serves protected-resource metadata (RFC 9728, lib/openapi/mcp.ts): the 401 points to it. @default false */
  readonly protectedResourceMetadata?: boolean;
  /** The URL clients reach the stage at: a header can only name the metadata as a literal. @default - the 401's body names it, its header cannot */
  readonly publicUrl?: string;
}

export interface GatewayResponse {
  readonly statusCode: string;
  readonly responseParameters: Record<string, string>;
  readonly responseTemplates: Record<string, string>;
}

/** Header name → value, as API Gateway's `gatewayresponse.header.*` static values ('quoted'). */
function headers(values: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([name, value]) => [`gatewayresponse.header.${name}`, `'${value}'`]));
}

function problemTemplate(fields: ReadonlyArray<readonly [string, string]>): string {
  // Values are template fragments already in JSON form ("…" strings or bare numbers/$variables).
  return `{${fields.map(([name, value]) => `"${name}":${value}`).join(',')}}`;
}

const str = (value: string): string => `"${value}"`;

type Field = readonly [string, string];

/**
 * The 401. With protected-resource metadata (MCP's OAuth discovery), its body names the metadata's URL
 * (templates can build it per request) and, when the public URL is configured, so does
 * `WWW-Authenticate`: header values are literals or whole variables, never a URL built from parts.
 */
function unauthorized(
  options: GatewayResponseOptions,
  base: string,
  response: (status: number, headers: Record<string, string>, fields: readonly Field[]) => GatewayResponse,
  requestId: Field,
  offers: readonly Field[],
): GatewayResponse {
  if (options.protectedResourceMetadata !== true) {
    return response(401, { 'WWW-Authenticate': 'Bearer realm="tollgate"' }, [
      ['type', str(`${base}/unauthorized`)],
      ['title', str('Unauthorized')],
      ['status', '401'],
      ['detail', str(OTHER_PROBLEMS.unauthorized.detail)],
      ...offers,
      requestId,
    ]);
  }
  const publicUrl = options.publicUrl?.replace(/\/+$/, '');
  if (publicUrl !== undefined && /['"\s\\]/.test(publicUrl)) throw new Error(`the public URL "${publicUrl}" cannot go in a header: use a URL without quotes, spaces or backslashes`);
  const challenge = publicUrl === undefined ? 'Bearer realm="tollgate"' : `Bearer realm="tollgate", resource_metadata="${publicUrl}${PROTECTED_RESOURCE_PATH}"`;
  return response(401, { 'WWW-Authenticate': challenge }, [
    ['type', str(`${base}/unauthorized`)],
    ['title', str('Unauthorized')],
    ['status', '401'],
    ['detail', str(`${OTHER_PROBLEMS.unauthorized.detail} resourceMetadata names the token issuers.`)],
    ['resourceMetadata', str(`${options.selfScheme ?? 'https'}://$context.domainName/$context.stage${PROTECTED_RESOURCE_PATH}`)],
    ...offers,
    requestId,
  ]);
}

export function buildGatewayResponses(options: GatewayResponseOptions): Record<string, GatewayResponse> {
  // RFC 9457: a type URI should explain the problem when dereferenced. By default it names the stack's
  // own problem page, built per request from the domain and stage the caller used.
  const base = (options.docsBaseUrl ?? `${options.selfScheme ?? 'https'}://$context.domainName/$context.stage${PROBLEMS_PATH}`).replace(/\/+$/, '');
  const common = {
    'Content-Type': PROBLEM_CONTENT_TYPE,
    'Cache-Control': 'no-store',
    'Access-Control-Allow-Origin': options.corsAllowOrigin,
    'Access-Control-Allow-Headers': (options.corsAllowHeaders ?? DEFAULT_CORS_ALLOW_HEADERS).join(','),
    'Access-Control-Expose-Headers': options.agentPayments?.x402 === undefined ? 'Retry-After,WWW-Authenticate' : `Retry-After,WWW-Authenticate,${PAYMENT_REQUIRED_HEADER}`,
  };
  const requestId = ['requestId', str('$context.requestId')] as const;
  const agents = options.agentPayments;
  // A keyless caller is answered before the authorizer runs: its offers are static, from configuration.
  const selfBase = `${options.selfScheme ?? 'https'}://$context.domainName/$context.stage`;
  const keylessOffers = agents === undefined ? [] : ([['offers', offersJson({ packs: agents.packs, plans: [] }, selfBase, undefined, agents.x402)]] as const);

  const response = (
    statusCode: number | undefined,
    extraHeaders: Record<string, string>,
    fields: ReadonlyArray<readonly [string, string]>,
  ): GatewayResponse => ({
    ...(statusCode === undefined ? {} : { statusCode: String(statusCode) }),
    responseParameters: headers({ ...common, ...extraHeaders }),
    responseTemplates: { 'application/json': problemTemplate(fields) },
  }) as GatewayResponse;

  const unavailable = response(503, { 'Retry-After': String(RETRY_AFTER_SECONDS) }, [
    ['type', str(`${base}/service_unavailable`)],
    ['title', str('Service unavailable')],
    ['status', '503'],
    ['detail', str('The paywall could not check your access right now. Retry shortly.')],
    requestId,
  ]);

  const denied = response(402, {}, [
      ['type', str(`${base}/$context.authorizer.reason`)],
      ['title', str('$context.authorizer.title')],
      ['status', '402'],
      ['detail', str('$context.authorizer.detail')],
      ['reason', str('$context.authorizer.reason')],
      ['subscriptionStatus', str('$context.authorizer.subscriptionStatus')],
      ['paymentUrl', str('$context.authorizer.paymentUrl')],
      // Usage fields: the authorizer sets each to a JSON literal (a number, a quoted string or null) for
      // every reason, so the body stays valid JSON whichever reason it renders.
      ['limit', '$context.authorizer.limit'],
      ['used', '$context.authorizer.used'],
      ['resetsAt', '$context.authorizer.resetsAt'],
      ['balance', '$context.authorizer.balance'],
      // The authorizer sets both for every policy that denies (lambda/authorizer/offers.ts).
      ...(agents === undefined ? [] : ([['offers', '$context.authorizer.offers']] as const)),
      requestId,
    ]);
  return {
    ACCESS_DENIED:
      agents === undefined
        ? denied
        : {
            ...denied,
            responseParameters: {
              ...denied.responseParameters,
              'gatewayresponse.header.WWW-Authenticate': 'context.authorizer.wwwAuthenticate',
              ...(agents.x402 === undefined ? {} : { [`gatewayresponse.header.${PAYMENT_REQUIRED_HEADER}`]: 'context.authorizer.paymentRequired' }),
            },
          },
    UNAUTHORIZED: unauthorized(options, base, response, requestId, keylessOffers),
    AUTHORIZER_FAILURE: unavailable,
    AUTHORIZER_CONFIGURATION_ERROR: unavailable,
    THROTTLED: response(429, { 'Retry-After': String(RETRY_AFTER_SECONDS) }, [
      ['type', str(`${base}/too_many_requests`)],
      ['title', str('Too many requests')],
      ['status', '429'],
      ['detail', str('Slow down and retry after the Retry-After delay.')],
      requestId,
    ]),
    // DEFAULT_4XX/5XX cover many statuses, and gateway templates have no status variable: no "status" member.
    DEFAULT_4XX: response(undefined, {}, [
      ['type', str('about:blank')],
      ['title', '$context.error.messageString'],
      ['detail', '$context.error.messageString'],
      requestId,
    ]),
    DEFAULT_5XX: response(undefined, {}, [
      ['type', str('about:blank')],
      ['title', '$context.error.messageString'],
      ['detail', '$context.error.messageString'],
      requestId,
    ]),
  };
}
