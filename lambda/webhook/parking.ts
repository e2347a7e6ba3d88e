import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { PermanentCause } from './failures';

/**
 * Parked events: verified Stripe events that failed for a permanent reason, kept in the event ledger
 * (keyed by the event id, like every ledger entry) with the bytes Stripe signed, so that once the cause
 * is fixed `tollgate events replay <evt_id>` re-posts them. A parked entry never expires: it waits for
 * someone to replay it. Applying the event later supersedes it in the same transaction as the state
 * change (see LEDGER_ENTRY_FREE), so it is never both applied and still parked.
 */

export const PARKED_OUTCOME = 'parked';

/** Longest reason kept: error messages are a sentence; a runaway one must not bloat the entry. */
export const MAX_REASON_LENGTH = 1000;

export interface ParkedEvent {
  readonly eventId: string;
  readonly type: string;
  /** The event's `created` (epoch s). */
  readonly created: number;
  /** When known (the event named a readable customer). */
  readonly customerId?: string;
  readonly cause: PermanentCause;
  /** What failed, for people: the error's message. */
  readonly reason: string;
  /** The request body exactly as Stripe signed it. */
  readonly rawBody: Uint8Array;
}

export type ParkResult =
  | { readonly outcome: 'parked' }
  /** The event was parked before: nothing written (a redelivery, or a replay that failed again). */
  | { readonly outcome: 'already-parked' }
  /** Meanwhile another delivery applied (or recorded) the event: nothing written. */
  | { readonly outcome: 'duplicate' };

/**
 * The ledger condition of any write that records an event: no entry yet, or a parked one, which the
 * write then replaces (the parked body goes with it). Spread into a Put of the ledger item.
 */
export const LEDGER_ENTRY_FREE = {
  ConditionExpression: 'attribute_not_exists(eventId) OR #ledgerOutcome = :parkedOutcome',
  ExpressionAttributeNames: { '#ledgerOutcome': 'outcome' },
  ExpressionAttributeValues: { ':parkedOutcome': PARKED_OUTCOME },
} as const;

/** Writes the parked entry unless the event already has one (parked or not): one write per event. */
export async function parkEvent(documents: DynamoDBDocumentClient, eventsTable: string, event: ParkedEvent, now: Date): Promise<ParkResult> {
  try {
    await documents.send(
      new PutCommand({
        TableName: eventsTable,
        Item: {
          eventId: event.eventId,
          type: event.type,
          created: event.created,
          ...(event.customerId === undefined ? {} : { customerId: event.customerId }),
          outcome: PARKED_OUTCOME,
          cause: event.cause,
          reason: event.reason.slice(0, MAX_REASON_LENGTH),
          rawBody: event.rawBody,
          recordedAt: now.toISOString(),
        },
        ConditionExpression: 'attribute_not_exists(eventId)',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return { outcome: 'parked' };
  } catch (err) {
    if (!(err instanceof ConditionalCheckFailedException)) throw err;
    return err.Item?.outcome?.S === PARKED_OUTCOME ? { outcome: 'already-parked' } : { outcome: 'duplicate' };
  }
}

/** The customer an unreadable event names, when it names one plainly (for `tollgate events parked`). */
export function customerHint(object: Readonly<Record<string, unknown>>): string | undefined {
  const candidate = object.object === 'customer' ? object.id : object.customer;
  return typeof candidate === 'string' && /^cus_[A-Za-z0-9_]{1,255}$/.test(candidate) ? candidate : undefined;
}

/** A parked entry as `tollgate events parked` lists it (no body). */
export interface ParkedSummary {
  readonly eventId: string;
  readonly type: string;
  readonly customerId?: string;
  readonly cause: string;
  readonly reason: string;
  /** ISO-8601: when it was parked. */
  readonly parkedAt: string;
}

/** The attributes a listing reads: everything but the body. */
export const PARKED_SUMMARY_ATTRIBUTES = ['eventId', 'type', 'customerId', 'cause', 'reason', 'recordedAt', 'outcome'] as const;

/** A ledger item (unmarshalled) as a parked summary; undefined when it is not a parked entry. */
export function parkedSummary(item: Readonly<Record<string, unknown>>): ParkedSummary | undefined {
  const text = (name: string): string | undefined => (typeof item[name] === 'string' ? item[name] : undefined);
  const eventId = text('eventId');
  if (item.outcome !== PARKED_OUTCOME || eventId === undefined) return undefined;
  const customerId = text('customerId');
  return {
    eventId,
    type: text('type') ?? '-',
    ...(customerId === undefined ? {} : { customerId }),
    cause: text('cause') ?? '-',
    reason: text('reason') ?? '-',
    parkedAt: text('recordedAt') ?? '-',
  };
}
