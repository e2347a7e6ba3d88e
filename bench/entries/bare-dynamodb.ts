import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';

/**
 * The floor of B2/B3: a function holding only a DynamoDB client and one GetItem. Bundled with the
 * stack's settings, never deployed.
 */
const client = new DynamoDBClient({});

export const handler = async (event: { customerId: string }): Promise<boolean> => {
  const { Item } = await client.send(new GetItemCommand({ TableName: process.env.CUSTOMERS_TABLE, Key: { customerId: { S: event.customerId } }, ConsistentRead: true }));
  return Item !== undefined;
};
