import { TransactionCanceledException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { attr } from '../shared/customers/item';
import { GrantsMovedError, readMeteredUsage, usageUpdate, walletCreditsItem, type MeteredUsage, type UsageWrite } from '../shared/customers/metered-usage';
import { settleWallet, type SettlementOutcome, type WalletSettlement } from '../shared/customers/wallet';
import { EVENT_LEDGER_RETENTION_SECONDS } from '../shared/tables';
import type { AlertItem } from '../shared/alerts/outbox';

/**
 * Where metering keeps its ledger: items of the events table (the webhook's event ledger), written in
 * the same transaction as the customer's usage, so a batch is counted exactly once however often it
 * is delivered:
 *
 *   metering#<batch>#<customer>[#<part>]   this customer's part of this batch is applied; holds the
 *                                          Stripe meter reports owed (the outbox) until reported
 *   reservation#<id>                       a strict call's reservation (made before wallets) was given back
 *   metering-parked#<batch>                a batch that could not be applied, kept for `metering replay`
 */

export interface MeterReport {
  /** The Stripe meter's event_name. */
  readonly eventName: string;
  readonly value: number;
  /** Deterministic (batch, customer, meter): Stripe de-duplicates a re-report within 24 h. */
  readonly identifier: string;
  /** Epoch s: the newest counted call. */
  readonly timestamp: number;
  /**
   * The Stripe customer the units are reported to, when not the ledger entry's: the payer of the
   * subscription they were counted on (a Payment Link's new customer, webhook/checkout-link.ts).
   */
  readonly customer?: string;
}

export type ReportState = 'pending' | 'reported' | 'rejected';

export interface ReportRecord extends MeterReport {
  readonly state: ReportState;
  /** Why Stripe rejected it. */
  readonly error?: string;
}

export interface LedgerEntry {
  readonly ledgerId: string;
  readonly customerId: string;
  readonly reports: readonly ReportRecord[];
}

export interface MeteringWrite {
  readonly ledgerId: string;
  readonly customerId: string;
  readonly usage: UsageWrite;
  /** Reservation ids given back by this write. */
  readonly refunds: readonly string[];
  readonly reports: readonly MeterReport[];
  readonly now: Date;
  /** Alerts this write makes due (alerts.ts): each put once, in the same transaction. */
  readonly alerts?: readonly AlertItem[];
}

export type ApplyOutcome =
  | { readonly outcome: 'applied' }
  /** This part of this batch was applied before: nothing written. */
  | { readonly outcome: 'duplicate'; readonly entry: LedgerEntry }
  /** The usage attributes moved since they were read: read again and settle again. */
  | { readonly outcome: 'conflict' }
  /** These reservations were given back before (another delivery): drop them and settle again. */
  | { readonly outcome: 'refunded-before'; readonly reservations: readonly string[] }
  /** These alerts were put before (another write): drop them and write again. */
  | { readonly outcome: 'alerted-before'; readonly alerts: readonly string[] };

export interface ParkedBatch {
  readonly batchId: string;
  /** The delivered `awslogs.data` (base64 gzip), as it came. */
  readonly data: string;
  readonly reason: string;
  readonly parkedAt: string;
}

export interface MeteringStore {
  read(customerId: string): Promise<MeteredUsage | undefined>;
  apply(write: MeteringWrite): Promise<ApplyOutcome>;
  /** Settles strict reservations on the customer's wallet, each once (wallet.ts settleWallet). */
  settleWallet(settlement: WalletSettlement): Promise<SettlementOutcome>;
  entry(ledgerId: string): Promise<LedgerEntry | undefined>;
  /** Records what became of the reports. */
  settled(ledgerId: string, reports: readonly ReportRecord[]): Promise<void>;
  park(batch: ParkedBatch): Promise<void>;
}

export const ledgerId = (batchId: string, customerId: string, part: number): string =>
  `metering#${batchId}#${customerId}${part === 0 ? '' : `#${part}`}`;
export const reservationId = (reservation: string): string => `reservation#${reservation}`;
export const parkedBatchId = (batchId: string): string => `metering-parked#${batchId}`;
export const METERED_OUTCOME = 'metered';
export const PARKED_BATCH_OUTCOME = 'parked-batch';
/** At most this many reservations per transaction (TransactWriteItems takes 100 items). */
export const MAX_REFUNDS_PER_WRITE = 90;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

function decodeReports(value: unknown): ReportRecord[] {
  if (!Array.isArray(value)) return [];
  return value.filter(isRecord).flatMap((r): ReportRecord[] =>
    typeof r.eventName === 'string' && typeof r.value === 'number' && typeof r.identifier === 'string' && typeof r.timestamp === 'number' &&
    (r.state === 'pending' || r.state === 'reported' || r.state === 'rejected')
      ? [
          {
            eventName: r.eventName,
            value: r.value,
            identifier: r.identifier,
            timestamp: r.timestamp,
            state: r.state,
            ...(typeof r.customer === 'string' ? { customer: r.customer } : {}),
            ...(typeof r.error === 'string' ? { error: r.error } : {}),
          },
        ]
      : [],
  );
}

export function decodeLedgerEntry(item: Record<string, unknown>): LedgerEntry | undefined {
  if (item.outcome !== METERED_OUTCOME || typeof item.eventId !== 'string' || typeof item.customerId !== 'string') return undefined;
  return { ledgerId: item.eventId, customerId: item.customerId, reports: decodeReports(item.reports) };
}

/** A window's sum the customer item already counts: nothing written, nothing owed. */
const windowDuplicate = (write: MeteringWrite): ApplyOutcome => ({ outcome: 'duplicate', entry: { ledgerId: write.ledgerId, customerId: write.customerId, reports: [] } });

export class DynamoMeteringStore implements MeteringStore {
  private readonly documents: DynamoDBDocumentClient;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tables: { readonly customers: string; readonly events: string },
  ) {
    this.documents = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  read(customerId: string): Promise<MeteredUsage | undefined> {
    return readMeteredUsage(this.client, this.tables.customers, customerId);
  }

  async apply(write: MeteringWrite): Promise<ApplyOutcome> {
    const expiresAt = Math.floor(write.now.getTime() / 1000) + EVENT_LEDGER_RETENTION_SECONDS;
    const pending = write.reports.map((r): ReportRecord => ({ ...r, state: 'pending' }));
    const usage = usageUpdate(this.tables.customers, write.customerId, write.usage);
    // Credits drawn by log lines (and given back to pre-wallet reservations): on the wallet, in the same transaction.
    let wallet: ReturnType<typeof walletCreditsItem>;
    try {
      wallet = walletCreditsItem(this.tables.customers, write.customerId, write.usage, write.now);
    } catch (err) {
      // A grant expired between the read and now: read again and settle again.
      if (err instanceof GrantsMovedError) return { outcome: 'conflict' };
      throw err;
    }
    const window = write.usage.window;
    const alerts = write.alerts ?? [];
    if (window !== undefined && usage !== undefined && 'Update' in usage && wallet === undefined && pending.length === 0 && write.refunds.length === 0 && alerts.length === 0) {
      // A window's sum that owes Stripe nothing: the customer item is its own ledger (one item write).
      try {
        await this.documents.send(new UpdateCommand(usage.Update));
        return { outcome: 'applied' };
      } catch (err) {
        if (!(err instanceof Error && err.name === 'ConditionalCheckFailedException')) throw err;
        return (await this.windowCounted(write.customerId, window)) ? windowDuplicate(write) : { outcome: 'conflict' };
      }
    }
    const items = [
      {
        Put: {
          TableName: this.tables.events,
          Item: {
            eventId: write.ledgerId,
            outcome: METERED_OUTCOME,
            customerId: write.customerId,
            recordedAt: write.now.toISOString(),
            expiresAt,
            ...(pending.length > 0 ? { reports: pending, reportsPending: true } : {}),
          },
          ConditionExpression: 'attribute_not_exists(eventId)',
        },
      },
      ...(usage === undefined ? [] : [usage]),
      ...(wallet === undefined ? [] : [wallet]),
      ...write.refunds.map((reservation) => ({
        Put: {
          TableName: this.tables.events,
          Item: { eventId: reservationId(reservation), outcome: 'refunded', customerId: write.customerId, recordedAt: write.now.toISOString(), expiresAt },
          ConditionExpression: 'attribute_not_exists(eventId)',
        },
      })),
      ...alerts.map((alert) => ({ Put: { TableName: this.tables.events, Item: alert, ConditionExpression: 'attribute_not_exists(eventId)' } })),
    ];
    try {
      await this.documents.send(new TransactWriteCommand({ TransactItems: items }));
      return { outcome: 'applied' };
    } catch (err) {
      if (!(err instanceof TransactionCanceledException)) throw err;
      const failed = (index: number): boolean => err.CancellationReasons?.[index]?.Code === 'ConditionalCheckFailed';
      if (failed(0)) {
        const entry = await this.entry(write.ledgerId);
        if (entry !== undefined) return { outcome: 'duplicate', entry };
        throw err;
      }
      const walletAt = usage === undefined ? 1 : 2;
      const offset = walletAt + (wallet === undefined ? 0 : 1);
      const refunded = write.refunds.filter((_, i) => failed(offset + i));
      if (refunded.length > 0) return { outcome: 'refunded-before', reservations: refunded };
      const alerted = alerts.filter((_, i) => failed(offset + write.refunds.length + i)).map((a) => a.eventId);
      if (alerted.length > 0) return { outcome: 'alerted-before', alerts: alerted };
      if (wallet !== undefined && failed(walletAt)) return { outcome: 'conflict' };
      if (usage !== undefined && failed(1)) {
        if (window !== undefined && (await this.windowCounted(write.customerId, window))) return windowDuplicate(write);
        return { outcome: 'conflict' };
      }
      // Another transaction on the same items (TransactionConflict) or throttling: the caller retries.
      throw err;
    }
  }

  settleWallet(settlement: WalletSettlement): Promise<SettlementOutcome> {
    return settleWallet(this.client, this.tables.customers, settlement);
  }

  /** Whether the customer's item already counts this window (or a later one). */
  private async windowCounted(customerId: string, window: number): Promise<boolean> {
    const { Item } = await this.documents.send(
      new GetCommand({ TableName: this.tables.customers, Key: { customerId }, ConsistentRead: true, ProjectionExpression: '#w', ExpressionAttributeNames: { '#w': attr('meteredWindow') } }),
    );
    return typeof Item?.meteredWindow === 'number' && Item.meteredWindow >= window;
  }

  async entry(id: string): Promise<LedgerEntry | undefined> {
    const { Item } = await this.documents.send(new GetCommand({ TableName: this.tables.events, Key: { eventId: id }, ConsistentRead: true }));
    return Item === undefined ? undefined : decodeLedgerEntry(Item);
  }

  async settled(id: string, reports: readonly ReportRecord[]): Promise<void> {
    if (reports.length === 0) return;
    const pending = reports.some((r) => r.state === 'pending');
    const set = ['reports = :reports'];
    const remove = pending ? [] : ['reportsPending'];
    await this.documents.send(
      new UpdateCommand({
        TableName: this.tables.events,
        Key: { eventId: id },
        ConditionExpression: 'attribute_exists(eventId)',
        UpdateExpression: [set.length > 0 ? `SET ${set.join(', ')}` : '', remove.length > 0 ? `REMOVE ${remove.join(', ')}` : ''].filter(Boolean).join(' '),
        ExpressionAttributeValues: { ':reports': reports },
      }),
    );
  }

  async park(batch: ParkedBatch): Promise<void> {
    // Re-parking the same batch replaces the entry: the newest reason is the one to read.
    await this.documents.send(
      new PutCommand({
        TableName: this.tables.events,
        Item: { eventId: parkedBatchId(batch.batchId), outcome: PARKED_BATCH_OUTCOME, data: batch.data, reason: batch.reason.slice(0, 1000), parkedAt: batch.parkedAt },
      }),
    );
  }
}
