import { DynamoDBDocumentClient, GetCommand, paginateScan, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { EVENT_LEDGER_RETENTION_SECONDS } from '../../lambda/shared/tables';
import { PARKED_OUTCOME, PARKED_SUMMARY_ATTRIBUTES, parkedSummary, type ParkedSummary } from '../../lambda/webhook/parking';
import { stringValue, UsageError } from './args';
import { CliError, customerArg, type CommandSpec, type Context } from './command';
import { deliverSigned, outcomeOf } from './delivery';

/**
 * Parked events: verified Stripe events the webhook could not apply for a permanent reason (answered
 * 200 so that Stripe stops retrying, and kept in the event ledger with their signed body). Both
 * commands use the caller's credentials on the ledger table; the webhook's own role is not involved.
 */

const EVENT_ID = /^evt_[A-Za-z0-9_]{1,255}$/;
const time = (iso: string): string => iso.replace(/\.\d{3}Z$/, 'Z');

/** Every parked entry, oldest first. A scan: parked entries are few and the ledger keeps 30 days. */
async function listParked(ctx: Context): Promise<ParkedSummary[]> {
  const { dynamodb, tables } = ctx.target();
  const documents = DynamoDBDocumentClient.from(dynamodb);
  const parked: ParkedSummary[] = [];
  const names = Object.fromEntries(PARKED_SUMMARY_ATTRIBUTES.map((name, i) => [`#a${i}`, name]));
  const outcome = `#a${PARKED_SUMMARY_ATTRIBUTES.indexOf('outcome')}`;
  for await (const page of paginateScan(
    { client: documents },
    {
      TableName: tables.events,
      ConsistentRead: true,
      FilterExpression: `${outcome} = :parked`,
      ProjectionExpression: Object.keys(names).join(', '),
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: { ':parked': PARKED_OUTCOME },
    },
  )) {
    for (const item of page.Items ?? []) {
      const summary = parkedSummary(item);
      if (summary !== undefined) parked.push(summary);
    }
  }
  return parked.sort((a, b) => a.parkedAt.localeCompare(b.parkedAt) || a.eventId.localeCompare(b.eventId));
}

function parkedTable(parked: readonly ParkedSummary[]): string[] {
  const header = ['EVENT ID', 'TYPE', 'CUSTOMER', 'PARKED', 'CAUSE', 'REASON'];
  const rows = parked.map((p) => [p.eventId, p.type, p.customerId ?? '-', time(p.parkedAt), p.cause, p.reason]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  return [header, ...rows].map((cells) => cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ').trimEnd());
}

export const PARKED: CommandSpec = {
  name: 'parked',
  summary: 'list events parked for a permanent failure (replay them once fixed)',
  synopsis: '[--customer <cus_id>]',
  description: [
    'Lists the Stripe events the webhook could not apply for a permanent reason (id, type, customer, when,',
    'cause, reason). The webhook answered them 200, so Stripe does not retry them: fix the cause, then',
    'replay each with tollgate events replay <evt_id>.',
  ].join('\n'),
  arguments: [],
  options: { customer: { type: 'string', value: '<cus_id>', help: "only this Stripe customer's parked events" } },
  run: async (ctx) => {
    const only = stringValue(ctx.values, 'customer');
    const customerId = only === undefined ? undefined : customerArg(only);
    const parked = (await listParked(ctx)).filter((p) => customerId === undefined || p.customerId === customerId);
    ctx.print(parked.length === 0 ? 'no parked events' : parkedTable(parked).join('\n'), parked);
  },
};

/** Closes a parked entry whose replay the webhook acknowledged without recording it (an ignored event). */
async function closeParked(ctx: Context, eventId: string, outcome: string): Promise<void> {
  const { dynamodb, tables } = ctx.target();
  await DynamoDBDocumentClient.from(dynamodb).send(
    new UpdateCommand({
      TableName: tables.events,
      Key: { eventId },
      UpdateExpression: 'SET #o = :outcome, expiresAt = :expires, recordedAt = :now REMOVE rawBody, cause, reason',
      ConditionExpression: '#o = :parked',
      ExpressionAttributeNames: { '#o': 'outcome' },
      ExpressionAttributeValues: {
        ':outcome': outcome,
        ':parked': PARKED_OUTCOME,
        ':now': ctx.now.toISOString(),
        ':expires': Math.floor(ctx.now.getTime() / 1000) + EVENT_LEDGER_RETENTION_SECONDS,
      },
    }),
  );
}

export const REPLAY: CommandSpec = {
  name: 'replay',
  summary: 'deliver a parked event to the webhook again, signed as Stripe signs',
  synopsis: '<evt_id> [--secret-id <id>]',
  description: [
    'Posts the parked event, byte for byte as Stripe sent it, to the webhook, signed now with the current',
    'signing secret (as tollgate events send signs). When the webhook applies it, the parked entry is',
    'replaced in the same transaction as the state change. When it fails again for a permanent reason',
    'the entry stays parked as it was, and the command exits 1 with the reason; a transient failure',
    '(5xx) leaves it parked too: run the command again. The signing secret: --secret-id when given, else',
    'STRIPE_WEBHOOK_SECRET when set, else the one the target provides.',
  ].join('\n'),
  arguments: [{ name: '<evt_id>', help: 'the parked event (the first column of tollgate events parked)', missing: 'missing the event id <evt_id>: see tollgate events parked' }],
  options: {
    'secret-id': { type: 'string', value: '<id>', help: 'deployed: the Secrets Manager secret holding the signing secret' },
  },
  run: async (ctx) => {
    const eventId = ctx.positionals[0]!;
    if (!EVENT_ID.test(eventId)) throw new UsageError(`"${eventId}" is not a Stripe event id: expected evt_ followed by letters and digits`);
    const { dynamodb, tables, kind } = ctx.target();
    const { Item: entry } = await DynamoDBDocumentClient.from(dynamodb).send(new GetCommand({ TableName: tables.events, Key: { eventId }, ConsistentRead: true }));
    if (entry === undefined) throw new CliError(`no event ${eventId} in the ledger of the ${kind} stack: see tollgate events parked`);
    if (entry.outcome !== PARKED_OUTCOME) throw new CliError(`event ${eventId} is not parked (its ledger entry says ${String(entry.outcome)}): there is nothing to replay`);
    const raw = entry.rawBody instanceof Uint8Array ? Buffer.from(entry.rawBody) : undefined;
    const payload = raw?.toString('utf8');
    if (raw === undefined || payload === undefined || !Buffer.from(payload, 'utf8').equals(raw)) {
      throw new CliError(`the parked entry of ${eventId} holds no utf-8 body to replay: resend the event from the stripe dashboard instead`);
    }
    const type = typeof entry.type === 'string' ? entry.type : '-';
    const delivery = await deliverSigned(ctx, payload, `the replay of ${eventId}`);
    const answer = outcomeOf(delivery.body);
    const result = { eventId, type, status: delivery.status, outcome: answer.outcome, response: delivery.body };
    if (!delivery.ok) throw new CliError(`the webhook answered ${delivery.status} to the replay of ${eventId}, which stays parked: ${delivery.body}`);
    if (answer.outcome === PARKED_OUTCOME) {
      throw new CliError(`${eventId} failed again and stays parked (${answer.cause ?? 'unknown cause'}): ${answer.detail ?? delivery.body}: fix it, then replay it again`);
    }
    // An event this version ignores is acknowledged without a ledger write: close the entry here.
    if (answer.outcome === 'ignored') await closeParked(ctx, eventId, 'ignored');
    ctx.print(`${type} ${eventId} → ${delivery.status} ${answer.outcome ?? delivery.body}: no longer parked`, result);
  },
};
