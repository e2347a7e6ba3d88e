import * as fc from 'fast-check';
import * as path from 'node:path';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import type Stripe from 'stripe';
import { ExactEvmScheme } from '@x402/evm';
import { privateKeyToAccount } from 'viem/accounts';
import { composePurchase, type PurchaseHandler } from '../../lambda/purchase/compose';
import { encodeHeader, httpFacilitator, packRequirement, type PaymentRequirements } from '../../lambda/shared/agents/x402';
import { readCustomer } from '../../lambda/shared/customers/store';
import { loadProjectConfig } from '../../lib/config/tollgate-config';
import { portalCatalog } from '../../lib/config/portal-catalog';
import { buildLocalDocument, purchaseSettingsFor } from '../../lib/local/stack';
import { startLocalStripe, type LocalStripe } from '../../lib/local/stripe-run';
import { startFakeFacilitator, type FakeFacilitator } from '../../lib/local/x402-facilitator';
import { freshTables, type TestTables } from '../support/dynamodb';
import { submitRounds } from './support';

const ROOT = path.join(__dirname, '..', '..');
const config = loadProjectConfig(ROOT);
const built = buildLocalDocument(config, ROOT);
// Anvil's first two test accounts: public keys for tests only.
const buyer = privateKeyToAccount('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80');
const PROBLEM = 'https://paymentauth.org/problems';

/**
 * Exactly once over x402 (docs/agents.md): whatever the replays, concurrent duplicates, tampering and
 * expiry, a payment (its authorization's nonce) settles at most once and grants at most once, what
 * settled equals what was granted, and a refused payment is a 402 with the problem that says why.
 * Payments are signed by the stock @x402/evm client; the local facilitator verifies their signatures.
 */
