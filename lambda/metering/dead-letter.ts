import { createHash } from 'node:crypto';
import { countOne, createObservability, type Observability } from '../shared/observability';
import { isDeadLetterRecord } from './handler';
import { batchId, decodeSubscriptionEvent, isSubscriptionEvent } from './logs-event';
import type { MeteringStore } from './store';

/**
 * The metering function's on-failure destination: an invocation Lambda gave up on (its retries spent)
 * arrives here as the destination record, with the delivered batch as `requestPayload`. The batch is
 * parked in the ledger table, where `tollgate metering replay` finds it; a replay adds only the
 * customers whose part of the batch is not yet applied.
 */

export interface DeadLetterDeps {
  readonly store: Pick<MeteringStore, 'park'>;
  readonly now?: () => Date;
  readonly observability?: Observability;
}

export function makeDeadLetterHandler(deps: DeadLetterDeps): (event: unknown) => Promise<{ parked: string }> {
  const now = deps.now ?? (() => new Date());
  const { logger, metrics } = deps.observability ?? createObservability('tollgate-metering-dead-letter');
  return async (event) => {
    const payload = isDeadLetterRecord(event) ? event.requestPayload : event;
    if (!isSubscriptionEvent(payload)) {
      logger.error('dead-letter record without a log batch: nothing to park');
      countOne(metrics, 'MeteringBatchesParked', { outcome: 'unreadable' });
      throw new Error('the dead-letter record carries no awslogs.data: nothing to park');
    }
    let id: string;
    try {
      id = batchId(decodeSubscriptionEvent(payload));
    } catch {
      id = createHash('sha256').update(payload.awslogs.data).digest('base64url').slice(0, 32);
    }
    const context = (event as { requestContext?: { condition?: unknown } }).requestContext;
    const response = (event as { responsePayload?: { errorMessage?: unknown } }).responsePayload;
    const reason = [context?.condition, response?.errorMessage].filter((part) => typeof part === 'string').join(': ') || 'the metering invocation failed';
    await deps.store.park({ batchId: id, data: payload.awslogs.data, reason, parkedAt: now().toISOString() });
    logger.error('metering batch parked from the dead-letter destination', { batchId: id, reason });
    countOne(metrics, 'MeteringBatchesParked', { outcome: 'dead-letter' });
    return { parked: id };
  };
}
