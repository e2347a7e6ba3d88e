import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import Stripe from 'stripe';
import { canonicalJson, MalformedCredentialError, MPP_PROBLEM_BASE, parseCredential, PAYMENT_AUTHORIZATION_HEADER, PAYMENT_RECEIPT_HEADER, serializeChallenge, serializeReceipt, verifyChallenge, type Credential, type MppProblem } from '../shared/agents/mpp';
import { llmsTxt, X402_DISCOVERY_PATH, x402Manifest } from '../shared/agents/discovery';
import { isPlanOffer, offersJson, packChallenge, packRequest, PURCHASE_CHALLENGE_SECONDS, purchaseUrl, PURCHASE_PATH, soldOffers, type AgentOffer, type AgentPack } from '../shared/agents/offers';
import { markPaid, secondsBetween } from '../shared/agents/first-call';
import {
  decodePaymentHeader,
  encodeHeader,
  httpFacilitator,
  MalformedPaymentError,
  packRequirement,
  paymentRequired,
  paysRequirement,
  PAYMENT_REQUIRED_HEADER,
  PAYMENT_RESPONSE_HEADER,
  PAYMENT_SIGNATURE_HEADER,
  soldOverX402,
  X_PAYMENT_HEADER,
  type Facilitator,
  type PaymentPayload,
} from '../shared/agents/x402';
import { parseApiKey } from '../shared/customers/api-key';
import { authenticateKey } from '../shared/customers/authenticate';
import { createApiKey } from '../shared/customers/keys';
import { readCustomer } from '../shared/customers/store';
import { headerValue } from '../shared/headers';
import { problem, PROBLEM_JSON } from '../shared/http';
import { stageBaseUrl } from '../shared/portal-paths';
import { grantDurationSeconds } from '../shared/credit-grants';
import { grantPurchasedCredits, grantPurchasedPlan, type Claim, type ClaimStore } from './claims';
import { AGENT_PURCHASE_MESSAGE, type AgentProtocol, type AgentPurchaseRecord } from './record';
import { mppChallengedAt, x402ChallengedAt } from './challenged-at';
import type { PurchaseSettings } from './settings';

/**
 * `GET /tollgate/llms.txt`: the API, its prices and how to buy, for agents (discovery.ts); with x402,
 * `GET /.well-known/x402.json`: x402's discovery manifest.
 *
 * `POST /tollgate/purchase?offer=<pack id | plan key>`: a credit pack, or a sold plan's period, bought over MPP (`stripe/charge`, a Shared
 * Payment Token) or, when configured, x402 (`exact`, an EIP-3009 authorization verified and settled by a
 * facilitator), in one round trip once challenged (docs/agents.md).
 *
 *   no credential            402, a fresh challenge for the pack (`WWW-Authenticate: Payment …`, and
 *                            `PAYMENT-REQUIRED` with x402)
 *   a valid credential       the SPT charged (or the x402 payment settled) once, the credits (or the
 *                            plan's period, claims.ts grantPurchasedPlan) granted once, 200 with `Payment-Receipt` (x402: `PAYMENT-RESPONSE`),
 *                            and a new customer and key (shown once) unless `Authorization: Bearer <key>`
 *                            named whose balance to top up
 *   a refused credential     402, a fresh challenge and the problem type that says why; never a 5xx
 */

/** The preview API version Stripe serves `shared_payment_granted_token` under (the one mppx 0.11 sends). */
export const STRIPE_PREVIEW_API_VERSION = '2026-07-29.preview';
const SPT = /^spt_[A-Za-z0-9_]{1,200}$/;

