import { ConditionalCheckFailedException, TransactionCanceledException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CustomerUpdate, Forgettable } from '../shared/customers/changes';
import { ITEM_LIMITS, PAYMENT_STATE_PROJECTION } from '../shared/customers/item';
import { createMapsUpdate, paymentStateUpdate } from '../shared/customers/payment-state';
import type { CustomerRecord } from '../shared/customers/record';
import { readWallet, type WalletTransactItem } from '../shared/customers/wallet';
import { purchasedGrantItem } from '../shared/customers/wallet-grants';
import { readCustomer } from '../shared/customers/store';
import type { OutboxWrite } from '../shared/ports';
import { EVENT_LEDGER_RETENTION_SECONDS } from '../shared/tables';
import { LEDGER_ENTRY_FREE, parkEvent, type ParkedEvent, type ParkResult } from './parking';
import { verdict, watermarkOf, writesFor } from './state';

/** What the ledger remembers about one Stripe event. */
export interface LedgerEvent {
  readonly eventId: string;
  readonly type: string;
  /** The event's `created` (epoch s). */
  readonly created: number;
}

export type ApplyResult =
  | { readonly outcome: 'applied' }
  /** Seen before: nothing written (a flush it asked for is in the stage's outbox since its first delivery). */
  | { readonly outcome: 'duplicate' }
  /** Older than the stored state: recorded in the ledger, state untouched. */
  | { readonly outcome: 'stale'; readonly storedWatermark?: string };

/** Where the webhook keeps payment state and the ledger of applied events. */
export interface PaymentStateStore {
  /** The customer's payment state (strongly consistent, never its key hashes), or undefined when none is stored. */
  read(customerId: string): Promise<CustomerRecord | undefined>;
  /**
   * Records the event and applies the update in one transaction: both or neither, with the flush
   * request when the update opens access (`outbox`). `forget`: entries to remove with it (state.ts
   * `forgettable` of the state the caller read).
   */
  apply(event: LedgerEvent, update: CustomerUpdate, options: ApplyOptions): Promise<ApplyResult>;
  /** Keeps an event that failed for a permanent reason, for replay (parking.ts). */
  park(event: ParkedEvent, now: Date): Promise<ParkResult>;
  /** Records a notice that changes no customer (a thin event) in the ledger, once per event id. */
  recordNotice(event: LedgerEvent & { readonly subject?: string }, now: Date): Promise<'recorded' | 'duplicate'>;
}

export interface ApplyOptions {
  /** The stage's flush request, written in the same transaction. @default - none */
  readonly outbox?: OutboxWrite;
  readonly now: Date;
  readonly forget?: Forgettable;
}

export class StoreError extends Error {
  override readonly name = 'StoreError';
}

/** The customer's item holds as many subscriptions as it may (ITEM_LIMITS.trackedSubscriptions). */
export class CustomerItemFullError extends Error {
  override readonly name = 'CustomerItemFullError';
}

export interface PaymentStateTables {
  readonly customersTable: string;
  readonly eventsTable: string;
}

/** The events-table item that says a purchase's credits were added (a Checkout Session's, a top-up's PaymentIntent's). */
export const creditedPurchaseId = (purchaseId: string): string => `credited#${purchaseId}`;

/** How often a transaction that lost a race with a concurrent one is tried again. */
const MAX_ATTEMPTS = 6;

/** A ledger entry; `customerId` undefined for a notice about no customer (a thin event). */
function ledgerItem(event: LedgerEvent, customerId: string | undefined, outcome: string, now: Date): Record<string, unknown> {
  return {
    eventId: event.eventId,
    type: event.type,
    created: event.created,
    ...(customerId === undefined ? {} : { customerId }),
    outcome,
    recordedAt: now.toISOString(),
    expiresAt: Math.floor(now.getTime() / 1000) + EVENT_LEDGER_RETENTION_SECONDS,
  };
}

/**
 * Payment state in DynamoDB: one item per customer, read and updated by the commands of
 * lambda/shared/customers/payment-state.ts, each update in one transaction with the event ledger.
 */
