import { decide } from '../shared/customers/standing';
import { grantView } from '../shared/credit-grants';
import { parseApiKey } from '../shared/customers/api-key';
import { authenticateKey, keyRefusal } from '../shared/customers/authenticate';
import { listApiKeys, rotateApiKey } from '../shared/customers/keys';
import { isTerminal, type CustomerRecord } from '../shared/customers/record';
import { readCustomer } from '../shared/customers/store';
import { effectivePaymentUrls, PORTAL_PATHS } from '../shared/portal-paths';
import { budgetsOf } from '../shared/customers/budgets-store';
import { PageError, readForm, type Answer, type Page, type Portal, type RequestContext } from './context';
import { accountPage } from './pages/account';
import { budgetNotice, budgetSection, type BudgetFormOutcome } from './pages/budget';
import { topUpNotice, topUpSection, type TopUpFormOutcome } from './pages/top-up';
import { rotatedKeyPage } from './pages/key';
import { signInPage } from './pages/sign-in';
import { redirect, sessionCookie } from './response';
import { readSession, SESSION_COOKIE, SESSION_SECONDS, sign, type PortalSession } from './session';
import { newSessionId } from './sessions';

/**
 * The signed-in customer: sign-in with a key (sent in a POST body, never a URL), the session re-checked
 * against the store on every request (the session still held, the key still valid), the account,
 * rotation and sign-out (which ends the session server-side). Reads and writes the customers and keys
 * tables and the sessions; never Stripe.
 */

export interface SignedIn {
  readonly session: PortalSession;
  readonly customer: CustomerRecord;
}

/** The session the cookie names, if its signature holds (nothing read from the store). */
async function cookieSession(ctx: RequestContext, portal: Portal): Promise<PortalSession | 'expired' | undefined> {
  const token = ctx.cookies[SESSION_COOKIE];
  if (token === undefined || token === '') return undefined;
  return readSession(await portal.sessionSecret(), token, portal.now());
}

/** The signed-in session, re-checked against the store: a signed-out session or a revoked key's ends at once. */
export async function currentSession(ctx: RequestContext, portal: Portal): Promise<SignedIn | 'expired' | undefined> {
  const session = await cookieSession(ctx, portal);
  if (session === undefined || session === 'expired') return session;
  const [open, customer] = await Promise.all([portal.sessions.isOpen(session), readCustomer(portal.dynamodb, portal.settings.tables.customers, session.customerId)]);
  if (!open || customer === undefined || keyRefusal(customer, session.keyId, portal.now()) !== undefined) return undefined;
  return { session, customer };
}

export async function requireSession(ctx: RequestContext, portal: Portal): Promise<SignedIn> {
  const current = await currentSession(ctx, portal);
  if (current === 'expired') throw new PageError(401, 'Session expired', 'Your portal session has expired. Sign in again with your API key.');
  if (current === undefined) throw new PageError(401, 'Sign in required', 'Sign in with your API key to see your account.');
  return current;
}

/** A new session for this customer and key, valid SESSION_SECONDS from `at`, held server-side; its cookie. */
export async function sessionFor(portal: Portal, base: string, customerId: string, keyId: string, at: Date = portal.now()): Promise<string> {
  const session: PortalSession = { sessionId: newSessionId(), customerId, keyId, expiresAt: Math.floor(at.getTime() / 1000) + SESSION_SECONDS };
  const secret = await portal.sessionSecret();
  await portal.sessions.open(session);
  return sessionCookie(base, sign(secret, session));
}

export async function signIn(ctx: RequestContext, portal: Portal): Promise<Answer> {
  const key = readForm(ctx.event).get('key')?.trim() ?? '';
  const parsed = parseApiKey(key);
  const refused = signInPage(ctx.base, 'This API key is not valid: it is mistyped, unknown, revoked or expired. Nothing was changed.');
  if (parsed === undefined) return refused;
  const customer = await readCustomer(portal.dynamodb, portal.settings.tables.customers, parsed.customerId);
  if (authenticateKey(customer, key, parsed, portal.now()) !== undefined) return refused;
  return redirect(`${ctx.base}${PORTAL_PATHS.account}`, [await sessionFor(portal, ctx.base, parsed.customerId, parsed.keyId)]);
}

