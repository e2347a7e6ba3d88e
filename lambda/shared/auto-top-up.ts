import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type Stripe from 'stripe';
import { alertItem, type AlertItem } from './alerts/outbox';
import { putAlertItem } from './alerts/put';
import { ALERT_DETAIL_TYPES } from './alerts/rules';
import { CREDITS_EXPIRES_IN_METADATA, CREDITS_METADATA } from './credits-metadata';
import { chargeDue, claimTopUp, saveTopUpMethod, settleTopUp, TOP_UP_METADATA, topUpReady, type SavedCard, type TopUp } from './customers/top-up';

/**
 * The charge of an auto top-up (customers/top-up.ts has the record and its state machine): when the
 * credits left are below the customer's threshold, claim the crossing, then charge the saved card
 * off-session for the pack, as one PaymentIntent whose idempotency key is the attempt. Credits are
 * granted only when Stripe confirms the payment: the webhook's `payment_intent.succeeded` (the
 * PaymentIntent carries the pack's units in its metadata, credited once per PaymentIntent). A declined
 * charge settles the attempt as failed at once (Stripe's answer; `payment_intent.payment_failed` says
 * the same to the webhook, and whichever comes second finds the attempt settled), and the customer is
 * told by e-mail (the failed attempt's alert item, put once).
 *
 * Runs in metering (after a write that drew credits) and in the portal (a card saved or settings saved
 * while below the threshold: a customer out of credits makes no call that metering would see).
 */

export interface TopUpDeps {
  readonly dynamodb: DynamoDBClient;
  /** The customer's top-up and wallet; the failed attempt's alert. */
  readonly tables: { readonly customers: string; readonly events: string };
  readonly stripe: Stripe;
  readonly now: () => Date;
}

export interface FailedTopUp {
  readonly customerId: string;
  readonly attempt: string;
  readonly failure: string;
  readonly topUp: TopUp;
}

export type TopUpOutcome =
  /** Not due (above the threshold, not ready, failed, or a charge under way), or another caller claimed it. */
  | { readonly outcome: 'none' }
  /** Stripe took the payment; the webhook grants it. */
  | { readonly outcome: 'charged'; readonly attempt: string; readonly paymentIntent: string }
  /** Stripe refused it: the top-up is paused until the customer saves a card or the settings again. */
  | { readonly outcome: 'failed'; readonly attempt: string; readonly failure: string }
  /** No answer (network, Stripe's 5xx or rate limit): stays claimed, tried again after CHARGE_RETRY_SECONDS. */
  | { readonly outcome: 'unanswered'; readonly attempt: string };

/** The pack's amount: its Stripe price, by id or lookup key. */
async function packPrice(stripe: Stripe, price: string): Promise<{ readonly amount: number; readonly currency: string }> {
  const found = price.startsWith('price_') ? await stripe.prices.retrieve(price) : (await stripe.prices.list({ lookup_keys: [price], active: true, limit: 1 })).data[0];
  if (found?.unit_amount === undefined || found.unit_amount === null) throw new Error(`the credit pack's stripe price "${price}" was not found or has no unit amount`);
  return { amount: found.unit_amount, currency: found.currency };
}

interface StripeCardFailure {
  readonly type?: string;
  readonly code?: string;
  readonly decline_code?: string;
}

/** Stripe refused the charge (a card error: declined, expired, authentication required), as opposed to no answer. */
const cardFailure = (err: unknown): string | undefined => {
  const e = err as StripeCardFailure | undefined;
  return e?.type === 'StripeCardError' ? (e.decline_code ?? e.code ?? 'card_declined') : undefined;
};

