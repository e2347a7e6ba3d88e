import { CreateTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { localClient } from '../../lib/local/dynamodb-local';
import { ensureSubjectIndex } from '../../lib/local/subject-index';
import { freshTables, testEndpoint } from '../support/dynamodb';

describe('the subject index on DynamoDB Local', () => {
  it('is created with a fresh customers table', async () => {
    const { client, names } = await freshTables('subject-index');
    const { Table } = await client.send(new DescribeTableCommand({ TableName: names.customers }));
    expect(Table?.GlobalSecondaryIndexes?.map((index) => [index.IndexName, index.Projection?.ProjectionType])).toEqual([['bySubject', 'ALL']]);
    client.destroy();
  });

  it('is added to a customers table persisted before it existed, once', async () => {
    const client = localClient(testEndpoint());
    const TableName = `persisted-${randomUUID().slice(0, 8)}-Customers`;
    await client.send(
      new CreateTableCommand({
        TableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'customerId', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'customerId', KeyType: 'HASH' }],
      }),
    );
    await ensureSubjectIndex(client, TableName);
    await ensureSubjectIndex(client, TableName);
    const { Table } = await client.send(new DescribeTableCommand({ TableName }));
    expect(Table?.GlobalSecondaryIndexes?.map((index) => index.IndexName)).toEqual(['bySubject']);
    client.destroy();
  });
});