export interface PurchaseDeps {
  readonly settings: PurchaseSettings;
  readonly dynamodb: DynamoDBClient;
  readonly claims: ClaimStore;
  /** undefined: no Stripe API key is configured (503). */
  readonly stripe: () => Promise<Stripe | undefined>;
  /** The HMAC secret of the challenges. */
  readonly secret: () => Promise<string>;
  readonly now?: () => Date;
  readonly log?: (message: string, fields: Readonly<Record<string, unknown>>) => void;
  /** One count per answered purchase attempt, by protocol and outcome (`paid`, or the MPP problem type): operations' payments by protocol. */
  readonly count?: (dimensions: { readonly protocol: AgentProtocol; readonly outcome: 'paid' | MppProblem }) => void;
  /** Each answered purchase attempt's record (record.ts), also logged: the local run writes it to its events log. */
  readonly onPurchase?: (record: AgentPurchaseRecord) => void;
  /** Seconds from the 402 a payment answers to the payment, per paid purchase whose 402 is known: operations' 402 → paid. */
  readonly timeToPay?: (protocol: AgentProtocol, seconds: number) => void;
  /** x402's facilitator. @default - over HTTP at the configured facilitatorUrl */
  readonly facilitator?: Facilitator;
}

export type { AgentProtocol } from './record';

/** What the 402 body adds to the problem: the refusal's MPP type, and the offer(s) with their purchase URLs. */
class Refused {
  constructor(
    readonly problem: MppProblem,
    readonly detail: string,
  ) {}
}

const MPP_TITLES: Record<MppProblem, string> = {
  'payment-required': 'Payment required',
  'malformed-credential': 'Malformed credential',
  'invalid-challenge': 'Invalid challenge',
  'payment-expired': 'Payment expired',
  'verification-failed': 'Verification failed',
  'payment-failed': 'Payment failed',
};

