import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { decodeCustomerItem, type Projection } from './item';
import type { CustomerRecord } from './record';

/** Reads and validates a customer's item (strongly consistent); undefined when there is none. */
export async function readCustomer(
  client: DynamoDBClient,
  table: string,
  customerId: string,
  projection?: Projection,
): Promise<CustomerRecord | undefined> {
  const { Item } = await DynamoDBDocumentClient.from(client).send(
    new GetCommand({ TableName: table, Key: { customerId }, ConsistentRead: true, ...projection }),
  );
  return Item === undefined ? undefined : decodeCustomerItem(Item);
}
