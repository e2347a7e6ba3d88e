import { ConditionalCheckFailedException, TransactionCanceledException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, QueryCommand, TransactWriteCommand, UpdateCommand, type TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { createHash } from 'node:crypto';
import { CUSTOMER_ID } from './api-key';
import { attr, projectionFor, type Projection } from './item';

/**
 * Token subjects linked to customers, for issuers configured with `"customer": "subject"`: the customer
 * item carries `identitySubject` = `<issuer>#<sub>`, and a sparse global secondary index on it (only
 * linked customers are in it) projects exactly what the authorizer reads. A token's decision is then one
 * Query on the index, as a key's is one GetItem on the table: one round trip, no key hash copied.
 *
 * One subject per customer (a key attribute holds one value); link another and it replaces the first.
 * One customer per subject: the subject's claim (`subject#<sha256 of issuer#sub>` in the event ledger,
 * naming its customer) is written in the same transaction as the customer's attribute, conditioned on
 * being free or this customer's, so two links of one subject racing each other cannot both succeed.
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
  /** Where each subject's claim is held (the event ledger). */
  readonly eventsTable: string;
}

/** The claim's key: hashed, as an issuer and subject may be longer than a partition key allows beside a prefix. */
export const subjectClaimId = (subjectKey: string): string => `subject#${createHash('sha256').update(subjectKey, 'utf8').digest('base64url')}`;

/** Times a link re-reads and retries when the customer or the claim changed between its read and its write. */
const LINK_ATTEMPTS = 3;

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
 * get 402 no_subscription until it subscribes). Refuses a subject already linked to another customer,
 * in the write itself: the claim and the customer's attribute change in one transaction.
 */
export async function linkSubject(store: SubjectStore, customerId: string, issuer: string, subject: string): Promise<{ readonly subjectKey: string; readonly replaced?: string }> {
  if (!CUSTOMER_ID.test(customerId)) throw new SubjectLinkError(`invalid customer id "${customerId}": expected a Stripe customer id such as cus_NffrFeUfNV2Hib`);
  const subjectKey = subjectKeyOf(issuer, subject);
  const taken = (holder: string): SubjectLinkError => new SubjectLinkError(`subject "${subject}" of ${issuer} is already linked to ${holder}: link it to one customer only`);
  // Links made before claims existed have none: the index still shows them.
  const others = (await customersLinkedTo(store, subjectKey)).filter((id) => id !== customerId);
  if (others.length > 0) throw taken(others[0]!);
  const documents = DynamoDBDocumentClient.from(store.client);
  const claimId = subjectClaimId(subjectKey);
  for (let attempt = 1; attempt <= LINK_ATTEMPTS; attempt++) {
    const current = await linkedState(documents, store.customersTable, customerId);
    if (current.deleted) throw new SubjectLinkError(`customer ${customerId} was deleted in Stripe: it cannot be linked`);
    const holder = await claimHolder(documents, store.eventsTable, claimId);
    // A claim whose customer no longer carries the subject (an unlink that stopped half-way) is stale: taken over.
    if (holder !== undefined && holder !== customerId && (await linkedState(documents, store.customersTable, holder)).subjectKey === subjectKey) throw taken(holder);
    const replaced = current.subjectKey === subjectKey ? undefined : current.subjectKey;
    try {
      await documents.send(new TransactWriteCommand({ TransactItems: linkWrites(store, { customerId, subjectKey, claimId, holder, previous: current.subjectKey }) }));
      return { subjectKey, ...(replaced === undefined ? {} : { replaced }) };
    } catch (err) {
      // The claim or the customer changed since the reads: read again (a winner of the race now holds the claim).
      if (!(err instanceof TransactionCanceledException)) throw err;
    }
  }
  throw new SubjectLinkError(`the link of subject "${subject}" of ${issuer} or of customer ${customerId} kept changing: run link-subject again`);
}

/** The customer's linked subject and whether it was deleted, read consistently. */
async function linkedState(documents: DynamoDBDocumentClient, table: string, customerId: string): Promise<{ subjectKey?: string; deleted: boolean }> {
  const { Item } = await documents.send(
    new GetCommand({ TableName: table, Key: { customerId }, ConsistentRead: true, ProjectionExpression: '#s, #d', ExpressionAttributeNames: { '#s': SUBJECT_ATTRIBUTE, '#d': DELETED } }),
  );
  const subjectKey: unknown = Item?.[SUBJECT_ATTRIBUTE];
  return { ...(typeof subjectKey === 'string' ? { subjectKey } : {}), deleted: Item?.[DELETED] === true };
}

async function claimHolder(documents: DynamoDBDocumentClient, table: string, claimId: string): Promise<string | undefined> {
  const { Item } = await documents.send(new GetCommand({ TableName: table, Key: { eventId: claimId }, ConsistentRead: true }));
  return typeof Item?.customerId === 'string' ? Item.customerId : undefined;
}

type TransactItems = NonNullable<TransactWriteCommandInput['TransactItems']>;

/**
 * The claim (free, this customer's, or the stale holder's as read), the customer's attribute (as read,
 * not deleted) and the release of the subject it replaces, in one transaction.
 */
function linkWrites(store: SubjectStore, link: { customerId: string; subjectKey: string; claimId: string; holder?: string; previous?: string }): TransactItems {
  const { customerId, subjectKey, claimId, holder, previous } = link;
  const items: TransactItems = [
    {
      Put: {
        TableName: store.eventsTable,
        Item: { eventId: claimId, type: 'tollgate.subject_claim', customerId, subjectKey },
        ConditionExpression: holder === undefined ? 'attribute_not_exists(eventId)' : 'customerId = :holder',
        ...(holder === undefined ? {} : { ExpressionAttributeValues: { ':holder': holder } }),
      },
    },
    {
      Update: {
        TableName: store.customersTable,
        Key: { customerId },
        UpdateExpression: 'SET #s = :s',
        // The item is created if missing; a customer deleted in Stripe cannot gain a login.
        ConditionExpression: `(attribute_not_exists(${DELETED}) OR ${DELETED} = :false) AND ${previous === undefined ? 'attribute_not_exists(#s)' : '#s = :previous'}`,
        ExpressionAttributeNames: { '#s': SUBJECT_ATTRIBUTE },
        ExpressionAttributeValues: { ':s': subjectKey, ':false': false, ...(previous === undefined ? {} : { ':previous': previous }) },
      },
    },
  ];
  if (previous !== undefined && previous !== subjectKey) {
    items.push({
      Delete: {
        TableName: store.eventsTable,
        Key: { eventId: subjectClaimId(previous) },
        ConditionExpression: 'attribute_not_exists(eventId) OR customerId = :c',
        ExpressionAttributeValues: { ':c': customerId },
      },
    });
  }
  return items;
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
  // The subject is free again, unless a customer other than those unlinked holds its claim.
  const held = unlinked.map((_, i) => `:c${i}`);
  try {
    await documents.send(
      new DeleteCommand({
        TableName: store.eventsTable,
        Key: { eventId: subjectClaimId(subjectKey) },
        ConditionExpression: `attribute_not_exists(eventId) OR customerId IN (${held.join(', ')})`,
        ExpressionAttributeValues: Object.fromEntries(unlinked.map((id, i) => [held[i]!, id])),
      }),
    );
  } catch (err) {
    if (!(err instanceof ConditionalCheckFailedException)) throw err;
  }
  return { subjectKey, customerIds: unlinked };
}
