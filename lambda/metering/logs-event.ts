import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';

/**
 * CloudWatch Logs subscription delivery to Lambda: `{ awslogs: { data } }`, data being base64 of the
 * gzip of a JSON batch. Delivery is at least once: the same batch can arrive again, so a batch is
 * known by a digest of what identifies it (group, stream and every log event id), not by the
 * invocation.
 */

export interface LogEvent {
  readonly id: string;
  readonly timestamp: number;
  readonly message: string;
}

export interface LogsBatch {
  readonly messageType: 'DATA_MESSAGE' | 'CONTROL_MESSAGE';
  readonly logGroup: string;
  readonly logStream: string;
  readonly logEvents: readonly LogEvent[];
}

export interface SubscriptionEvent {
  readonly awslogs: { readonly data: string };
}

export class UndecodableBatchError extends Error {
  override readonly name = 'UndecodableBatchError';
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function isSubscriptionEvent(event: unknown): event is SubscriptionEvent {
  return isObject(event) && isObject(event.awslogs) && typeof event.awslogs.data === 'string';
}

/** Decodes and validates a delivered batch; UndecodableBatchError says what is wrong (never the data). */
export function decodeSubscriptionEvent(event: unknown): LogsBatch {
  if (!isSubscriptionEvent(event)) throw new UndecodableBatchError('not a CloudWatch Logs subscription event (no awslogs.data)');
  let parsed: unknown;
  try {
    parsed = JSON.parse(gunzipSync(Buffer.from(event.awslogs.data, 'base64')).toString('utf8'));
  } catch (err) {
    throw new UndecodableBatchError(`awslogs.data is not base64 gzip JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (!isObject(parsed)) throw new UndecodableBatchError('awslogs.data is not a JSON object');
  const { messageType, logGroup, logStream, logEvents } = parsed;
  if (messageType !== 'DATA_MESSAGE' && messageType !== 'CONTROL_MESSAGE') throw new UndecodableBatchError('awslogs.data has no messageType');
  if (typeof logGroup !== 'string' || typeof logStream !== 'string' || !Array.isArray(logEvents)) {
    throw new UndecodableBatchError('awslogs.data lacks logGroup, logStream or logEvents');
  }
  const events = logEvents.map((e: unknown, i): LogEvent => {
    if (!isObject(e) || typeof e.id !== 'string' || typeof e.timestamp !== 'number' || typeof e.message !== 'string') {
      throw new UndecodableBatchError(`log event ${i} lacks an id, timestamp or message`);
    }
    return { id: e.id, timestamp: e.timestamp, message: e.message };
  });
  return { messageType, logGroup, logStream, logEvents: events };
}

/** Encodes a batch as CloudWatch Logs delivers it (the local feed, tests, benchmarks). */
export function encodeSubscriptionEvent(batch: LogsBatch, subscriptionFilters: readonly string[] = ['tollgate-metering']): SubscriptionEvent {
  const json = JSON.stringify({ ...batch, owner: '000000000000', subscriptionFilters });
  return { awslogs: { data: gzipSync(json).toString('base64') } };
}

/** The batch's identity: equal for every delivery of the same log events. */
export function batchId(batch: LogsBatch): string {
  const hash = createHash('sha256');
  hash.update(`${batch.logGroup}\n${batch.logStream}\n`);
  for (const event of batch.logEvents) hash.update(`${event.id}\n`);
  return hash.digest('base64url').slice(0, 32);
}
