import type { APIGatewayProxyEvent } from 'aws-lambda';
import { composeAuthorizer } from '../../lambda/authorizer/compose';
import { composePurchase } from '../../lambda/purchase/compose';
import { agentPaymentsOf } from '../../lib/config/agents';
import { loadProjectConfig } from '../../lib/config/tollgate-config';
import { portalCatalog } from '../../lib/config/portal-catalog';
import { localClient } from '../../lib/local/dynamodb-local';
import { buildLocalDocument, createLocalApi, LOCAL_WEBHOOK_SECRET, purchaseSettingsFor } from '../../lib/local/stack';
import { startLocalStripe } from '../../lib/local/stripe-run';
import { packChallenge } from '../../lambda/shared/agents/offers';
import { serializeCredential } from '../../lambda/shared/agents/mpp';
import { STRIPE_PREVIEW_API_VERSION } from '../../lambda/purchase/handler';
import { encodeHeader, httpFacilitator, packRequirement, type PaymentRequirements } from '../../lambda/shared/agents/x402';
import { startFakeFacilitator } from '../../lib/local/x402-facilitator';
import { ExactEvmScheme } from '@x402/evm';
import { privateKeyToAccount } from 'viem/accounts';
import { decisionBench } from '../lib/decisions';
import { cycling, latenciesAgainst } from '../lib/interleave';
import { authorizerEvent, freshBenchTables } from '../lib/authorizer';
import { SIZES } from '../lib/sizes';
import { exactMeasure, ratioMeasure } from '../lib/stats';
import type { Figure } from '../lib/types';

/**
 * B13: selling to agents (docs/agents.md). How many HTTP round trips a keyless agent needs to its first
 * 200, how many charges 8 identical credentials submitted at once make, and what offering to agents costs
 * the paid route's decision (an Allow with agent payments on, against the same Allow with them off, in
 * the same run: the B1 decision).
 */
