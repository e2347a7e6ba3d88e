import { ConditionalCheckFailedException, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { AlertItem } from './outbox';

/** Puts an alert's item unless it exists (its id is its threshold and period, or its attempt): true when this put it. */
export async function putAlertItem(client: DynamoDBClient, eventsTable: string, item: AlertItem): Promise<boolean> {
  try {
    await client.send(new PutItemCommand({ TableName: eventsTable, Item: marshall(item, { removeUndefinedValues: true }), ConditionExpression: 'attribute_not_exists(eventId)' }));
    return true;
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return false;
    throw err;
  }
}
