import { OTHER_PROBLEMS, PAYMENT_PROBLEMS, PAYMENT_REASONS } from '../../lambda/shared/problems';
import { formatRequirement, type Requirement } from '../../lambda/shared/requirements';
import { PORTAL_PATHS, TOLLGATE_PREFIX } from '../../lambda/shared/portal-paths';
import { lambdaProxy } from './integrations';

/**
 * What the builder adds for people and tools that read the API: the problem body declared once
 * (`components.schemas.Problem`) and referenced by every secured operation's 401, 402, 429 and 503,
 * and tollgate's own public routes (docs, problem pages, the document, the developer portal), all
 * served by the portal function. Pure.
 */

export { TOLLGATE_PREFIX, PORTAL_PATHS };
export const PROBLEM_SCHEMA = 'Problem';
const PROBLEM_REF = { $ref: `#/components/schemas/${PROBLEM_SCHEMA}` };
const PROBLEM_JSON = 'application/problem+json';

/** RFC 9457 problem details, with tollgate's 402 members. */
export const PROBLEM_SCHEMA_OBJECT = {
  type: 'object',
  description: 'RFC 9457 problem details. Dereference `type` for what the problem means and what to do.',
  required: ['type', 'title', 'status'],
  properties: {
    type: { type: 'string', format: 'uri', description: 'A URI per problem; its page explains it.' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string', description: 'A sentence a person can act on.' },
    reason: { type: 'string', enum: [...PAYMENT_REASONS], description: '402 only: why payment standing does not cover the route.' },
    subscriptionStatus: { type: 'string', description: "402 only: the deciding subscription's Stripe status, or none." },
    paymentUrl: { type: 'string', description: '402 only: where to fix it (checkout, billing portal or the open invoice).' },
    requestId: { type: 'string' },
  },
};

const example = (status: number, type: string, title: string, detail: string, extra: Record<string, unknown> = {}) => ({
  type: `https://api.example.com/prod${TOLLGATE_PREFIX}/problems/${type}`,
  title,
  status,
  detail,
  ...extra,
  requestId: 'c0ffee00-1234-4bcd-8e0f-000000000000',
});

/** The responses tollgate itself gives on a secured operation, with example bodies. */
export function problemResponses(requires: Requirement): Record<string, unknown> {
  const content = (examples: Record<string, unknown>) => ({ [PROBLEM_JSON]: { schema: PROBLEM_REF, examples } });
  const one = (name: string, value: unknown) => ({ [name]: { value } });
  const responses: Record<string, unknown> = {
    '401': {
      description: 'No API key or access token, or a malformed, unknown, revoked or expired one.',
      content: content(one('unauthorized', example(401, 'unauthorized', OTHER_PROBLEMS.unauthorized.title, OTHER_PROBLEMS.unauthorized.detail))),
    },
    '429': {
      description: 'Throttled: retry after the Retry-After delay.',
      content: content(one('too_many_requests', example(429, 'too_many_requests', OTHER_PROBLEMS.too_many_requests.title, OTHER_PROBLEMS.too_many_requests.detail))),
    },
    '503': {
      description: 'The paywall could not check access: retry after the Retry-After delay. Never a 402, never a free pass.',
      content: content(one('service_unavailable', example(503, 'service_unavailable', OTHER_PROBLEMS.service_unavailable.title, OTHER_PROBLEMS.service_unavailable.detail))),
    },
  };
  // A `key` route is the free tier: whatever the payment state, never a 402.
  if (requires.kind !== 'key') {
    responses['402'] = {
      description: `Payment required: the caller's payment standing does not cover this route. The reason says why, paymentUrl where to fix it.`,
      content: content(
        Object.fromEntries(
          PAYMENT_REASONS.filter((reason) => requires.kind === 'entitlement' || reason !== 'upgrade_required').map((reason) => [
            reason,
            {
              value: example(402, reason, PAYMENT_PROBLEMS[reason].title, PAYMENT_PROBLEMS[reason].detail, {
                reason,
                subscriptionStatus: reason === 'no_subscription' ? 'none' : 'active',
                paymentUrl: `https://api.example.com/prod${PORTAL_PATHS.pricing}`,
              }),
            },
          ]),
        ),
      ),
    };
  }
  return responses;
}

/** A sentence for people: what the operation requires. */
export function describeRequirement(requires: Requirement, cost?: unknown, strict?: unknown): string {
  const what = {
    public: 'Public: no API key needed.',
    key: 'Any valid API key (free tier): never answers 402.',
    subscription: 'An API key of a customer with a subscription in good standing.',
    entitlement: `An API key of a customer whose plan includes the "${requires.kind === 'entitlement' ? requires.lookupKey : ''}" feature.`,
  }[requires.kind];
  const costText = typeof cost === 'number' || typeof cost === 'string' ? ` Each successful call costs ${String(cost)} unit(s).` : '';
  const strictText = strict === true ? ' Strict: the cost is reserved before the call, so a call beyond the quota or credits answers 402 at once.' : '';
  return `**Requires:** ${what}${costText}${strictText}`;
}

/** Adds the Problem schema and each secured operation's problem responses (the caller's copy is mutated). */
export function documentProblems(document: Record<string, unknown>, operations: ReadonlyArray<{ method: string; path: string; requires: Requirement }>, operationKey: (method: string) => string): void {
  const paths = document.paths as Record<string, Record<string, Record<string, unknown>>>;
  for (const { method, path, requires } of operations) {
    if (requires.kind === 'public') continue;
    const operation = paths[path]![operationKey(method)]!;
    const own = (operation.responses ?? {}) as Record<string, unknown>;
    // The document's own answers win: tollgate only fills in what it says nothing about.
    operation.responses = { ...problemResponses(requires), ...own };
  }
  const components = (document.components ?? {}) as Record<string, unknown>;
  const schemas = (components.schemas ?? {}) as Record<string, unknown>;
  document.components = { ...components, schemas: { ...schemas, [PROBLEM_SCHEMA]: PROBLEM_SCHEMA_OBJECT } };
}

const page = (summary: string, contentType: string, parameters?: unknown[]) => ({
  summary,
  ...(parameters === undefined ? {} : { parameters }),
  responses: { '200': { description: summary, content: { [contentType]: { schema: { type: 'string' } } } } },
});
const pathParam = (name: string) => [{ name, in: 'path', required: true, schema: { type: 'string' } }];

/**
 * tollgate's own routes, public (no security), integrated with the portal function. `testCheckoutUri`:
 * the local run's test checkout (never deployed).
 */
export function portalPaths(portalUri: string, testCheckoutUri?: string): Record<string, Record<string, unknown>> {
  const integrated = (operation: Record<string, unknown>, uri = portalUri) => ({ ...operation, 'x-amazon-apigateway-integration': lambdaProxy(uri) });
  const get = (summary: string, type = 'text/html', parameters?: unknown[]) => ({ get: integrated(page(summary, type, parameters)) });
  const post = (summary: string) => ({ post: integrated({ summary, responses: { '303': { description: 'See other' }, '200': { description: summary } } }) });
  const paths: Record<string, Record<string, unknown>> = {
    [PORTAL_PATHS.docs]: get('API reference'),
    [PORTAL_PATHS.document]: get('This OpenAPI document', 'application/json'),
    [PORTAL_PATHS.problem]: get('What a problem type means and what to do', 'text/html', pathParam('reason')),
    [PORTAL_PATHS.asset]: get('Scripts and styles of the docs and portal pages', 'text/javascript', pathParam('asset')),
    [PORTAL_PATHS.pricing]: get('Plans and sign-up'),
    [PORTAL_PATHS.checkout]: post('Start a Stripe Checkout for a plan'),
    [PORTAL_PATHS.success]: get('After checkout: the new API key, shown once'),
    [PORTAL_PATHS.signIn]: { ...get('Sign in with an API key'), ...post('Sign in with an API key') },
    [PORTAL_PATHS.signOut]: post('Sign out'),
    [PORTAL_PATHS.account]: get('Plan, standing, usage and keys'),
    [PORTAL_PATHS.rotate]: post('Rotate the signed-in key'),
    [PORTAL_PATHS.billing]: post('Open the Stripe Billing Portal'),
    [PORTAL_PATHS.budget]: post('Set, change or remove a spend cap of the signed-in customer'),
    [PORTAL_PATHS.topUp]: post('Save a card for auto top-up, choose its pack and threshold, or turn it off'),
    [PORTAL_PATHS.topUpSaved]: get('After saving a card on Stripe: keep it for auto top-up'),
  };
  if (testCheckoutUri !== undefined) {
    paths[PORTAL_PATHS.testCheckout] = {
      get: integrated(page('Local test checkout', 'text/html', pathParam('session')), testCheckoutUri),
      post: integrated({ summary: 'Local test checkout: pay', parameters: pathParam('session'), responses: { '303': { description: 'See other' } } }, testCheckoutUri),
    };
  }
  return paths;
}

/**
 * The document callers read (`/tollgate/openapi.json`, the explorer): the user's operations with
 * their requirement in words and in `x-tollgate`, the problem responses and schema, the API key
 * scheme; nothing of API Gateway's (integrations, authorizer URIs) and none of tollgate's own routes.
 */
export function publicDocument(
  source: Record<string, unknown>,
  operations: ReadonlyArray<{ method: string; path: string; requires: Requirement }>,
  operationKey: (method: string) => string,
  scheme: string,
): Record<string, unknown> {
  const document = JSON.parse(JSON.stringify(source)) as Record<string, unknown> & { paths: Record<string, Record<string, Record<string, unknown>>> };
  for (const { method, path, requires } of operations) {
    const operation = document.paths[path]![operationKey(method)]!;
    const extension = (operation['x-tollgate'] ?? {}) as Record<string, unknown>;
    operation['x-tollgate'] = { ...extension, requires: formatRequirement(requires) };
    const sentence = describeRequirement(requires, extension.cost, extension.strict);
    operation.description = typeof operation.description === 'string' ? `${sentence}\n\n${operation.description}` : sentence;
    if (requires.kind === 'public') operation.security = [];
    else operation.security = [{ [scheme]: [] }];
    delete operation['x-amazon-apigateway-integration'];
  }
  documentProblems(document, operations, operationKey);
  const components = document.components as Record<string, unknown>;
  components.securitySchemes = {
    ...((components.securitySchemes ?? {}) as Record<string, unknown>),
    [scheme]: { type: 'http', scheme: 'bearer', description: 'A tollgate API key: Authorization: Bearer <key>. Get one from the portal.' },
  };
  delete document.security;
  return document;
}
