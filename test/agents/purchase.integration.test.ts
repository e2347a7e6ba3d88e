import * as path from 'node:path';
import type Stripe from 'stripe';
import { createApiKey } from '../../lambda/shared/customers/keys';
import { readCustomer } from '../../lambda/shared/customers/store';
import { serializeCredential, type Challenge } from '../../lambda/shared/agents/mpp';
import { loadProjectConfig } from '../../lib/config/tollgate-config';
import { portalCatalog } from '../../lib/config/portal-catalog';
import { buildLocalDocument, createLocalApi, LOCAL_WEBHOOK_SECRET, type LocalApi } from '../../lib/local/stack';
import { startLocalStripe, type LocalStripe } from '../../lib/local/stripe-run';
import { startFakeFacilitator, type FakeFacilitator } from '../../lib/local/x402-facilitator';
import { freshTables, type TestTables } from '../support/dynamodb';
import { ExactEvmScheme } from '@x402/evm';
import { privateKeyToAccount } from 'viem/accounts';
import { encodeHeader, type PaymentRequirements } from '../../lambda/shared/agents/x402';
import { parseChallenges, pay } from './support';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

const ROOT = path.join(__dirname, '..', '..');
const config = loadProjectConfig(ROOT);
const built = buildLocalDocument(config, ROOT);
const PACK = config.creditPacks[0]!;
/** The plan cdk.json sells over the protocols (tollgate:agentPayments.plans). */
const [PLAN_ID, PLAN_PRICE] = Object.entries(config.agentPayments!.plans!)[0]!;
const DAY = 86_400_000;
// Anvil's first test account: a public key for tests only.
const buyer = privateKeyToAccount('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80');

