import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import Stripe from 'stripe';

/**
 * The floor of the webhook in B2: a DynamoDB client and the Stripe SDK, verifying one signature and
 * writing one item. Bundled with the stack's settings, never deployed.
 */
const client = new DynamoDBClient({});

export const handler = async (event: { body: string; signature: string; secret: string }): Promise<void> => {
  const verified = Stripe.webhooks.constructEvent(event.body, event.signature, event.secret);
  await client.send(
    new UpdateItemCommand({
      TableName: process.env.CUSTOMERS_TABLE,
      Key: { customerId: { S: verified.id } },
      UpdateExpression: 'SET #t = :t',
      ExpressionAttributeNames: { '#t': 'type' },
      ExpressionAttributeValues: { ':t': { S: verified.type } },
    }),
  );
};
