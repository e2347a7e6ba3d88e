import type { PaymentReason } from '../problems';
import { stageBaseUrl, TOLLGATE_PREFIX } from '../portal-paths';
import type { RouteRule } from '../requirements';
import { createChallenge, serializeChallenge, type Challenge } from './mpp';
import { encodeHeader, paymentRequired, soldOverX402, type X402Settings } from './x402';

/**
 * What a 402 offers a program, and the MPP challenges that sell it (docs/agents.md). Pure: the
 * authorizer (its Deny context), the purchase function and the gateway responses' static 401 all
 * build offers here, from configuration only: an amount never comes from a request.
 */

/** A credit pack sold to agents: `credits` units for `amount` minor units of `currency`. */
export interface AgentPack {
  readonly id: string;
  readonly name: string;
  readonly credits: number;
  /** Minor units (cents). */
  readonly amount: number;
  /** ISO 4217, lower case. */
  readonly currency: string;
  /** The pack's lifetime (`tollgate:creditPacks[].expiresIn`, such as `90d`): the grant expires that long after payment. */
  readonly expiresIn?: string;
}

/**
 * A plan named to agents: bought through the checkout URL, and over the protocols when priced
 * (`tollgate:agentPayments.plans`): one payment buys `days` of the plan's standing, no renewal.
 */
export interface AgentPlan {
  readonly id: string;
  readonly name: string;
  readonly amount?: number;
  readonly currency?: string;
  readonly days?: number;
}

/** A plan sold over the protocols. */
export interface SoldPlan extends AgentPlan {
  readonly amount: number;
  readonly currency: string;
  readonly days: number;
}

/** What a challenge or a payment requirement sells: a pack or a sold plan, by its offer id. */
export type AgentOffer = AgentPack | SoldPlan;

export const isSoldPlan = (plan: AgentPlan): plan is SoldPlan => plan.amount !== undefined && plan.currency !== undefined && plan.days !== undefined;
export const isPlanOffer = (offer: AgentOffer): offer is SoldPlan => !('credits' in offer);
/** Every offer the purchase route sells: the packs, then the sold plans. */
export const soldOffers = (settings: Pick<AgentPayments, 'packs' | 'plans'>): readonly AgentOffer[] => [...settings.packs, ...settings.plans.filter(isSoldPlan)];

export interface AgentPayments {
  /** MPP realm of every challenge. */
  readonly realm: string;
  /** The seller's Stripe profile id (MPP stripe `methodDetails.networkId`). */
  readonly networkId: string;
  readonly paymentMethodTypes: readonly string[];
  readonly packs: readonly AgentPack[];
  readonly plans: readonly AgentPlan[];
  /** A 402's challenges stay payable this long: the longest authorizer cache TTL + CHALLENGE_GRACE_SECONDS. */
  readonly denyChallengeSeconds: number;
  /** x402 beside MPP: the packs priced in USD are also sold for a stablecoin through a facilitator. @default - MPP only */
  readonly x402?: X402Settings;
}

export const PURCHASE_PATH = `${TOLLGATE_PREFIX}/purchase`;
export const DEFAULT_REALM = 'tollgate';
/**
 * How long a challenge in a 402 stays payable beyond the cache that may re-serve it: an agent's pay
 * step (an SPT, a budget check, sometimes a person) takes 30–90 s and more (mppx#395), and a stock
 * client refuses an expired challenge before paying.
 */
export const CHALLENGE_GRACE_SECONDS = 15 * 60;
/** A purchase route challenge is fresh per request: the grace alone, doubled for slow agents. */
export const PURCHASE_CHALLENGE_SECONDS = 30 * 60;

