import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { CorruptRecordError, decodeCustomerItem } from '../shared/customers/item';
import type { CustomerRecord } from '../shared/customers/record';
import { SUBJECT_ATTRIBUTE, SUBJECT_INDEX, tokenDecisionProjection } from '../shared/customers/subjects';
import { withinDeadline } from './customer-store';
import { AUTHORIZER_READ_DEADLINE_MS } from './dynamo-client';

/** A token decision's one read: the customer's payment state, by id (a claim) or by linked subject (the index). */
export interface TokenCustomerReader {
  /** undefined: no item for this customer. Strongly consistent GetItem. */
  readById(customerId: string): Promise<CustomerRecord | undefined>;
  /** undefined: no customer linked to this subject. One Query on the subject index. */
  readBySubject(subjectKey: string): Promise<CustomerRecord | undefined>;
}

export class DynamoTokenCustomerReader implements TokenCustomerReader {
  private readonly documents: DynamoDBDocumentClient;
  private readonly projection = tokenDecisionProjection();

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
    private readonly deadlineMs = AUTHORIZER_READ_DEADLINE_MS,
  ) {
    this.documents = DynamoDBDocumentClient.from(client);
  }

  async readById(customerId: string): Promise<CustomerRecord | undefined> {
    const result = await withinDeadline(this.deadlineMs, (abortSignal) =>
      this.documents.send(new GetCommand({ TableName: this.tableName, Key: { customerId }, ConsistentRead: true, ...this.projection }), { abortSignal }),
    );
    return result.Item === undefined ? undefined : decodeCustomerItem(result.Item);
  }

  async readBySubject(subjectKey: string): Promise<CustomerRecord | undefined> {
    const result = await withinDeadline(this.deadlineMs, (abortSignal) =>
      this.documents.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: SUBJECT_INDEX,
          KeyConditionExpression: '#subject = :subject',
          ProjectionExpression: this.projection.ProjectionExpression,
          ExpressionAttributeNames: { ...this.projection.ExpressionAttributeNames, '#subject': SUBJECT_ATTRIBUTE },
          ExpressionAttributeValues: { ':subject': subjectKey },
          // Two, to see a subject linked twice (a broken link is a 503, never someone else's access).
          Limit: 2,
        }),
        { abortSignal },
      ),
    );
    const items = result.Items ?? [];
    if (items.length > 1) throw new CorruptRecordError(`subject ${subjectKey} is linked to more than one customer: link it to one with npx tollgate customers link-subject`);
    return items[0] === undefined ? undefined : decodeCustomerItem(items[0]);
  }
}
