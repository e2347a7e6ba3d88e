import { FlushCoordinator, type FlushCoordinatorOptions } from '../../lambda/shared/aws/flush-coordinator';
import type { AuthorizerCacheFlusher } from '../../lambda/shared/ports';
import type { TestTables } from './dynamodb';

/**
 * The stage's one flusher as deployed, on the test tables' event ledger, flushing through `flusher`
 * (a RecordingFlusher): no wait between flushes unless a test asks for one.
 */
export function testFlushes(tables: TestTables, flusher: AuthorizerCacheFlusher, options: Partial<FlushCoordinatorOptions> = {}): FlushCoordinator {
  return new FlushCoordinator({ client: tables.client, table: tables.names.events, flusher, cacheTtlSeconds: 300, intervalMs: 0, ...options });
}
