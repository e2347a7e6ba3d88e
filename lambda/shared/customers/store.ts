import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { attr, decodeCustomerItem, type Projection } from './item';
import type { CustomerRecord } from './record';
import { readWallet, withWallet, type Wallet } from './wallet';

/** Reads a customer's item and its wallet, strongly consistent, in parallel. */
async function readBoth(client: DynamoDBClient, table: string, customerId: string, projection?: Projection): Promise<{ record?: CustomerRecord; wallet?: Wallet }> {
  const withCredits = projection === undefined || Object.values(projection.ExpressionAttributeNames).includes(attr('credits'));
  const [{ Item }, wallet] = await Promise.all([
    DynamoDBDocumentClient.from(client).send(new GetCommand({ TableName: table, Key: { customerId }, ConsistentRead: true, ...projection })),
    withCredits ? readWallet(client, table, customerId) : Promise.resolve(undefined),
  ]);
  return { ...(Item === undefined ? {} : { record: decodeCustomerItem(Item) }), ...(wallet === undefined ? {} : { wallet }) };
}

/**
 * Reads and validates a customer's item (strongly consistent); undefined when there is none. `credits`
 * is the wallet's balance (wallet.ts); the budgets are the wallet's.
 */
export async function readCustomer(client: DynamoDBClient, table: string, customerId: string, projection?: Projection): Promise<CustomerRecord | undefined> {
  const { record, wallet } = await readBoth(client, table, customerId, projection);
  return record === undefined ? undefined : withWallet(record, wallet);
}

/** The customer with its wallet as stored: the balance, and the pending reservations. */
export interface CustomerWithWallet {
  readonly record: CustomerRecord;
  readonly wallet?: Wallet;
}

export async function readCustomerWithWallet(client: DynamoDBClient, table: string, customerId: string, projection?: Projection): Promise<CustomerWithWallet | undefined> {
  const { record, wallet } = await readBoth(client, table, customerId, projection);
  if (record === undefined) return undefined;
  return {
    record: withWallet(record, wallet),
    ...(wallet === undefined ? {} : { wallet }),
  };
}
