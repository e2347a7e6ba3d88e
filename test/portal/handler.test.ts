import { GetCommand, DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { readCustomer } from '../../lambda/shared/customers/store';
import { usageAnswer } from '../../lambda/usage/handler';
import { buildStripeEvent, stripeId } from '../../lib/stripe-events';
import { signedDelivery, webhookFor } from '../webhook/support';
import { createApiKey, listApiKeys, revokeApiKey } from '../../lambda/shared/customers/keys';
import { issuanceId } from '../../lambda/portal/issuance';
import { CHECKOUT_COOKIE, SESSION_COOKIE, sign } from '../../lambda/portal/session';
import { completeCheckoutSession } from '../../lib/local/stripe-api/checkout-sessions';
import { freshTables, setCustomerAttributes, type TestTables } from '../support/dynamodb';
import { tamperLastCharacter } from '../support/keys';
import { cookieValue, ORIGIN, PLANS, portalEvent, portalHarness, setCookies, type PortalHarness } from './support';

const SECRET = 'test-session-secret-0123456789abcdef';
const CHECKOUT = '/tollgate/portal/checkout';
const SUCCESS = '/tollgate/portal/success';
const SIGN_IN = '/tollgate/portal/sign-in';
const ACCOUNT = '/tollgate/portal/account';

let tables: TestTables;
let portal: PortalHarness;
beforeAll(async () => {
  tables = await freshTables('portal');
  portal = await portalHarness(tables);
});
afterAll(() => portal.close());

const keyStore = () => ({ client: tables.client, tables: tables.names });
const keyOf = (body: string): string | undefined => /value="(tg_test_[^"]+)"/.exec(body)?.[1];
const customersCreated = () => portal.api.requests.filter((r) => r.method === 'POST' && r.path === '/v1/customers').length;

async function startCheckout(cookies: Record<string, string> = {}, plan = 'pro') {
  const result = await portal.handle(portalEvent('POST', CHECKOUT, { body: `plan=${plan}`, cookies }));
  const sessionId = /test-checkout\/(cs_test_\w+)/.exec(result.headers?.Location as string)?.[1];
  return { result, sessionId: sessionId!, binding: cookieValue(setCookies(result)[CHECKOUT_COOKIE]) };
}

async function signIn(key: string) {
  const result = await portal.handle(portalEvent('POST', SIGN_IN, { body: `key=${encodeURIComponent(key)}` }));
  return { result, session: setCookies(result)[SESSION_COOKIE] };
}

describe('portal checkout', () => {
  it('creates a Stripe Checkout Session for the plan and sends the browser to it, bound to this browser by a cookie', async () => {
    const { result, sessionId } = await startCheckout();
    expect(result.statusCode).toBe(303);
    const created = portal.api.requests.find((r) => r.method === 'POST' && r.path === '/v1/checkout/sessions')!;
    expect(created.body).toMatchObject({ mode: 'subscription', success_url: `${ORIGIN}/prod${SUCCESS}?session_id={CHECKOUT_SESSION_ID}`, line_items: [{ quantity: '1' }] });
    // Anonymous signup: Checkout creates the customer, tollgate creates none.
    expect(created.body.customer).toBeUndefined();
    expect(portal.store.checkoutSessions.get(sessionId)?.status).toBe('open');
    const cookie = setCookies(result)[CHECKOUT_COOKIE]!;
    expect(cookie).toMatch(/HttpOnly; Secure; SameSite=Lax/);
  });

  it('reuses the signed-in customer for the session and never creates another', async () => {
    const { key } = await createApiKey(keyStore(), { customerId: 'cus_portalExisting1' });
    const { session } = await signIn(key);
    const before = customersCreated();
    await startCheckout({ [SESSION_COOKIE]: cookieValue(session) });
    const created = portal.api.requests.filter((r) => r.path === '/v1/checkout/sessions').at(-1)!;
    expect(created.body).toMatchObject({ customer: 'cus_portalExisting1', client_reference_id: 'cus_portalExisting1' });
    expect(customersCreated()).toBe(before);
  });

  it('refuses a POST from another origin, and an unknown plan, creating nothing', async () => {
    const before = portal.api.requests.length;
    const foreign = await portal.handle(portalEvent('POST', CHECKOUT, { body: 'plan=pro', origin: 'https://evil.example' }));
    expect(foreign.statusCode).toBe(403);
    const missing = await portal.handle(portalEvent('POST', CHECKOUT, { body: 'plan=pro', origin: null }));
    expect(missing.statusCode).toBe(403);
    const unknown = await portal.handle(portalEvent('POST', CHECKOUT, { body: 'plan=%3Cscript%3E' }));
    expect(unknown.statusCode).toBe(400);
    expect(portal.api.requests.length).toBe(before);
  });
});

