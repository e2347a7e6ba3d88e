import { DescribeTableCommand, UpdateTableCommand, type CreateTableCommandInput, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CUSTOMER_INDEXES, indexSpec } from '../../lambda/shared/customers/indexes';

/**
 * The customers table's indexes (lambda/shared/customers/indexes.ts) on DynamoDB Local: created with the
 * table, and added to a table created before they existed, so a persisted `.tollgate/` keeps working.
 */

/**
 * The customers table's CreateTable input with the indexes in it. Created with the table, not added after:
 * DynamoDB Local builds at most 5 indexes online at once, which parallel test files would exceed.
 */
export function withCustomerIndexes(input: CreateTableCommandInput): CreateTableCommandInput {
  return {
    ...input,
    AttributeDefinitions: [...(input.AttributeDefinitions ?? []), ...CUSTOMER_INDEXES.flatMap((index) => index.attributes.map((a) => ({ ...a })))],
    GlobalSecondaryIndexes: CUSTOMER_INDEXES.map(indexSpec),
  };
}

/** Waits until the table's indexes are built: DynamoDB Local builds one index online at a time per table. */
async function untilIndexesActive(client: DynamoDBClient, customersTable: string): Promise<void> {
  for (let i = 0; i < 1200; i += 1) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: customersTable }));
    if ((Table?.GlobalSecondaryIndexes ?? []).every((index) => index.IndexStatus === 'ACTIVE')) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the local table ${customersTable} is still building an index after 2 minutes: stop tollgate, delete the state folder (.tollgate/) and start again`);
}

/** Adds each index the table lacks, one UpdateTable each (DynamoDB builds one index online at a time per table). */
export async function ensureCustomerIndexes(client: DynamoDBClient, customersTable: string): Promise<void> {
  const { Table } = await client.send(new DescribeTableCommand({ TableName: customersTable }));
  const present = new Set((Table?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName));
  const missing = CUSTOMER_INDEXES.filter((index) => !present.has(index.IndexName));
  for (const [i, index] of missing.entries()) {
    // Only a state folder from before the subject index lacks two: the second waits for the first.
    if (i > 0) await untilIndexesActive(client, customersTable);
    await client.send(
      new UpdateTableCommand({
        TableName: customersTable,
        AttributeDefinitions: index.attributes.map((a) => ({ ...a })),
        GlobalSecondaryIndexUpdates: [{ Create: indexSpec(index) }],
      }),
    );
  }
}
