import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';

/**
 * The bare floor of B2/B3 plus what DESIGN.md requires of every function (one Powertools logger and
 * metrics pair): shows how much of the authorizer's margin over the bare floor the mandate takes.
 */
const client = new DynamoDBClient({});
const logger = new Logger({ serviceName: 'floor' });
const metrics = new Metrics({ namespace: 'Tollgate', serviceName: 'floor' });

export const handler = async (event: { customerId: string }): Promise<boolean> => {
  const { Item } = await client.send(new GetItemCommand({ TableName: process.env.CUSTOMERS_TABLE, Key: { customerId: { S: event.customerId } }, ConsistentRead: true }));
  metrics.addMetric('Reads', MetricUnit.Count, 1);
  metrics.publishStoredMetrics();
  logger.info('read', { found: Item !== undefined });
  return Item !== undefined;
};