describe('portal success page (key issuance, idempotent per Checkout Session)', () => {
  it('issues the key once to the browser that paid; a reload, a shared URL or a replayed id never shows a key again', async () => {
    const { sessionId, binding } = await startCheckout();
    completeCheckoutSession(portal.store, sessionId);
    const customerId = portal.store.checkoutSessions.get(sessionId)!.customer as string;
    const first = await portal.handle(portalEvent('GET', SUCCESS, { query: { session_id: sessionId }, cookies: { [CHECKOUT_COOKIE]: binding } }));
    expect(first.statusCode).toBe(200);
    expect(first.headers?.['Cache-Control']).toBe('no-store');
    const key = keyOf(first.body)!;
    expect(key).toMatch(new RegExp(`^tg_test_${customerId}_`));
    const keys = await listApiKeys(keyStore(), customerId);
    expect(keys).toHaveLength(1);

    const reload = await portal.handle(portalEvent('GET', SUCCESS, { query: { session_id: sessionId }, cookies: { [CHECKOUT_COOKIE]: binding } }));
    const shared = await portal.handle(portalEvent('GET', SUCCESS, { query: { session_id: sessionId } }));
    for (const again of [reload, shared]) {
      expect(again.statusCode).toBe(409);
      expect(keyOf(again.body)).toBeUndefined();
    }
    expect(await listApiKeys(keyStore(), customerId)).toHaveLength(1);
    // The payer's own reload (signed in by the page that showed the key) goes to the account: expected, no error.
    const session = cookieValue(setCookies(first)[SESSION_COOKIE]);
    const payerReload = await portal.handle(portalEvent('GET', SUCCESS, { query: { session_id: sessionId }, cookies: { [SESSION_COOKIE]: session } }));
    expect(payerReload).toMatchObject({ statusCode: 303, headers: { Location: `/prod${ACCOUNT}` } });
    const claim = await DynamoDBDocumentClient.from(tables.client).send(new GetCommand({ TableName: tables.names.events, Key: { eventId: issuanceId(sessionId) } }));
    expect(claim.Item).toMatchObject({ customerId, keyId: keys[0]!.keyId });
    expect(claim.Item?.expiresAt).toBeUndefined();
  });

  it('says "payment processing" for a delayed payment, keeps the browser bound to it, and shows the key once it settles (#24 item 4)', async () => {
    const { sessionId, binding } = await startCheckout();
    const completed = completeCheckoutSession(portal.store, sessionId)!;
    const customerId = completed.customer as string;
    // A SEPA, ACH or Bacs debit: the session is complete, its payment still settling.
    portal.store.checkoutSessions.set(sessionId, { ...completed, payment_status: 'unpaid' });
    const processing = await portal.handle(portalEvent('GET', SUCCESS, { query: { session_id: sessionId }, cookies: { [CHECKOUT_COOKIE]: binding } }));
    expect(processing.statusCode).toBe(200);
    expect(processing.body).toContain('Payment processing');
    expect(processing.body).toContain('come back to this page in this browser');
    expect(keyOf(processing.body)).toBeUndefined();
    expect(await listApiKeys(keyStore(), customerId)).toHaveLength(0);
    // The binding outlives the settling: 15 days.
    expect(setCookies(processing)[CHECKOUT_COOKIE]).toMatch(/Max-Age=1296000/);
    expect(cookieValue(setCookies(processing)[CHECKOUT_COOKIE])).toBe(binding);

    portal.store.checkoutSessions.set(sessionId, { ...completed, payment_status: 'paid' });
    const settled = await portal.handle(portalEvent('GET', SUCCESS, { query: { session_id: sessionId }, cookies: { [CHECKOUT_COOKIE]: binding } }));
    expect(settled.statusCode).toBe(200);
    expect(keyOf(settled.body)).toMatch(new RegExp(`^tg_test_${customerId}_`));
    expect(await listApiKeys(keyStore(), customerId)).toHaveLength(1);
  });

  it('issues exactly one key when the success page is loaded concurrently', async () => {
    const { sessionId, binding } = await startCheckout();
    completeCheckoutSession(portal.store, sessionId);
    const customerId = portal.store.checkoutSessions.get(sessionId)!.customer as string;
    const results = await Promise.all(
      Array.from({ length: 6 }, () => portal.handle(portalEvent('GET', SUCCESS, { query: { session_id: sessionId }, cookies: { [CHECKOUT_COOKIE]: binding } }))),
    );
    expect(results.filter((r) => keyOf(r.body) !== undefined)).toHaveLength(1);
    expect(results.filter((r) => r.statusCode === 409)).toHaveLength(5);
    expect(await listApiKeys(keyStore(), customerId)).toHaveLength(1);
  });

  it('shows no key for a session paid in another browser (no binding cookie), and leaves it for the payer', async () => {
    const { sessionId, binding } = await startCheckout();
    completeCheckoutSession(portal.store, sessionId);
    const stranger = await portal.handle(portalEvent('GET', SUCCESS, { query: { session_id: sessionId }, cookies: { [CHECKOUT_COOKIE]: sign(SECRET, { checkoutSessionId: 'cs_test_other' }) } }));
    expect(stranger.statusCode).toBe(403);
    expect(keyOf(stranger.body)).toBeUndefined();
    const payer = await portal.handle(portalEvent('GET', SUCCESS, { query: { session_id: sessionId }, cookies: { [CHECKOUT_COOKIE]: binding } }));
    expect(keyOf(payer.body)).toBeDefined();
  });

  it('issues nothing for an unpaid session, a forged id, a malformed id or a session of another customer than the one signed in', async () => {
    const unpaid = await startCheckout();
    const notPaid = await portal.handle(portalEvent('GET', SUCCESS, { query: { session_id: unpaid.sessionId }, cookies: { [CHECKOUT_COOKIE]: unpaid.binding } }));
    expect(notPaid.statusCode).toBe(402);
    const forgedId = 'cs_test_forged000000000000000000';
    const forged = await portal.handle(portalEvent('GET', SUCCESS, { query: { session_id: forgedId }, cookies: { [CHECKOUT_COOKIE]: sign(SECRET, { checkoutSessionId: forgedId }) } }));
    expect(forged.statusCode).toBe(404);
    const malformed = await portal.handle(portalEvent('GET', SUCCESS, { query: { session_id: '<script>alert(1)</script>' } }));
    expect(malformed.statusCode).toBe(400);
    expect(malformed.body).not.toContain('<script>alert(1)');

    const paid = await startCheckout();
    completeCheckoutSession(portal.store, paid.sessionId);
    const { key } = await createApiKey(keyStore(), { customerId: 'cus_portalSomeoneElse' });
    const { session } = await signIn(key);
    const other = await portal.handle(portalEvent('GET', SUCCESS, { query: { session_id: paid.sessionId }, cookies: { [CHECKOUT_COOKIE]: paid.binding, [SESSION_COOKIE]: cookieValue(session) } }));
    expect(other.statusCode).toBe(403);
    for (const r of [notPaid, forged, malformed, other]) expect(keyOf(r.body)).toBeUndefined();
    const customerId = portal.store.checkoutSessions.get(paid.sessionId)!.customer as string;
    expect(await listApiKeys(keyStore(), customerId)).toHaveLength(0);
    const claim = await DynamoDBDocumentClient.from(tables.client).send(new GetCommand({ TableName: tables.names.events, Key: { eventId: issuanceId(paid.sessionId) } }));
    expect(claim.Item).toBeUndefined();
  });

  it('says credits were added, not "Subscribed", when the signed-in customer bought a credit pack', async () => {
    const { key } = await createApiKey(keyStore(), { customerId: 'cus_portalPackBuyer1' });
    const cookies = { [SESSION_COOKIE]: cookieValue((await signIn(key)).session) };
    const started = await portal.handle(portalEvent('POST', CHECKOUT, { body: 'pack=credits_100', cookies }));
    const sessionId = /test-checkout\/(cs_test_\w+)/.exec(started.headers?.Location as string)![1]!;
    expect(portal.store.checkoutSessions.get(sessionId)).toMatchObject({ mode: 'payment', metadata: { tollgate_credits: '100' } });
    completeCheckoutSession(portal.store, sessionId);
    const done = await portal.handle(portalEvent('GET', SUCCESS, { query: { session_id: sessionId }, cookies }));
    expect(done.statusCode).toBe(200);
    expect(done.body).toContain('<title>Credits added</title>');
    expect(done.body).toContain('100 credits');
    expect(done.body).not.toContain('Subscribed');
    expect(keyOf(done.body)).toBeUndefined();
  });

  it('says the existing keys now work when the signed-in customer paid, issuing no new key', async () => {
    const { key } = await createApiKey(keyStore(), { customerId: 'cus_portalUpgrader1' });
    const { session } = await signIn(key);
    const cookies = { [SESSION_COOKIE]: cookieValue(session) };
    const { sessionId } = await startCheckout(cookies);
    completeCheckoutSession(portal.store, sessionId);
    const done = await portal.handle(portalEvent('GET', SUCCESS, { query: { session_id: sessionId }, cookies }));
    expect(done.statusCode).toBe(200);
    expect(done.body).toContain('existing API keys now have access');
    expect(keyOf(done.body)).toBeUndefined();
    expect(await listApiKeys(keyStore(), 'cus_portalUpgrader1')).toHaveLength(1);
  });
});

