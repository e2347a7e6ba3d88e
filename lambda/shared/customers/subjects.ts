import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { CUSTOMER_ID } from './api-key';
import { attr, projectionFor, type Projection } from './item';

/**
 * Token subjects linked to customers, for issuers configured with `"customer": "subject"`: the customer
 * item carries `identitySubject` = `<issuer>#<sub>`, and a sparse global secondary index on it (only
 * linked customers are in it) projects exactly what the authorizer reads. A token's decision is then one
 * Query on the index, as a key's is one GetItem on the table: one round trip, no key hash copied.
 *
 * One subject per customer (a key attribute holds one value); link another and it replaces the first.
 * Index reads are eventually consistent (DynamoDB offers no strongly consistent read on a GSI): after a
 * payment the webhook's cache flush can race the index by the index's replication lag (usually well
 * under a second); a decision read in that window lives at most one cache TTL. Issuers that can put the
 * customer id in a claim (`"customer": "claim:…"`) get the strongly consistent GetItem instead.
 */

export const SUBJECT_ATTRIBUTE = 'identitySubject';
export const SUBJECT_INDEX = 'bySubject';
const DELETED = attr('deleted');
/** DynamoDB's limit on an index key value. */
const MAX_SUBJECT_KEY_BYTES = 2048;

/** The token decision's read: the same attributes as the key decision's GetItem, without any key attribute. */
export const tokenDecisionProjection = (): Projection => projectionFor('authorizer');

export class SubjectLinkError extends Error {
  override readonly name = 'SubjectLinkError';
}

export interface SubjectStore {
  readonly client: DynamoDBClient;
  readonly customersTable: string;
}

/** Customers read per Query when unlinking: more than one already means a broken link. */
const UNLINK_PAGE = 25;

/** The customers whose item carries this subject (at most `limit`: for a link, 2 show it is taken twice). */
export async function customersLinkedTo(store: SubjectStore, subjectKey: string, limit = 2): Promise<string[]> {
  const documents = DynamoDBDocumentClient.from(store.client);
  const result = await documents.send(
    new QueryCommand({
      TableName: store.customersTable,
      IndexName: SUBJECT_INDEX,
      KeyConditionExpression: '#s = :s',
      ExpressionAttributeNames: { '#s': SUBJECT_ATTRIBUTE },
      ExpressionAttributeValues: { ':s': subjectKey },
      ProjectionExpression: attr('customerId'),
      Limit: limit,
    }),
  );
  return (result.Items ?? []).map((item) => String(item.customerId));
}

/** `<issuer>#<sub>`, the value the subject index holds, once issuer and subject are valid. */
function subjectKeyOf(issuer: string, subject: string): string {
  if (!URL.canParse(issuer)) throw new SubjectLinkError(`invalid issuer "${issuer}": use the issuer URL exactly as tokens carry it in "iss"`);
  if (subject === '' || subject.length > 255) throw new SubjectLinkError('invalid subject: use the token\'s "sub", 1 to 255 characters');
  const subjectKey = `${issuer}#${subject}`;
  if (Buffer.byteLength(subjectKey) > MAX_SUBJECT_KEY_BYTES) throw new SubjectLinkError('the issuer and subject are too long to index');
  return subjectKey;
}

/**
 * Links `<issuer>#<sub>` to a customer (creating the customer's item when it has none: its tokens then
 * get 402 no_subscription until it subscribes). Refuses a subject already linked to another customer.
 */
export async function linkSubject(store: SubjectStore, customerId: string, issuer: string, subject: string): Promise<{ readonly subjectKey: string; readonly replaced?: string }> {
  if (!CUSTOMER_ID.test(customerId)) throw new SubjectLinkError(`invalid customer id "${customerId}": expected a Stripe customer id such as cus_NffrFeUfNV2Hib`);
  const subjectKey = subjectKeyOf(issuer, subject);
  const others = (await customersLinkedTo(store, subjectKey)).filter((id) => id !== customerId);
  if (others.length > 0) throw new SubjectLinkError(`subject "${subject}" of ${issuer} is already linked to ${others[0]}: link it to one customer only`);
  const documents = DynamoDBDocumentClient.from(store.client);
  try {
    const result = await documents.send(
      new UpdateCommand({
        TableName: store.customersTable,
        Key: { customerId },
        UpdateExpression: 'SET #s = :s',
        // The item is created if missing; a customer deleted in Stripe cannot gain a login.
        ConditionExpression: `attribute_not_exists(${DELETED}) OR ${DELETED} = :false`,
        ExpressionAttributeNames: { '#s': SUBJECT_ATTRIBUTE },
        ExpressionAttributeValues: { ':s': subjectKey, ':false': false },
        ReturnValues: 'UPDATED_OLD',
      }),
    );
    const replaced = result.Attributes?.[SUBJECT_ATTRIBUTE] as string | undefined;
    return { subjectKey, ...(replaced === undefined || replaced === subjectKey ? {} : { replaced }) };
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) throw new SubjectLinkError(`customer ${customerId} was deleted in Stripe: it cannot be linked`);
    throw err;
  }
}

/**
 * Removes the link of `<issuer>#<sub>` from every customer that carries it (one, or more only when the
 * link is broken: the authorizer then answers 503 until it is repaired). Each removal is conditioned on
 * the item still carrying this subject, so a link made meanwhile to another subject stays. Returns the
 * customers unlinked; throws SubjectLinkError when no customer carries the subject.
 */
export async function unlinkSubject(store: SubjectStore, issuer: string, subject: string): Promise<{ readonly subjectKey: string; readonly customerIds: readonly string[] }> {
  const subjectKey = subjectKeyOf(issuer, subject);
  const linked = await customersLinkedTo(store, subjectKey, UNLINK_PAGE);
  if (linked.length === 0) throw new SubjectLinkError(`subject "${subject}" of ${issuer} is not linked to any customer: check the issuer URL (exactly as tokens carry it in "iss") and the subject`);
  const documents = DynamoDBDocumentClient.from(store.client);
  const unlinked: string[] = [];
  for (const customerId of linked) {
    try {
      await documents.send(
        new UpdateCommand({
          TableName: store.customersTable,
          Key: { customerId },
          UpdateExpression: 'REMOVE #s',
          ConditionExpression: '#s = :s',
          ExpressionAttributeNames: { '#s': SUBJECT_ATTRIBUTE },
          ExpressionAttributeValues: { ':s': subjectKey },
        }),
      );
      unlinked.push(customerId);
    } catch (err) {
      // Relinked or unlinked meanwhile (the index lags the table): nothing of this subject left there.
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
  }
  if (unlinked.length === 0) throw new SubjectLinkError(`subject "${subject}" of ${issuer} was unlinked meanwhile: nothing to do`);
  return { subjectKey, customerIds: unlinked };
}