describe('x402 purchases are exactly once', () => {
  let tables: TestTables;
  let local: LocalStripe;
  let stripe: Stripe;
  let facilitator: FakeFacilitator;
  let handler: PurchaseHandler;
  let clock = Date.now();
  const counted: string[] = [];
  const pack = config.creditPacks[0]!;
  const settings = (): ReturnType<typeof purchaseSettingsFor> & object => purchaseSettingsFor(config, tables.names, built.routes, 'Sample')!;
  const required = (): PaymentRequirements => packRequirement(config.agentPayments!.x402!, { ...pack, amount: pack.amount!, currency: pack.currency! });
  const event = (header: string, name = 'PAYMENT-SIGNATURE'): APIGatewayProxyEvent =>
    ({ httpMethod: 'POST', path: '/tollgate/purchase', headers: { [name]: header }, queryStringParameters: { offer: pack.id }, requestContext: { domainName: '127.0.0.1', stage: 'prod' } }) as unknown as APIGatewayProxyEvent;
  /** A payment as @x402/fetch sends it: the stock scheme's signed authorization, wrapped with the requirement it accepts. */
  const signed = async (requirement: PaymentRequirements = required()): Promise<Record<string, unknown>> => {
    const created = await new ExactEvmScheme(buyer).createPaymentPayload(2, requirement);
    return { x402Version: 2, resource: { url: 'http://127.0.0.1/prod/tollgate/purchase', description: pack.name, mimeType: 'application/json' }, accepted: requirement, payload: created.payload };
  };
  const settledSum = (): bigint => [...facilitator.settled.values()].reduce((sum, s) => sum + BigInt(s.value), 0n);
  const typeOf = (body: string): string => (JSON.parse(body) as { type: string }).type;

  beforeAll(async () => {
    tables = await freshTables('agents-x402-property');
    local = await startLocalStripe({ catalog: portalCatalog(config), pages: { checkout: (id) => id, billingPortal: (id) => id } });
    stripe = local.client({});
    facilitator = await startFakeFacilitator();
    handler = composePurchase(settings(), {
      dynamodb: tables.client,
      stripe: () => Promise.resolve(stripe),
      secret: () => Promise.resolve('x402-property-secret'),
      now: () => new Date(clock),
      count: (d) => counted.push(`${d.protocol}:${d.outcome}`),
      facilitator: httpFacilitator(facilitator.url),
    });
  });
  afterAll(async () => {
    tables.client.destroy();
    await local.close();
    await facilitator.close();
  });

  it('settles once and grants once for 8 identical payments at once; the refused get a fresh PAYMENT-REQUIRED', async () => {
    counted.length = 0;
    const before = facilitator.settled.size;
    const header = encodeHeader(await signed());
    const answers = await Promise.all(Array.from({ length: 8 }, () => handler(event(header))));
    expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 402, 402, 402, 402, 402, 402, 402]);
    const paid = answers.find((a) => a.statusCode === 200)!;
    expect(JSON.parse(Buffer.from(paid.headers!['PAYMENT-RESPONSE'] as string, 'base64').toString())).toMatchObject({ success: true, payer: buyer.address });
    expect(facilitator.settled.size - before).toBe(1);
    expect((await readCustomer(tables.client, tables.names.customers, JSON.parse(paid.body).customerId))?.credits).toBe(pack.credits);
    for (const refused of answers.filter((a) => a.statusCode === 402)) {
      expect(typeOf(refused.body)).toBe(`${PROBLEM}/invalid-challenge`);
      expect(JSON.parse(Buffer.from(refused.headers!['PAYMENT-REQUIRED'] as string, 'base64').toString()).accepts).toEqual([required()]);
    }
    expect(counted.sort()).toEqual([...Array.from({ length: 7 }, () => 'x402:invalid-challenge'), 'x402:paid']);
  });

  it("takes v1's X-PAYMENT header as well", async () => {
    const answer = await handler(event(encodeHeader(await signed()), 'X-PAYMENT'));
    expect(answer.statusCode).toBe(200);
  });

  it('refuses, with a 402 that says why and nothing settled: malformed, tampered, for another amount or recipient, expired', async () => {
    const before = facilitator.settled.size;
    const cases: Array<[string, string]> = [];
    cases.push(['not base64 json', 'malformed-credential']);
    const tampered = await signed();
    const auth = (tampered.payload as { authorization: Record<string, string>; signature: string });
    auth.signature = `${auth.signature.slice(0, -4)}${auth.signature.endsWith('0000') ? '1111' : '0000'}`;
    cases.push([encodeHeader(tampered), 'verification-failed']);
    cases.push([encodeHeader(await signed({ ...required(), amount: '1' })), 'invalid-challenge']);
    cases.push([encodeHeader(await signed({ ...required(), payTo: buyer.address })), 'invalid-challenge']);
    const refusal = async (header: string): Promise<[number, string, boolean]> => {
      const answer = await handler(event(header));
      return [answer.statusCode, typeOf(answer.body), answer.headers!['PAYMENT-REQUIRED'] !== undefined];
    };
    for (const [header, problem] of cases) expect(await refusal(header)).toEqual([402, `${PROBLEM}/${problem}`, true]);
    // Past its validBefore (the client signs for maxTimeoutSeconds): expired, never sent to the facilitator.
    const early = encodeHeader(await signed());
    const now = clock;
    clock += 11 * 60_000;
    try {
      expect(await refusal(early)).toEqual([402, `${PROBLEM}/payment-expired`, true]);
    } finally {
      clock = now;
    }
    expect(facilitator.settled.size).toBe(before);
  });

  it('keeps settled = granted, at most once per payment, under any replays and concurrent duplicates', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 3 }), fc.array(fc.array(fc.nat(2), { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 4 }), async (count, rounds) => {
        const payments = await Promise.all(Array.from({ length: count }, async () => encodeHeader(await signed())));
        const before = settledSum();
        const { paidBy, customers, submitted } = await submitRounds(payments, rounds, (payment) => handler(event(payment)));
        expect([...paidBy.values()].every((n) => n === 1)).toBe(true);
        expect(paidBy.size).toBe(submitted.size);
        expect(settledSum() - before).toBe(BigInt(submitted.size) * BigInt(required().amount));
        let granted = 0;
        for (const customerId of customers) granted += (await readCustomer(tables.client, tables.names.customers, customerId))?.credits ?? 0;
        expect(granted).toBe(submitted.size * pack.credits);
      }),
      { numRuns: 8 },
    );
  });
});