describe('portal sign-in', () => {
  it('signs in with a key sent in a POST body and sets a short-lived HttpOnly, Secure, SameSite=Strict session cookie', async () => {
    const { key } = await createApiKey(keyStore(), { customerId: 'cus_portalSignin1' });
    const { result, session } = await signIn(key);
    expect(result.statusCode).toBe(303);
    expect(result.headers?.Location).toBe(`/prod${ACCOUNT}`);
    expect(session).toMatch(/^tg_session=[^;]+; Path=\/prod\/tollgate\/portal; Max-Age=900; HttpOnly; Secure; SameSite=Strict$/);
    // Neither the key nor its secret part travels in the cookie or the redirect.
    expect(session).not.toContain(key.slice(-28));
    const account = await portal.handle(portalEvent('GET', ACCOUNT, { cookies: { tg_session: cookieValue(session) } }));
    expect(account.statusCode).toBe(200);
    expect(account.body).toContain('cus_portalSignin1');
    expect(account.body).toContain('no_subscription');
    expect(account.body).not.toContain(key);
  });

  it('shows a metered customer its usage in the period, when it resets and its credits, as the usage route counts them', async () => {
    const customerId = 'cus_portalMetered1';
    const { key } = await createApiKey(keyStore(), { customerId });
    const periodEnd = Math.floor(Date.now() / 1000) + 10 * 24 * 3600;
    const { handler } = webhookFor(tables, { plans: PLANS });
    const created = Math.floor(Date.now() / 1000) - 60;
    expect((await handler(signedDelivery(buildStripeEvent('customer.subscription.created', { customer: customerId, subscription: stripeId('sub'), created, lookupKey: 'sample_metered', currentPeriodEnd: periodEnd })))).statusCode).toBe(200);
    await setCustomerAttributes(DynamoDBDocumentClient.from(tables.client), tables.names.customers, customerId, { periodUsed: 7, usagePeriodEnd: periodEnd, credits: 3 });
    const { session } = await signIn(key);
    const account = await portal.handle(portalEvent('GET', ACCOUNT, { cookies: { tg_session: cookieValue(session) } }));
    expect(account.statusCode).toBe(200);
    const resets = new Date(periodEnd * 1000).toISOString();
    expect(account.body).toContain('<dd data-usage>7 units used of 20, 13 left</dd>');
    expect(account.body).toContain(`<time datetime="${resets}">${resets}</time>`);
    expect(account.body).toContain('<dd data-credits>3 units prepaid</dd>');
    // The same figures as GET /tollgate/usage.
    const record = await readCustomer(tables.client, tables.names.customers, customerId);
    expect(usageAnswer(record!, { customersTable: tables.names.customers, gracePeriodSeconds: 3600, plans: PLANS }, new Date())).toMatchObject({ used: 7, limit: 20, remaining: 13, credits: 3, resetsAt: resets });
  });

  it('says a quota is used up, never "35 units used of 20", when calls went past it', async () => {
    const customerId = 'cus_portalPastQuota1';
    const { key } = await createApiKey(keyStore(), { customerId });
    const periodEnd = Math.floor(Date.now() / 1000) + 10 * 24 * 3600;
    const { handler } = webhookFor(tables, { plans: PLANS });
    expect((await handler(signedDelivery(buildStripeEvent('customer.subscription.created', { customer: customerId, subscription: stripeId('sub'), created: Math.floor(Date.now() / 1000) - 60, lookupKey: 'sample_metered', currentPeriodEnd: periodEnd })))).statusCode).toBe(200);
    await DynamoDBDocumentClient.from(tables.client).send(
      new UpdateCommand({ TableName: tables.names.customers, Key: { customerId }, UpdateExpression: 'SET periodUsed = :used, usagePeriodEnd = :end', ExpressionAttributeValues: { ':used': 35, ':end': periodEnd } }),
    );
    const { session } = await signIn(key);
    const account = await portal.handle(portalEvent('GET', ACCOUNT, { cookies: { tg_session: cookieValue(session) } }));
    expect(account.body).toContain('<dd data-usage>20 of 20 units used: the quota is used up (15 more were served before the limit applied)</dd>');
    expect(account.body).not.toContain('35 units used of 20');
  });

  it('says the customer holds no plan once its subscription was canceled', async () => {
    const customerId = 'cus_portalCanceled1';
    const { key } = await createApiKey(keyStore(), { customerId });
    const { handler } = webhookFor(tables, { plans: PLANS });
    const created = Math.floor(Date.now() / 1000) - 60;
    const subscription = stripeId('sub');
    expect((await handler(signedDelivery(buildStripeEvent('customer.subscription.created', { customer: customerId, subscription, created, lookupKey: 'pro' })))).statusCode).toBe(200);
    const { session } = await signIn(key);
    const before = await portal.handle(portalEvent('GET', ACCOUNT, { cookies: { tg_session: cookieValue(session) } }));
    expect(before.body).toContain('<dt>Plan</dt><dd>Pro</dd>');
    expect((await handler(signedDelivery(buildStripeEvent('customer.subscription.deleted', { customer: customerId, subscription, created: created + 1, lookupKey: 'pro' })))).statusCode).toBe(200);
    const after = await portal.handle(portalEvent('GET', ACCOUNT, { cookies: { tg_session: cookieValue(session) } }));
    expect(after.body).toContain('<dt>Plan</dt><dd>none (Pro ended)</dd>');
    expect(after.body).toContain('subscription_canceled');
  });

  it('shows no usage to a customer whose plan counts nothing and who never had credits', async () => {
    const { key } = await createApiKey(keyStore(), { customerId: 'cus_portalUnmetered1' });
    const { session } = await signIn(key);
    const account = await portal.handle(portalEvent('GET', ACCOUNT, { cookies: { tg_session: cookieValue(session) } }));
    expect(account.statusCode).toBe(200);
    expect(account.body).not.toContain('data-usage');
    expect(account.body).not.toContain('data-credits');
  });

  it('refuses a revoked key, a mistyped key and a key of an unknown customer: a clear page, no cookie', async () => {
    const { key, keyId } = await createApiKey(keyStore(), { customerId: 'cus_portalRevoked1' });
    await revokeApiKey(keyStore(), keyId);
    for (const attempt of [key, tamperLastCharacter(key), 'tg_test_cus_nobody_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA']) {
      const { result, session } = await signIn(attempt);
      expect(result.statusCode).toBe(401);
      expect(result.body).toContain('not valid');
      expect(session).toBeUndefined();
      expect(result.body).not.toContain(attempt);
    }
  });

  it('ends the session when its key is revoked, when it expires, or when the cookie is forged', async () => {
    let now = new Date('2026-11-30T12:00:00Z');
    const clocked = await portalHarness(tables, { now: () => now });
    try {
      const { key, keyId } = await createApiKey({ ...keyStore(), now: () => now }, { customerId: 'cus_portalExpiry1' });
      const signedIn = await clocked.handle(portalEvent('POST', SIGN_IN, { body: `key=${key}` }));
      const cookie = cookieValue(setCookies(signedIn)[SESSION_COOKIE]);
      expect((await clocked.handle(portalEvent('GET', ACCOUNT, { cookies: { tg_session: cookie } }))).statusCode).toBe(200);
      now = new Date(now.getTime() + 16 * 60 * 1000);
      const expired = await clocked.handle(portalEvent('GET', ACCOUNT, { cookies: { tg_session: cookie } }));
      expect(expired.statusCode).toBe(401);
      expect(expired.body).toContain('Session expired');
      const forged = sign('another-secret', { customerId: 'cus_portalExpiry1', keyId, expiresAt: now.getTime() / 1000 + 600 });
      expect((await clocked.handle(portalEvent('GET', ACCOUNT, { cookies: { tg_session: forged } }))).statusCode).toBe(401);
      const fresh = cookieValue(setCookies(await clocked.handle(portalEvent('POST', SIGN_IN, { body: `key=${key}` })))[SESSION_COOKIE]);
      await revokeApiKey({ ...keyStore(), now: () => now }, keyId);
      expect((await clocked.handle(portalEvent('GET', ACCOUNT, { cookies: { tg_session: fresh } }))).statusCode).toBe(401);
    } finally {
      await clocked.close();
    }
  });

  it('rotates the signed-in key: the old one stops at once, the authorizer cache is flushed, the new key is shown once', async () => {
    const { key, keyId } = await createApiKey(keyStore(), { customerId: 'cus_portalRotate1' });
    const { session } = await signIn(key);
    const rotated = await portal.handle(portalEvent('POST', '/tollgate/portal/rotate', { cookies: { tg_session: cookieValue(session) } }));
    expect(rotated.statusCode).toBe(200);
    expect(rotated.headers?.['Cache-Control']).toBe('no-store');
    const fresh = keyOf(rotated.body)!;
    expect(fresh).not.toBe(key);
    const keys = await listApiKeys(keyStore(), 'cus_portalRotate1');
    expect(keys.find((k) => k.keyId === keyId)?.state).toBe('expired');
    expect(keys.filter((k) => k.state === 'active')).toHaveLength(1);
    expect(portal.flushes.at(-1)).toEqual({ restApiId: 'a1b2c3d4e5', stage: 'prod' });
    // A rotation is a POST with a session: without either nothing changes.
    const refused = await portal.handle(portalEvent('POST', '/tollgate/portal/rotate', {}));
    expect(refused.statusCode).toBe(401);
  });

  it('flushes for one rotation an hour per customer: rotating in a loop cannot spend the stage flushes', async () => {
    const { key } = await createApiKey(keyStore(), { customerId: 'cus_portalRotateLoop' });
    let { session } = await signIn(key);
    const before = portal.flushes.length;
    for (let i = 0; i < 4; i++) {
      const rotated = await portal.handle(portalEvent('POST', '/tollgate/portal/rotate', { cookies: { tg_session: cookieValue(session) } }));
      expect(rotated.statusCode).toBe(200);
      session = setCookies(rotated)[SESSION_COOKIE]!;
    }
    expect(portal.flushes.length - before).toBe(1);
  });

  it('opens the Stripe Billing Portal with a server-side session for the signed-in customer only', async () => {
    const { key } = await createApiKey(keyStore(), { customerId: 'cus_portalBilling1' });
    const { session } = await signIn(key);
    const opened = await portal.handle(portalEvent('POST', '/tollgate/portal/billing', { cookies: { tg_session: cookieValue(session) } }));
    expect(opened.statusCode).toBe(303);
    expect(opened.headers?.Location).toMatch(/^https:\/\/billing\.example\/bps_/);
    expect(portal.api.requests.at(-1)).toMatchObject({ path: '/v1/billing_portal/sessions', body: { customer: 'cus_portalBilling1', return_url: `${ORIGIN}/prod${ACCOUNT}` } });
    expect((await portal.handle(portalEvent('POST', '/tollgate/portal/billing', {}))).statusCode).toBe(401);
  });
});

