import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type Stripe from 'stripe';
import { decide } from '../authorizer/decide';
import { keyMatchesHash, parseApiKey } from '../shared/customers/api-key';
import { createApiKey, listApiKeys, rotateApiKey, type ApiKeyStore } from '../shared/customers/keys';
import { keyState, type CustomerRecord } from '../shared/customers/record';
import type { UsageView } from '../shared/customers/usage-view';
import { readCustomer } from '../shared/customers/store';
import { headerValue } from '../shared/headers';
import { createObservability, type Observability } from '../shared/observability';
import { effectivePaymentUrls, PORTAL_PATHS, stageBaseUrl } from '../shared/portal-paths';
import type { AuthorizerCacheFlusher } from '../shared/ports';
import { isPaymentReason, isProblemType, problemInfo, PROBLEM_TYPES } from '../shared/problems';
import { DOCS_CSP, html, layout, PAGE_CSP, securityHeaders, type Html } from './html';
import { dynamoIssuanceStore, type IssuanceStore } from './issuance';
import {
  CHECKOUT_COOKIE,
  CHECKOUT_COOKIE_SECONDS,
  parseCookies,
  readSession,
  SESSION_COOKIE,
  SESSION_SECONDS,
  setCookie,
  sign,
  verify,
  type PortalSession,
} from './session';
import type { Catalog, PortalSettings } from './settings';

/**
 * The portal function: the API reference, the problem pages, the document, and the developer portal
 * (plans, checkout, the key shown once, sign-in with a key, account, rotation, billing portal). Every
 * page is server-rendered with escaping, under a strict CSP; state changes are POST with a same-origin
 * check; a key never appears in a URL, a log line or a Referer.
 */

export interface Asset {
  readonly body: Buffer;
  readonly contentType: string;
}

/** The files the pages load, and the document callers read. */
export interface PortalAssets {
  asset(name: string): Promise<Asset | undefined>;
  document(): Promise<Record<string, unknown>>;
}

export interface PortalDeps {
  readonly settings: Pick<PortalSettings, 'tables' | 'routes' | 'gracePeriodSeconds' | 'catalog' | 'plans' | 'checkoutUrl' | 'portalUrl'>;
  readonly dynamodb: DynamoDBClient;
  /** undefined: no Stripe API key is configured, so no checkout or billing portal. */
  readonly stripe: () => Promise<Stripe | undefined>;
  readonly sessionSecret: () => Promise<string>;
  readonly flusher: AuthorizerCacheFlusher;
  readonly assets: PortalAssets;
  readonly issuance?: IssuanceStore;
  readonly now?: () => Date;
  /** Pages say plainly that payments are simulated (the local run's fake Stripe). @default false */
  readonly testMode?: boolean;
  readonly observability?: Observability;
}

type Result = APIGatewayProxyResult;
const CHECKOUT_SESSION_ID = /^cs_[A-Za-z0-9_]{1,200}$/;

/** A page the portal shows instead of doing something: the status says why. */
class PageError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
  ) {
    super(detail);
  }
}

