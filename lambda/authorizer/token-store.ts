import { GetItemCommand, QueryCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CorruptRecordError } from '../shared/customers/item';
import type { CustomerRecord } from '../shared/customers/record';
import { SUBJECT_ATTRIBUTE, SUBJECT_INDEX, tokenDecisionProjection } from '../shared/customers/subjects';
import { decodeStoredItem, withinDeadline } from './customer-store';
import { AUTHORIZER_READ_DEADLINE_MS } from './dynamo-client';

/** A token decision's one read: the customer's payment state, by id (a claim) or by linked subject (the index). */
export interface TokenCustomerReader {
  /** undefined: no item for this customer. Strongly consistent GetItem. */
  readById(customerId: string): Promise<CustomerRecord | undefined>;
  /** undefined: no customer linked to this subject. One Query on the subject index. */
  readBySubject(subjectKey: string): Promise<CustomerRecord | undefined>;
}

export class DynamoTokenCustomerReader implements TokenCustomerReader {
  private readonly projection = tokenDecisionProjection();

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly deadlineMs = AUTHORIZER_READ_DEADLINE_MS,
  ) {}

  async readById(customerId: string): Promise<CustomerRecord | undefined> {
    const result = await withinDeadline(
      this.deadlineMs,
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: { customerId: { S: customerId } }, ConsistentRead: true, ...this.projection })),
    );
    return result.Item === undefined ? undefined : decodeStoredItem(result.Item);
  }

  async readBySubject(subjectKey: string): Promise<CustomerRecord | undefined> {
    const result = await withinDeadline(
      this.deadlineMs,
      this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: SUBJECT_INDEX,
          KeyConditionExpression: '#subject = :subject',
          ProjectionExpression: this.projection.ProjectionExpression,
          // Object.assign, not a spread: V8 copies these two dozen names about ten times faster (customers/item.ts).
          ExpressionAttributeNames: Object.assign({}, this.projection.ExpressionAttributeNames, { '#subject': SUBJECT_ATTRIBUTE }),
          ExpressionAttributeValues: { ':subject': { S: subjectKey } },
          // Two, to see a subject linked twice (a broken link is a 503, never someone else's access).
          Limit: 2,
        }),
      ),
    );
    const items = result.Items ?? [];
    if (items.length > 1) throw new CorruptRecordError(`subject ${subjectKey} is linked to more than one customer: remove the links with npx tollgate customers unlink-subject, then link it to one customer with customers link-subject`);
    return items[0] === undefined ? undefined : decodeStoredItem(items[0]);
  }
}
