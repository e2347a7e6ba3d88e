import type Stripe from 'stripe';
import { fromBase64url, serializeCredential, type Challenge } from '../../lambda/shared/agents/mpp';
import { STRIPE_PREVIEW_API_VERSION } from '../../lambda/purchase/handler';

/** The Payment challenges of a `WWW-Authenticate` value (tollgate's own quoting: no escaped quotes). */
export function parseChallenges(header: string | undefined): Challenge[] {
  if (header === undefined) return [];
  return header
    .split(/,\s*(?=Payment\s)/)
    .filter((part) => part.startsWith('Payment '))
    .map((part) => {
      const params = Object.fromEntries([...part.slice('Payment '.length).matchAll(/([a-z]+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
      const { request, id, realm, method, intent, ...rest } = params;
      return { id: id!, realm: realm!, method: method!, intent: intent!, request: JSON.parse(fromBase64url(request!)) as Record<string, unknown>, ...rest };
    });
}

/** A test SPT, as a buyer's agent gets one granted (Stripe's test helper, preview API), for a challenge's amount. */
export async function mintSpt(stripe: Stripe, challenge: Challenge, paymentMethod = 'pm_card_visa'): Promise<string> {
  const token = (await stripe.rawRequest(
    'POST',
    '/v1/test_helpers/shared_payment/granted_tokens',
    {
      payment_method: paymentMethod,
      usage_limits: { currency: challenge.request.currency, max_amount: Number(challenge.request.amount), expires_at: Math.floor(Date.now() / 1000) + 3600 },
    },
    { apiVersion: STRIPE_PREVIEW_API_VERSION },
  )) as { id: string };
  return token.id;
}

export async function pay(stripe: Stripe, challenge: Challenge, paymentMethod?: string): Promise<string> {
  return serializeCredential({ challenge, payload: { spt: await mintSpt(stripe, challenge, paymentMethod) } });
}

/**
 * Submits `rounds` of payments: each round's picks at once, rounds one after another (replays). Every answer
 * is a 200 or a 402; returns how many 200s each payment got, the customers they named, and which were submitted.
 */
export async function submitRounds<T>(
  payments: readonly T[],
  rounds: ReadonlyArray<readonly number[]>,
  send: (payment: T) => Promise<{ readonly statusCode: number; readonly body: string }>,
): Promise<{ paidBy: Map<number, number>; customers: Set<string>; submitted: Set<number> }> {
  const paidBy = new Map<number, number>();
  const customers = new Set<string>();
  for (const round of rounds) {
    const picks = round.map((i) => i % payments.length);
    const answers = await Promise.all(picks.map((i) => send(payments[i]!)));
    answers.forEach((answer, n) => {
      expect([200, 402]).toContain(answer.statusCode);
      if (answer.statusCode === 200) {
        paidBy.set(picks[n]!, (paidBy.get(picks[n]!) ?? 0) + 1);
        customers.add(JSON.parse(answer.body).customerId);
      }
    });
  }
  return { paidBy, customers, submitted: new Set(rounds.flat().map((i) => i % payments.length)) };
}
