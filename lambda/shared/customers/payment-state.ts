import type { UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import type { CustomerUpdate, Forgettable, ItemPath, Writes } from './changes';
import { attr, decodeCustomerItem, fieldOf, ITEM_LIMITS } from './item';
import { TERMINAL_STATUSES, type CustomerRecord, type InvoiceEntry, type SubscriptionEntry } from './record';

/**
 * The webhook's commands on the customers table (its state read is readCustomer with
 * PAYMENT_STATE_PROJECTION): one conditional UpdateItem per applied change, on the paths the change owns
 * only (API key attributes are never read or touched), and the maps a customer's first change writes
 * into. The webhook sends the update in one transaction with its event ledger (webhook/store.ts).
 */

/** An UpdateItem for the document client, as one item of a transaction. */
export interface PaymentStateUpdate {
  readonly TableName: string;
  readonly Key: { readonly customerId: string };
  readonly UpdateExpression: string;
  readonly ConditionExpression?: string;
  readonly ExpressionAttributeNames: Record<string, string>;
  readonly ExpressionAttributeValues: Record<string, unknown>;
}

/** An UpdateItem's expressions, with placeholders for every name and value. */
class Expression {
  readonly names: Record<string, string> = {};
  readonly values: Record<string, unknown> = {};
  private readonly byName = new Map<string, string>();

  path(segments: ItemPath): string {
    return segments
      .map((segment) => {
        let placeholder = this.byName.get(segment);
        if (placeholder === undefined) {
          placeholder = `#n${this.byName.size}`;
          this.byName.set(segment, placeholder);
          this.names[placeholder] = segment;
        }
        return placeholder;
      })
      .join('.');
  }

  value(value: unknown): string {
    const placeholder = `:v${Object.keys(this.values).length}`;
    this.values[placeholder] = value;
    return placeholder;
  }
}

const STATUS = fieldOf<SubscriptionEntry>('status');
const WATERMARK = fieldOf<SubscriptionEntry | InvoiceEntry>('watermark');

/**
 * The condition under which an update applies: webhook/state.ts `verdict`, stated for DynamoDB (the
 * webhook's property tests hold the two to the same outcomes). The maps an update writes into must exist
 * (a nested SET cannot create its parent): `createMapsUpdate` creates them first.
 */
function conditionFor(update: CustomerUpdate, forget: Forgettable, x: Expression): string | undefined {
  const { change } = update;
  // Lifting a block removes only the block this change lifts (metering or an operator may have set another since).
  if (change.stream === 'credits') return change.liftCreditsBlock ? `${x.path(['usageBlock'])} = ${x.value('credits_exhausted')}` : undefined;
  if (change.stream === 'usageAlert') {
    // An alert about a period that has ended since (a renewal applied first) blocks nothing.
    const started = (change.knownSubscriptions ?? []).map((id) => {
      const start = x.path(['subscriptions', id, fieldOf<SubscriptionEntry>('currentPeriodStart')]);
      return `(attribute_not_exists(${start}) OR ${start} <= ${x.value(change.triggeredAt)})`;
    });
    return started.length === 0 ? undefined : started.join(' AND ');
  }
  const below = x.value(update.watermark.applyBelow);
  if (change.stream === 'entitlements' && change.payer !== undefined) {
    const entry = x.path(['payerEntitlements', change.payer]);
    return `attribute_exists(${x.path(['payerEntitlements'])}) AND (attribute_not_exists(${entry}) OR ${x.path(['payerEntitlements', change.payer, 'watermark'])} < ${below})`;
  }
  if (change.stream === 'entitlements' || change.stream === 'customer') {
    const wm = x.path([change.stream === 'entitlements' ? 'entitlementsWatermark' : 'customerWatermark']);
    return `(attribute_not_exists(${wm}) OR ${wm} < ${below})`;
  }
  const id = change.subscriptionId;
  const map = change.stream === 'subscription' ? attr('subscriptions') : attr('invoices');
  const sub = x.path(['subscriptions', id]);
  const entry = x.path([map, id]);
  const forgotten = (change.stream === 'subscription' ? forget.subscriptions : forget.invoices).length;
  const revives = change.stream === 'invoices' || !(TERMINAL_STATUSES as readonly string[]).includes(change.status);
  return [
    ...(['subscriptions', 'invoices', 'pastDue'] as const).map((name) => `attribute_exists(${x.path([name])})`),
    // A terminal subscription takes no event that would bring it (or its invoice state) back.
    ...(revives
      ? [`(attribute_not_exists(${sub}) OR NOT (${x.path(['subscriptions', id, STATUS])} IN (${TERMINAL_STATUSES.map((status) => x.value(status)).join(', ')})))`]
      : []),
    `(attribute_not_exists(${entry}) OR ${x.path([map, id, WATERMARK])} < ${below})`,
    // Entries removed by this same update still count in size(): allow for them.
    `(attribute_exists(${entry}) OR size(${x.path([map])}) < ${x.value(ITEM_LIMITS.trackedSubscriptions + forgotten)})`,
    // A new period's counter only ever moves forward (metering may have started it already).
    ...(change.stream === 'subscription' && change.usageReset?.counter === 'entry'
      ? [`${x.path(['periodUsage', id, 'periodEnd'])} < ${x.value(change.usageReset.periodEnd)}`]
      : change.stream === 'subscription' && change.usageReset !== undefined
        ? [`(attribute_not_exists(${x.path(['usagePeriodEnd'])}) OR ${x.path(['usagePeriodEnd'])} < ${x.value(change.usageReset.periodEnd)})`]
        : []),
    ...(change.stream === 'subscription' && change.liftQuotaBlock === true ? [`${x.path(['usageBlock'])} = ${x.value('quota_exceeded')}`] : []),
  ].join(' AND ');
}

/**
 * An applied change as one UpdateItem: `writes` (webhook/state.ts `writesFor`) under the change's
 * condition. Ordering is decided by DynamoDB, never by reading then writing: the update applies only
 * when its stream's watermark is older (and its subscription not terminal).
 */
export function paymentStateUpdate(table: string, update: CustomerUpdate, writes: Writes, forget: Forgettable): PaymentStateUpdate {
  const x = new Expression();
  const sets = [
    ...writes.set.map(([path, value]) => `${x.path(path)} = ${x.value(value)}`),
    ...writes.setIfAbsent.map(([path, value]) => `${x.path(path)} = if_not_exists(${x.path(path)}, ${x.value(value)})`),
    ...(writes.copy ?? []).map(([path, from, fallback]) => `${x.path(path)} = if_not_exists(${x.path(from)}, ${x.value(fallback)})`),
  ];
  const removes = writes.remove.map((path) => x.path(path));
  const adds = (writes.add ?? []).map(([path, value]) => `${x.path(path)} ${x.value(value)}`);
  const condition = conditionFor(update, forget, x);
  return {
    TableName: table,
    Key: { customerId: update.customerId },
    UpdateExpression: `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}${adds.length > 0 ? ` ADD ${adds.join(', ')}` : ''}`,
    ...(condition === undefined ? {} : { ConditionExpression: condition }),
    ExpressionAttributeNames: x.names,
    ExpressionAttributeValues: x.values,
  };
}

/**
 * The maps per-subscription updates write into, for a customer's first change; an empty map means
 * nothing known. With `payers`, the map of linked payers' entitlements too (created by the first). Idempotent.
 */
export function createMapsUpdate(table: string, customerId: string, payers = false): UpdateCommandInput {
  return {
    TableName: table,
    Key: { customerId },
    UpdateExpression: `SET #s = if_not_exists(#s, :empty), #i = if_not_exists(#i, :empty), #p = if_not_exists(#p, :empty)${payers ? ', #e = if_not_exists(#e, :empty)' : ''}`,
    ExpressionAttributeNames: { '#s': attr('subscriptions'), '#i': attr('invoices'), '#p': attr('pastDue'), ...(payers ? { '#e': attr('payerEntitlements') } : {}) },
    ExpressionAttributeValues: { ':empty': {} },
  };
}

/** The record as the UpdateItem of these writes leaves it, in memory (the in-memory store and webhook/state.ts `project`). */
export function applyWrites(record: CustomerRecord, writes: Writes): CustomerRecord {
  const { apiKeys: _keys, ...rest } = record;
  const item: Record<string, unknown> = { ...rest, subscriptions: { ...record.subscriptions }, invoices: { ...record.invoices }, pastDue: { ...record.pastDue } };
  // Copy on write down the path: the record's own maps are never changed.
  const parentOf = (path: ItemPath): Record<string, unknown> => {
    let node = item;
    for (const segment of path.slice(0, -1)) {
      const child = { ...(node[segment] as Record<string, unknown> | undefined) };
      node[segment] = child;
      node = child;
    }
    return node;
  };
  // Every operand of an update reads the item as it was: copies first.
  const copies = (writes.copy ?? []).map(([path, from, fallback]) => [path, (parentOf(from)[from.at(-1)!] as number | undefined) ?? fallback] as const);
  for (const path of writes.remove) delete parentOf(path)[path.at(-1)!];
  for (const [path, value] of copies) parentOf(path)[path.at(-1)!] = value;
  for (const [path, value] of writes.set) parentOf(path)[path.at(-1)!] = value;
  for (const [path, value] of writes.setIfAbsent) parentOf(path)[path.at(-1)!] ??= value;
  for (const [path, value] of writes.add ?? []) parentOf(path)[path.at(-1)!] = ((parentOf(path)[path.at(-1)!] as number | undefined) ?? 0) + value;
  return { ...decodeCustomerItem(item), ...(record.apiKeys === undefined ? {} : { apiKeys: record.apiKeys }) };
}
