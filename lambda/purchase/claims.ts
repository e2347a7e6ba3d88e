import { ConditionalCheckFailedException, TransactionCanceledException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { CustomerUpdate, Writes } from '../shared/customers/changes';
import { PAYMENT_STATE_PROJECTION } from '../shared/customers/item';
import { paymentStateUpdate } from '../shared/customers/payment-state';
import { readCustomer } from '../shared/customers/store';
import { walletBalanceItem } from '../shared/customers/wallet';
import { EVENT_LEDGER_RETENTION_SECONDS } from '../shared/tables';

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
}

/**
 * The credits of a paid purchase, through the path a paid credit-pack checkout takes in the webhook: the
 * units added to the wallet's balance (shared/customers/wallet.ts) and a credits_exhausted block lifted
 * on the customer item, in one transaction with its ledger entry, so that it applies once.
 * 'duplicate': granted before.
 */
export async function grantPurchasedCredits(client: DynamoDBClient, tables: { customers: string; events: string }, input: CreditsGrantInput): Promise<'granted' | 'duplicate'> {
  const stored = await readCustomer(client, tables.customers, input.customerId, PAYMENT_STATE_PROJECTION);
  const liftCreditsBlock = stored?.usageBlock === 'credits_exhausted';
  const update: CustomerUpdate = {
    customerId: input.customerId,
    change: { stream: 'credits', credits: input.credits, liftCreditsBlock },
    // Credits are additive: the ledger, not a watermark, makes them once-only (webhook/state.ts watermarkOf).
    watermark: { value: '', applyBelow: '' },
  };
  // What webhook/state.ts writesFor writes for a credits change, the units going to the wallet (as webhook/store.ts does).
  const writes: Writes = { set: [[['updatedAt'], input.now.toISOString()]], setIfAbsent: [], remove: liftCreditsBlock ? [['usageBlock']] : [] };
  const documents = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  try {
    await documents.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: tables.events,
              Item: {
                eventId: grantEventId(input.challengeId),
                type: 'tollgate.mpp_credits',
                customerId: input.customerId,
                outcome: 'applied',
                units: input.credits,
                reason: input.reason,
                recordedAt: input.now.toISOString(),
                expiresAt: epoch(input.now) + EVENT_LEDGER_RETENTION_SECONDS,
              },
              ConditionExpression: 'attribute_not_exists(eventId)',
            },
          },
          { Update: paymentStateUpdate(tables.customers, update, writes, { subscriptions: [], invoices: [] }) },
          walletBalanceItem(tables.customers, input.customerId, input.credits)!,
        ],
      }),
    );
    return 'granted';
  } catch (err) {
    if (err instanceof TransactionCanceledException && err.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed') return 'duplicate';
    if (err instanceof TransactionCanceledException && err.CancellationReasons?.[1]?.Code === 'ConditionalCheckFailed') {
      // The block was lifted (or changed) between the read and the write: grant without touching it.
      return grantPurchasedCredits(client, tables, input);
    }
    throw err;
  }
}
