import * as fc from 'fast-check';
import * as path from 'node:path';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import type Stripe from 'stripe';
import { composePurchase, type PurchaseHandler } from '../../lambda/purchase/compose';
import { packChallenge } from '../../lambda/shared/agents/offers';
import { readCustomer } from '../../lambda/shared/customers/store';
import { loadProjectConfig } from '../../lib/config/tollgate-config';
import { portalCatalog } from '../../lib/config/portal-catalog';
import { buildLocalDocument, purchaseSettingsFor } from '../../lib/local/stack';
import { startLocalStripe, type LocalStripe } from '../../lib/local/stripe-run';
import { freshTables, type TestTables } from '../support/dynamodb';
import { pay, submitRounds } from './support';

const ROOT = path.join(__dirname, '..', '..');
const config = loadProjectConfig(ROOT);
const SECRET = 'property-secret';
const built = buildLocalDocument(config, ROOT);

/**
 * Exactly once (docs/agents.md): whatever the replays and concurrent duplicates, each credential is
 * charged at most once and granted at most once, and what was charged equals what was granted.
 */
describe('purchases are exactly once', () => {
  let tables: TestTables;
  let local: LocalStripe;
  let stripe: Stripe;
  let handler: PurchaseHandler;
  let clock = Date.now();
  /** AgentPurchases{protocol, outcome}, as operations count them. */
  const counted: string[] = [];
  const settings = (): ReturnType<typeof purchaseSettingsFor> & object => purchaseSettingsFor(config, tables.names, built.routes, 'Sample')!;
  const pack = config.creditPacks[0]!;
  const event = (credential: string): APIGatewayProxyEvent => ({ httpMethod: 'POST', path: '/tollgate/purchase', headers: { Authorization: credential }, queryStringParameters: { offer: pack.id }, requestContext: { domainName: '127.0.0.1', stage: 'prod' } }) as unknown as APIGatewayProxyEvent;
  let issued = 0;
  // Each its own challenge (as each 402 issues one): two credentials for one challenge are one payment.
  const freshCredential = async (): Promise<string> => pay(stripe, packChallenge(SECRET, settings().agents, { ...pack, amount: pack.amount!, currency: pack.currency! }, new Date(clock + 30 * 60_000 + ++issued)));
  const intents = (): Array<{ amount: number; customer: string | null }> => [...local.fake!.sharedPayments.paymentIntents.values()];

  beforeAll(async () => {
    tables = await freshTables('agents-property');
    local = await startLocalStripe({ catalog: portalCatalog(config), pages: { checkout: (id) => id, billingPortal: (id) => id } });
    stripe = local.client({});
    handler = composePurchase(settings(), { dynamodb: tables.client, stripe: () => Promise.resolve(stripe), secret: () => Promise.resolve(SECRET), now: () => new Date(clock), count: (d) => counted.push(`${d.protocol}:${d.outcome}`) });
  });
  afterAll(async () => {
    tables.client.destroy();
    await local.close();
  });

  it('charges once and grants once for 8 identical credentials at once', async () => {
    const before = intents().length;
    counted.length = 0;
    const credential = await freshCredential();
    const answers = await Promise.all(Array.from({ length: 8 }, () => handler(event(credential))));
    expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 402, 402, 402, 402, 402, 402, 402]);
    const paid = JSON.parse(answers.find((a) => a.statusCode === 200)!.body);
    expect(intents().length - before).toBe(1);
    expect((await readCustomer(tables.client, tables.names.customers, paid.customerId))?.credits).toBe(pack.credits);
    for (const refused of answers.filter((a) => a.statusCode === 402)) expect(JSON.parse(refused.body).type).toBe('https://paymentauth.org/problems/invalid-challenge');
    expect(counted.sort()).toEqual(['mpp:invalid-challenge', 'mpp:invalid-challenge', 'mpp:invalid-challenge', 'mpp:invalid-challenge', 'mpp:invalid-challenge', 'mpp:invalid-challenge', 'mpp:invalid-challenge', 'mpp:paid']);
  });

  it('refuses an honest challenge once it has expired (payment-expired), and charges nothing', async () => {
    const before = intents().length;
    const credential = await freshCredential();
    clock += 31 * 60_000;
    const answer = await handler(event(credential));
    expect(answer.statusCode).toBe(402);
    expect(JSON.parse(answer.body).type).toBe('https://paymentauth.org/problems/payment-expired');
    expect(intents().length).toBe(before);
  });

  it('keeps charged = granted, at most once per credential, under any replays and concurrent duplicates', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 3 }), fc.array(fc.array(fc.nat(2), { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 4 }), async (count, rounds) => {
        const credentials = await Promise.all(Array.from({ length: count }, freshCredential));
        const before = intents().length;
        // Each round submits its credentials at once; rounds follow one another (replays).
        const { paidBy, customers, submitted } = await submitRounds(credentials, rounds, (credential) => handler(event(credential)));
        // Every credential submitted was paid exactly once; the others were never charged.
        expect([...paidBy.values()].every((n) => n === 1)).toBe(true);
        expect(paidBy.size).toBe(submitted.size);
        const charged = intents().slice(before);
        expect(charged).toHaveLength(submitted.size);
        expect(charged.reduce((sum, i) => sum + i.amount, 0)).toBe(submitted.size * pack.amount!);
        let granted = 0;
        for (const customerId of customers) granted += (await readCustomer(tables.client, tables.names.customers, customerId))?.credits ?? 0;
        expect(granted).toBe(submitted.size * pack.credits);
      }),
      { numRuns: 8 },
    );
  });
});