/** Ends the session server-side (a copy of the cookie dies with it) and clears the cookie. */
export async function signOut(ctx: RequestContext, portal: Portal): Promise<Answer> {
  const session = await cookieSession(ctx, portal);
  if (typeof session === 'object') await portal.sessions.close(session.sessionId);
  return redirect(`${ctx.base}${PORTAL_PATHS.signIn}`, [sessionCookie(ctx.base, '')]);
}

export async function account(ctx: RequestContext, portal: Portal): Promise<Answer> {
  const query = ctx.event.queryStringParameters;
  return accountFor(ctx, portal, await requireSession(ctx, portal), budgetNotice(query), topUpNotice(query));
}

/** The account page of a signed-in customer; `budget`, `topUp`: a form as sent and refused, or the last change's notice. */
export async function accountFor(ctx: RequestContext, portal: Portal, { session, customer }: SignedIn, budget: BudgetFormOutcome, topUp: TopUpFormOutcome = {}): Promise<Page> {
  const { settings } = portal;
  const urls = effectivePaymentUrls(settings, { customerId: customer.customerId, domainName: ctx.event.requestContext.domainName, stage: ctx.event.requestContext.stage });
  // The item the session check read: decide() gives the same usage view the usage route answers with.
  const decision = decide(customer, settings.routes, portal.now(), { gracePeriodSeconds: settings.gracePeriodSeconds, plans: settings.plans, ...urls });
  const plan = decision.subscription?.plan;
  const name = settings.catalog.plans.find((p) => p.lookupKey === plan)?.name ?? plan;
  // A subscription that ended (and no longer runs to its period end) is no plan the customer holds.
  const ended = decision.subscription !== undefined && isTerminal(decision.subscription.status) && !decision.standing.good;
  const { paymentUrl } = decision.context;
  const keys = await listApiKeys(portal.keyStore, customer.customerId);
  return accountPage({
    base: ctx.base,
    customerId: customer.customerId,
    ...(ended ? (name === undefined ? {} : { endedPlanName: name }) : name === undefined ? {} : { planName: name }),
    subscriptionStatus: String(decision.context.subscriptionStatus),
    ...(decision.standing.good && decision.standing.warning !== undefined ? { warning: decision.standing.warning } : {}),
    ...(decision.reason === undefined ? {} : { reason: decision.reason }),
    ...(typeof paymentUrl === 'string' ? { paymentUrl } : {}),
    ...(decision.usage === undefined ? {} : { usage: decision.usage }),
    ...(customer.usageBlock === undefined ? {} : { usageBlock: customer.usageBlock }),
    grants: (customer.grants ?? []).map((g) => grantView(g, portal.now())),
    keys,
    sessionKeyId: session.keyId,
    topUp: topUpSection({ base: ctx.base, packs: settings.catalog.creditPacks, ...(customer.topUp === undefined ? {} : { topUp: customer.topUp }), ...topUp }),
    budget: budgetSection({ base: ctx.base, budgets: budgetsOf(customer, portal.now()), keys: keys.filter((k) => k.state === 'active'), sessionKeyId: session.keyId, ...budget }),
  });
}

/** A customer's key rotations flush the stage at most this often. */
export const ROTATION_FLUSH_SECONDS = 3600;

export async function rotate(ctx: RequestContext, portal: Portal): Promise<Answer> {
  const { session } = await requireSession(ctx, portal);
  const { created } = await rotateApiKey(portal.keyStore, session.keyId, { overlapSeconds: 0, name: 'portal rotation' });
  // The old key's cached Allow should go now, not at the end of the authorizer TTL; at most once an hour
  // per customer, so that rotating in a loop cannot spend the stage's flushes (then it waits for the TTL).
  const target = { restApiId: ctx.event.requestContext.apiId, stage: ctx.event.requestContext.stage };
  await portal.flushes.requestLimited(target, `rotation#${session.customerId}`, ROTATION_FLUSH_SECONDS);
  portal.logger.info('portal rotated a key', { keyId: session.keyId, replacedBy: created.keyId });
  const next = await sessionFor(portal, ctx.base, session.customerId, created.keyId);
  await portal.sessions.close(session.sessionId);
  return { ...rotatedKeyPage({ base: ctx.base, key: created.key, replacedKeyId: session.keyId }), cookies: [next] };
}