export const figure: Figure = {
  id: 'B13',
  title: 'agents: round trips to a key, charges per credential, decision cost with offers on',
  async run(context) {
    const sizes = SIZES[context.mode];
    const config = loadProjectConfig(context.root);
    const agents = agentPaymentsOf(config);
    if (agents === undefined || agents.packs.length === 0) return { available: false, unavailableReason: 'tollgate:agentPayments sells no pack in cdk.json', measures: [], facts: {}, notes: [] };
    const built = buildLocalDocument(config, context.root);
    const names = await freshBenchTables(context.dynamodbEndpoint, 'agents');
    const local = await startLocalStripe({ catalog: portalCatalog(config), pages: { checkout: (id) => id, billingPortal: (id) => id } });
    const facilitator = agents.x402 === undefined ? undefined : await startFakeFacilitator();
    const stripe = local.client({});
    const secret = 'bench-agent-secret';
    const client = localClient(context.dynamodbEndpoint);
    const api = createLocalApi({ config, built, dynamodbEndpoint: context.dynamodbEndpoint, tables: names, webhookSecret: LOCAL_WEBHOOK_SECRET, portal: { stripe, fakeStripe: local.fake!.store, sessionSecret: 'bench' }, agentSecret: secret, metering: false, ...(facilitator === undefined ? {} : { facilitatorUrl: facilitator.url }) });
    const bench = await decisionBench(context, sizes.customers);
    try {
      // 1. A keyless agent, from its first call: every request counted.
      let roundTrips = 0;
      const call = async (method: string, route: string, headers: Record<string, string> = {}) => {
        roundTrips += 1;
        return api.gateway.handle({ method, path: `/${config.stageName}${route}`, headers });
      };
      const first = await call('GET', '/v1/search?q=agents');
      const offer = (JSON.parse(first.body.toString('utf8')) as { offers: Array<{ purchaseUrl: string }> }).offers[0]!;
      const purchasePath = new URL(offer.purchaseUrl).pathname.slice(`/${config.stageName}`.length) + new URL(offer.purchaseUrl).search;
      const challenged = await call('POST', purchasePath);
      const params = Object.fromEntries([...String(challenged.headers['www-authenticate']).matchAll(/([a-z]+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
      const request = JSON.parse(Buffer.from(params.request!, 'base64url').toString('utf8')) as Record<string, unknown>;
      const challenge = { id: params.id!, realm: params.realm!, method: params.method!, intent: params.intent!, request, description: params.description!, expires: params.expires! };
      const spt = async (): Promise<string> =>
        ((await stripe.rawRequest('POST', '/v1/test_helpers/shared_payment/granted_tokens', { payment_method: 'pm_card_visa', usage_limits: { currency: request.currency, max_amount: Number(request.amount), expires_at: Math.floor(Date.now() / 1000) + 3600 } }, { apiVersion: STRIPE_PREVIEW_API_VERSION })) as { id: string }).id;
      const paid = await call('POST', purchasePath, { Authorization: serializeCredential({ challenge, payload: { spt: await spt() } }) });
      const toKey = roundTrips;
      const { key } = JSON.parse(paid.body.toString('utf8')) as { key: string };
      const served = await call('GET', '/v1/search?q=agents', { Authorization: `Bearer ${key}` });
      const toPaid = roundTrips;
      if (first.statusCode !== 401 || challenged.statusCode !== 402 || paid.statusCode !== 200 || served.statusCode !== 200) {
        throw new Error(`benchmark set-up is wrong: ${first.statusCode} ${challenged.statusCode} ${paid.statusCode} ${served.statusCode}`);
      }

      // 1b. The same keyless agent over x402: the 401's offer → the purchase 402 (PAYMENT-REQUIRED) → a signed payment → the key → the paid call.
      // Anvil's first test account: a public test key.
      const buyer = privateKeyToAccount('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80');
      const signed = async (requirement: PaymentRequirements): Promise<string> =>
        encodeHeader({ x402Version: 2, resource: { url: offer.purchaseUrl, description: 'bench', mimeType: 'application/json' }, accepted: requirement, payload: (await new ExactEvmScheme(buyer).createPaymentPayload(2, requirement)).payload });
      let x402ToKey: number | undefined;
      let x402ToPaid: number | undefined;
      if (facilitator !== undefined) {
        const start = roundTrips;
        const firstX = await call('GET', '/v1/search?q=agents');
        const offerX = (JSON.parse(firstX.body.toString('utf8')) as { offers: Array<{ purchaseUrl: string; protocols: string[] }> }).offers.find((o) => o.protocols.includes('x402'))!;
        const pathX = new URL(offerX.purchaseUrl).pathname.slice(`/${config.stageName}`.length) + new URL(offerX.purchaseUrl).search;
        const challengedX = await call('POST', pathX);
        const requirement = (JSON.parse(Buffer.from(String(challengedX.headers['payment-required']), 'base64').toString('utf8')) as { accepts: PaymentRequirements[] }).accepts[0]!;
        const paidX = await call('POST', pathX, { 'PAYMENT-SIGNATURE': await signed(requirement) });
        x402ToKey = roundTrips - start;
        const servedX = await call('GET', '/v1/search?q=agents', { Authorization: `Bearer ${(JSON.parse(paidX.body.toString('utf8')) as { key: string }).key}` });
        x402ToPaid = roundTrips - start;
        if (firstX.statusCode !== 401 || challengedX.statusCode !== 402 || paidX.statusCode !== 200 || servedX.statusCode !== 200) {
          throw new Error(`benchmark set-up is wrong (x402): ${firstX.statusCode} ${challengedX.statusCode} ${paidX.statusCode} ${servedX.statusCode}`);
        }
      }

      // 2. 8 identical credentials at once, on the purchase function itself (and 8 identical x402 payments).
      const purchase = composePurchase(purchaseSettingsFor(config, names, built.routes, 'bench')!, {
        dynamodb: client,
        stripe: () => Promise.resolve(stripe),
        secret: () => Promise.resolve(secret),
        ...(facilitator === undefined ? {} : { facilitator: httpFacilitator(facilitator.url) }),
      });
      const pack = agents.packs[0]!;
      const trials = context.mode === 'smoke' ? 1 : 5;
      const charges: number[] = [];
      for (let i = 0; i < trials; i++) {
        const fresh = packChallenge(secret, agents, pack, new Date(Date.now() + 30 * 60_000 + i));
        const credential = serializeCredential({ challenge: fresh, payload: { spt: await spt() } });
        const before = local.fake!.sharedPayments.paymentIntents.size;
        const event = { httpMethod: 'POST', headers: { Authorization: credential }, queryStringParameters: { offer: pack.id }, requestContext: {} } as unknown as APIGatewayProxyEvent;
        await Promise.all(Array.from({ length: 8 }, () => purchase(event)));
        charges.push(local.fake!.sharedPayments.paymentIntents.size - before);
      }
      const settlements: number[] = [];
      if (facilitator !== undefined) {
        for (let i = 0; i < trials; i++) {
          const header = await signed(packRequirement(agents.x402!, pack));
          const event = { httpMethod: 'POST', headers: { 'PAYMENT-SIGNATURE': header }, queryStringParameters: { offer: pack.id }, requestContext: {} } as unknown as APIGatewayProxyEvent;
          // A nonce settles once on chain (and at the local facilitator) whatever tollgate does: what tollgate decides is how many answers grant.
          const answers = await Promise.all(Array.from({ length: 8 }, () => purchase(event)));
          settlements.push(answers.filter((answer) => answer.statusCode === 200).length);
        }
      }

      // 3. The paid route's decision with offers on, against the same decision with them off (B1's).
      const withOffers = composeAuthorizer({ ...bench.settings, agents, agentSecretId: 'bench' }, { dynamodb: bench.authorizerClient, agentSecret: () => Promise.resolve(secret) });
      const onProbe = cycling(bench.customers.allow.map((c) => authorizerEvent(c.key)), (event) => withOffers(event));
      const offProbe = bench.decisionProbe(bench.customers.allow);
      const [allow] = await latenciesAgainst([onProbe], offProbe, sizes);
      const denyOn = cycling(bench.customers.deny.map((c) => authorizerEvent(c.key)), (event) => withOffers(event));
      const [deny] = await latenciesAgainst([denyOn], bench.decisionProbe(bench.customers.deny), { ...sizes, repetitions: 1 });
      return {
        available: true,
        measures: [
          exactMeasure('HTTP round trips, keyless first call → first 200 (the key)', toKey, { target: { op: '<=', value: 3 } }),
          exactMeasure('HTTP round trips, keyless first call → first 200 on the paid route', toPaid),
          exactMeasure('charges per credential, 8 identical submitted at once', Math.max(...charges), { a: charges.reduce((s, n) => s + n, 0), b: trials, target: { op: '==', value: 1 } }),
          ...(x402ToKey === undefined
            ? []
            : [
                exactMeasure('x402: HTTP round trips, keyless first call → first 200 (the key)', x402ToKey, { target: { op: '<=', value: 3 } }),
                exactMeasure('x402: HTTP round trips, keyless first call → first 200 on the paid route', x402ToPaid!),
                exactMeasure('x402: grants (200s) per payment, 8 identical submitted at once', Math.max(...settlements), { a: settlements.reduce((s, n) => s + n, 0), b: trials, target: { op: '==', value: 1 } }),
              ]),
          ratioMeasure('p50 Allow, offers on / off (B1 decision)', allow!.p50, { unit: 'ms', target: { op: '<=', value: 1.02 } }),
          ratioMeasure('p99 Allow, offers on / off', allow!.p99, { unit: 'ms' }),
          ratioMeasure('p50 402, offers on / off (one HMAC per pack)', deny!.p50, { unit: 'ms' }),
        ],
        facts: { trials, chargesPerTrial: charges, x402GrantsPerTrial: settlements, packs: agents.packs.map((p) => p.id), samplesPerSidePerRepetition: sizes.latencySamples, repetitions: sizes.repetitions },
        notes: [
          'Round trips on the local gateway with the real handlers: 401 with offers → purchase 402 (challenge) → purchase 200 (key) → the paid call; an agent that starts at the purchase URL (discovery) saves the first.',
          'The 8 submissions race on the purchase function against DynamoDB Local and the fake of Stripe\'s API (idempotency keys honoured); x402\'s against the local facilitator, which verifies each signature (@x402/evm, a test key); a nonce settles once whatever the seller does, so what is counted is the answers that grant.',
          'Allow decisions interleaved on one client: the same handler settings with and without tollgate:agentPayments.',
        ],
      };
    } finally {
      bench.destroy();
      api.destroy();
      client.destroy();
      await local.close();
      await facilitator?.close();
    }
  },
};
