import { ConditionalCheckFailedException, TransactionCanceledException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { CustomerUpdate, Writes } from '../shared/customers/changes';
import { attr, PAYMENT_STATE_PROJECTION } from '../shared/customers/item';
import { createMapsUpdate, paymentStateUpdate } from '../shared/customers/payment-state';
import type { SubscriptionEntry } from '../shared/customers/record';
import { readCustomer } from '../shared/customers/store';
import { readWallet } from '../shared/customers/wallet';
import { purchasedGrantItem } from '../shared/customers/wallet-grants';
import { EVENT_LEDGER_RETENTION_SECONDS } from '../shared/tables';

type TransactItem = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>[number];

/**
 * Exactly once per challenge (docs/agents.md): a credential is redeemed by the request that claims its
 * challenge id (a conditional put of `mpp-claim#<id>` in the events table) before any side effect. A
 * replay, or a concurrent duplicate, finds the claim. A claim whose holder failed before it charged is
 * released (the buyer may retry the same credential: Stripe's idempotency key makes a charge that did
 * go through answer again, not charge again); a claim that charged stays, and its lease lets a retry of
 * the same credential finish the grant and the key once the holder is gone.
 */

export const claimId = (challengeId: string): string => `mpp-claim#${challengeId}`;
/** The credits grant's ledger entry: once per challenge, as a Stripe event id is once per event. */
export const grantEventId = (challengeId: string): string => `mpp#${challengeId}`;
/** Longer than one purchase takes (a Stripe customer, a charge, a grant, a key): then a retry may take over. */
export const CLAIM_LEASE_SECONDS = 60;

export interface Claim {
  readonly challengeId: string;
  /** The customer the purchase pays into: the presenting key's, or the one created for a keyless buyer. */
  readonly customerId?: string;
  readonly paymentIntent?: string;
  readonly keyId?: string;
  readonly state: 'claimed' | 'charged' | 'done' | 'failed';
}

export interface ClaimStore {
  /** The claim, when this request holds it now; undefined when another holds or finished it. */
  claim(challengeId: string, at: Date, customerId: string | undefined): Promise<Claim | undefined>;
  /** Records progress (the customer, the charge, the key); `state` moves forward only. */
  record(challengeId: string, fields: Partial<Omit<Claim, 'challengeId'>>, at: Date): Promise<void>;
  /** Drops a claim that charged nothing, so the same credential may be tried again. */
  release(challengeId: string): Promise<void>;
}

const epoch = (at: Date): number => Math.floor(at.getTime() / 1000);

export function dynamoClaimStore(client: DynamoDBClient, eventsTable: string): ClaimStore {
  const documents = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  return {
    async claim(challengeId, at, customerId) {
      const now = epoch(at);
      try {
        const { Attributes } = await documents.send(
          new UpdateCommand({
            TableName: eventsTable,
            Key: { eventId: claimId(challengeId) },
            // A first claim, or a takeover of a claim whose holder's lease ran out before it finished.
            UpdateExpression: `SET #type = :type, leaseUntil = :lease, expiresAt = :expires, #state = if_not_exists(#state, :claimed)${customerId === undefined ? '' : ', customerId = if_not_exists(customerId, :customer)'}`,
            ConditionExpression: 'attribute_not_exists(eventId) OR (leaseUntil < :now AND #state IN (:claimed, :charged))',
            ExpressionAttributeNames: { '#type': 'type', '#state': 'state' },
            ExpressionAttributeValues: {
              ':type': 'tollgate.mpp_claim',
              ':lease': now + CLAIM_LEASE_SECONDS,
              ':expires': now + EVENT_LEDGER_RETENTION_SECONDS,
              ':claimed': 'claimed',
              ':charged': 'charged',
              ...(customerId === undefined ? {} : { ':customer': customerId }),
              ':now': now,
            },
            ReturnValues: 'ALL_NEW',
          }),
        );
        const item = Attributes ?? {};
        return {
          challengeId,
          state: item.state as Claim['state'],
          ...(typeof item.customerId === 'string' ? { customerId: item.customerId } : {}),
          ...(typeof item.paymentIntent === 'string' ? { paymentIntent: item.paymentIntent } : {}),
          ...(typeof item.keyId === 'string' ? { keyId: item.keyId } : {}),
        };
      } catch (err) {
        if (err instanceof ConditionalCheckFailedException) return undefined;
        throw err;
      }
    },
    async record(challengeId, fields, at) {
      const entries = Object.entries(fields).filter(([, v]) => v !== undefined);
      if (entries.length === 0) return;
      await documents.send(
        new UpdateCommand({
          TableName: eventsTable,
          Key: { eventId: claimId(challengeId) },
          UpdateExpression: `SET ${entries.map((_, i) => `#f${i} = :f${i}`).join(', ')}, progressAt = :at`,
          ExpressionAttributeNames: Object.fromEntries(entries.map(([k], i) => [`#f${i}`, k])),
          ExpressionAttributeValues: { ...Object.fromEntries(entries.map(([, v], i) => [`:f${i}`, v])), ':at': at.toISOString() },
        }),
      );
    },
    async release(challengeId) {
      await documents.send(new DeleteCommand({ TableName: eventsTable, Key: { eventId: claimId(challengeId) }, ConditionExpression: '#state = :claimed', ExpressionAttributeNames: { '#state': 'state' }, ExpressionAttributeValues: { ':claimed': 'claimed' } })).catch((err: unknown) => {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
      });
    },
  };
}

export interface CreditsGrantInput {
  readonly challengeId: string;
  readonly customerId: string;
  readonly credits: number;
  readonly reason: string;
  readonly now: Date;
  /** The pack's lifetime: its grant expires that long after the payment. */
  readonly expiresInSeconds?: number;
}

/** The wallet grant of an agent's purchase: named by its claim, as a Checkout purchase's is by its session. */
export const purchaseGrantId = (challengeId: string): string => `purchase:${challengeId}`;

/** Reads again and retries a grant whose customer or wallet moved between the read and the write this often. */
const GRANT_ATTEMPTS = 6;

/**
 * The credits of a paid purchase, through the path a paid credit-pack checkout takes in the webhook: a
 * paid grant on the wallet (shared/customers/wallet-grants.ts; it expires with the pack's lifetime) and a
 * credits_exhausted block lifted on the customer item, in one transaction with its ledger entry, so that
 * it applies once. 'duplicate': granted before.
 */
export async function grantPurchasedCredits(client: DynamoDBClient, tables: { customers: string; events: string }, input: CreditsGrantInput): Promise<'granted' | 'duplicate'> {
  for (let attempt = 1; ; attempt += 1) {
    const [stored, wallet] = await Promise.all([readCustomer(client, tables.customers, input.customerId, PAYMENT_STATE_PROJECTION), readWallet(client, tables.customers, input.customerId)]);
    const liftCreditsBlock = stored?.usageBlock === 'credits_exhausted';
    const update: CustomerUpdate = {
      customerId: input.customerId,
      change: { stream: 'credits', credits: input.credits, liftCreditsBlock },
      // Credits are additive: the ledger, not a watermark, makes them once-only (webhook/state.ts watermarkOf).
      watermark: { value: '', applyBelow: '' },
    };
    // What webhook/state.ts writesFor writes for a credits change, the units going to the wallet (as webhook/store.ts does).
    const writes: Writes = { set: [[['updatedAt'], input.now.toISOString()]], setIfAbsent: [], remove: liftCreditsBlock ? [['usageBlock']] : [] };
    const grant = purchasedGrantItem(tables.customers, input.customerId, wallet, {
      id: purchaseGrantId(input.challengeId),
      units: input.credits,
      now: input.now,
      ...(input.expiresInSeconds === undefined ? {} : { expiresInSeconds: input.expiresInSeconds }),
    });
    const outcome = await writeWithLedger(
      client,
      tables.events,
      input,
      { type: 'tollgate.mpp_credits', units: input.credits, reason: input.reason },
      paymentStateUpdate(tables.customers, update, writes, { subscriptions: [], invoices: [] }),
      [grant],
    );
    // The block was lifted (or changed), or the wallet written, between the read and the write: read again.
    if (outcome !== 'conflict') return outcome;
    if (attempt >= GRANT_ATTEMPTS) throw new Error(`the customer ${input.customerId} or its wallet kept changing while a purchase's credits were granted: the buyer's retry of the same credential grants them`);
  }
}

/**
 * A grant's ledger entry (`mpp#<claim>`, conditional: once per claim), its customer update and any further
 * items (the wallet's credits) in one transaction. 'duplicate': granted before; 'conflict': the update's or
 * a further item's own condition failed.
 */
async function writeWithLedger(
  client: DynamoDBClient,
  eventsTable: string,
  input: { readonly challengeId: string; readonly customerId: string; readonly now: Date },
  entry: Readonly<Record<string, unknown>>,
  update: NonNullable<TransactItem['Update']>,
  more: readonly TransactItem[] = [],
): Promise<'granted' | 'duplicate' | 'conflict'> {
  const documents = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  try {
    await documents.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: eventsTable,
              Item: { eventId: grantEventId(input.challengeId), customerId: input.customerId, outcome: 'applied', ...entry, recordedAt: input.now.toISOString(), expiresAt: epoch(input.now) + EVENT_LEDGER_RETENTION_SECONDS },
              ConditionExpression: 'attribute_not_exists(eventId)',
            },
          },
          { Update: update },
          ...more,
        ],
      }),
    );
    return 'granted';
  } catch (err) {
    if (err instanceof TransactionCanceledException && err.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed') return 'duplicate';
    if (err instanceof TransactionCanceledException && err.CancellationReasons?.slice(1).some((r) => r.Code === 'ConditionalCheckFailed') === true) return 'conflict';
    throw err;
  }
}

