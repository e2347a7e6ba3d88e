import { DescribeTableCommand, UpdateTableCommand, type CreateTableCommandInput, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SUBJECT_ATTRIBUTE, SUBJECT_INDEX } from '../../lambda/shared/customers/subjects';

/**
 * The customers table's subject index (lambda/shared/customers/subjects.ts) on DynamoDB Local: created
 * with the table, and added to a table created before it existed, so a persisted `.tollgate/` keeps working.
 */

const INDEX = { IndexName: SUBJECT_INDEX, KeySchema: [{ AttributeName: SUBJECT_ATTRIBUTE, KeyType: 'HASH' as const }], Projection: { ProjectionType: 'ALL' as const } };

/**
 * The customers table's CreateTable input with the index in it. Created with the table, not added after:
 * DynamoDB Local builds at most 5 indexes online at once, which parallel test files would exceed.
 */
export function withSubjectIndex(input: CreateTableCommandInput): CreateTableCommandInput {
  return {
    ...input,
    AttributeDefinitions: [...(input.AttributeDefinitions ?? []), { AttributeName: SUBJECT_ATTRIBUTE, AttributeType: 'S' }],
    GlobalSecondaryIndexes: [INDEX],
  };
}

export async function ensureSubjectIndex(client: DynamoDBClient, customersTable: string): Promise<void> {
  const { Table } = await client.send(new DescribeTableCommand({ TableName: customersTable }));
  if ((Table?.GlobalSecondaryIndexes ?? []).some((index) => index.IndexName === SUBJECT_INDEX)) return;
  await client.send(
    new UpdateTableCommand({
      TableName: customersTable,
      AttributeDefinitions: [{ AttributeName: SUBJECT_ATTRIBUTE, AttributeType: 'S' }],
      GlobalSecondaryIndexUpdates: [{ Create: INDEX }],
    }),
  );
}
