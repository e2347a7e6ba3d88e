import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  AGENT_FIRST_CALL_MESSAGE,
  AGENT_SECONDS_TO_FIRST_CALL_METRIC,
  clearMarker,
  firstCallAfter,
  secondsBetween,
  type AgentFirstCallRecord,
  type AgentPaymentMarker,
} from '../shared/agents/first-call';
import type { Observability } from '../shared/observability';
import type { CustomerUsage } from './aggregate';

/**
 * Metering's part of 402 → paid → first 2xx (lambda/shared/agents/first-call.ts): a customer it has just
 * counted whose item holds an agent's payment marker. The call's time is the batch's first counted call at or
 * after the payment (a windowed customer's, its window's last: the window keeps no first time). Never throws:
 * a marker it could not remove stays for the next batch, and metering goes on.
 */
export type FirstCallRecorder = (customerId: string, marker: AgentPaymentMarker, calls: Pick<CustomerUsage, 'firstCallAt' | 'lastCallAt'>) => Promise<void>;

export interface FirstCallRecorderDeps {
  readonly dynamodb: DynamoDBClient;
  readonly customersTable: string;
  readonly observability: Observability;
  /** Each recorded first call (also logged): the local run writes it to its events log. */
  readonly onFirstCall?: (record: AgentFirstCallRecord) => void;
}

export function makeFirstCallRecorder(deps: FirstCallRecorderDeps): FirstCallRecorder {
  const { logger, metrics } = deps.observability;
  return async (customerId, marker, calls) => {
    const at = firstCallAfter(marker, calls);
    if (at === undefined) return;
    try {
      // The one write that removes this marker records it: a redelivered batch or a concurrent one finds it gone.
      if (!(await clearMarker(deps.dynamodb, deps.customersTable, customerId, marker))) return;
    } catch (err) {
      logger.warn('agent first call not recorded, kept for the next batch', { customerId, error: err instanceof Error ? err.name : 'unknown' });
      return;
    }
    const seconds = secondsBetween(marker.paidAt, at);
    const metric = metrics.singleMetric();
    metric.addDimension('protocol', marker.protocol);
    metric.addMetric(AGENT_SECONDS_TO_FIRST_CALL_METRIC, MetricUnit.Seconds, seconds);
    const record: AgentFirstCallRecord = {
      message: AGENT_FIRST_CALL_MESSAGE,
      protocol: marker.protocol,
      customerId,
      paidAt: new Date(marker.paidAt).toISOString(),
      firstCallAt: new Date(at).toISOString(),
      secondsToFirstCall: seconds,
      ...(marker.challengedAt === undefined ? {} : { secondsToPay: secondsBetween(marker.challengedAt, marker.paidAt) }),
    };
    const { message, ...fields } = record;
    logger.info(message, { ...fields });
    deps.onFirstCall?.(record);
  };
}