describe('the plans page and the brand', () => {
  it("shows each plan's and pack's price as Stripe has it, read once per few minutes, and the plans without prices when Stripe fails", async () => {
    let now = new Date('2026-11-30T12:00:00Z');
    const clocked = await portalHarness(tables, { now: () => now });
    try {
      const plans = await clocked.handle(portalEvent('GET', '/tollgate/portal'));
      expect(plans.statusCode).toBe(200);
      expect(plans.body).toContain('<h3>Pro</h3><p class="price" data-price>$20.00 per month</p>');
      expect(plans.body).toContain('<h3>100 credits</h3><p class="price" data-price>$10.00</p>');
      const reads = () => clocked.api.requests.filter((r) => r.method === 'GET' && r.path === '/v1/prices');
      expect(reads()).toHaveLength(1);
      expect(reads()[0]!.body).toMatchObject({ lookup_keys: ['pro', 'sample_metered', 'credits_100'], active: 'true' });
      await clocked.handle(portalEvent('GET', '/tollgate/portal'));
      expect(reads()).toHaveLength(1);
      // Past the cache's lifetime, Stripe is read again; when it fails, the plans still show.
      now = new Date(now.getTime() + 6 * 60 * 1000);
      clocked.api.failNext(1, { status: 500, body: { error: { type: 'api_error', message: 'down' } } });
      const degraded = await clocked.handle(portalEvent('GET', '/tollgate/portal'));
      expect(degraded.statusCode).toBe(200);
      expect(degraded.body).toContain('Subscribe to Pro');
      expect(degraded.body).not.toContain('data-price');
      expect((await clocked.handle(portalEvent('GET', '/tollgate/portal'))).body).toContain('$20.00 per month');
    } finally {
      await clocked.close();
    }
  });

  it("shows the seller's product name, logo and colours on every page, the logo's origin allowed by the CSP", async () => {
    const branded = await portalHarness(tables, { brand: { name: 'Bookshop', logoUrl: 'https://cdn.bookshop.example/logo.svg', colors: { accent: '#0b57d0', link: '#7b1fa2' } } });
    try {
      const plans = await branded.handle(portalEvent('GET', '/tollgate/portal'));
      expect(plans.body).toContain('<title>Plans · Bookshop</title>');
      expect(plans.body).toContain('<span class="brand"><img src="https://cdn.bookshop.example/logo.svg" alt="" height="28"> <strong>Bookshop</strong></span>');
      expect(plans.body).toContain('<link rel="stylesheet" href="/prod/tollgate/assets/brand.css">');
      expect(plans.headers?.['Content-Security-Policy']).toContain("img-src 'self' data: https://cdn.bookshop.example;");
      const css = await branded.handle(portalEvent('GET', '/tollgate/assets/{asset}', { pathParameters: { asset: 'brand.css' } }));
      expect(css).toMatchObject({ statusCode: 200, headers: { 'Content-Type': 'text/css; charset=utf-8' }, body: ':root { --tollgate-accent: #0b57d0; --tollgate-link: #7b1fa2; }\n' });
      const docs = await branded.handle(portalEvent('GET', '/tollgate/docs'));
      expect(docs.body).toContain('<title>API reference · Bookshop</title>');
      expect(docs.body).toContain('<a href="/prod/tollgate/portal">Plans and pricing</a> <a href="/prod/tollgate/portal/sign-in">Sign in</a>');
      expect(docs.headers?.['Content-Security-Policy']).toContain('https://cdn.bookshop.example');
    } finally {
      await branded.close();
    }
    // Without a brand: tollgate's plain pages, no brand stylesheet, the CSP as it was.
    const plain = await portal.handle(portalEvent('GET', '/tollgate/portal'));
    expect(plain.body).toContain('<title>Plans</title>');
    expect(plain.body).not.toContain('brand.css');
    expect(plain.headers?.['Content-Security-Policy']).toContain("img-src 'self' data:;");
  });
});

