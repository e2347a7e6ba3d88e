import { CreateTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { localClient } from '../../lib/local/dynamodb-local';
import { ensureCustomerIndexes } from '../../lib/local/customer-indexes';
import { freshTables, testEndpoint } from '../support/dynamodb';

const INDEXES = [
  ['bySubject', 'ALL', ['identitySubject']],
  ['pendingSweep', 'KEYS_ONLY', ['sweepShard', 'sweepAt']],
];

describe('the customers table\'s indexes on DynamoDB Local', () => {
  it('are created with a fresh customers table', async () => {
    const { client, names } = await freshTables('customer-indexes');
    const { Table } = await client.send(new DescribeTableCommand({ TableName: names.customers }));
    expect(Table?.GlobalSecondaryIndexes?.map((index) => [index.IndexName, index.Projection?.ProjectionType, index.KeySchema?.map((k) => k.AttributeName)])).toEqual(INDEXES);
    client.destroy();
  });

  it('adds the sweep\'s index to a customers table persisted by the release before it (which had the subject index), once', async () => {
    const client = localClient(testEndpoint());
    const TableName = `persisted-${randomUUID().slice(0, 8)}-Customers`;
    await client.send(
      new CreateTableCommand({
        TableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'customerId', AttributeType: 'S' },
          { AttributeName: 'identitySubject', AttributeType: 'S' },
        ],
        KeySchema: [{ AttributeName: 'customerId', KeyType: 'HASH' }],
        GlobalSecondaryIndexes: [{ IndexName: 'bySubject', KeySchema: [{ AttributeName: 'identitySubject', KeyType: 'HASH' }], Projection: { ProjectionType: 'ALL' } }],
      }),
    );
    await ensureCustomerIndexes(client, TableName);
    await ensureCustomerIndexes(client, TableName);
    const { Table } = await client.send(new DescribeTableCommand({ TableName }));
    expect(Table?.GlobalSecondaryIndexes?.map((index) => index.IndexName).sort()).toEqual(['bySubject', 'pendingSweep']);
    client.destroy();
  });
});