/** Charges the pack when the credits left call for it; one claim per crossing (customers/top-up.ts). */
export async function topUpIfDue(deps: TopUpDeps, customerId: string, topUp: TopUp | undefined, spendable: number | undefined): Promise<TopUpOutcome> {
  const now = deps.now();
  const due = chargeDue(topUp, spendable, now);
  if (due === undefined || !topUpReady(topUp)) return { outcome: 'none' };
  const target = { dynamodb: deps.dynamodb, table: deps.tables.customers, customerId };
  if (!(await claimTopUp(target, due, topUp.method, now))) return { outcome: 'none' };
  const fail = async (failure: string): Promise<TopUpOutcome> => {
    // The customer is told once per attempt: by whichever settles it (this, or the webhook's payment_failed).
    if ((await settleTopUp(target, due.attempt, { failure }, deps.now())) !== undefined) await putTopUpFailedAlert(deps.dynamodb, deps.tables.events, { customerId, attempt: due.attempt, failure, topUp }, deps.now());
    return { outcome: 'failed', attempt: due.attempt, failure };
  };
  let intent: Stripe.PaymentIntent;
  try {
    const { amount, currency } = await packPrice(deps.stripe, topUp.price);
    intent = await deps.stripe.paymentIntents.create(
      {
        amount,
        currency,
        customer: customerId,
        payment_method: topUp.method,
        off_session: true,
        confirm: true,
        description: `${topUp.credits} credits (auto top-up)`,
        metadata: { [CREDITS_METADATA]: String(topUp.credits), [TOP_UP_METADATA]: due.attempt, ...(topUp.expiresIn === undefined ? {} : { [CREDITS_EXPIRES_IN_METADATA]: topUp.expiresIn }) },
      },
      { idempotencyKey: `tollgate-top-up-${due.attempt}` },
    );
  } catch (err) {
    const failure = cardFailure(err);
    if (failure !== undefined) return fail(failure);
    return { outcome: 'unanswered', attempt: due.attempt };
  }
  if (intent.status === 'succeeded' || intent.status === 'processing') return { outcome: 'charged', attempt: due.attempt, paymentIntent: intent.id };
  // Off-session, a payment that needs the customer (3-D Secure) cannot be completed: it failed for now.
  return fail(intent.status === 'requires_action' ? 'authentication_required' : (intent.last_payment_error?.decline_code ?? intent.last_payment_error?.code ?? 'card_declined'));
}

/** The customer's e-mail (and the seller's event) about a failed charge: one alert item per attempt. */
export function topUpFailedAlert(failed: FailedTopUp, now: Date): AlertItem {
  const { customerId, attempt, failure, topUp } = failed;
  return alertItem(
    customerId,
    {
      key: `topup#${attempt}`,
      detailType: ALERT_DETAIL_TYPES.topUpFailed,
      detail: { rule: 'topUp', customerId, attempt, failure, ...(topUp.pack === undefined ? {} : { pack: topUp.pack }), ...(topUp.credits === undefined ? {} : { credits: topUp.credits }) },
      periodEnd: Math.floor(now.getTime() / 1000),
    },
    now,
  );
}

/** Puts a failed attempt's alert once (its id names the attempt): the alerts' outbox delivers it. */
export async function putTopUpFailedAlert(dynamodb: DynamoDBClient, eventsTable: string, failed: FailedTopUp, now: Date): Promise<void> {
  await putAlertItem(dynamodb, eventsTable, topUpFailedAlert(failed, now));
}

/** The webhook's side of the state machine (its TopUpSettler), on the tables. */
export function dynamoTopUpSettler(dynamodb: DynamoDBClient, tables: { readonly customers: string; readonly events: string }) {
  const target = (customerId: string) => ({ dynamodb, table: tables.customers, customerId });
  return {
    paid: async (customerId: string, attempt: string, now: Date): Promise<boolean> => (await settleTopUp(target(customerId), attempt, { paid: true }, now)) !== undefined,
    async failed(customerId: string, attempt: string, failure: string, now: Date): Promise<boolean> {
      const before = await settleTopUp(target(customerId), attempt, { failure }, now);
      if (before !== undefined) await putTopUpFailedAlert(dynamodb, tables.events, { customerId, attempt, failure, topUp: before }, now);
      return before !== undefined;
    },
    cardSaved: (customerId: string, card: SavedCard, now: Date) => saveTopUpMethod(target(customerId), card, now),
  };
}