describe('portal pages', () => {
  it('carry a strict CSP, nosniff, a same-origin referrer policy and no-store, and escape what they echo', async () => {
    const pages = await Promise.all([
      portal.handle(portalEvent('GET', '/tollgate/portal')),
      portal.handle(portalEvent('GET', SIGN_IN)),
      portal.handle(portalEvent('GET', '/tollgate/problems/{reason}', { pathParameters: { reason: '"><img src=x onerror=alert(1)>' } })),
      portal.handle(portalEvent('GET', ACCOUNT)),
    ]);
    for (const page of pages) {
      expect(page.headers?.['Content-Security-Policy']).toMatch(/default-src 'none'; script-src 'self'; style-src 'self'/);
      expect(page.headers?.['X-Content-Type-Options']).toBe('nosniff');
      expect(page.headers?.['Referrer-Policy']).toBe('same-origin');
      expect(page.body).not.toMatch(/<script>|onerror=alert\(1\)>/);
    }
    expect(pages[2].statusCode).toBe(404);
    expect(pages[2].body).toContain('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;');
  });

  it('says plainly when no Stripe API key is configured, creating nothing', async () => {
    const unconfigured = await portalHarness(tables, { stripe: false });
    try {
      const result = await unconfigured.handle(portalEvent('POST', CHECKOUT, { body: 'plan=pro' }));
      expect(result.statusCode).toBe(503);
      expect(result.body).toContain('Payments not configured');
      expect(unconfigured.api.requests).toHaveLength(0);
    } finally {
      await unconfigured.close();
    }
  });
});
