import { createObservability, type LineObservability } from '../../lambda/shared/observability';

/** A function's logger, metrics and line writer that write nothing (metrics off, logs silent), for tests. */
export function quietObservability(service = 'tollgate-test'): LineObservability {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  return createObservability(service, { namespace: 'TollgateTest', logLevel: 'SILENT' });
}
