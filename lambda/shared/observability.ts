import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/**
 * One configured logger and metrics pair per function (Powertools). Built once at module scope by
 * the function's index.ts; the local gateway and tests build their own (POWERTOOLS_METRICS_DISABLED
 * and POWERTOOLS_LOG_LEVEL keep them quiet there).
 */
export interface Observability {
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export const METRICS_NAMESPACE = 'Tollgate';

export function createObservability(serviceName: string): Observability {
  return {
    logger: new Logger({ serviceName }),
    metrics: new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE, serviceName }),
  };
}

/**
 * Counts one occurrence under its own dimensions. A single metric is published at once and shares no
 * state with other invocations (the local gateway runs several concurrently in one process). Dimensions
 * must stay low-cardinality: never customer or key ids.
 */
export function countOne(metrics: Metrics, name: string, dimensions: Readonly<Record<string, string>>): void {
  const metric = metrics.singleMetric();
  for (const [dimension, value] of Object.entries(dimensions)) metric.addDimension(dimension, value);
  metric.addMetric(name, MetricUnit.Count, 1);
}

/**
 * countOne with a record on the same EMF line, for a hot path: the record's fields go in as Powertools
 * metadata (top-level keys of the line, searchable in Logs Insights like a log record's, never
 * dimensions), so one line stands for a log line and a metric line. It adds to the function's own Metrics
 * and publishes in the same synchronous step, so nothing of it is left for another invocation; not
 * `singleMetric()`, which builds a new Metrics (its own console, its configuration read from the
 * environment) for every line. Undefined fields are left out.
 */
export function countOneWithRecord(
  metrics: Metrics,
  name: string,
  dimensions: Readonly<Record<string, string>>,
  record: Readonly<Record<string, string | undefined>>,
): void {
  for (const [key, value] of Object.entries(record)) if (value !== undefined) metrics.addMetadata(key, value);
  for (const [dimension, value] of Object.entries(dimensions)) metrics.addDimension(dimension, value);
  metrics.addMetric(name, MetricUnit.Count, 1);
  metrics.publishStoredMetrics();
}
