import { DeleteCommand, DynamoDBDocumentClient, paginateScan } from '@aws-sdk/lib-dynamodb';
import Stripe from 'stripe';
import { composeMetering } from '../../lambda/metering/compose';
import { decodeLedgerEntry, DynamoMeteringStore, METERED_OUTCOME, PARKED_BATCH_OUTCOME, parkedBatchId, type LedgerEntry } from '../../lambda/metering/store';
import { StreamMeterReporter } from '../../lambda/metering/meter-event-stream';
import { completeEntries } from '../../lambda/metering/outbox';
import type { MeterReporter } from '../../lambda/metering/stripe-meter';
import { buildLocalDocument, meteringSettingsFor } from '../local/stack';
import type { CommandGroup, CommandSpec, Context } from './command';
import { createObservability } from '../../lambda/shared/observability';
import { stackConfig } from './target';

/**
 * Replays what metering could not finish: batches it parked (a write that kept failing, or the
 * dead-letter function's), and ledger entries still owing Stripe a report (a crash, reporting off,
 * or a rejection whose cause is fixed). Idempotent by the same ledger the function writes: a batch
 * adds only the customers it has not added yet, and a report goes with its identifier, which Stripe
 * de-duplicates within 24 hours.
 */

interface Parked {
  readonly batchId: string;
  readonly data: string;
}

async function scan(ctx: Context, filter: string, values: Record<string, unknown>): Promise<Array<Record<string, unknown>>> {
  const { dynamodb, tables } = ctx.target();
  const items: Array<Record<string, unknown>> = [];
  for await (const page of paginateScan(
    { client: DynamoDBDocumentClient.from(dynamodb) },
    { TableName: tables.events, ConsistentRead: true, FilterExpression: filter, ExpressionAttributeNames: { '#o': 'outcome' }, ExpressionAttributeValues: values },
  )) {
    items.push(...(page.Items ?? []));
  }
  return items;
}

function reporterFrom(env: Readonly<Record<string, string | undefined>>): MeterReporter | undefined {
  const key = env.STRIPE_API_KEY;
  return key === undefined || key === '' ? undefined : new StreamMeterReporter(new Stripe(key, { maxNetworkRetries: 0, timeout: 10_000 }));
}

const replay: CommandSpec = {
  name: 'replay',
  summary: 'apply parked metering batches and send the reports still owed to Stripe',
  synopsis: '[--outputs <file>]',
  description: [
    'Applies every batch metering parked (a write that kept failing, a batch Lambda gave up on) with the',
    'rules of this project, then sends the Stripe meter reports still owed (after a crash, or rejected ones',
    'whose cause is fixed). Safe to run again: the ledger adds each customer of a batch once, and a report',
    'keeps its identifier, which Stripe de-duplicates within 24 hours. Reports need STRIPE_API_KEY (the',
    'same account as the deployed function); without it they stay owed.',
  ].join('\n'),
  arguments: [],
  options: {},
  run: async (ctx) => {
    const target = ctx.target();
    const config = stackConfig(ctx.io.root, target);
    const built = buildLocalDocument(config, ctx.io.root);
    const settings = meteringSettingsFor(config, built.routes, target.tables);
    const store = new DynamoMeteringStore(target.dynamodb, { customers: settings.customersTable, events: settings.eventsTable });
    const reporter = reporterFrom(ctx.io.env);
    // The function's own logs and metrics are for CloudWatch; the command prints its summary.
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    const observability = createObservability('tollgate-cli', { namespace: 'TollgateCli', logLevel: 'SILENT' });
    const handler = composeMetering(settings, { dynamodb: target.dynamodb, reporter, now: () => ctx.now, observability });

    const parked: Parked[] = (await scan(ctx, '#o = :parked', { ':parked': PARKED_BATCH_OUTCOME }))
      .filter((item): item is Record<string, unknown> & { eventId: string; data: string } => typeof item.eventId === 'string' && typeof item.data === 'string')
      .map((item) => ({ batchId: item.eventId.replace(/^metering-parked#/, ''), data: item.data }));
    const batches: Array<{ batchId: string; outcome: string; applied: number; duplicates: number }> = [];
    const documents = DynamoDBDocumentClient.from(target.dynamodb);
    for (const batch of parked) {
      const result = await handler({ awslogs: { data: batch.data } });
      batches.push({ batchId: batch.batchId, outcome: result.outcome, applied: result.applied, duplicates: result.duplicates });
      if (result.outcome !== 'parked') {
        await documents.send(new DeleteCommand({ TableName: target.tables.events, Key: { eventId: parkedBatchId(batch.batchId) } }));
      }
    }

    const entries = (await scanOwing(ctx)).flatMap((item) => {
      const entry = decodeLedgerEntry(item);
      return entry === undefined ? [] : [entry];
    });
    const { reported, rejected, pending } = await completeEntries({ store, reporter, ...observability }, entries, { retryRejected: true });
    const failed = batches.filter((b) => b.outcome === 'parked').length;
    const lines = [
      `parked batches: ${parked.length} found, ${parked.length - failed} applied${failed > 0 ? `, ${failed} parked again (see their reason in the ledger)` : ''}`,
      ...batches.map((b) => `  ${b.batchId}  ${b.outcome}  ${b.applied} customers added, ${b.duplicates} already counted`),
      `stripe reports: ${reported} sent, ${rejected} rejected${pending > 0 ? `, ${pending} still owed (${reporter === undefined ? 'set STRIPE_API_KEY to send them' : 'retry later'})` : ''}`,
    ];
    ctx.print(lines.join('\n'), { batches, reports: { reported, rejected, pending } });
  },
};

/** Ledger entries that still owe a report (pending, or rejected and worth another try). */
async function scanOwing(ctx: Context): Promise<Array<Record<string, unknown>>> {
  const items = await scan(ctx, '#o = :metered', { ':metered': METERED_OUTCOME });
  return items.filter((item) => {
    const entry: LedgerEntry | undefined = decodeLedgerEntry(item);
    return entry !== undefined && entry.reports.some((r) => r.state !== 'reported');
  });
}

export const METERING: CommandGroup = {
  name: 'metering',
  summary: 'usage metering: replay what the metering function could not finish',
  commands: [replay],
};
