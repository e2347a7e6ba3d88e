import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, paginateScan, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { CorruptRecordError, decodeCustomerItem } from './item';
import { LEGACY_ATTRIBUTES, legacyUpgrade, type LegacyUpgrade } from './legacy';

/** What one upgrade run did. */
export interface UpgradeReport {
  /** Customers read by the scan. */
  readonly scanned: number;
  /** Customers moved from the 0.1 layout. */
  readonly upgraded: number;
  /** Customers left in the 0.1 layout: see `skippedCustomers`. */
  readonly skipped: number;
  readonly skippedCustomers: ReadonlyArray<{ readonly customerId: string; readonly reason: string }>;
}

const isMap = (value: unknown): boolean => typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Set);

/** One UpdateItem with placeholders for every name and value. */
class Update {
  readonly sets: string[] = [];
  readonly conditions: string[] = [];
  readonly names: Record<string, string> = {};
  readonly values: Record<string, unknown> = {};

  name(name: string): string {
    const placeholder = `#n${Object.keys(this.names).length}`;
    this.names[placeholder] = name;
    return placeholder;
  }

  value(value: unknown): string {
    const placeholder = `:v${Object.keys(this.values).length}`;
    this.values[placeholder] = value;
    return placeholder;
  }
}

/**
 * The upgrade of one item as one conditional UpdateItem: it applies only while the 0.1 attributes are
 * as read (a 0.1 webhook still finishing an event makes it fail), and stores nothing over what the
 * current webhook wrote since (if_not_exists). A parent map absent when read is written whole.
 */
function updateFor(item: Record<string, unknown>, upgrade: LegacyUpgrade): Update {
  const u = new Update();
  for (const name of upgrade.remove) {
    const value = item[name];
    const n = u.name(name);
    u.conditions.push(value === null || value === undefined ? `attribute_exists(${n})` : `${n} = ${u.value(value)}`);
  }
  const created = new Map<string, Record<string, unknown>>();
  for (const [path, value] of upgrade.writes) {
    if (path.length === 1) {
      const n = u.name(path[0]);
      u.sets.push(`${n} = if_not_exists(${n}, ${u.value(value)})`);
    } else if (isMap(item[path[0]])) {
      const parent = u.name(path[0]);
      const entry = `${parent}.${u.name(path[1])}`;
      u.conditions.push(`attribute_exists(${parent})`);
      u.sets.push(`${entry} = if_not_exists(${entry}, ${u.value(value)})`);
    } else {
      created.set(path[0], { ...created.get(path[0]), [path[1]]: value });
    }
  }
  for (const [map, entries] of created) {
    const n = u.name(map);
    u.conditions.push(`attribute_not_exists(${n})`);
    u.sets.push(`${n} = ${u.value(entries)}`);
  }
  return u;
}

/**
 * Moves every customer still in the 0.1 layout to the current one (legacy.ts), one conditional
 * UpdateItem per customer: never half-written, and a second run finds nothing to do. A customer whose
 * item changed between the scan and its update, or whose item is malformed, is skipped and reported.
 */
export async function upgradeLegacyCustomers(client: DynamoDBClient, customersTable: string): Promise<UpgradeReport> {
  const documents = DynamoDBDocumentClient.from(client);
  const filterNames = Object.fromEntries(LEGACY_ATTRIBUTES.map((name, i) => [`#l${i}`, name]));
  let scanned = 0;
  let upgraded = 0;
  const skippedCustomers: Array<{ customerId: string; reason: string }> = [];
  const pages = paginateScan(
    { client: documents },
    {
      TableName: customersTable,
      // Every 0.1 item has one of these: wm_<subscriptionId> is only ever written with subscriptionId.
      FilterExpression: Object.keys(filterNames)
        .map((n) => `attribute_exists(${n})`)
        .join(' OR '),
      ExpressionAttributeNames: filterNames,
      ConsistentRead: true,
    },
  );
  for await (const page of pages) {
    scanned += page.ScannedCount ?? 0;
    for (const item of page.Items ?? []) {
      const customerId = String(item.customerId);
      let upgrade: LegacyUpgrade | undefined;
      try {
        decodeCustomerItem(item);
        upgrade = legacyUpgrade(item);
      } catch (err) {
        if (!(err instanceof CorruptRecordError)) throw err;
        skippedCustomers.push({ customerId, reason: err.message });
        continue;
      }
      if (upgrade === undefined) continue;
      const u = updateFor(item, upgrade);
      const removes = upgrade.remove.map((name) => u.name(name));
      try {
        await documents.send(
          new UpdateCommand({
            TableName: customersTable,
            Key: { customerId },
            UpdateExpression: `${u.sets.length > 0 ? `SET ${u.sets.join(', ')} ` : ''}REMOVE ${removes.join(', ')}`,
            ConditionExpression: u.conditions.join(' AND '),
            ExpressionAttributeNames: u.names,
            ...(Object.keys(u.values).length > 0 ? { ExpressionAttributeValues: u.values } : {}),
          }),
        );
        upgraded++;
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
        skippedCustomers.push({ customerId, reason: `customer ${customerId} changed while it was upgraded: run the upgrade again` });
      }
    }
  }
  return { scanned, upgraded, skipped: skippedCustomers.length, skippedCustomers };
}
