import { DescribeTableCommand, UpdateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SUBJECT_ATTRIBUTE, SUBJECT_INDEX } from '../../lambda/shared/customers/subjects';

/**
 * The customers table's subject index (lambda/shared/customers/subjects.ts) on DynamoDB Local: added to a
 * table created before it existed, so a persisted `.tollgate/` keeps working.
 */
export async function ensureSubjectIndex(client: DynamoDBClient, customersTable: string): Promise<void> {
  const { Table } = await client.send(new DescribeTableCommand({ TableName: customersTable }));
  if ((Table?.GlobalSecondaryIndexes ?? []).some((index) => index.IndexName === SUBJECT_INDEX)) return;
  await client.send(
    new UpdateTableCommand({
      TableName: customersTable,
      AttributeDefinitions: [{ AttributeName: SUBJECT_ATTRIBUTE, AttributeType: 'S' }],
      GlobalSecondaryIndexUpdates: [
        { Create: { IndexName: SUBJECT_INDEX, KeySchema: [{ AttributeName: SUBJECT_ATTRIBUTE, KeyType: 'HASH' }], Projection: { ProjectionType: 'ALL' } } },
      ],
    }),
  );
}
