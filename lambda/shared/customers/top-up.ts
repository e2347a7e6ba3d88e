import { ConditionalCheckFailedException, GetItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { randomBase62 } from '../random';

/**
 * Auto top-up (docs/selling-by-use.md#auto-top-up): a customer who saved a card asks for a credit pack
 * to be bought when its credits fall below a threshold. Its one record is the customer item's `topUp`
 * map, and its one rule is a state machine on it, each step a conditional UpdateItem:
 *
 *   armed ──(credits below the threshold: claim, metering or the portal)──▶ charging
 *   charging ──(Stripe's payment_intent.succeeded; the pack's grant lands)──▶ armed
 *   charging ──(the charge failed: Stripe's answer or payment_intent.payment_failed)──▶ failed
 *   failed ──(the customer saves a card or the settings again)──▶ armed
 *
 * Exactly once per crossing: only the claim moves `armed` to `charging`, and it names the attempt; the
 * PaymentIntent is created with the attempt as its idempotency key, and its grant is once per
 * PaymentIntent (the webhook's `credited#pi_…` ledger entry). A charge whose answer was lost stays
 * `charging`: after CHARGE_RETRY_SECONDS the next claim takes the same attempt again, and Stripe's
 * idempotency answers with the first charge rather than making a second.
 *
 *   pack, credits, price, expiresIn   the pack to buy (as configured when the customer chose it)
 *   below      buy when the spendable credits are below this many units
 *   method, methodLabel   the saved card (a PaymentMethod id; "visa …4242")
 *   cardSetAt  epoch s its SetupIntent was created: the card saved last wins, whichever of the portal's
 *              return and Stripe's setup_intent.succeeded says it first
 *   state      armed | charging | failed
 *   attempt    the charge under way (`tu_…`), absent otherwise
 *   at         epoch s of the last transition
 *   failure    why the last charge failed (a Stripe decline code): the 402 says it
 */

export const TOP_UP_ATTRIBUTE = 'topUp';
export const TOP_UP_STATES = ['armed', 'charging', 'failed'] as const;
export type TopUpState = (typeof TOP_UP_STATES)[number];

/** A charge not answered within this long is claimed again (same attempt, same idempotency key). */
export const CHARGE_RETRY_SECONDS = 10 * 60;
/** The metadata a top-up's PaymentIntent carries: its attempt (the webhook settles the state machine with it). */
export const TOP_UP_METADATA = 'tollgate_top_up';
/** The metadata the account page's setup checkout gives its SetupIntent: the customer whose top-up the card is for. */
export const TOP_UP_CARD_METADATA = 'tollgate_customer';
const ATTEMPT = /^tu_[0-9A-Za-z]{22}$/;

export interface TopUpPack {
  readonly pack: string;
  readonly credits: number;
  /** The pack's Stripe price (lookup key or price_ id). */
  readonly price: string;
  readonly expiresIn?: string;
}

export interface TopUp extends Partial<TopUpPack> {
  readonly below?: number;
  readonly method?: string;
  readonly methodLabel?: string;
  readonly cardSetAt?: number;
  readonly state: TopUpState;
  readonly attempt?: string;
  readonly at?: number;
  readonly failure?: string;
}

export const isTopUpAttempt = (value: unknown): value is string => typeof value === 'string' && ATTEMPT.test(value);
export const newTopUpAttempt = (): string => `tu_${randomBase62(22)}`;

/** Ready to charge: a pack, a threshold and a card. */
export const topUpReady = (t: TopUp | undefined): t is TopUp & TopUpPack & { below: number; method: string } =>
  t !== undefined && t.pack !== undefined && t.credits !== undefined && t.price !== undefined && t.below !== undefined && t.method !== undefined;

/** Whether the credits left call for a charge now, and with which attempt (a lost charge's own). */
export function chargeDue(t: TopUp | undefined, spendable: number | undefined, now: Date): { readonly attempt: string; readonly retry: boolean } | undefined {
  if (!topUpReady(t) || (spendable ?? 0) >= t.below) return undefined;
  if (t.state === 'armed') return { attempt: newTopUpAttempt(), retry: false };
  const stale = t.state === 'charging' && t.attempt !== undefined && (t.at ?? 0) + CHARGE_RETRY_SECONDS <= seconds(now);
  return stale ? { attempt: t.attempt, retry: true } : undefined;
}

const seconds = (d: Date): number => Math.floor(d.getTime() / 1000);

/** Stripe's decline codes, as the 402, the account page and the e-mail say them. */
const FAILURES: Readonly<Record<string, string>> = {
  authentication_required: 'the bank asked you to authenticate the payment, which an automatic charge cannot do',
  insufficient_funds: 'the card has insufficient funds',
  expired_card: 'the card has expired',
  card_declined: 'the card was declined',
  generic_decline: 'the card was declined',
  lost_card: 'the card was declined',
  stolen_card: 'the card was declined',
  do_not_honor: 'the card was declined',
  processing_error: 'the card could not be charged (a processing error)',
};
export const failureWords = (code: string | undefined): string => FAILURES[code ?? ''] ?? 'the charge failed';

/** A Stripe code as stored: letters, digits and underscores, bounded. */
export const storableFailure = (code: unknown): string => (typeof code === 'string' && /^[a-z_]{1,60}$/.test(code) ? code : 'card_declined');

/** The customer's top-up changed under the write (a charge began, or the settings moved): the caller says so. */
export class TopUpConflictError extends Error {
  override readonly name = 'TopUpConflictError';
}

interface Target {
  readonly dynamodb: DynamoDBClient;
  readonly table: string;
  readonly customerId: string;
}

async function update(target: Target, expression: string, condition: string, names: Record<string, string>, values: Record<string, unknown>): Promise<boolean> {
  return (await updateReturningOld(target, expression, condition, names, values)) !== undefined;
}

/** The write, conditional; the top-up as it was before it (undefined: the condition failed). */
async function updateReturningOld(target: Target, expression: string, condition: string, names: Record<string, string>, values: Record<string, unknown>): Promise<TopUp | 'absent' | undefined> {
  try {
    const { Attributes } = await target.dynamodb.send(
      new UpdateItemCommand({
        TableName: target.table,
        Key: marshall({ customerId: target.customerId }),
        UpdateExpression: expression,
        ConditionExpression: condition,
        ExpressionAttributeNames: { '#t': TOP_UP_ATTRIBUTE, ...names },
        ...(Object.keys(values).length === 0 ? {} : { ExpressionAttributeValues: marshall(values, { removeUndefinedValues: true }) }),
        ReturnValues: 'ALL_OLD',
      }),
    );
    const old = Attributes === undefined ? undefined : (unmarshall(Attributes)[TOP_UP_ATTRIBUTE] as TopUp | undefined);
    return old ?? 'absent';
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return undefined;
    throw err;
  }
}

const NOT_CHARGING = '(attribute_not_exists(#t) OR #t.#s <> :charging)';

/**
 * The customer's choice from the account page: a pack and a threshold (a saved card stays). Arms it
 * (a failed top-up is tried again at the next crossing: the customer asked). Refused while a charge is
 * under way (TopUpConflictError): the page says to try again in a moment.
 */
export async function saveTopUpSettings(target: Target, current: TopUp | undefined, pack: TopUpPack, below: number, now: Date): Promise<void> {
  const settings = { pack: pack.pack, credits: pack.credits, price: pack.price, ...(pack.expiresIn === undefined ? {} : { expiresIn: pack.expiresIn }), below };
  const card = current?.method === undefined ? {} : { method: current.method, methodLabel: current.methodLabel, cardSetAt: current.cardSetAt };
  const fresh = { ...settings, ...card, state: 'armed', at: seconds(now) };
  // Written whole, conditioned on the card it keeps: a card saved meanwhile makes the page try again.
  const sameCard = current?.method === undefined ? 'attribute_not_exists(#t.#m)' : '#t.#m = :method';
  const ok = await update(
    target,
    'SET #t = :topUp',
    current === undefined ? 'attribute_not_exists(#t)' : `attribute_exists(#t) AND ${NOT_CHARGING} AND ${sameCard}`,
    { ...(current === undefined ? {} : { '#s': 'state', '#m': 'method' }) },
    { ':topUp': fresh, ...(current === undefined ? {} : { ':charging': 'charging', ...(current.method === undefined ? {} : { ':method': current.method }) }) },
  );
  if (!ok) throw new TopUpConflictError('the auto top-up changed meanwhile (a charge may be under way): reload the page and try again');
}

/** A card saved by a setup checkout: its PaymentMethod, how it reads ("visa …4242"), and when its SetupIntent was created. */
export interface SavedCard {
  readonly method: string;
  readonly label?: string;
  /** Epoch s: of two cards, the one set up later is kept. */
  readonly setAt: number;
}

/** How a saved card reads: "visa …4242" from the expanded PaymentMethod, "card" from its id alone. */
export function cardLabel(pm: string | { readonly type: string; readonly card?: { readonly brand: string; readonly last4: string } | null }): string {
  if (typeof pm === 'string') return 'card';
  return pm.card === undefined || pm.card === null ? pm.type : `${pm.card.brand} …${pm.card.last4}`;
}

/**
 * A card the customer saved (Checkout in setup mode), told by the portal's return or by Stripe's
 * setup_intent.succeeded, in either order and as often as they come: kept with the settings and the
 * top-up armed again, unless a card set up later is kept already (`stale`). The same card told again
 * only improves its label (`same`): it does not re-arm a top-up its failed charge paused. Refused while
 * a charge is under way (TopUpConflictError): the portal says to try again, the webhook answers 500 and
 * Stripe delivers the event again later.
 */
export async function saveTopUpMethod(target: Target, card: SavedCard, now: Date): Promise<'saved' | 'same' | 'stale'> {
  const label = card.label ?? 'card';
  const names = { '#s': 'state', '#m': 'method', '#l': 'methodLabel', '#cs': 'cardSetAt', '#at': 'at', '#f': 'failure' };
  const newer = `attribute_exists(#t) AND ${NOT_CHARGING} AND (attribute_not_exists(#t.#cs) OR #t.#cs < :setAt)`;
  const values = { ':method': card.method, ':label': label, ':setAt': card.setAt, ':armed': 'armed', ':at': seconds(now), ':charging': 'charging' };
  if (await update(target, 'SET #t.#m = :method, #t.#l = :label, #t.#cs = :setAt, #t.#s = :armed, #t.#at = :at REMOVE #t.#f', newer, names, values)) return 'saved';
  if (await update(target, 'SET #t = :topUp', 'attribute_not_exists(#t)', {}, { ':topUp': { method: card.method, methodLabel: label, cardSetAt: card.setAt, state: 'armed', at: seconds(now) } })) return 'saved';
  const sameCard = { '#m': 'method', '#cs': 'cardSetAt', '#l': 'methodLabel' };
  if (card.label !== undefined && (await update(target, 'SET #t.#l = :label', '#t.#cs = :setAt AND #t.#m = :method', sameCard, { ':label': label, ':setAt': card.setAt, ':method': card.method }))) {
    return 'same';
  }
  const { Item } = await target.dynamodb.send(
    new GetItemCommand({ TableName: target.table, Key: marshall({ customerId: target.customerId }), ConsistentRead: true, ProjectionExpression: '#t', ExpressionAttributeNames: { '#t': TOP_UP_ATTRIBUTE } }),
  );
  const stored = Item === undefined ? undefined : (unmarshall(Item)[TOP_UP_ATTRIBUTE] as TopUp | undefined);
  if (stored?.cardSetAt === card.setAt && stored.method === card.method) return 'same';
  if (stored?.state === 'charging' && (stored.cardSetAt === undefined || stored.cardSetAt < card.setAt)) {
    throw new TopUpConflictError('a top-up charge is under way: save the card again in a moment');
  }
  return 'stale';
}

/** Turns auto top-up off and forgets the card (Stripe keeps it on the customer). A charge under way still grants. */
export async function removeTopUp(target: Target): Promise<boolean> {
  return update(target, 'REMOVE #t', 'attribute_exists(#t)', {}, {});
}

/** armed → charging (or a lost charge's attempt again): true when this caller won the crossing. */
export async function claimTopUp(target: Target, due: { readonly attempt: string; readonly retry: boolean }, method: string, now: Date): Promise<boolean> {
  const names = { '#s': 'state', '#a': 'attempt', '#at': 'at', '#m': 'method' };
  if (due.retry) {
    return update(target, 'SET #t.#at = :now', '#t.#s = :charging AND #t.#a = :attempt AND #t.#at <= :stale AND #t.#m = :method', names, {
      ':charging': 'charging',
      ':attempt': due.attempt,
      ':now': seconds(now),
      ':stale': seconds(now) - CHARGE_RETRY_SECONDS,
      ':method': method,
    });
  }
  return update(target, 'SET #t.#s = :charging, #t.#a = :attempt, #t.#at = :now', '#t.#s = :armed AND #t.#m = :method', names, {
    ':charging': 'charging',
    ':armed': 'armed',
    ':attempt': due.attempt,
    ':now': seconds(now),
    ':method': method,
  });
}

/**
 * charging → armed (Stripe confirmed the payment) or → failed (with Stripe's code), for this attempt
 * only: the top-up as it was when this call moved it (its pack, for the e-mail), undefined when it did not.
 */
export async function settleTopUp(target: Target, attempt: string, outcome: { readonly paid: true } | { readonly failure: string }, now: Date): Promise<TopUp | undefined> {
  const names = { '#s': 'state', '#a': 'attempt', '#at': 'at', '#f': 'failure' };
  const condition = '#t.#a = :attempt';
  const moved = (old: TopUp | 'absent' | undefined): TopUp | undefined => (old === 'absent' ? undefined : old);
  if ('paid' in outcome) return moved(await updateReturningOld(target, 'SET #t.#s = :armed, #t.#at = :now REMOVE #t.#a, #t.#f', condition, names, { ':attempt': attempt, ':armed': 'armed', ':now': seconds(now) }));
  return moved(await updateReturningOld(target, 'SET #t.#s = :failed, #t.#at = :now, #t.#f = :failure REMOVE #t.#a', condition, names, {
    ':attempt': attempt,
    ':failed': 'failed',
    ':now': seconds(now),
    ':failure': storableFailure(outcome.failure),
  }));
}