export function makePortalHandler(deps: PortalDeps): (event: APIGatewayProxyEvent) => Promise<Result> {
  const now = deps.now ?? (() => new Date());
  const { logger } = deps.observability ?? createObservability('tollgate-portal');
  const { settings } = deps;
  const issuance = deps.issuance ?? dynamoIssuanceStore(deps.dynamodb, settings.tables.events);
  const keyStore: ApiKeyStore = { client: deps.dynamodb, tables: { customers: settings.tables.customers, apiKeys: settings.tables.apiKeys, boundaries: settings.tables.boundaries }, now };

  return async (event) => {
    const stage = event.requestContext.stage;
    const base = `/${stage}`;
    const origin = stageBaseUrl(event.requestContext.domainName ?? '', stage).slice(0, -base.length);
    const ctx: RequestContext = { event, base, origin, cookies: parseCookies(headerValue(event, 'cookie')) };
    const route = `${event.httpMethod} ${event.resource}`;
    try {
      if (event.httpMethod === 'POST') checkSameOrigin(event, origin);
      switch (route) {
        case `GET ${PORTAL_PATHS.docs}`:
          return docsPage(ctx);
        case `GET ${PORTAL_PATHS.document}`:
          return json(200, { ...(await deps.assets.document()), servers: [{ url: `${origin}${base}` }] }, { 'Access-Control-Allow-Origin': '*', 'Cache-Control': 'max-age=60' });
        case `GET ${PORTAL_PATHS.problem}`:
          return problemPage(ctx, event.pathParameters?.reason ?? '');
        case `GET ${PORTAL_PATHS.asset}`:
          return asset(event.pathParameters?.asset ?? '');
        case `GET ${PORTAL_PATHS.pricing}`:
          return await pricingPage(ctx);
        case `POST ${PORTAL_PATHS.checkout}`:
          return await checkout(ctx);
        case `GET ${PORTAL_PATHS.success}`:
          return await success(ctx);
        case `GET ${PORTAL_PATHS.signIn}`:
          return signInPage(ctx);
        case `POST ${PORTAL_PATHS.signIn}`:
          return await signIn(ctx);
        case `POST ${PORTAL_PATHS.signOut}`:
          return redirect(`${base}${PORTAL_PATHS.signIn}`, [setCookie(SESSION_COOKIE, '', { path: cookiePath(base), maxAgeSeconds: 0, sameSite: 'Strict' })]);
        case `GET ${PORTAL_PATHS.account}`:
          return await accountPage(ctx);
        case `POST ${PORTAL_PATHS.rotate}`:
          return await rotate(ctx);
        case `POST ${PORTAL_PATHS.billing}`:
          return await billing(ctx);
        default:
          throw new PageError(404, 'Not found', 'There is no such page.');
      }
    } catch (err) {
      if (err instanceof PageError) return page(ctx, err.status, err.title, html`<p role="alert">${err.detail}</p>`);
      // Never the event or the body: a form may carry a key.
      logger.error('portal request failed', { route, error: err instanceof Error ? `${err.name}: ${err.message}` : 'non-error thrown' });
      return page(ctx, 500, 'Something went wrong', html`<p role="alert">The portal could not complete this request. Nothing was changed; try again shortly.</p>`);
    }
  };

  interface RequestContext {
    readonly event: APIGatewayProxyEvent;
    /** `/prod` */
    readonly base: string;
    /** `https://api.example.com` */
    readonly origin: string;
    readonly cookies: Record<string, string>;
  }

  function page(ctx: RequestContext, status: number, title: string, body: Html, extraHeaders: Record<string, string> = {}, cookies: string[] = []): Result {
    const banner = deps.testMode === true ? html`<p class="test-mode" role="note">Local test mode: payments are simulated by tollgate's test checkout, no real card is charged.</p>` : undefined;
    return {
      statusCode: status,
      headers: { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', ...securityHeaders(PAGE_CSP), ...extraHeaders },
      ...(cookies.length === 0 ? {} : { multiValueHeaders: { 'Set-Cookie': cookies } }),
      body: layout({ title, base: ctx.base, body, ...(banner === undefined ? {} : { banner }) }),
    };
  }

  function docsPage(ctx: RequestContext): Result {
    const configuration = JSON.stringify({ withDefaultFonts: false, hideClientButton: true, telemetry: false, showDeveloperTools: 'never' });
    const body = `<!doctype html>${html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>API reference</title>
<link rel="icon" href="data:,">
</head>
<body>
<noscript><p>The API reference needs JavaScript. The OpenAPI document is at <a href="${ctx.base}${PORTAL_PATHS.document}">${ctx.base}${PORTAL_PATHS.document}</a>; each problem type has its page under <a href="${ctx.base}/tollgate/problems/no_subscription">${ctx.base}/tollgate/problems/</a>.</p></noscript>
<script id="api-reference" data-url="${ctx.base}${PORTAL_PATHS.document}" data-configuration="${configuration}"></script>
<script src="${ctx.base}/tollgate/assets/scalar.js"></script>
</body>
</html>`.text}`;
    return { statusCode: 200, headers: { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'max-age=300', ...securityHeaders(DOCS_CSP) }, body };
  }

  function problemPage(ctx: RequestContext, type: string): Result {
    if (!isProblemType(type)) {
      return page(ctx, 404, 'Unknown problem type', html`<p>tollgate has no problem type named "${type}". The known types are listed below.</p>${problemList(ctx)}`);
    }
    const info = problemInfo(type);
    const isPayment = isPaymentReason(type);
    const body = html`<p class="status">HTTP ${info.status} · <code>${type}</code></p>
<h2>What it means</h2><p>${info.meaning}</p>
<h2>What to do</h2><p>${info.action}</p>
${isPayment ? html`<p>The 402 body's <code>paymentUrl</code> is the link for your account. Without it: <a class="button" href="${ctx.base}${PORTAL_PATHS.pricing}">Plans and payment</a> · <a href="${ctx.base}${PORTAL_PATHS.account}">Your account</a></p>` : ''}
<h2>The body</h2><p>Every answer of this type is <code>application/problem+json</code> (RFC 9457) with <code>type</code> naming this page, <code>title</code> "${info.title}", <code>status</code> ${info.status}${isPayment ? html`, <code>reason</code> "${type}", <code>subscriptionStatus</code> and <code>paymentUrl</code>` : ''}.</p>
<h2>Other problem types</h2>${problemList(ctx)}`;
    return page(ctx, 200, info.title, body, { 'Cache-Control': 'max-age=300' });
  }

  function problemList(ctx: RequestContext): Html {
    return html`<ul>${PROBLEM_TYPES.map((t) => html`<li><a href="${ctx.base}/tollgate/problems/${t}">${t}</a> (${problemInfo(t).status})</li>`)}</ul>`;
  }

  async function asset(name: string): Promise<Result> {
    const found = /^[a-z0-9.-]{1,64}$/.test(name) ? await deps.assets.asset(name) : undefined;
    if (found === undefined) return { statusCode: 404, headers: { 'Content-Type': 'text/plain', 'X-Content-Type-Options': 'nosniff' }, body: 'not found' };
    return {
      statusCode: 200,
      headers: { 'Content-Type': found.contentType, 'Cache-Control': 'public, max-age=3600', 'X-Content-Type-Options': 'nosniff' },
      body: found.body.toString('utf8'),
    };
  }

  /** The signed-in session, re-checked against the store: a revoked key's session ends at once. */
  async function currentSession(ctx: RequestContext): Promise<{ session: PortalSession; customer: CustomerRecord } | 'expired' | undefined> {
    const session = readSession(await deps.sessionSecret(), ctx.cookies[SESSION_COOKIE], now());
    if (session === undefined || session === 'expired') return session;
    const customer = await readCustomer(deps.dynamodb, settings.tables.customers, session.customerId);
    const key = customer?.apiKeys?.[session.keyId];
    if (customer === undefined || key === undefined || keyState(key, now()) !== 'active' || customer.deleted === true) return undefined;
    return { session, customer };
  }

  async function requireSession(ctx: RequestContext): Promise<{ session: PortalSession; customer: CustomerRecord }> {
    const current = await currentSession(ctx);
    if (current === 'expired') throw new PageError(401, 'Session expired', 'Your portal session has expired. Sign in again with your API key.');
    if (current === undefined) throw new PageError(401, 'Sign in required', 'Sign in with your API key to see your account.');
    return current;
  }

  async function pricingPage(ctx: RequestContext): Promise<Result> {
    const current = await currentSession(ctx);
    const signedIn = typeof current === 'object' ? current.session : undefined;
    const body = html`${signedIn === undefined
      ? html`<p>Already have an API key? <a href="${ctx.base}${PORTAL_PATHS.signIn}">Sign in</a> first, so the subscription lands on your key's account and the same key starts working.</p>`
      : html`<p>Signed in as <code>${signedIn.customerId}</code>: a subscription you start here applies to your existing keys.</p>`}
<h2>Plans</h2>
<ul class="plans">${settings.catalog.plans.map(
      (plan) => html`<li><h3>${plan.name}</h3><p>${plan.quota === undefined ? 'Unlimited calls.' : `${plan.quota} units per billing period${plan.overage === true ? ', then billed per unit' : ''}.`}</p>
<form method="post" action="${ctx.base}${PORTAL_PATHS.checkout}"><input type="hidden" name="plan" value="${plan.lookupKey}"><button type="submit">Subscribe to ${plan.name}</button></form></li>`,
    )}</ul>
${settings.catalog.creditPacks.length === 0
      ? ''
      : html`<h2>Credit packs</h2><ul class="plans">${settings.catalog.creditPacks.map(
          (pack) => html`<li><h3>${pack.name}</h3><p>${pack.credits} prepaid credits.</p><form method="post" action="${ctx.base}${PORTAL_PATHS.checkout}"><input type="hidden" name="pack" value="${pack.id}"><button type="submit">Buy ${pack.name}</button></form></li>`,
        )}</ul>`}
<p><a href="${ctx.base}${PORTAL_PATHS.docs}">API reference</a></p>`;
    return page(ctx, 200, 'Plans', body);
  }

  async function stripeOrPage(): Promise<Stripe> {
    const stripe = await deps.stripe();
    if (stripe === undefined) throw new PageError(503, 'Payments not configured', 'This API has no Stripe API key configured, so the portal cannot take payments. Ask its operator.');
    return stripe;
  }

  async function priceId(stripe: Stripe, price: string): Promise<string> {
    if (price.startsWith('price_')) return price;
    const found = await stripe.prices.list({ lookup_keys: [price], active: true, limit: 1 });
    const id = found.data[0]?.id;
    if (id === undefined) throw new PageError(503, 'Plan unavailable', `The plan's Stripe price "${price}" was not found. Ask the API's operator.`);
    return id;
  }

  async function checkout(ctx: RequestContext): Promise<Result> {
    const form = readForm(ctx.event);
    const plan = settings.catalog.plans.find((p) => p.lookupKey === form.get('plan'));
    const pack = settings.catalog.creditPacks.find((p) => p.id === form.get('pack'));
    if (plan === undefined && pack === undefined) throw new PageError(400, 'Unknown plan', 'Choose one of the plans on the plans page.');
    const stripe = await stripeOrPage();
    const current = await currentSession(ctx);
    // Signed in: the existing customer pays, so the keys it already holds start working (never a second customer).
    const customerId = typeof current === 'object' ? current.session.customerId : undefined;
    const success = `${ctx.origin}${ctx.base}${PORTAL_PATHS.success}?session_id={CHECKOUT_SESSION_ID}`;
    const params: Stripe.Checkout.SessionCreateParams = {
      mode: plan === undefined ? 'payment' : 'subscription',
      line_items: [{ price: await priceId(stripe, plan?.lookupKey ?? pack!.price), quantity: 1 }],
      success_url: success,
      cancel_url: `${ctx.origin}${ctx.base}${PORTAL_PATHS.pricing}`,
      ...(customerId === undefined ? {} : { customer: customerId, client_reference_id: customerId }),
      ...(pack === undefined ? {} : { metadata: { tollgate_credits: String(pack.credits) } }),
      ...(pack !== undefined && customerId === undefined ? { customer_creation: 'always' as const } : {}),
    };
    const session = await stripe.checkout.sessions.create(params);
    if (session.url === null) throw new Error('stripe returned a checkout session without a url');
    // The success page issues a key only to the browser that started this checkout.
    const binding = sign(await deps.sessionSecret(), { checkoutSessionId: session.id });
    return redirect(session.url, [setCookie(CHECKOUT_COOKIE, binding, { path: cookiePath(ctx.base), maxAgeSeconds: CHECKOUT_COOKIE_SECONDS, sameSite: 'Lax' })]);
  }

  async function success(ctx: RequestContext): Promise<Result> {
    const sessionId = ctx.event.queryStringParameters?.session_id ?? '';
    if (!CHECKOUT_SESSION_ID.test(sessionId)) throw new PageError(400, 'Unknown checkout', 'This page needs the checkout session Stripe returned you with.');
    const secret = await deps.sessionSecret();
    const binding = verify(secret, ctx.cookies[CHECKOUT_COOKIE]) as { checkoutSessionId?: unknown } | undefined;
    const current = await currentSession(ctx);
    const stripe = await stripeOrPage();
    let session: Stripe.Checkout.Session;
    try {
      session = await stripe.checkout.sessions.retrieve(sessionId);
    } catch (err) {
      if (err instanceof Error && (err as { statusCode?: number }).statusCode === 404) {
        throw new PageError(404, 'Unknown checkout', 'Stripe knows no checkout session with this id. Nothing was issued.');
      }
      throw err;
    }
    const customerId = typeof session.customer === 'string' ? session.customer : session.customer?.id;
    const paid = session.status === 'complete' && (session.payment_status === 'paid' || session.payment_status === 'no_payment_required');
    if (!paid || customerId === undefined) {
      throw new PageError(402, 'Not paid', 'This checkout is not complete and paid. Nothing was issued: finish the payment, or start again from the plans page.');
    }
    const signedInAs = typeof current === 'object' ? current.session.customerId : undefined;
    if (signedInAs !== undefined && signedInAs !== customerId) {
      throw new PageError(403, 'Another customer', 'This checkout belongs to another customer than the one signed in. Nothing was issued.');
    }
    // The checkout was for a customer that already holds keys: those keys now work, no new key is needed.
    if (session.client_reference_id !== null && session.client_reference_id === customerId) {
      return page(ctx, 200, 'Subscribed', html`<p>Payment received. Your existing API keys now have access: retry your request.</p><p><a href="${ctx.base}${PORTAL_PATHS.account}">Your account</a></p>`);
    }
    const alreadyShown = (): PageError =>
      new PageError(409, 'Key already shown', 'The API key of this checkout was already shown once and is never shown again. Sign in with it to manage your account; if it is lost, ask the operator for a new one.');
    if (await issuance.claimed(sessionId)) throw alreadyShown();
    if (binding?.checkoutSessionId !== sessionId) {
      throw new PageError(403, 'Not your checkout', 'This checkout was started in another browser. A key is shown only once, only to the browser that paid. Nothing was issued.');
    }
    const at = now();
    if (!(await issuance.claim(sessionId, customerId, at))) throw alreadyShown();
    let created;
    try {
      created = await createApiKey(keyStore, { customerId, name: 'portal signup' });
    } catch (err) {
      await issuance.release(sessionId).catch(() => undefined);
      throw err;
    }
    await issuance.issued(sessionId, created.keyId);
    logger.info('portal issued a key', { keyId: created.keyId, checkout: 'completed' });
    const session_ = sign(secret, { customerId, keyId: created.keyId, expiresAt: Math.floor(at.getTime() / 1000) + SESSION_SECONDS });
    return page(
      ctx,
      200,
      'Your API key',
      html`<p>Payment received. This is your API key. <strong>It is shown only this once</strong>: copy it now and keep it secret.</p>
<p><label for="api-key">API key</label><input id="api-key" class="key" type="text" readonly value="${created.key}" data-api-key></p>
<p>Send it as <code>Authorization: Bearer &lt;key&gt;</code>. <button type="button" data-try-key data-url="${ctx.base}${tryRoute()}">Try it</button> <output data-try-result></output></p>
<p><a href="${ctx.base}${PORTAL_PATHS.account}">Your account</a> · <a href="${ctx.base}${PORTAL_PATHS.docs}">API reference</a></p>`,
      {},
      [
        setCookie(SESSION_COOKIE, session_, { path: cookiePath(ctx.base), maxAgeSeconds: SESSION_SECONDS, sameSite: 'Strict' }),
        setCookie(CHECKOUT_COOKIE, '', { path: cookiePath(ctx.base), maxAgeSeconds: 0, sameSite: 'Lax' }),
      ],
    );
  }

  /** A secured GET route without path parameters, for the key's "Try it". */
  function tryRoute(): string {
    return settings.routes.find((r) => r.method === 'GET' && r.requires.kind !== 'key' && !r.path.includes('{'))?.path ?? settings.routes.find((r) => r.method === 'GET' && !r.path.includes('{'))?.path ?? '/';
  }

  function signInPage(ctx: RequestContext, status = 200, problem?: string): Result {
    return page(
      ctx,
      status,
      'Sign in',
      html`${problem === undefined ? '' : html`<p role="alert">${problem}</p>`}
<form method="post" action="${ctx.base}${PORTAL_PATHS.signIn}">
<p><label for="key">API key</label> <input id="key" name="key" type="password" autocomplete="off" required maxlength="200"></p>
<p><button type="submit">Sign in</button></p>
</form>
<p>No key yet? <a href="${ctx.base}${PORTAL_PATHS.pricing}">Choose a plan</a>.</p>`,
    );
  }

  async function signIn(ctx: RequestContext): Promise<Result> {
    const key = readForm(ctx.event).get('key')?.trim() ?? '';
    const parsed = parseApiKey(key);
    const refused = (): Result => signInPage(ctx, 401, 'This API key is not valid: it is mistyped, unknown, revoked or expired. Nothing was changed.');
    if (parsed === undefined) return refused();
    const customer = await readCustomer(deps.dynamodb, settings.tables.customers, parsed.customerId);
    const stored = customer?.apiKeys?.[parsed.keyId];
    if (customer === undefined || stored === undefined || !keyMatchesHash(key, stored.hash) || keyState(stored, now()) !== 'active' || customer.deleted === true) return refused();
    const token = sign(await deps.sessionSecret(), { customerId: parsed.customerId, keyId: parsed.keyId, expiresAt: Math.floor(now().getTime() / 1000) + SESSION_SECONDS });
    return redirect(`${ctx.base}${PORTAL_PATHS.account}`, [setCookie(SESSION_COOKIE, token, { path: cookiePath(ctx.base), maxAgeSeconds: SESSION_SECONDS, sameSite: 'Strict' })]);
  }

  async function accountPage(ctx: RequestContext): Promise<Result> {
    const { session, customer } = await requireSession(ctx);
    const urls = effectivePaymentUrls(settings, { customerId: customer.customerId, domainName: ctx.event.requestContext.domainName, stage: ctx.event.requestContext.stage });
    // The item the session check read: decide() gives the same usage view the usage route answers with.
    const decision = decide(customer, settings.routes, now(), { gracePeriodSeconds: settings.gracePeriodSeconds, plans: settings.plans, ...urls });
    const keys = await listApiKeys(keyStore, customer.customerId);
    const status = String(decision.context.subscriptionStatus);
    const plan = decision.subscription?.plan;
    const planName = settings.catalog.plans.find((p) => p.lookupKey === plan)?.name ?? plan;
    const paymentUrl = typeof decision.context.paymentUrl === 'string' ? decision.context.paymentUrl : undefined;
    const body = html`<dl>
<dt>Customer</dt><dd><code>${customer.customerId}</code></dd>
<dt>Plan</dt><dd>${planName ?? 'none'}</dd>
<dt>Subscription</dt><dd>${status}${decision.standing.good && decision.standing.warning !== undefined ? html` (${decision.standing.warning})` : ''}</dd>
<dt>Access now</dt><dd>${decision.reason === undefined
      ? 'Every route of the API answers.'
      : html`Paid routes answer 402 <a href="${ctx.base}/tollgate/problems/${decision.reason}"><code>${decision.reason}</code></a>${paymentUrl === undefined ? '' : html`: <a href="${paymentUrl}">fix it here</a>`}.`}</dd>
${usageRows(decision.usage, customer.usageBlock)}
</dl>
<h2>Keys</h2>
<table><thead><tr><th scope="col">Key id</th><th scope="col">Name</th><th scope="col">State</th><th scope="col">Created</th></tr></thead>
<tbody>${keys.map((k) => html`<tr><td><code>${k.keyId}</code>${k.keyId === session.keyId ? ' (this session)' : ''}</td><td>${k.name ?? ''}</td><td>${k.state}</td><td>${k.createdAt}</td></tr>`)}</tbody></table>
<form method="post" action="${ctx.base}${PORTAL_PATHS.rotate}"><p><button type="submit">Rotate the key you signed in with</button> The old key stops working at once; the new one is shown once.</p></form>
<form method="post" action="${ctx.base}${PORTAL_PATHS.billing}"><p><button type="submit">Billing: card, invoices, plan, cancel</button></p></form>
<p><a href="${ctx.base}${PORTAL_PATHS.pricing}">Plans</a></p>
<form method="post" action="${ctx.base}${PORTAL_PATHS.signOut}"><p><button type="submit">Sign out</button></p></form>`;
    return page(ctx, 200, 'Your account', body);
  }

  /** Usage in the period and credits, as `GET /tollgate/usage` answers them; nothing for a plan that counts nothing. */
  function usageRows(usage: UsageView | undefined, block: CustomerRecord['usageBlock']): Html | string {
    const rows: Html[] = [];
    if (usage !== undefined && usage.counted) {
      const of = usage.limit === undefined ? 'no quota' : `of ${usage.limit}`;
      const left = usage.remaining === undefined ? '' : `, ${usage.remaining} left`;
      rows.push(html`<dt>Usage this period</dt><dd data-usage>${usage.used} units used ${of}${left}${usage.overage === 'bill' ? ' (units past the quota are billed)' : ''}</dd>`);
      if (usage.periodEnd !== undefined) rows.push(html`<dt>Period resets</dt><dd><time datetime="${isoTime(usage.periodEnd)}">${isoTime(usage.periodEnd)}</time></dd>`);
    }
    if (usage?.credits !== undefined) rows.push(html`<dt>Credits</dt><dd data-credits>${usage.credits} units prepaid</dd>`);
    if (block !== undefined) rows.push(html`<dt>Usage block</dt><dd><code>${block}</code></dd>`);
    return rows.length === 0 ? '' : html`${rows}`;
  }

  async function rotate(ctx: RequestContext): Promise<Result> {
    const { session } = await requireSession(ctx);
    const { created } = await rotateApiKey(keyStore, session.keyId, { overlapSeconds: 0, name: 'portal rotation' });
    // The old key's cached Allow must go now, not at the end of the authorizer TTL.
    await deps.flusher.flush({ restApiId: ctx.event.requestContext.apiId, stage: ctx.event.requestContext.stage });
    logger.info('portal rotated a key', { keyId: session.keyId, replacedBy: created.keyId });
    const token = sign(await deps.sessionSecret(), { customerId: session.customerId, keyId: created.keyId, expiresAt: Math.floor(now().getTime() / 1000) + SESSION_SECONDS });
    return page(
      ctx,
      200,
      'Your new API key',
      html`<p>Key <code>${session.keyId}</code> no longer works. This is its replacement. <strong>It is shown only this once</strong>: copy it now.</p>
<p><label for="api-key">API key</label><input id="api-key" class="key" type="text" readonly value="${created.key}" data-api-key></p>
<p><a href="${ctx.base}${PORTAL_PATHS.account}">Your account</a></p>`,
      {},
      [setCookie(SESSION_COOKIE, token, { path: cookiePath(ctx.base), maxAgeSeconds: SESSION_SECONDS, sameSite: 'Strict' })],
    );
  }

  async function billing(ctx: RequestContext): Promise<Result> {
    const { session } = await requireSession(ctx);
    const stripe = await stripeOrPage();
    const portal = await stripe.billingPortal.sessions.create({ customer: session.customerId, return_url: `${ctx.origin}${ctx.base}${PORTAL_PATHS.account}` });
    return redirect(portal.url);
  }
}

const isoTime = (epochSeconds: number): string => new Date(epochSeconds * 1000).toISOString();

const cookiePath = (base: string): string => `${base}/tollgate/portal`;

/** A state-changing POST must come from a page of this stage's own origin (forms send Origin). */
function checkSameOrigin(event: APIGatewayProxyEvent, origin: string): void {
  const sent = headerValue(event, 'origin');
  const fetchSite = headerValue(event, 'sec-fetch-site');
  if (sent !== origin || (fetchSite !== undefined && fetchSite !== 'same-origin')) {
    throw new PageError(403, 'Refused', 'This form must be sent from the portal itself. Nothing was changed.');
  }
}

function readForm(event: APIGatewayProxyEvent): URLSearchParams {
  const raw = event.body === null ? '' : event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  return new URLSearchParams(raw.length > 8192 ? '' : raw);
}

function redirect(location: string, cookies: string[] = []): Result {
  return {
    statusCode: 303,
    headers: { Location: location, 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer', 'X-Content-Type-Options': 'nosniff' },
    ...(cookies.length === 0 ? {} : { multiValueHeaders: { 'Set-Cookie': cookies } }),
    body: '',
  };
}

function json(status: number, value: unknown, headers: Record<string, string> = {}): Result {
  return { statusCode: status, headers: { 'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff', ...headers }, body: JSON.stringify(value) };
}

export type { Catalog };
