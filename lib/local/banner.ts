import * as path from 'node:path';
import { exampleRequest } from '../../lambda/portal/example-request';
import { PURCHASE_PATH } from '../../lambda/shared/agents/offers';
import { soldOverX402 } from '../../lambda/shared/agents/x402';
import { TOLLGATE_PREFIX } from '../../lambda/shared/portal-paths';
import { formatRequirement } from '../../lambda/shared/requirements';
import { agentPaymentsOf } from '../config/agents';
import type { TollgateConfig } from '../config/tollgate-config';
import type { BuiltApi, OperationInfo } from '../openapi/build';
import { DEMO_CUSTOMERS, DEMO_ENTITLEMENT, DEMO_PAYG_CREDITS, DEMO_PLAN, DEMO_USAGE_PLAN, type DemoKeys } from './demo';
import { LOCAL_CUSTOMER_CLAIM } from './oidc-issuer';
import { LOCAL_WEBHOOK_SECRET } from './stack';

/**
 * What `npm start` prints once it runs: where everything is, and what to try, all read from the running
 * stack's configuration (cdk.json and `-c` overrides) and document. The sample API gets its demo
 * customers and a walk-through of them; any other document gets its own routes, their requirements and
 * costs, and calls that exercise them.
 */

export interface BannerFacts {
  readonly apiUrl: string;
  /** Paths as people read them (relative inside the project). */
  readonly shown: (file: string) => string;
  readonly stateDir: string;
  readonly keysFile: string;
  readonly webhookSecret: string;
  readonly dynamodb: { readonly endpoint: string; readonly dbPath?: string };
  readonly portalMode: 'fake' | 'stripe';
  readonly operatorUrl: string;
  /** The alerts' local outbox page (e-mails and seller events caught instead of sent). */
  readonly outboxUrl?: string;
  readonly issuerUrl: string;
  /** Where metering reports billed units (lib/local/meter-reporting.ts). */
  readonly meterReporting: string;
  readonly config: TollgateConfig;
  readonly built: Pick<BuiltApi, 'operations' | 'publicDocument'>;
  /** The Stripe API the run talks to (the local fake's test helper mints agents' SPTs). */
  readonly stripeApiUrl: string;
  /** The sample's demo customers (absent for any other document). */
  readonly demo?: { readonly keys: DemoKeys; readonly seeded: boolean; readonly reused: boolean };
}

const SAMPLE_ROUTES: ReadonlyArray<[string, string, (op: OperationInfo) => boolean]> = [
  ['GET', '/v1/quotes', (op) => op.requires.kind === 'subscription' && op.usage === undefined],
  ['GET', '/v1/reports/{reportId}', (op) => op.requires.kind === 'entitlement' && op.requires.lookupKey === DEMO_ENTITLEMENT],
  ['GET', '/v1/search', (op) => op.usage !== undefined && op.usage.strict !== true],
];

/** Whether the document is the sample's, as its demo customers and walk-through need it. */
export function isSampleApi(operations: readonly OperationInfo[]): boolean {
  return SAMPLE_ROUTES.every(([method, route, fits]) => operations.some((op) => op.method === method && op.path === route && fits(op)));
}

const units = (n: number): string => `${n} unit${n === 1 ? '' : 's'}`;

/**
 * Calls `url` with `key` every half second until the first 402 (at most `max` calls), printing each status. Log-based
 * counting lets calls through for about a second after the crossing (docs/selling-by-use.md "Overshoot to expect",
 * a 2 s goal): a fixed count would stop before the 402 on a slow run; this stops at it, so the line is true every time.
 */
const untilRefused = (url: string, key: string, max: number): string =>
  `for i in $(seq ${max}); do s=$(curl -s -o /dev/null -w '%{http_code}' "${url}" -H "Authorization: Bearer ${key}"); printf '%s ' "$s"; [ "$s" = 402 ] && break; sleep 0.5; done; echo`;