export function makePurchaseHandler(deps: PurchaseDeps): (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult> {
  const { settings } = deps;
  const { agents } = settings;
  const now = deps.now ?? ((): Date => new Date());
  // The manifest's lastUpdated: the configuration is fixed for the function's life.
  const started = now();
  const log = deps.log ?? ((): void => undefined);
  const count = deps.count ?? ((): void => undefined);
  /** One answered attempt: its record logged and handed on, and its count. */
  const tally = (fields: Omit<AgentPurchaseRecord, 'message' | 'purchasedAt'>, at: Date): void => {
    const record: AgentPurchaseRecord = { message: AGENT_PURCHASE_MESSAGE, ...fields, purchasedAt: at.toISOString() };
    const { message, ...rest } = record;
    log(message, rest);
    deps.onPurchase?.(record);
    count({ protocol: fields.protocol, outcome: fields.outcome });
  };
  const cors = {
    'Access-Control-Allow-Origin': settings.corsAllowOrigin,
    'Access-Control-Expose-Headers': `WWW-Authenticate,${PAYMENT_RECEIPT_HEADER}${agents.x402 === undefined ? '' : `,${PAYMENT_REQUIRED_HEADER},${PAYMENT_RESPONSE_HEADER}`}`,
  };
  const x402 = agents.x402;
  const facilitator = deps.facilitator ?? (x402 === undefined ? undefined : httpFacilitator(x402.facilitatorUrl));
  const offers = soldOffers(agents);
  const packById = (id: string | undefined): AgentOffer | undefined => offers.find((p) => p.id === id);

  /** 402 with fresh challenges (for `packs`), and the refusal's problem type. */
  const challengeAnswer = (secret: string, packs: readonly AgentOffer[], refused: Refused, base: string | undefined, keyed: boolean, at: Date): APIGatewayProxyResult => {
    const expires = new Date(at.getTime() + PURCHASE_CHALLENGE_SECONDS * 1000);
    // A buyer topping up keeps its key in Authorization: the challenge asks for the credential beside it.
    const header = keyed ? PAYMENT_AUTHORIZATION_HEADER : undefined;
    const challenges = packs.map((pack) => serializeChallenge(packChallenge(secret, agents, pack, expires, header)));
    const x402Packs = packs.filter((pack) => soldOverX402(x402, pack));
    // The same offers for x402: header canonical, mirrored in the body (agents read bodies).
    const required = x402 === undefined || x402Packs.length === 0 ? undefined : paymentRequired(x402, x402Packs, base === undefined ? PURCHASE_PATH : purchaseUrl(base, x402Packs[0]!), refused.detail);
    return {
      statusCode: 402,
      headers: {
        'Content-Type': PROBLEM_JSON,
        'Cache-Control': 'no-store',
        'WWW-Authenticate': challenges.join(', '),
        ...(required === undefined ? {} : { [PAYMENT_REQUIRED_HEADER]: encodeHeader(required) }),
        ...cors,
      },
      body: JSON.stringify({
        type: `${MPP_PROBLEM_BASE}/${refused.problem}`,
        title: MPP_TITLES[refused.problem],
        status: 402,
        detail: refused.detail,
        offers: JSON.parse(offersJson({ packs: packs.filter((o): o is AgentPack => !isPlanOffer(o)), plans: packs.filter(isPlanOffer) }, base, undefined, x402)) as unknown,
        ...(required === undefined ? {} : { x402: required }),
      }),
    };
  };

  /** The credential's refusal, or its pack and SPT. Amount and currency are the configuration's, checked against what the challenge bound. */
  const check = (secret: string, credential: Credential, at: Date): Refused | { pack: AgentOffer; spt: string } => {
    const c = credential.challenge;
    if (c.method !== 'stripe' || c.intent !== 'charge') return new Refused('malformed-credential', `this server sells over stripe/charge, not ${c.method}/${c.intent}`);
    if (c.realm !== agents.realm || !verifyChallenge(secret, c)) return new Refused('invalid-challenge', 'the challenge was not issued by this server, or was altered: pay a fresh one');
    if (c.expires === undefined || !(Date.parse(c.expires) > at.getTime())) return new Refused('payment-expired', 'the challenge has expired: pay the fresh one in this answer');
    const pack = packById(typeof c.request.externalId === 'string' ? c.request.externalId : undefined);
    if (pack === undefined || canonicalJson(packRequest(agents, pack)) !== canonicalJson(c.request)) {
      return new Refused('invalid-challenge', 'the offer this challenge was for is no longer sold at that price: pay a fresh one');
    }
    const spt = credential.payload.spt;
    if (typeof spt !== 'string' || !SPT.test(spt)) return new Refused('malformed-credential', 'the credential carries no shared payment token (payload.spt = "spt_…")');
    return { pack, spt };
  };

  return async (event) => {
    const at = now();
    const base = event.requestContext?.domainName && event.requestContext.stage ? stageBaseUrl(event.requestContext.domainName, event.requestContext.stage) : undefined;
    if (event.httpMethod === 'GET' && (event.resource ?? event.path ?? '').endsWith(X402_DISCOVERY_PATH)) {
      const manifest = x402Manifest({ title: settings.apiTitle, base: base ?? '', settings: agents, resolvedAt: started });
      return manifest === undefined
        ? problem(404, 'Not found', 'x402 is not configured here.', {}, cors)
        : { statusCode: 200, headers: { 'Content-Type': 'application/json', 'Cache-Control': 'max-age=300', 'Access-Control-Allow-Origin': settings.corsAllowOrigin }, body: JSON.stringify(manifest) };
    }
    if (event.httpMethod === 'GET') {
      return {
        statusCode: 200,
        headers: { 'Content-Type': 'text/markdown; charset=utf-8', 'Cache-Control': 'max-age=300', 'Access-Control-Allow-Origin': settings.corsAllowOrigin },
        body: llmsTxt({ title: settings.apiTitle, base: base ?? '', routes: settings.routes, settings: agents }),
      };
    }
    let secret: string;
    try {
      secret = await deps.secret();
    } catch (err) {
      log('purchase could not read the challenge secret', { error: err instanceof Error ? err.message : String(err) });
      return problem(503, 'Service unavailable', 'Payments cannot be taken right now. Retry shortly.', {}, { 'Retry-After': '5', ...cors });
    }
    const requested = event.queryStringParameters?.offer;
    const authorization = headerValue(event, 'authorization');
    const bearer = /^bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
    const paymentHeader = headerValue(event, PAYMENT_AUTHORIZATION_HEADER) ?? (/^payment\s/i.test(authorization ?? '') ? authorization : undefined);
    const offered = packById(requested);
    if (requested !== undefined && offered === undefined) {
      return problem(404, 'Unknown offer', `No offer "${String(requested).slice(0, 64)}": use one of ${offers.map((p) => p.id).join(', ')}.`, {}, cors);
    }
    const x402Header = x402 === undefined ? undefined : (headerValue(event, PAYMENT_SIGNATURE_HEADER) ?? headerValue(event, X_PAYMENT_HEADER));
    const protocol: AgentProtocol = x402Header !== undefined && paymentHeader === undefined ? 'x402' : 'mpp';
    const refuse = (refused: Refused, pack?: AgentOffer): APIGatewayProxyResult => {
      tally({ protocol, outcome: refused.problem, ...((pack?.id ?? requested) === undefined ? {} : { offer: pack?.id ?? requested }) }, at);
      return challengeAnswer(secret, pack === undefined ? offers : [pack], refused, base, bearer !== undefined, at);
    };

    // Whose balance: the presented key's customer, else a new one.
    let customerId: string | undefined;
    if (bearer !== undefined) {
      const parsed = parseApiKey(bearer);
      const customer = parsed === undefined ? undefined : await readCustomer(deps.dynamodb, settings.customersTable, parsed.customerId);
      if (parsed === undefined || authenticateKey(customer, bearer, parsed, at) !== undefined) {
        return problem(401, 'Unauthorized', 'The API key is not valid: send a valid key to top up its balance, or none to buy a new key.', {}, { 'WWW-Authenticate': 'Bearer realm="tollgate"', ...cors });
      }
      customerId = parsed.customerId;
    }

    if (protocol === 'x402') return buyOverX402({ header: x402Header!, offered, customerId, refuse, at });
    if (paymentHeader === undefined) {
      if (offered === undefined) return problem(400, 'Offer required', `Name the offer to buy: ?offer=${offers.map((p) => p.id).join(' | ?offer=')}.`, {}, cors);
      return refuse(new Refused('payment-required', `Pay ${offered.amount} ${offered.currency} (minor units) for ${offered.name}${isPlanOffer(offered) ? ` (${offered.days} days)` : ''}: answer the challenge.`), offered);
    }
    let credential: Credential;
    try {
      credential = parseCredential(paymentHeader);
    } catch (err) {
      if (err instanceof MalformedCredentialError) return refuse(new Refused('malformed-credential', err.message), offered);
      throw err;
    }
    const checked = check(secret, credential, at);
    if (checked instanceof Refused) return refuse(checked, offered);
    const { pack, spt } = checked;
    if (offered !== undefined && offered.id !== pack.id) return refuse(new Refused('invalid-challenge', `the credential pays for ${pack.id}, not ${offered.id}`), offered);

    const challengeId = credential.challenge.id;
    const claim = await deps.claims.claim(challengeId, at, customerId);
    if (claim === undefined) return refuse(new Refused('invalid-challenge', 'this challenge was paid already: a credential pays once. Pay a fresh one.'), pack);
    const stripe = await deps.stripe();
    if (stripe === undefined) {
      await deps.claims.release(challengeId);
      return problem(503, 'Payments not configured', 'This API has no Stripe API key configured. Ask its operator.', {}, cors);
    }
    return redeem({ stripe, claim, pack, spt, challengeId, expires: credential.challenge.expires, keyless: customerId === undefined, at });
  };

  async function redeem(p: { stripe: Stripe; claim: Claim; pack: AgentOffer; spt: string; challengeId: string; expires: string | undefined; keyless: boolean; at: Date }): Promise<APIGatewayProxyResult> {
    const { stripe, pack, challengeId, at } = p;
    const secret = await deps.secret();
    let { customerId, paymentIntent } = p.claim;
    try {
      if (customerId === undefined) {
        const customer = await stripe.customers.create({ metadata: { tollgate_source: 'mpp' } }, { idempotencyKey: `mpp_customer_${challengeId}` });
        customerId = customer.id;
        await deps.claims.record(challengeId, { customerId }, at);
      }
      if (paymentIntent === undefined) {
        const charged = await charge(stripe, { pack, spt: p.spt, challengeId, customerId });
        if (charged instanceof Refused) {
          await deps.claims.record(challengeId, { state: 'failed' }, at);
          tally({ protocol: 'mpp', outcome: charged.problem, offer: pack.id }, at);
          return challengeAnswerFor(secret, pack, charged, at, !p.keyless);
        }
        paymentIntent = charged;
        await deps.claims.record(challengeId, { state: 'charged', paymentIntent }, at);
      }
    } catch (err) {
      // Nothing was charged (or Stripe's idempotency key will answer the same charge again): the buyer may retry.
      if (p.claim.state === 'claimed' && paymentIntent === undefined) await deps.claims.release(challengeId).catch(() => undefined);
      log('purchase could not reach stripe', { error: err instanceof Error ? err.message : String(err) });
      return problem(503, 'Payments unavailable', 'Stripe could not be reached. Retry the same request shortly: it will not be charged twice.', {}, { 'Retry-After': '5', ...cors });
    }
    const receipt = serializeReceipt({ method: 'stripe', reference: paymentIntent, status: 'success', timestamp: at.toISOString(), externalId: pack.id });
    const challengedAt = mppChallengedAt(p.expires, settings.agents.denyChallengeSeconds, at);
    return grantAndAnswer({ protocol: 'mpp', claimId: challengeId, claim: p.claim, customerId, pack, reference: paymentIntent, keyless: p.keyless, at, challengedAt, headers: { [PAYMENT_RECEIPT_HEADER]: receipt }, body: { paymentIntent } });
  }

  /**
   * 402 → paid measured, and the customer marked for metering to time its first call (shared/agents/first-call.ts).
   * What operations see must not fail a payment already granted: a marker that cannot be written is logged.
   */
  async function markFirstCallPending(customerId: string, protocol: AgentProtocol, at: Date, challengedAt: number | undefined): Promise<void> {
    if (challengedAt !== undefined) deps.timeToPay?.(protocol, secondsBetween(challengedAt, at.getTime()));
    try {
      await markPaid(deps.dynamodb, settings.customersTable, customerId, { protocol, paidAt: at.getTime(), ...(challengedAt === undefined ? {} : { challengedAt }) });
    } catch (err) {
      log('purchase could not mark the first call pending', { customerId, error: err instanceof Error ? err.message : String(err) });
    }
  }

  /** The credits granted once per claim, a key for a keyless buyer, and the 200. */
  async function grantAndAnswer(p: {
    protocol: AgentProtocol;
    claimId: string;
    claim: Claim;
    customerId: string;
    pack: AgentOffer;
    reference: string;
    keyless: boolean;
    at: Date;
    /** When the 402 this payment answers was served (epoch ms), when known. */
    challengedAt: number | undefined;
    headers: Record<string, string>;
    body: Record<string, unknown>;
  }): Promise<APIGatewayProxyResult> {
    const { claimId, customerId, pack, at } = p;
    const tables = { customers: settings.customersTable, events: settings.eventsTable };
    const reason = `${p.protocol} purchase of ${pack.id} (${p.reference})`;
    let granted: Record<string, unknown>;
    if (isPlanOffer(pack)) {
      const plan = await grantPurchasedPlan(deps.dynamodb, tables, { challengeId: claimId, customerId, plan: pack.id, days: pack.days, reason, now: at });
      // One payment, one period: the plan does not renew (docs/agents.md); buying again extends it.
      granted = { plan: pack.id, periodStart: new Date(plan.periodStart * 1000).toISOString(), accessUntil: new Date(plan.periodEnd * 1000).toISOString(), renews: false };
    } else {
      const lifetime = pack.expiresIn === undefined ? undefined : grantDurationSeconds(pack.expiresIn);
      await grantPurchasedCredits(deps.dynamodb, tables, { challengeId: claimId, customerId, credits: pack.credits, reason, now: at, ...(lifetime === undefined ? {} : { expiresInSeconds: lifetime }) });
      granted = { credits: pack.credits };
    }
    let key: { key: string; keyId: string } | undefined;
    if (p.keyless && p.claim.keyId === undefined) {
      const created = await createApiKey({ client: deps.dynamodb, tables: { customers: settings.customersTable, apiKeys: settings.apiKeysTable }, now: () => at }, { customerId, name: `${p.protocol} purchase` });
      key = { key: created.key, keyId: created.keyId };
    }
    await deps.claims.record(claimId, { state: 'done', ...(key === undefined ? {} : { keyId: key.keyId }) }, at);
    await markFirstCallPending(customerId, p.protocol, at, p.challengedAt);
    tally({ protocol: p.protocol, outcome: 'paid', offer: pack.id, customerId, reference: p.reference, newKey: key !== undefined, ...(p.challengedAt === undefined ? {} : { challengedAt: new Date(p.challengedAt).toISOString() }) }, at);
    return {
      statusCode: 200,
      headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...p.headers, ...cors },
      body: JSON.stringify({ offer: pack.id, ...granted, customerId, ...p.body, ...(key === undefined ? {} : { key: key.key, keyId: key.keyId, note: 'This key is shown once: store it now.' }) }),
    };
  }

  /**
   * x402: the payment must pay exactly the offer's requirement (from configuration), be unexpired, and be
   * claimed first by its authorization's nonce (once per payment, as a challenge id is for MPP); then the
   * facilitator verifies it and settles it, and only a settled payment grants.
   */
  async function buyOverX402(p: { header: string; offered: AgentOffer | undefined; customerId: string | undefined; refuse: (refused: Refused, pack?: AgentOffer) => APIGatewayProxyResult; at: Date }): Promise<APIGatewayProxyResult> {
    const { offered, refuse, at } = p;
    if (offered === undefined || !soldOverX402(x402, offered)) {
      const sold = offers.filter((pack) => soldOverX402(x402, pack)).map((pack) => pack.id);
      return problem(400, 'Offer required', `Name the offer the payment buys: ?offer=${sold.join(' | ?offer=')}.`, {}, cors);
    }
    let payment: PaymentPayload;
    try {
      payment = decodePaymentHeader(p.header);
    } catch (err) {
      if (err instanceof MalformedPaymentError) return refuse(new Refused('malformed-credential', err.message), offered);
      throw err;
    }
    const required = packRequirement(x402!, offered);
    if (!paysRequirement(payment, required)) return refuse(new Refused('invalid-challenge', `the payment does not pay ${offered.id}'s requirement (${required.amount} of ${required.asset} on ${required.network} to ${required.payTo}): pay the one in this answer`), offered);
    const authorization = payment.payload.authorization;
    if (!(Number(authorization.validBefore) > at.getTime() / 1000)) return refuse(new Refused('payment-expired', 'the payment authorization has expired (validBefore): sign a fresh one'), offered);
    const claimKey = `x402_${authorization.nonce.toLowerCase()}`;
    const claim = await deps.claims.claim(claimKey, at, p.customerId);
    if (claim === undefined) return refuse(new Refused('invalid-challenge', 'this payment was redeemed already: a payment pays once. Sign a fresh one.'), offered);
    const stripe = await deps.stripe();
    if (stripe === undefined) {
      await deps.claims.release(claimKey);
      return problem(503, 'Payments not configured', 'This API has no Stripe API key configured (its customers live in Stripe). Ask its operator.', {}, cors);
    }
    let { customerId, paymentIntent: transaction } = claim;
    let settled: { transaction?: string; network?: string; payer?: string } = {};
    try {
      if (transaction === undefined) {
        const verified = await facilitator!.verify(payment, required);
        if (!verified.isValid) {
          await deps.claims.record(claimKey, { state: 'failed' }, at);
          return refuse(new Refused('verification-failed', `the facilitator refused the payment: ${String(verified.invalidReason ?? 'invalid').slice(0, 200)}`), offered);
        }
      }
      if (customerId === undefined) {
        const customer = await stripe.customers.create({ metadata: { tollgate_source: 'x402', tollgate_x402_payer: authorization.from } }, { idempotencyKey: `x402_customer_${claimKey}` });
        customerId = customer.id;
        await deps.claims.record(claimKey, { customerId }, at);
      }
      if (transaction === undefined) {
        const result = await facilitator!.settle(payment, required);
        if (!result.success) {
          await deps.claims.record(claimKey, { state: 'failed' }, at);
          return refuse(new Refused('payment-failed', `the payment did not settle: ${String(result.errorReason ?? 'failed').slice(0, 200)}`), offered);
        }
        settled = result;
        transaction = result.transaction ?? authorization.nonce;
        await deps.claims.record(claimKey, { state: 'charged', paymentIntent: transaction }, at);
      }
    } catch (err) {
      if (claim.state === 'claimed' && transaction === undefined) await deps.claims.release(claimKey).catch(() => undefined);
      log('purchase could not reach the facilitator or stripe', { error: err instanceof Error ? err.message : String(err) });
      return problem(503, 'Payments unavailable', 'The payment could not be verified or settled right now. Retry the same request shortly: it will not be taken twice.', {}, { 'Retry-After': '5', ...cors });
    }
    const response = encodeHeader({ success: true, transaction, network: settled.network ?? required.network, payer: settled.payer ?? authorization.from });
    const challengedAt = x402ChallengedAt(authorization.validBefore, required.maxTimeoutSeconds, at);
    return grantAndAnswer({ protocol: 'x402', claimId: claimKey, claim, customerId, pack: offered, reference: transaction, keyless: p.customerId === undefined, at, challengedAt, headers: { [PAYMENT_RESPONSE_HEADER]: response }, body: { transaction } });
  }

  function challengeAnswerFor(secret: string, pack: AgentOffer, refused: Refused, at: Date, keyed: boolean): APIGatewayProxyResult {
    return challengeAnswer(secret, [pack], refused, undefined, keyed, at);
  }

  /**
   * The SPT charged as a PaymentIntent, through the SDK's raw request (the preview parameter is not in
   * its types), keyed by the challenge: a retry after a timeout answers the same PaymentIntent.
   */
  async function charge(stripe: Stripe, p: { pack: AgentOffer; spt: string; challengeId: string; customerId: string }): Promise<string | Refused> {
    let intent: { id?: unknown; status?: unknown };
    try {
      intent = (await stripe.rawRequest(
        'POST',
        '/v1/payment_intents',
        {
          amount: p.pack.amount,
          currency: p.pack.currency,
          customer: p.customerId,
          confirm: true,
          automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
          shared_payment_granted_token: p.spt,
          metadata: { tollgate_offer: p.pack.id, tollgate_mpp_challenge: p.challengeId },
        },
        { apiVersion: STRIPE_PREVIEW_API_VERSION, idempotencyKey: `mpp_${p.challengeId}` },
      )) as { id?: unknown; status?: unknown };
    } catch (err) {
      if (err instanceof Stripe.errors.StripeCardError) return new Refused('payment-failed', `the charge was declined: ${err.message}`);
      if (err instanceof Stripe.errors.StripeInvalidRequestError || err instanceof Stripe.errors.StripeIdempotencyError) {
        return new Refused('verification-failed', `stripe refused the shared payment token: ${err.message}`);
      }
      throw err;
    }
    if (intent.status !== 'succeeded' || typeof intent.id !== 'string') return new Refused('payment-failed', `the charge did not succeed (${String(intent.status)})`);
    return intent.id;
  }
}
