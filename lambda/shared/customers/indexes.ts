import { SUBJECT_ATTRIBUTE, SUBJECT_INDEX } from './subjects';
import { SWEEP_AT, SWEEP_INDEX, SWEEP_SHARD } from './sweep-mark';

/**
 * The customers table's global secondary indexes, as plain data: the stack (lib/payment-tables.ts) and
 * DynamoDB Local (lib/local/customer-indexes.ts) both create them from here. Both are sparse: an item
 * is in an index only while it carries the index's key attributes.
 */
export interface IndexDefinition {
  readonly IndexName: string;
  readonly KeySchema: ReadonlyArray<{ readonly AttributeName: string; readonly KeyType: 'HASH' | 'RANGE' }>;
  readonly Projection: { readonly ProjectionType: 'ALL' | 'KEYS_ONLY' };
  /** The key attributes' types, for the table's AttributeDefinitions. */
  readonly attributes: ReadonlyArray<{ readonly AttributeName: string; readonly AttributeType: 'S' | 'N' }>;
}

export const CUSTOMER_INDEXES: readonly IndexDefinition[] = [
  // Token subjects linked to customers (subjects.ts): projects what a token's decision reads.
  {
    IndexName: SUBJECT_INDEX,
    KeySchema: [{ AttributeName: SUBJECT_ATTRIBUTE, KeyType: 'HASH' }],
    Projection: { ProjectionType: 'ALL' },
    attributes: [{ AttributeName: SUBJECT_ATTRIBUTE, AttributeType: 'S' }],
  },
  // Wallets with reservations to sweep (pending-sweep.ts): keys only, so a reservation that finds its mark writes nothing to it.
  {
    IndexName: SWEEP_INDEX,
    KeySchema: [
      { AttributeName: SWEEP_SHARD, KeyType: 'HASH' },
      { AttributeName: SWEEP_AT, KeyType: 'RANGE' },
    ],
    Projection: { ProjectionType: 'KEYS_ONLY' },
    attributes: [
      { AttributeName: SWEEP_SHARD, AttributeType: 'S' },
      { AttributeName: SWEEP_AT, AttributeType: 'N' },
    ],
  },
];

/** An index as CreateTable, UpdateTable and CloudFormation take it (without the attribute types). */
export const indexSpec = ({ IndexName, KeySchema, Projection }: IndexDefinition) => ({
  IndexName,
  KeySchema: KeySchema.map((k) => ({ ...k })),
  Projection: { ...Projection },
});