/** Calls after the crossing the loops allow for: 10 s at two a second, five times the overshoot's goal. */
const PAST_CROSSING = 20;
const withoutSlash = (p: string): string => p.replace(/^\//, '');

/** `GET /v1/search costs 1 unit per 2xx call`, for each route sold by use. */
function costs(operations: readonly OperationInfo[]): string[] {
  return operations.filter((op) => op.usage !== undefined).map((op) => `${op.method} ${op.path} costs ${units(op.usage!.cost)} per 2xx call${op.usage!.strict === true ? ', reserved from credits before the call' : ''}`);
}

function header(facts: BannerFacts, extra: string[]): string[] {
  const { apiUrl, shown, dynamodb } = facts;
  return [
    '',
    `tollgate is running on ${apiUrl}`,
    `  DynamoDB Local  ${dynamodb.endpoint} (${dynamodb.dbPath === undefined ? 'in memory' : `data in ${shown(dynamodb.dbPath)}`}, readable only with the key in ${shown(facts.stateDir)}/)`,
    ...extra,
    `  docs            ${apiUrl}tollgate/docs · problem types ${apiUrl}tollgate/problems/no_subscription`,
    `  portal          ${apiUrl}tollgate/portal (${facts.portalMode === 'fake' ? 'local test checkout and billing portal: no real payment; set STRIPE_API_KEY=sk_test_… for real Stripe' : 'Stripe test mode from STRIPE_API_KEY'})`,
    `  webhook secret  ${facts.webhookSecret === LOCAL_WEBHOOK_SECRET ? `${LOCAL_WEBHOOK_SECRET} (local default; set STRIPE_WEBHOOK_SECRET to use another)` : 'from STRIPE_WEBHOOK_SECRET'}`,
  ];
}

function footer(facts: BannerFacts): string[] {
  return [
    'real Stripe test-mode events (Stripe CLI), then restart with the secret it prints:',
    `  stripe listen --forward-to ${facts.apiUrl}webhooks/stripe`,
    '  STRIPE_WEBHOOK_SECRET=whsec_… npm start',
    '',
    'edits to the OpenAPI document, cdk.json and lambda/ reload the gateway in place',
    `operator page (402s, recoveries, live): ${facts.operatorUrl}`,
    ...(facts.config.alerts === undefined || facts.outboxUrl === undefined ? [] : [`alerts (tollgate:alerts; docs/alerts.md): e-mails and seller events are caught, not sent: ${facts.outboxUrl}`]),
    'manage it:  npx tollgate --help    ·    report: npx tollgate report    ·    stop: Ctrl-C',
    '',
  ];
}

/** Selling to agents (tollgate:agentPayments): the purchase route and a stock client that pays its 402. */
function agentLines(facts: BannerFacts): string[] {
  const agents = agentPaymentsOf(facts.config);
  const packs = agents?.packs ?? [];
  if (packs.length === 0) return [];
  const x402Packs = packs.filter((pack) => soldOverX402(agents?.x402, pack));
  const { apiUrl } = facts;
  return [
    `agents pay the 402 themselves (MPP${x402Packs.length === 0 ? '' : ' and x402'}; docs/agents.md): POST ${apiUrl}${withoutSlash(PURCHASE_PATH)}?offer=${packs[0]!.id} sells ${packs.map((p) => p.id).join(', ')} for a Stripe shared payment token`,
    `  node scripts/mppx-buy.mjs ${apiUrl} --stripe ${facts.stripeApiUrl}    # a stock mppx client: 402 → pay → 200 and a key, then calls on the credits until 402`,
    ...(x402Packs.length === 0 ? [] : [`  node scripts/x402-buy.mjs ${apiUrl} --offer ${x402Packs[0]!.id}    # a stock @x402/fetch client with a test wallet, paid through the local facilitator: the same, over x402`]),
    '  each way out is recorded: 402 → paid → first 2xx by protocol in npx tollgate report and on the operator page',
    '',
  ];
}

export function banner(facts: BannerFacts): string {
  return (facts.demo === undefined ? ownApiBanner(facts) : sampleBanner(facts, facts.demo)).join('\n');
}

function sampleBanner(facts: BannerFacts, demo: NonNullable<BannerFacts['demo']>): string[] {
  const { apiUrl, config } = facts;
  const { paying, free, metered, payg } = demo.keys;
  const quota = config.plans[DEMO_USAGE_PLAN]?.quota;
  const searchCost = facts.built.operations.find((op) => op.method === 'GET' && op.path === '/v1/search')?.usage?.cost ?? 1;
  const search = `${apiUrl}v1/search?q=tollgate`;
  const alerts = facts.outboxUrl === undefined ? undefined : config.alerts;
  return [
    ...header(facts, [`  demo customers  ${DEMO_CUSTOMERS.paying} (active, plan ${DEMO_PLAN}, entitlement ${DEMO_ENTITLEMENT}) · ${DEMO_CUSTOMERS.free} (no subscription)${demo.seeded ? '' : ' (kept from the last run)'}`]),
    '',
    `demo API keys (${demo.reused ? 'kept from the last start' : 'new'}; kept in ${facts.shown(facts.keysFile)} across restarts):`,
    `  paying  ${paying}`,
    `  free    ${free}`,
    '',
    'try it:',
    `  curl -i ${apiUrl}v1/quotes -H "Authorization: Bearer ${paying}"    # 200`,
    `  curl -i ${apiUrl}v1/quotes                                          # 401`,
    `  curl -i ${apiUrl}v1/quotes -H "Authorization: Bearer ${free}"    # 402 no_subscription`,
    `  curl -i ${apiUrl}v1/quotes -H "Authorization: Bearer $(npx tollgate tokens mint --customer ${DEMO_CUSTOMERS.paying})"    # 200 with a JWT`,
    `  (OIDC issuer ${facts.issuerUrl}, trusted by this stack; tokens carry ${LOCAL_CUSTOMER_CLAIM})`,
    '',
    `sold by use: ${costs(facts.built.operations).join('; ')}, counted from the access log every second (reports: ${facts.meterReporting}):`,
    `  metered  ${metered}    (${DEMO_CUSTOMERS.metered}, plan ${DEMO_USAGE_PLAN}: ${quota === undefined ? 'unlimited' : `${units(quota)} a period`})`,
    `  payg     ${payg}    (${DEMO_CUSTOMERS.payg}, no subscription, ${DEMO_PAYG_CREDITS} credits)`,
    ...(quota === undefined
      ? []
      : [
          `  ${untilRefused(search, metered, Math.ceil(quota / searchCost) + PAST_CROSSING)}    # 200s, then 402 quota_exceeded`,
          ...(alerts === undefined || alerts.rules.quota.length === 0 ? [] : [`  open ${facts.outboxUrl}    # alerts caught, not sent (tollgate:alerts, docs/alerts.md): the ${alerts.rules.quota.map((p) => `${p} %`).join(' and ')} e-mails and the seller's quota_threshold events`]),
        ]),
    `  npx tollgate usage show ${DEMO_CUSTOMERS.metered}    # used, limit, remaining, resets at`,
    `  npx tollgate events send customer.subscription.updated --customer ${DEMO_CUSTOMERS.metered} --plan ${DEMO_USAGE_PLAN} --period-end $(( $(date +%s) + 5184000 ))    # renewal: 200 again`,
    `  ${untilRefused(search, payg, Math.ceil(DEMO_PAYG_CREDITS / searchCost) + PAST_CROSSING)}    # 200s, then 402 credits_exhausted`,
    `  npx tollgate events send checkout.session.completed --customer ${DEMO_CUSTOMERS.payg} --credits 100    # top-up: 200 again`,
    ...(alerts?.rules.paymentRecovered === true
      ? [`  curl -s -o /dev/null -w '%{http_code}\\n' "${search}" -H "Authorization: Bearer ${payg}"    # 200: the first call after the payment puts payment_recovered in the outbox`]
      : []),
    `  curl -i -X PUT ${apiUrl}tollgate/budget -H "Authorization: Bearer ${metered}" -d '{"limit":3,"per":"day"}'    # your own cap: past 3 units 402 budget_exceeded; PUT a higher limit: 200 again (docs/budgets.md)`,
    `  or sign in with that key at ${apiUrl}tollgate/portal/sign-in: the account page's Budget section shows, sets, raises and removes the caps`,
    ...(config.creditPacks.length === 0
      ? []
      : [`  auto top-up: sign in with the payg key there: the account page's Auto top-up section saves a test card (one that pays, one that is declined) and buys a pack when credits fall below your threshold (402 top_up_failed if the card fails)`]),
    '',
    `MCP: ${apiUrl}mcp serves the operations marked "mcp" as tools, each call billed as its route (docs/mcp.md):`,
    `  npm run mcp -- --key ${paying}    # the tools and their price; add a tool and its arguments to call it: search '{"q":"tollgate"}'`,
    '',
    ...agentLines(facts),
    ...footer(facts),
  ];
}

/** A customer id for the walk-through of a document of one's own. */
export const OWN_API_CUSTOMER = 'cus_test_1';

/** A curl line: `curl -i <url> [-X <method>] [-H "Authorization: Bearer $KEY"]`. */
function curl(apiUrl: string, op: OperationInfo, document: Record<string, unknown>, key: boolean): string | undefined {
  const method = op.method === 'ANY' ? 'GET' : op.method;
  const request = exampleRequest(document, op.method === 'ANY' ? 'x-amazon-apigateway-any-method' : method, op.path);
  if (request === undefined || request.needsMore) return undefined;
  return `curl -i "${apiUrl}${withoutSlash(request.path)}"${method === 'GET' ? '' : ` -X ${method}`}${key ? ' -H "Authorization: Bearer $KEY"' : ''}`;
}

function ownApiBanner(facts: BannerFacts): string[] {
  const { apiUrl, config, built } = facts;
  const document = built.publicDocument;
  // The document's own operations: tollgate's (usage, portal) are on every stack.
  const operations = built.operations.filter((op) => !op.path.startsWith(`${TOLLGATE_PREFIX}/`));
  const width = Math.max(0, ...operations.map((op) => `${op.method} ${op.path}`.length));
  const callable = (op: OperationInfo): boolean => curl(apiUrl, op, document, false) !== undefined;
  const publicOp = operations.find((op) => op.requires.kind === 'public' && callable(op));
  const paidOp = operations.find((op) => (op.requires.kind === 'subscription' || op.requires.kind === 'entitlement') && op.usage?.strict !== true && callable(op));
  const keyOp = operations.find((op) => op.requires.kind === 'key' && callable(op));
  const secured = paidOp ?? keyOp;
  const plans = Object.entries(config.plans);
  const tries = [
    ...(publicOp === undefined ? [] : [`  ${curl(apiUrl, publicOp, document, false)}    # ${publicOp.method} ${publicOp.path}: public, no key needed`]),
    ...(secured === undefined ? [] : [`  ${curl(apiUrl, secured, document, false)}    # 401: no key`]),
    ...(paidOp === undefined ? [] : [`  ${curl(apiUrl, paidOp, document, true)}    # 402 no_subscription: ${OWN_API_CUSTOMER} has none yet`]),
    ...(keyOp === undefined ? [] : [`  ${curl(apiUrl, keyOp, document, true)}    # what your backend answers: any valid key passes`]),
    ...(paidOp === undefined
      ? []
      : [
          `  npx tollgate events send customer.subscription.created --customer ${OWN_API_CUSTOMER}${plans.length === 0 ? '' : ` --plan ${plans[0]![0]}`}    # a subscription: ${paidOp.method} ${paidOp.path} passes`,
          `  npx tollgate customers show ${OWN_API_CUSTOMER}    # what each route answers ${OWN_API_CUSTOMER} now`,
        ]),
  ];
  return [
    ...header(facts, [`  your API        ${facts.shown(path.resolve(config.openApiDocument))} (${operations.length} routes) → ${config.backendUrl ?? 'the sample backend (set tollgate:backendUrl to yours)'}`]),
    '',
    'routes and what they require:',
    ...operations.map((op) => `  ${`${op.method} ${op.path}`.padEnd(width)}  ${formatRequirement(op.requires)}${op.usage === undefined ? '' : `, ${units(op.usage.cost)} per 2xx call${op.usage.strict === true ? ' (strict: from credits)' : ''}`}`),
    ...(plans.length === 0 ? [] : ['', `plans: ${plans.map(([key, plan]) => `${key} (${plan.name}: ${plan.quota === undefined ? 'unlimited' : `${units(plan.quota)} a period, then ${plan.overage === 'bill' ? 'billed' : '402 quota_exceeded'}`})`).join(' · ')}`]),
    ...(costs(operations).length === 0 ? [] : [`sold by use: ${costs(operations).join('; ')}, counted from the access log every second (reports: ${facts.meterReporting})`]),
    '',
    'no demo customers: they belong to the sample API. Give a customer of yours a key, and try it:',
    `  npx tollgate keys create --customer ${OWN_API_CUSTOMER}    # prints the key once: KEY=<that key>`,
    ...tries,
    `  (OIDC issuer ${facts.issuerUrl}, trusted by this stack: npx tollgate tokens mint --customer ${OWN_API_CUSTOMER} gives a token carrying ${LOCAL_CUSTOMER_CLAIM})`,
    '',
    ...agentLines(facts),
    ...footer(facts),
  ];
}
