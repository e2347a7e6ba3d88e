import { TransactionCanceledException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { firstCallAfter, secondsBetween } from '../shared/agents/first-call';
import { alertItem, type AlertItem } from '../shared/alerts/outbox';
import type { PaymentRecoveryMarker } from '../shared/alerts/recovered';
import { ALERT_DETAIL_TYPES } from '../shared/alerts/rules';
import { attr } from '../shared/customers/item';
import type { Observability } from '../shared/observability';
import type { CustomerUsage } from './aggregate';

/**
 * Metering's part of payment_recovered (lambda/shared/alerts/recovered.ts): a customer it has just counted
 * whose item holds the marker of a payment that lifted a 402. At the batch's first counted call at or after
 * the restoration, one transaction removes the marker (on condition it is still this payment's) and puts the
 * alert's item (on condition it does not exist): whichever write gets there first fires it, and a redelivered,
 * reordered or concurrent batch finds the marker gone. With the rule off the marker is removed alone. Never
 * throws: a marker it could not remove stays for the next batch, and metering goes on.
 */
export type RecoveryRecorder = (customerId: string, marker: PaymentRecoveryMarker, calls: Pick<CustomerUsage, 'firstCallAt' | 'lastCallAt'>) => Promise<void>;

/** Metering's line (its log group deployed, `.tollgate/events.log` locally) when a recovered customer's first call is counted. */
export const PAYMENT_RECOVERED_MESSAGE = 'payment recovered';

export interface RecoveryRecorderDeps {
  readonly dynamodb: DynamoDBClient;
  readonly tables: { readonly customers: string; readonly events: string };
  /** tollgate:alerts' `paymentRecovered`: put the alert; false: remove the marker only. */
  readonly alert: boolean;
  readonly observability: Observability;
  readonly now?: () => Date;
}

const MARKER = attr('paymentRecovery');

/** The alert's item for a recovery: keyed by the payment's event, so a recovery fires once. */
export function recoveredAlertItem(customerId: string, marker: PaymentRecoveryMarker, firstCallAt: number, now: Date): AlertItem {
  return alertItem(
    customerId,
    {
      key: `recovered#${marker.eventId}`,
      detailType: ALERT_DETAIL_TYPES.recovered,
      detail: {
        rule: 'recovered',
        customerId,
        reason: marker.reason,
        via: marker.via,
        paymentEventId: marker.eventId,
        paymentEventType: marker.eventType,
        paidAt: Math.floor(marker.paidAt / 1000),
        restoredAt: Math.floor(marker.restoredAt / 1000),
        firstCallAt: Math.floor(firstCallAt / 1000),
        secondsToFirstCall: secondsBetween(marker.paidAt, firstCallAt),
      },
      // No period: kept ALERT_RETENTION_SECONDS from now.
      periodEnd: Math.floor(now.getTime() / 1000),
    },
    now,
  );
}

export function makeRecoveryRecorder(deps: RecoveryRecorderDeps): RecoveryRecorder {
  const documents = DynamoDBDocumentClient.from(deps.dynamodb);
  const { logger } = deps.observability;
  const now = deps.now ?? (() => new Date());
  const removal = (customerId: string, marker: PaymentRecoveryMarker) => ({
    Update: {
      TableName: deps.tables.customers,
      Key: { customerId },
      UpdateExpression: 'REMOVE #m',
      ConditionExpression: '#m.eventId = :id',
      ExpressionAttributeNames: { '#m': MARKER },
      ExpressionAttributeValues: { ':id': marker.eventId },
    },
  });
  /** 'fired', 'removed' (rule off, or the alert existed), or 'gone' (another write removed it). */
  const settle = async (customerId: string, marker: PaymentRecoveryMarker, item: AlertItem | undefined): Promise<'fired' | 'removed' | 'gone'> => {
    try {
      await documents.send(
        new TransactWriteCommand({
          TransactItems: [removal(customerId, marker), ...(item === undefined ? [] : [{ Put: { TableName: deps.tables.events, Item: item, ConditionExpression: 'attribute_not_exists(eventId)' } }])],
        }),
      );
      return item === undefined ? 'removed' : 'fired';
    } catch (err) {
      if (!(err instanceof TransactionCanceledException)) throw err;
      const [marked, alerted] = err.CancellationReasons ?? [];
      if (marked?.Code === 'ConditionalCheckFailed') return 'gone';
      // Fired before (the marker written again by a replayed event): removed without a second alert.
      if (alerted?.Code === 'ConditionalCheckFailed') return settle(customerId, marker, undefined);
      throw err;
    }
  };
  return async (customerId, marker, calls) => {
    const at = firstCallAfter({ paidAt: marker.restoredAt }, calls);
    if (at === undefined) return;
    let outcome: 'fired' | 'removed' | 'gone';
    try {
      outcome = await settle(customerId, marker, deps.alert ? recoveredAlertItem(customerId, marker, at, now()) : undefined);
    } catch (err) {
      logger.warn('payment recovery not recorded, kept for the next batch', { customerId, error: err instanceof Error ? err.name : 'unknown' });
      return;
    }
    if (outcome === 'gone') return;
    logger.info(PAYMENT_RECOVERED_MESSAGE, { customerId, reason: marker.reason, via: marker.via, paymentEventId: marker.eventId, secondsToFirstCall: secondsBetween(marker.paidAt, at), alerted: outcome === 'fired' });
  };
}
