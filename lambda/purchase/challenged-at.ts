import { PURCHASE_CHALLENGE_SECONDS } from '../shared/agents/offers';

/**
 * When the 402 a payment answers was served (epoch ms): the first step of 402 → paid → first 2xx
 * (shared/agents/first-call.ts), read from what the payment carries back, so nothing is stored per 402.
 */

/**
 * MPP: the challenge's `expires` minus the lifetime of the route that issued it (HMAC-bound, so as the server
 * wrote it). Both routes sign with one secret: of the two lifetimes (the purchase route's, a Deny's), the one
 * giving the latest issue time not after the payment. Exact when the agent pays within the lifetimes'
 * difference of its 402 (the sample's: 30 min against 20 min on routes sold by use, so 10 min); later than
 * that, a Deny's challenge would be timed from that difference after it was served.
 */
export function mppChallengedAt(expires: string | undefined, denyChallengeSeconds: number, paidAt: Date): number | undefined {
  const end = expires === undefined ? Number.NaN : Date.parse(expires);
  if (Number.isNaN(end)) return undefined;
  const issued = [PURCHASE_CHALLENGE_SECONDS, denyChallengeSeconds].map((seconds) => end - seconds * 1000).filter((t) => t <= paidAt.getTime());
  return issued.length === 0 ? undefined : Math.max(...issued);
}

/**
 * x402: the authorization's `validBefore` minus the requirement's `maxTimeoutSeconds`, which stock clients
 * (`@x402/evm`) set it from when they sign, on receiving the 402. The buyer's clock: a time after the payment is none.
 */
export function x402ChallengedAt(validBefore: string, maxTimeoutSeconds: number, paidAt: Date): number | undefined {
  const signed = Number(validBefore) * 1000 - maxTimeoutSeconds * 1000;
  return Number.isFinite(signed) && signed <= paidAt.getTime() ? signed : undefined;
}
