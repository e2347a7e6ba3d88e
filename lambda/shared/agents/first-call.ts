import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { attr } from '../customers/item';

/**
 * An agent's way out of a 402, as operations see it (docs/agents.md "Operations"): 402 → paid → first 2xx,
 * by protocol, on the dashboard. A dashboard graphs metrics and cannot join log groups, so each step's time
 * is measured where it happens:
 *
 *   402 → paid        the purchase route, when it grants: from the 402 the payment answers (its challenge's
 *                     issue time, challengedAt below) to the payment; metric AgentSecondsToPay{protocol}
 *   paid → first 2xx  the purchase route leaves a marker on the customer item (agentPayment: protocol, paidAt);
 *                     metering, which reads that item anyway for every customer it counts, sees it at the
 *                     customer's first counted 2xx after the payment and removes it with a conditional write:
 *                     the one that removes it emits AgentSecondsToFirstCall{protocol}, once per payment
 *
 * No marker pending costs nothing per call: metering's usage read already projects the attribute.
 */

export type FirstCallProtocol = 'mpp' | 'x402';

/** `agentPayment` on the customer item. Times in epoch ms. */
export interface AgentPaymentMarker {
  readonly protocol: FirstCallProtocol;
  readonly paidAt: number;
  /** When the 402 the payment answers was served, when known. */
  readonly challengedAt?: number;
}

export const AGENT_SECONDS_TO_PAY_METRIC = 'AgentSecondsToPay';
export const AGENT_SECONDS_TO_FIRST_CALL_METRIC = 'AgentSecondsToFirstCall';
/** Metering's line (its log group deployed, `.tollgate/events.log` locally) when it records a payment's first call. */
export const AGENT_FIRST_CALL_MESSAGE = 'agent first call';

export interface AgentFirstCallRecord {
  readonly message: typeof AGENT_FIRST_CALL_MESSAGE;
  readonly protocol: FirstCallProtocol;
  readonly customerId: string;
  readonly paidAt: string;
  readonly firstCallAt: string;
  readonly secondsToFirstCall: number;
  readonly secondsToPay?: number;
}

const MARKER = attr('agentPayment');

/** Sets the marker after a payment's grant (a later payment replaces an earlier one still pending). */
export async function markPaid(client: DynamoDBClient, table: string, customerId: string, marker: AgentPaymentMarker): Promise<void> {
  await DynamoDBDocumentClient.from(client).send(
    new UpdateCommand({
      TableName: table,
      Key: { customerId },
      UpdateExpression: 'SET #m = :m',
      ConditionExpression: 'attribute_exists(customerId)',
      ExpressionAttributeNames: { '#m': MARKER },
      ExpressionAttributeValues: { ':m': marker },
    }),
  );
}

/**
 * When the customer's first counted 2xx at or after the payment happened, from a batch's (or window's) first and
 * last counted call (epoch ms): the first when it follows the payment, else the last when that does (a batch
 * holding calls from both sides of the payment: the nearest after it that the batch tells), else none yet.
 */
export function firstCallAfter(marker: Pick<AgentPaymentMarker, 'paidAt'>, calls: { readonly firstCallAt?: number; readonly lastCallAt: number }): number | undefined {
  if (calls.firstCallAt !== undefined && calls.firstCallAt >= marker.paidAt) return calls.firstCallAt;
  return calls.lastCallAt >= marker.paidAt && calls.lastCallAt > 0 ? calls.lastCallAt : undefined;
}

/** Removes the marker if it is still the one read: true for the one caller that removed it. */
export async function clearMarker(client: DynamoDBClient, table: string, customerId: string, marker: AgentPaymentMarker): Promise<boolean> {
  try {
    await DynamoDBDocumentClient.from(client).send(
      new UpdateCommand({
        TableName: table,
        Key: { customerId },
        UpdateExpression: 'REMOVE #m',
        ConditionExpression: '#m.paidAt = :paidAt AND #m.protocol = :protocol',
        ExpressionAttributeNames: { '#m': MARKER },
        ExpressionAttributeValues: { ':paidAt': marker.paidAt, ':protocol': marker.protocol },
      }),
    );
    return true;
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return false;
    throw err;
  }
}

/** Seconds between two epoch-ms times, to the millisecond, never negative. */
export const secondsBetween = (from: number, to: number): number => Math.max(0, Math.round(to - from)) / 1000;