/** The subscription entries of plans bought over the protocols: `agent_<period start, 11 digits>_<claim>`, so an earlier period has the lower id (the one that decides on a tie). */
export const AGENT_PLAN_PREFIX = 'agent_';

export interface PlanGrantInput {
  readonly challengeId: string;
  readonly customerId: string;
  /** The plan key (`tollgate:plans`) and the days one payment buys. */
  readonly plan: string;
  readonly days: number;
  readonly reason: string;
  readonly now: Date;
}

/** What a paid plan granted: the period it runs. */
export interface PlanGrant {
  readonly outcome: 'granted' | 'duplicate';
  readonly periodStart: number;
  readonly periodEnd: number;
}

/**
 * A plan bought over a protocol: `days` of the plan's standing from the later of now and the end of the
 * customer's last period of it, as a subscription entry set to end then (status canceled,
 * cancelAtPeriodEnd: the standing rules grant it until its period end, lambda/shared/customers/standing.ts),
 * written once per claim with its ledger entry. No Stripe subscription exists for it, so no webhook event
 * ever rewrites it; its watermark names its period end, so the webhook forgets it as it forgets an ended
 * subscription, a month after it ends.
 */
export async function grantPurchasedPlan(client: DynamoDBClient, tables: { customers: string; events: string }, input: PlanGrantInput): Promise<PlanGrant> {
  const documents = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  const granted = await documents.send(new GetCommand({ TableName: tables.events, Key: { eventId: grantEventId(input.challengeId) }, ConsistentRead: true }));
  if (granted.Item !== undefined) return { outcome: 'duplicate', periodStart: Number(granted.Item.periodStart), periodEnd: Number(granted.Item.periodEnd) };
  const stored = await readCustomer(client, tables.customers, input.customerId, PAYMENT_STATE_PROJECTION);
  const now = epoch(input.now);
  const lastEnd = Object.entries(stored?.subscriptions ?? {})
    .filter(([id, entry]) => id.startsWith(AGENT_PLAN_PREFIX) && entry.plan === input.plan)
    .reduce((end, [, entry]) => Math.max(end, entry.currentPeriodEnd ?? 0), 0);
  const periodStart = Math.max(now, lastEnd);
  const periodEnd = periodStart + input.days * 86_400;
  const subscriptionId = `${AGENT_PLAN_PREFIX}${String(periodStart).padStart(11, '0')}_${input.challengeId.replace(/[^A-Za-z0-9]/g, '').slice(0, 24)}`;
  const entry: SubscriptionEntry = {
    status: 'canceled',
    plan: input.plan,
    cancelAtPeriodEnd: true,
    currentPeriodStart: periodStart,
    currentPeriodEnd: periodEnd,
    watermark: `${String(periodEnd).padStart(11, '0')}:0:${grantEventId(input.challengeId)}`,
  };
  // The maps a subscription entry is written into, as the webhook creates them for a customer's first change.
  await documents.send(new UpdateCommand(createMapsUpdate(tables.customers, input.customerId)));
  const outcome = await writeWithLedger(
    client,
    tables.events,
    input,
    { type: 'tollgate.agent_plan', plan: input.plan, periodStart, periodEnd, reason: input.reason },
    {
      TableName: tables.customers,
      Key: { customerId: input.customerId },
      UpdateExpression: 'SET #s.#id = :entry, #u = :at',
      ConditionExpression: 'attribute_exists(#s)',
      ExpressionAttributeNames: { '#s': attr('subscriptions'), '#id': subscriptionId, '#u': attr('updatedAt') },
      ExpressionAttributeValues: { ':entry': entry, ':at': input.now.toISOString() },
    },
  );
  if (outcome === 'conflict') throw new Error(`customer ${input.customerId} has no subscriptions map to add the plan to: retry the purchase`);
  // Granted by a concurrent holder of the same claim: answer its period from the ledger.
  return outcome === 'granted' ? { outcome, periodStart, periodEnd } : grantPurchasedPlan(client, tables, input);
}