export class DynamoPaymentStateStore implements PaymentStateStore {
  private readonly documents: DynamoDBDocumentClient;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tables: PaymentStateTables,
  ) {
    this.documents = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  read(customerId: string): Promise<CustomerRecord | undefined> {
    return readCustomer(this.client, this.tables.customersTable, customerId, PAYMENT_STATE_PROJECTION);
  }

  async recordNotice(event: LedgerEvent & { readonly subject?: string }, now: Date): Promise<'recorded' | 'duplicate'> {
    try {
      await this.documents.send(
        new PutCommand({
          TableName: this.tables.eventsTable,
          Item: { ...ledgerItem(event, undefined, 'noticed', now), subject: event.subject },
          ConditionExpression: 'attribute_not_exists(eventId)',
        }),
      );
      return 'recorded';
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return 'duplicate';
      throw err;
    }
  }

  async apply(event: LedgerEvent, update: CustomerUpdate, options: ApplyOptions): Promise<ApplyResult> {
    const { customerId } = update;
    const forget = options.forget ?? { subscriptions: [], invoices: [] };
    const writes = writesFor(update, forget, options.now);
    // Credits bought go to the wallet (shared/customers/wallet.ts), in the same transaction as the ledger entry.
    const credits = update.change.stream === 'credits' ? update.change.credits : 0;
    const customerUpdate = paymentStateUpdate(this.tables.customersTable, update, credits > 0 ? { ...writes, add: (writes.add ?? []).filter(([path]) => path[0] !== 'credits') } : writes, forget);
    const purchase = update.change.stream === 'credits' ? update.change.purchaseId : undefined;
    const lifetime = update.change.stream === 'credits' ? update.change.expiresInSeconds : undefined;
    // The pack's grant (paid, no expiry unless the pack has a lifetime), planned from the wallet as read: read again on each attempt.
    const packGrant = async (): Promise<WalletTransactItem> =>
      purchasedGrantItem(this.tables.customersTable, customerId, await readWallet(this.client, this.tables.customersTable, customerId), {
        id: purchase ?? event.eventId,
        units: credits,
        now: options.now,
        ...(lifetime === undefined ? {} : { expiresInSeconds: lifetime }),
      });
    const walletAt = 2 + (options.outbox === undefined ? 0 : 1);
    const build = async (): Promise<TransactWriteCommand> => {
      const wallet = credits > 0 ? await packGrant() : undefined;
      return new TransactWriteCommand({
      TransactItems: [
        {
          Put: {
            TableName: this.tables.eventsTable,
            Item: ledgerItem(event, customerId, 'applied', options.now),
            ...LEDGER_ENTRY_FREE,
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        },
        { Update: customerUpdate },
        ...(options.outbox === undefined ? [] : [{ Update: options.outbox }]),
        ...(wallet === undefined ? [] : [wallet]),
        // Once per purchase, whichever of its events says it is paid (the ledger is per event). Last: the
        // cancellation's last reason is its own.
        ...(purchase === undefined
          ? []
          : [{ Put: { TableName: this.tables.eventsTable, Item: { ...ledgerItem(event, customerId, 'credited', options.now), eventId: creditedPurchaseId(purchase) }, ConditionExpression: 'attribute_not_exists(eventId)' } }]),
      ],
      });
    };

    for (let attempt = 1; ; attempt++) {
      try {
        await this.documents.send(await build());
        return { outcome: 'applied' };
      } catch (err) {
        if (!(err instanceof TransactionCanceledException)) throw err;
        const [ledger, customer] = err.CancellationReasons ?? [];
        if (ledger?.Code === 'ConditionalCheckFailed') return { outcome: 'duplicate' };
        if (purchase !== undefined && err.CancellationReasons?.at(-1)?.Code === 'ConditionalCheckFailed') return { outcome: 'duplicate' };
        // The wallet moved since the pack's grant was planned on it: like a conflict, plan again.
        const conflict = (err.CancellationReasons ?? []).some((r) => r?.Code === 'TransactionConflict') || (credits > 0 && err.CancellationReasons?.[walletAt]?.Code === 'ConditionalCheckFailed');
        if (customer?.Code === 'ConditionalCheckFailed') {
          // DynamoDB said no; the state only tells why (and a state that has moved on since gets another try).
          const state = await this.read(customerId);
          const why = verdict(state, update, options.now);
          if (why === 'stale') return this.recordStale(event, customerId, options.now, watermarkOf(state, update.change));
          if (why === 'full') {
            throw new CustomerItemFullError(
              `customer ${customerId} holds ${ITEM_LIMITS.trackedSubscriptions} subscriptions, live or ended within ${ITEM_LIMITS.forgetAfterSeconds / 86400} days, the most one item tracks: cancel the ones it does not use in stripe, then replay ${event.eventId} with npx tollgate events replay`,
            );
          }
          // The customer's first event: create the maps its update writes into (idempotent), then again.
          const payers = update.change.stream === 'entitlements' && update.change.payer !== undefined;
          await this.documents.send(new UpdateCommand(createMapsUpdate(this.tables.customersTable, customerId, payers)));
        } else if (!conflict) {
          throw new StoreError(`the payment state transaction was cancelled (${[ledger?.Code, customer?.Code].join(', ')}): stripe will retry the event`, { cause: err });
        } else {
          // A concurrent delivery of the same event, or another event of this customer: wait, then let
          // DynamoDB decide again (the ledger condition turns a duplicate into a no-op).
          await sleep(10 * 2 ** attempt * Math.random());
        }
        if (attempt >= MAX_ATTEMPTS) {
          throw new StoreError(`the payment state transaction kept failing (${[ledger?.Code, customer?.Code].join(', ')}): stripe will retry the event`, { cause: err });
        }
      }
    }
  }

  private async recordStale(event: LedgerEvent, customerId: string, now: Date, storedWatermark: string | undefined): Promise<ApplyResult> {
    try {
      await this.documents.send(
        new PutCommand({
          TableName: this.tables.eventsTable,
          Item: ledgerItem(event, customerId, 'stale', now),
          ...LEDGER_ENTRY_FREE,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return storedWatermark === undefined ? { outcome: 'stale' } : { outcome: 'stale', storedWatermark };
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return { outcome: 'duplicate' };
      throw err;
    }
  }

  park(event: ParkedEvent, now: Date): Promise<ParkResult> {
    return parkEvent(this.documents, this.tables.eventsTable, event, now);
  }
}
