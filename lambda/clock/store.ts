import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, paginateQuery } from '@aws-sdk/lib-dynamodb';
import { BUCKET_MS, bucketOf, bucketStart, type BoundaryKind, type RecordedBoundary } from '../shared/boundaries';
import type { BoundaryReader } from './handler';
import type { Window } from './schedule';

/** Recorded boundaries in DynamoDB: one Query per hour bucket the window touches (one, two across an hour). */
export class DynamoBoundaryReader implements BoundaryReader {
  private readonly documents: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly table: string,
  ) {
    this.documents = DynamoDBDocumentClient.from(client);
  }

  async between(kind: BoundaryKind, window: Window): Promise<RecordedBoundary[]> {
    const found: RecordedBoundary[] = [];
    if (!(window.to > window.from)) return found;
    for (let bucket = bucketStart(window.from); bucket < window.to; bucket += BUCKET_MS) {
      const pages = paginateQuery(
        { client: this.documents },
        {
          TableName: this.table,
          KeyConditionExpression: '#bucket = :bucket AND #at BETWEEN :from AND :last',
          ExpressionAttributeNames: { '#bucket': 'bucket', '#at': 'at' },
          ExpressionAttributeValues: { ':bucket': bucketOf(kind, bucket), ':from': window.from, ':last': window.to - 1 },
        },
      );
      for await (const page of pages) {
        for (const item of page.Items ?? []) {
          if (typeof item.at === 'number' && typeof item.recordedAt === 'number') found.push({ kind, at: item.at, recordedAt: item.recordedAt });
        }
      }
    }
    return found;
  }
}