/** Agents paying the 402 over MPP, through the local gateway, the purchase function and the fake Stripe (docs/agents.md). */
describe('selling to agents on the local gateway', () => {
  let tables: TestTables;
  let api: LocalApi;
  let local: LocalStripe;
  let stripe: Stripe;
  let facilitator: FakeFacilitator;
  let seq = 0;
  const json = (buffer: Buffer): any => JSON.parse(buffer.toString('utf8'));
  const call = (method: string, p: string, headers: Record<string, string> = {}) => api.gateway.handle({ method, path: `/${config.stageName}${p}`, headers });
  const purchase = (headers: Record<string, string> = {}, offer: string | undefined = PACK.id) => call('POST', `/tollgate/purchase${offer === undefined ? '' : `?offer=${offer}`}`, headers);
  const challengeOf = (answer: { headers: Record<string, string | undefined> }): Challenge => parseChallenges(answer.headers['www-authenticate'])[0]!;
  const customer = async (): Promise<{ customerId: string; key: string }> => {
    const customerId = `cus_agents${++seq}`;
    const { key } = await createApiKey({ client: tables.client, tables: tables.names }, { customerId });
    return { customerId, key };
  };
  const credits = async (customerId: string): Promise<number | undefined> => (await readCustomer(tables.client, tables.names.customers, customerId))?.credits;

  beforeAll(async () => {
    tables = await freshTables('agents');
    local = await startLocalStripe({ catalog: portalCatalog(config), pages: { checkout: (id) => `http://127.0.0.1/checkout/${id}`, billingPortal: (id) => `http://127.0.0.1/billing/${id}` } });
    stripe = local.client({});
    facilitator = await startFakeFacilitator();
    api = createLocalApi({ config, built, dynamodbEndpoint: tables.endpoint, tables: tables.names, webhookSecret: LOCAL_WEBHOOK_SECRET, portal: { stripe, fakeStripe: local.fake!.store, sessionSecret: 'test-session' }, agentSecret: 'test-agent-secret', metering: false, facilitatorUrl: facilitator.url });
  });
  afterAll(async () => {
    api.destroy();
    tables.client.destroy();
    await local.close();
    await facilitator.close();
  });

  it('offers credit packs on a 402 of a route sold by use: an MPP challenge in WWW-Authenticate, mirrored in the body, readable by browsers', async () => {
    const { key } = await customer();
    const denied = await call('GET', '/v1/search?q=x', { Authorization: `Bearer ${key}` });
    expect(denied.statusCode).toBe(402);
    const body = json(denied.body);
    expect(body).toMatchObject({ reason: 'no_subscription', status: 402 });
    expect(body.offers).toEqual([
      { id: PACK.id, kind: 'credits', name: PACK.name, credits: PACK.credits, amount: String(PACK.amount), currency: PACK.currency, protocols: ['mpp', 'x402'], purchaseUrl: `http://127.0.0.1/prod/tollgate/purchase?offer=${PACK.id}` },
    ]);
    // x402 (cdk.json): the same pack in PAYMENT-REQUIRED, paid at the purchase route (the authorizer cannot settle).
    const required = JSON.parse(Buffer.from(String(denied.headers['payment-required']), 'base64').toString('utf8'));
    expect(required).toMatchObject({ x402Version: 2, resource: { url: `http://127.0.0.1/prod/tollgate/purchase?offer=${PACK.id}` }, accepts: [{ scheme: 'exact', amount: String(PACK.amount! * 10_000), extra: { offer: PACK.id } }] });
    const challenges = parseChallenges(denied.headers['www-authenticate']);
    expect(challenges).toHaveLength(1);
    expect(challenges[0]).toMatchObject({ realm: 'tollgate', method: 'stripe', intent: 'charge', request: { amount: '1000', currency: 'usd', externalId: PACK.id } });
    // Payable for the cache TTL plus 15 minutes.
    expect(Date.parse(challenges[0]!.expires!) - Date.now()).toBeGreaterThan((config.authorizerCacheTtlSeconds + 14 * 60) * 1000);
    expect(denied.headers['access-control-expose-headers']).toMatch(/WWW-Authenticate,PAYMENT-REQUIRED/);
  });

  it('offers the plans on a subscription route, the sold one payable over MPP and x402; a keyless caller learns the packs and where to buy them from its 401', async () => {
    const { key } = await customer();
    const denied = await call('GET', '/v1/quotes', { Authorization: `Bearer ${key}` });
    expect(denied.statusCode).toBe(402);
    const offers = json(denied.body).offers as Array<Record<string, unknown>>;
    expect(offers.map((o) => `${String(o.kind)}:${String(o.id)}`)).toEqual(Object.keys(config.plans).map((id) => `plan:${id}`));
    const purchaseUrl = `http://127.0.0.1/prod/tollgate/purchase?offer=${PLAN_ID}`;
    expect(offers.find((o) => o.id === PLAN_ID)).toMatchObject({ amount: String(PLAN_PRICE.amount), currency: PLAN_PRICE.currency, days: PLAN_PRICE.days, protocols: expect.arrayContaining(['mpp', 'x402']), purchaseUrl });
    // A plan not priced for agents is bought where people subscribe.
    for (const other of offers.filter((o) => o.id !== PLAN_ID)) expect(other).toEqual(expect.not.objectContaining({ purchaseUrl: expect.anything() }));
    const challenges = parseChallenges(denied.headers['www-authenticate']);
    expect(challenges.map((c) => c.request)).toEqual([expect.objectContaining({ amount: String(PLAN_PRICE.amount), currency: PLAN_PRICE.currency, externalId: PLAN_ID })]);
    const required = JSON.parse(Buffer.from(String(denied.headers['payment-required']), 'base64').toString('utf8'));
    expect(required).toMatchObject({ resource: { url: purchaseUrl }, accepts: [{ amount: String(PLAN_PRICE.amount * 10_000), extra: { offer: PLAN_ID } }] });
    const keyless = await call('GET', '/v1/quotes');
    expect(keyless.statusCode).toBe(401);
    expect(json(keyless.body).offers).toEqual([expect.objectContaining({ id: PACK.id, purchaseUrl: `http://127.0.0.1/prod/tollgate/purchase?offer=${PACK.id}` })]);
  });

  it('sells a keyless agent a key and credits in one paid round trip, then serves calls on the credits', async () => {
    const challenged = await purchase();
    expect(challenged.statusCode).toBe(402);
    expect(json(challenged.body).type).toBe('https://paymentauth.org/problems/payment-required');
    const paid = await purchase({ Authorization: await pay(stripe, challengeOf(challenged)) });
    expect(paid.statusCode).toBe(200);
    const body = json(paid.body);
    expect(body).toMatchObject({ offer: PACK.id, credits: PACK.credits, customerId: expect.stringMatching(/^cus_/), key: expect.stringMatching(/^tg_test_cus_/) });
    const receipt = JSON.parse(Buffer.from(paid.headers['payment-receipt']!, 'base64url').toString('utf8'));
    expect(receipt).toMatchObject({ method: 'stripe', status: 'success', reference: body.paymentIntent, externalId: PACK.id });
    expect(await credits(body.customerId)).toBe(PACK.credits);
    const intent = local.fake!.sharedPayments.paymentIntents.get(body.paymentIntent)!;
    expect(intent).toMatchObject({ amount: PACK.amount, currency: PACK.currency, customer: body.customerId, status: 'succeeded' });
    expect((await call('GET', '/v1/search?q=x', { Authorization: `Bearer ${body.key}` })).statusCode).toBe(200);
  });

  it("redeems the challenge of a paid route's 402 at the purchase route for the presenting key's customer", async () => {
    const { customerId, key } = await customer();
    const denied = await call('GET', '/v1/search?q=x', { Authorization: `Bearer ${key}` });
    const paid = await purchase({ Authorization: `Bearer ${key}`, 'Payment-Authorization': await pay(stripe, challengeOf(denied)) });
    expect(paid.statusCode).toBe(200);
    expect(json(paid.body)).toEqual(expect.not.objectContaining({ key: expect.anything() }));
    expect(json(paid.body).customerId).toBe(customerId);
    expect(await credits(customerId)).toBe(PACK.credits);
    await new Promise((resolve) => setTimeout(resolve, (config.meteredCacheTtlSeconds + 0.2) * 1000));
    expect((await call('GET', '/v1/search?q=x', { Authorization: `Bearer ${key}` })).statusCode).toBe(200);
  });

  it('publishes the same offers for discovery: llms.txt, x-payment-info and the x402 manifest agree with the live 402s', async () => {
    const { key } = await customer();
    const denied = await call('GET', '/v1/search?q=x', { Authorization: `Bearer ${key}` });
    const live = json(denied.body).offers as Array<{ id: string; amount: string; currency: string; purchaseUrl: string; protocols: string[] }>;
    const planDenied = await call('GET', '/v1/quotes', { Authorization: `Bearer ${key}` });
    const livePlan = (json(planDenied.body).offers as Array<{ id: string; amount?: string; currency?: string; days?: number; purchaseUrl?: string; protocols: string[] }>).find((o) => o.id === PLAN_ID)!;
    const llms = await call('GET', '/tollgate/llms.txt');
    expect(llms.statusCode).toBe(200);
    expect(llms.headers['content-type']).toMatch(/^text\/markdown/);
    const text = llms.body.toString('utf8');
    for (const offer of live) expect(text).toContain(`- ${offer.id}: ${PACK.name}, ${PACK.credits} credits for ${offer.amount} ${offer.currency} (minor units): POST ${offer.purchaseUrl} ,`);
    expect(text).toContain(`- ${PLAN_ID}: ${config.plans[PLAN_ID]!.name}, ${livePlan.days} days of the plan for ${livePlan.amount} ${livePlan.currency} (minor units): POST ${livePlan.purchaseUrl} ,`);
    expect(text).toContain('- GET /v1/search: 1 credit per successful call');
    // x402: each live requirement, in words, beside the URL that takes it.
    const liveAccepts = [denied, planDenied].flatMap((d) => (JSON.parse(Buffer.from(String(d.headers['payment-required']), 'base64').toString('utf8')) as { accepts: PaymentRequirements[] }).accepts);
    expect(liveAccepts.map((a) => a.extra.offer)).toEqual([PACK.id, PLAN_ID]);
    for (const r of liveAccepts) expect(text).toContain(`- ${r.extra.offer}: POST http://127.0.0.1/prod/tollgate/purchase?offer=${r.extra.offer} with a payment of ${r.amount} atomic units of ${r.asset} on ${r.network} to ${r.payTo} (exact scheme)`);
    expect(text).toContain('- Discovery manifest: http://127.0.0.1/prod/.well-known/x402.json');
    const manifest = await call('GET', '/.well-known/x402.json');
    expect(manifest.statusCode).toBe(200);
    const items = json(manifest.body).items as Array<{ resource: { url: string }; accepts: PaymentRequirements[]; input: { method: string; queryParams: { offer: string } } }>;
    expect(json(manifest.body)).toMatchObject({ x402Version: 2, lastUpdated: expect.any(Number) });
    expect(items.map((i) => ({ url: i.resource.url, accepts: i.accepts, method: i.input.method }))).toEqual(liveAccepts.map((r) => ({ url: `http://127.0.0.1/prod/tollgate/purchase?offer=${r.extra.offer}`, accepts: [r], method: 'POST' })));
    // And what the purchase route itself challenges with, keyless: the same requirement per offer.
    for (const item of items) {
      const challenged = await purchase({}, item.input.queryParams.offer);
      expect(JSON.parse(Buffer.from(String(challenged.headers['payment-required']), 'base64').toString('utf8')).accepts).toEqual(item.accepts);
    }
    const document = json((await call('GET', '/tollgate/openapi.json')).body);
    const plans = Object.entries(config.plans).map(([id, p]) => (id === PLAN_ID ? { id, name: p.name, amount: livePlan.amount, currency: livePlan.currency, days: livePlan.days, protocols: livePlan.protocols.filter((p) => p !== 'checkout') } : { id, name: p.name }));
    expect(document.paths['/v1/search'].get['x-payment-info']).toEqual({ costPerCall: 1, packs: live.map(({ id, amount, currency, protocols }) => ({ id, name: PACK.name, credits: PACK.credits, amount, currency, protocols })), plans });
    expect(document.paths['/v1/quotes'].get['x-payment-info']).toEqual({ packs: [], plans });
    expect(document.paths['/v1/ping'].get['x-payment-info']).toBeUndefined();
  });

  it('answers every refused credential 402 with a fresh challenge and the problem type that says why, never a 5xx, and grants nothing', async () => {
    const fresh = challengeOf(await purchase());
    const before = local.fake!.sharedPayments.paymentIntents.size;
    const cases: Array<[string, string]> = [
      ['Payment not-base64-json!', 'malformed-credential'],
      [serializeCredential({ challenge: fresh, payload: {} }), 'malformed-credential'],
      [await pay(stripe, { ...fresh, request: { ...fresh.request, amount: '1' } }), 'invalid-challenge'],
      [await pay(stripe, { ...fresh, id: 'forged' }), 'invalid-challenge'],
      [await pay(stripe, { ...fresh, expires: '2020-01-01T00:00:00.000Z' }), 'invalid-challenge'],
      [await pay(stripe, fresh, 'pm_card_chargeDeclined'), 'payment-failed'],
    ];
    for (const [credential, type] of cases) {
      const answer = await purchase({ Authorization: credential });
      expect({ type, status: answer.statusCode, problem: json(answer.body).type }).toEqual({ type, status: 402, problem: `https://paymentauth.org/problems/${type}` });
      expect(parseChallenges(answer.headers['www-authenticate'])).toHaveLength(1);
    }
    // A revoked token: Stripe refuses it.
    const revoked = challengeOf(await purchase());
    const credential = await pay(stripe, revoked);
    const spt = JSON.parse(Buffer.from(credential.slice('Payment '.length), 'base64url').toString('utf8')).payload.spt as string;
    await stripe.rawRequest('POST', `/v1/test_helpers/shared_payment/granted_tokens/${spt}/revoke`, {});
    expect(json((await purchase({ Authorization: credential })).body).type).toBe('https://paymentauth.org/problems/verification-failed');
    expect(local.fake!.sharedPayments.paymentIntents.size).toBe(before);
  });
  const agentPeriods = async (customerId: string) =>
    Object.entries((await readCustomer(tables.client, tables.names.customers, customerId))?.subscriptions ?? {})
      .filter(([id]) => id.startsWith('agent_'))
      .map(([, s]) => s);

  it("sells a keyless agent a key and the plan's standing over MPP: a new customer, a fixed period that does not renew, the subscription route open", async () => {
    const challenged = await purchase({}, PLAN_ID);
    expect(challenged.statusCode).toBe(402);
    expect(challengeOf(challenged).request).toMatchObject({ amount: String(PLAN_PRICE.amount), externalId: PLAN_ID });
    const started = Date.now();
    const paid = await purchase({ Authorization: await pay(stripe, challengeOf(challenged)) }, PLAN_ID);
    expect(paid.statusCode).toBe(200);
    const body = json(paid.body);
    expect(body).toMatchObject({ offer: PLAN_ID, plan: PLAN_ID, renews: false, customerId: expect.stringMatching(/^cus_/), key: expect.stringMatching(/^tg_test_cus_/) });
    expect(body).not.toHaveProperty('credits');
    expect(Date.parse(body.accessUntil) - started).toBeGreaterThanOrEqual(PLAN_PRICE.days * DAY - 2000);
    expect(Date.parse(body.accessUntil) - started).toBeLessThan(PLAN_PRICE.days * DAY + 5000);
    expect(local.fake!.sharedPayments.paymentIntents.get(body.paymentIntent)).toMatchObject({ amount: PLAN_PRICE.amount, currency: PLAN_PRICE.currency, customer: body.customerId });
    expect(await agentPeriods(body.customerId)).toEqual([expect.objectContaining({ plan: PLAN_ID, status: 'canceled', cancelAtPeriodEnd: true, currentPeriodEnd: Date.parse(body.accessUntil) / 1000 })]);
    expect(await credits(body.customerId)).toBeUndefined();
    const served = await call('GET', '/v1/quotes', { Authorization: `Bearer ${body.key}` });
    expect(served.statusCode).toBe(200);
  });

  it('sells a buyer presenting its key the plan on its own customer, and a second payment extends the period from where the first ends', async () => {
    const { customerId, key } = await customer();
    const first = await purchase({ Authorization: `Bearer ${key}`, 'Payment-Authorization': await pay(stripe, challengeOf(await purchase({ Authorization: `Bearer ${key}` }, PLAN_ID))) }, PLAN_ID);
    expect(first.statusCode).toBe(200);
    expect(json(first.body)).toEqual(expect.not.objectContaining({ key: expect.anything() }));
    expect(json(first.body).customerId).toBe(customerId);
    const second = await purchase({ Authorization: `Bearer ${key}`, 'Payment-Authorization': await pay(stripe, challengeOf(await purchase({ Authorization: `Bearer ${key}` }, PLAN_ID))) }, PLAN_ID);
    expect(second.statusCode).toBe(200);
    expect(json(second.body).periodStart).toBe(json(first.body).accessUntil);
    expect(Date.parse(json(second.body).accessUntil) - Date.parse(json(first.body).accessUntil)).toBe(PLAN_PRICE.days * DAY);
    expect((await agentPeriods(customerId)).map((p) => p.currentPeriodEnd! * 1000).sort()).toEqual([Date.parse(json(first.body).accessUntil), Date.parse(json(second.body).accessUntil)]);
    expect((await call('GET', '/v1/quotes', { Authorization: `Bearer ${key}` })).statusCode).toBe(200);
  });

  it("sells the plan over x402 too: the requirement from the route's PAYMENT-REQUIRED, settled once, a key with the plan's standing", async () => {
    const challenged = await purchase({}, PLAN_ID);
    const required = JSON.parse(Buffer.from(String(challenged.headers['payment-required']), 'base64').toString('utf8')) as { accepts: PaymentRequirements[] };
    expect(required.accepts).toHaveLength(1);
    const requirement = required.accepts[0]!;
    expect(requirement).toMatchObject({ amount: String(PLAN_PRICE.amount * 10_000), extra: { offer: PLAN_ID } });
    const created = await new ExactEvmScheme(buyer).createPaymentPayload(2, requirement);
    const payment = encodeHeader({ x402Version: 2, resource: { url: `http://127.0.0.1/prod/tollgate/purchase?offer=${PLAN_ID}`, description: PLAN_ID, mimeType: 'application/json' }, accepted: requirement, payload: created.payload });
    const before = facilitator.settled.size;
    const paid = await purchase({ 'PAYMENT-SIGNATURE': payment }, PLAN_ID);
    expect(paid.statusCode).toBe(200);
    const body = json(paid.body);
    expect(body).toMatchObject({ offer: PLAN_ID, plan: PLAN_ID, renews: false, key: expect.stringMatching(/^tg_test_cus_/) });
    expect(facilitator.settled.size - before).toBe(1);
    expect(paid.headers['payment-response']).toBeDefined();
    expect((await purchase({ 'PAYMENT-SIGNATURE': payment }, PLAN_ID)).statusCode).toBe(402);
    expect(facilitator.settled.size - before).toBe(1);
    expect((await call('GET', '/v1/quotes', { Authorization: `Bearer ${body.key}` })).statusCode).toBe(200);
  });
});