/** The 402 reasons a credit pack fixes on a route sold by use: credits open it with or without a subscription. */
const PACK_REASONS: ReadonlySet<PaymentReason> = new Set(['credits_exhausted', 'quota_exceeded', 'no_subscription', 'subscription_canceled', 'trial_ended']);
/** The reasons a plan fixes on a subscription route (payment_failed and payment_action_required are fixed at the invoice). */
const PLAN_REASONS: ReadonlySet<PaymentReason> = new Set(['no_subscription', 'subscription_canceled', 'trial_ended', 'upgrade_required']);
/**
 * A plan bought over a protocol grants the plan's standing, not Stripe entitlements: it fixes a denial
 * for standing, never upgrade_required (a missing entitlement), which only checkout's plans fix.
 */
const PROTOCOL_PLAN_REASONS: ReadonlySet<PaymentReason> = new Set(['no_subscription', 'subscription_canceled', 'trial_ended']);

export interface FittingOffers {
  readonly packs: readonly AgentPack[];
  readonly plans: readonly AgentPlan[];
  /** The reason the offers answer: sold plans are offered over the protocols only for what their standing fixes. @default - none (every sold plan is payable) */
  readonly reason?: PaymentReason;
}

/** The offers of a fit payable over the protocols: its packs, and its sold plans when their standing fixes the reason. */
export const payableOffers = (fit: FittingOffers): AgentOffer[] => [...fit.packs, ...fit.plans.filter((plan) => isSoldPlan(plan) && (fit.reason === undefined || PROTOCOL_PLAN_REASONS.has(fit.reason))) as SoldPlan[]];

/**
 * The offers that fit a denial: credit packs when a denied route is sold by use and credits would open
 * it, the plans when a denied route is decided on standing (or needs an entitlement). One policy (and
 * its context) covers a whole authorizer group, so the offers are those of every denied route of it.
 */
export function fittingOffers(settings: AgentPayments, reason: PaymentReason | undefined, denied: readonly RouteRule[]): FittingOffers {
  if (reason === undefined) return { packs: [], plans: [] };
  const soldByUse = denied.some((r) => r.usage !== undefined);
  const onStanding = denied.some((r) => r.usage === undefined) || reason === 'upgrade_required';
  return {
    packs: soldByUse && PACK_REASONS.has(reason) ? settings.packs : [],
    plans: onStanding && PLAN_REASONS.has(reason) ? settings.plans : [],
    reason,
  };
}

/** The MPP `stripe/charge` request of an offer: what `request` encodes, and all a credential may pay. */
export function packRequest(settings: AgentPayments, pack: AgentOffer): Record<string, unknown> {
  return {
    amount: String(pack.amount),
    currency: pack.currency,
    description: pack.name,
    externalId: pack.id,
    methodDetails: { networkId: settings.networkId, paymentMethodTypes: [...settings.paymentMethodTypes] },
  };
}

export function packChallenge(secret: string, settings: AgentPayments, pack: AgentOffer, expiresAt: Date, header?: string): Challenge {
  return createChallenge(secret, {
    realm: settings.realm,
    method: 'stripe',
    intent: 'charge',
    request: packRequest(settings, pack),
    description: pack.name,
    expires: expiresAt.toISOString(),
    ...(header === undefined ? {} : { header }),
  });
}

export const purchaseUrl = (base: string, pack: Pick<AgentOffer, 'id'>): string => `${base}${PURCHASE_PATH}?offer=${encodeURIComponent(pack.id)}`;

/** The body's `offers`, as one JSON literal (the 402 template renders it raw). */
export function offersJson(fit: FittingOffers, base: string | undefined, paymentUrl: string | undefined, x402?: X402Settings): string {
  const offers = [
    ...fit.packs.map((pack) => ({
      id: pack.id,
      kind: 'credits',
      name: pack.name,
      credits: pack.credits,
      amount: String(pack.amount),
      currency: pack.currency,
      protocols: soldOverX402(x402, pack) ? ['mpp', 'x402'] : ['mpp'],
      ...(base === undefined ? {} : { purchaseUrl: purchaseUrl(base, pack) }),
    })),
    ...fit.plans.map((plan) => {
      const payable = payableOffers({ packs: [], plans: [plan], ...(fit.reason === undefined ? {} : { reason: fit.reason }) }).length > 0 && isSoldPlan(plan);
      const protocols = [...(payable ? (soldOverX402(x402, plan) ? ['mpp', 'x402'] : ['mpp']) : []), ...(paymentUrl === undefined ? [] : ['checkout'])];
      return {
        id: plan.id,
        kind: 'plan',
        name: plan.name,
        ...(payable ? { amount: String(plan.amount), currency: plan.currency, days: plan.days } : {}),
        protocols: protocols.length === 0 ? ['checkout'] : protocols,
        ...(payable && base !== undefined ? { purchaseUrl: purchaseUrl(base, plan) } : {}),
        ...(paymentUrl === undefined ? {} : { url: paymentUrl }),
      };
    }),
  ];
  return JSON.stringify(offers);
}

/** `WWW-Authenticate` when nothing can be bought over MPP: the key scheme, as the 401 says. */
export const NO_OFFER_CHALLENGE = 'Bearer realm="tollgate"';

export interface DenyOffers {
  /** JSON literal: the body's `offers`. */
  readonly offers: string;
  /** The `WWW-Authenticate` header: one Payment challenge per pack, comma-separated. */
  readonly wwwAuthenticate: string;
  /**
   * With x402: the `PAYMENT-REQUIRED` header, base64 of the packs' `accepts`, whose resource is the purchase
   * route (the authorizer cannot settle a payment, docs/agents.md); "" when no pack fits (the gateway
   * response maps it on every 402).
   */
  readonly paymentRequired?: string;
}

export interface DenyOffersInput {
  readonly reason: PaymentReason | undefined;
  readonly denied: readonly RouteRule[];
  readonly paymentUrl?: string;
  readonly domainName?: string;
  readonly stage?: string;
  /** undefined: the secret could not be read; the body still lists the offers, the header names the key scheme. */
  readonly secret: string | undefined;
  readonly expiresAt: Date;
}

/** What a Deny's context adds: the body's offers and the challenges that sell them. */
export function denyOffers(settings: AgentPayments, input: DenyOffersInput): DenyOffers {
  const fit = fittingOffers(settings, input.reason, input.denied);
  const base = input.domainName !== undefined && input.domainName !== '' && input.stage !== undefined && input.stage !== '' ? stageBaseUrl(input.domainName, input.stage) : undefined;
  const payable = payableOffers(fit);
  const challenges = input.secret === undefined ? [] : payable.map((pack) => serializeChallenge(packChallenge(input.secret!, settings, pack, input.expiresAt)));
  const x402 = settings.x402;
  const x402Packs = payable.filter((pack) => soldOverX402(x402, pack));
  return {
    offers: offersJson(fit, base, input.paymentUrl, x402),
    wwwAuthenticate: challenges.length === 0 ? NO_OFFER_CHALLENGE : challenges.join(', '),
    ...(x402 === undefined
      ? {}
      : {
          paymentRequired:
            x402Packs.length === 0 || base === undefined
              ? ''
              : encodeHeader(paymentRequired(x402, x402Packs, purchaseUrl(base, x402Packs[0]!), `this route is paid: buy ${fit.packs.length > 0 ? 'credits' : 'a plan'} at ${base}${PURCHASE_PATH}, then call it with the key`)),
        }),
  };
}

/** Environment encoding (the authorizer's and the purchase function's). */
export const encodeAgentPayments = (settings: AgentPayments): string => JSON.stringify(settings);

export function decodeAgentPayments(encoded: string): AgentPayments {
  const parsed = JSON.parse(encoded) as Partial<AgentPayments>;
  if (typeof parsed.realm !== 'string' || typeof parsed.networkId !== 'string' || !Array.isArray(parsed.packs) || !Array.isArray(parsed.plans) || !Array.isArray(parsed.paymentMethodTypes) || typeof parsed.denyChallengeSeconds !== 'number') {
    throw new RangeError('the agent payments settings are malformed: redeploy the stack');
  }
  return parsed as AgentPayments;
}
